"""Bilinear backward warping: ``output(p) = image(p + flow(p))``, the inverse of splatting."""

from __future__ import annotations

import torch
import torch.nn.functional as functional

from frameinterp.errors import InvalidInputError


def backwarp(image: torch.Tensor, flow: torch.Tensor, padding_mode: str = "border") -> torch.Tensor:
    """Sample ``image`` at ``p + flow(p)`` for every pixel ``p``.

    Shape:
        image N×C×H×W, flow N×2×H×W (pixels, x then y) → N×C×H×W.
    ``padding_mode`` is ``border`` (repeat the edge) or ``zeros`` for samples outside the frame.
    """
    if image.dim() != 4 or flow.dim() != 4:
        raise InvalidInputError(
            f"backwarp needs 4-D image and flow, got {tuple(image.shape)} and {tuple(flow.shape)}"
        )
    batch, _, height, width = image.shape
    if tuple(flow.shape) != (batch, 2, height, width):
        raise InvalidInputError(
            f"flow must be N×2×H×W = {(batch, 2, height, width)}, got {tuple(flow.shape)}"
        )
    if padding_mode not in ("border", "zeros"):
        raise InvalidInputError(f"padding_mode must be 'border' or 'zeros', got {padding_mode!r}")
    flow = flow.to(image.dtype)
    xs = torch.arange(width, device=image.device, dtype=image.dtype).view(1, width)
    ys = torch.arange(height, device=image.device, dtype=image.dtype).view(height, 1)
    # grid_sample with align_corners=True maps -1 and +1 onto the first and last pixel centres.
    grid_x = (xs + flow[:, 0]) * (2.0 / max(width - 1, 1)) - 1.0
    grid_y = (ys + flow[:, 1]) * (2.0 / max(height - 1, 1)) - 1.0
    grid = torch.stack([grid_x, grid_y], dim=3)
    return functional.grid_sample(
        image, grid, mode="bilinear", padding_mode=padding_mode, align_corners=True
    )


class Backwarp(torch.nn.Module):
    """Module twin of :func:`backwarp`."""

    def __init__(self, padding_mode: str = "border") -> None:
        super().__init__()
        self.padding_mode = padding_mode

    def forward(self, image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        return backwarp(image, flow, self.padding_mode)
