"""Training losses: L1 and the Laplacian-pyramid L1 of the paper (via CtxSyn, Niklaus & Liu 2018).

The Laplacian loss compares band-pass levels: sum over levels i = 1..5 of 2^(i-1) times the mean
absolute difference of level i, so coarse structure counts more and fine detail still counts.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from frameinterp.errors import InvalidInputError

LOSSES = ("laplacian", "l1")
_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _blur(image: torch.Tensor) -> torch.Tensor:
    """5×5 binomial (approximately Gaussian) blur, channel by channel, replicated borders."""
    channels = image.shape[1]
    kernel = (_BINOMIAL[:, None] * _BINOMIAL[None, :]).to(image)
    kernel = kernel.expand(channels, 1, 5, 5)
    return F.conv2d(F.pad(image, (2, 2, 2, 2), mode="replicate"), kernel, groups=channels)


def laplacian_pyramid(image: torch.Tensor, levels: int = 5) -> list[torch.Tensor]:
    """Band-pass levels (finest first) and the low-pass residual as the last level."""
    pyramid = []
    current = image
    for _ in range(levels - 1):
        if min(current.shape[-2:]) < 2:
            break
        low = _blur(current)
        down = low[..., ::2, ::2]
        up = F.interpolate(down, size=current.shape[-2:], mode="bilinear", align_corners=False)
        pyramid.append(current - up)
        current = down
    pyramid.append(current)
    return pyramid


def laplacian_loss(estimate: torch.Tensor, target: torch.Tensor, levels: int = 5) -> torch.Tensor:
    """Sum of 2^(i-1) · mean |level_i(estimate) − level_i(target)|, i = 1 (finest) .. levels."""
    difference = estimate.float() - target.float()  # the pyramid is linear: one pyramid suffices
    return sum(
        (2.0**level) * band.abs().mean()
        for level, band in enumerate(laplacian_pyramid(difference, levels))
    )  # type: ignore[return-value]


def l1_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (estimate.float() - target.float()).abs().mean()


def loss_function(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss called ``name`` (``laplacian`` or ``l1``) as ``f(estimate, target)``."""
    if name == "laplacian":
        return laplacian_loss
    if name == "l1":
        return l1_loss
    raise InvalidInputError(f"unknown loss {name!r}; expected one of {', '.join(LOSSES)}")
