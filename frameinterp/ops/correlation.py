"""Cost volume (correlation) between two feature maps, as used by PWC-style flow estimators.

``volume[n, d, y, x] = mean_c one[n, c, y, x] * two[n, c, y + dy, x + dx]`` for every
displacement ``(dy, dx)`` within ``radius`` (row-major: ``d = (dy + r) * (2r + 1) + dx + r``),
with ``two`` read as zero outside the frame. Radius 4 gives the 81 channels of the published
network. Two backends with the same contract: ``torch`` (any device, one vectorised pass per
displacement) and ``cuda`` (CuPy kernels from ``kernels/correlation.cu``).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from frameinterp.errors import InvalidInputError
from frameinterp.ops.cuda_runtime import kernel, launch, pointer
from frameinterp.ops.softsplat import choose_backend

__all__ = ["Correlation", "correlation"]

Backend = Literal["auto", "cuda", "torch"]
SOURCE = "correlation.cu"
CUDA_SUFFIX = {torch.float32: "f32", torch.float16: "f16"}


def _displacements(radius: int) -> list[tuple[int, int]]:
    """(dy, dx) pairs in channel order."""
    return [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]


# ---------------------------------------------------------------------------- torch backend
def _torch_forward(one: torch.Tensor, two: torch.Tensor, radius: int) -> torch.Tensor:
    _, channels, height, width = one.shape
    padded = nn.functional.pad(two, (radius, radius, radius, radius))
    planes = [
        (one * padded[:, :, radius + dy : radius + dy + height, radius + dx : radius + dx + width])
        .sum(1)
        .div_(channels)
        for dy, dx in _displacements(radius)
    ]
    return torch.stack(planes, 1)


def _torch_backward(
    one: torch.Tensor, two: torch.Tensor, grad_volume: torch.Tensor, radius: int
) -> tuple[torch.Tensor, torch.Tensor]:
    _, channels, height, width = one.shape
    padded_two = nn.functional.pad(two, (radius, radius, radius, radius))
    grad_one = torch.zeros_like(one)
    grad_two_padded = torch.zeros_like(padded_two)
    for d, (dy, dx) in enumerate(_displacements(radius)):
        rows = slice(radius + dy, radius + dy + height)
        cols = slice(radius + dx, radius + dx + width)
        weight = grad_volume[:, d : d + 1] / channels
        grad_one += weight * padded_two[:, :, rows, cols]
        grad_two_padded[:, :, rows, cols] += weight * one
    grad_two = grad_two_padded[:, :, radius : radius + height, radius : radius + width]
    return grad_one, grad_two.contiguous()


# ----------------------------------------------------------------------------- cuda backend
def _cuda_shape(one: torch.Tensor, radius: int) -> tuple[Any, ...]:
    import numpy as np

    _, channels, height, width = one.shape
    return (np.int32(channels), np.int32(height), np.int32(width), np.int32(radius))


def _cuda_forward(one: torch.Tensor, two: torch.Tensor, radius: int) -> torch.Tensor:
    batch, _, height, width = one.shape
    diameter = 2 * radius + 1
    one, two = one.contiguous(), two.contiguous()
    volume = torch.empty(
        (batch, diameter * diameter, height, width), dtype=torch.float32, device=one.device
    )
    function = kernel(SOURCE, f"correlation_forward_{CUDA_SUFFIX[one.dtype]}", one.device)
    arguments = (*_cuda_shape(one, radius), pointer(one), pointer(two), pointer(volume))
    launch(function, volume.numel(), arguments, one.device)
    return volume.to(one.dtype)


def _cuda_backward(
    one: torch.Tensor, two: torch.Tensor, grad_volume: torch.Tensor, radius: int
) -> tuple[torch.Tensor, torch.Tensor]:
    one, two = one.contiguous(), two.contiguous()
    grad_volume = grad_volume.float().contiguous()
    suffix = CUDA_SUFFIX[one.dtype]
    shape = _cuda_shape(one, radius)
    grad_one = torch.empty(one.shape, dtype=torch.float32, device=one.device)
    grad_two = torch.empty(one.shape, dtype=torch.float32, device=one.device)
    function = kernel(SOURCE, f"correlation_backward_one_{suffix}", one.device)
    launch(
        function,
        one.numel(),
        (*shape, pointer(grad_volume), pointer(two), pointer(grad_one)),
        one.device,
    )
    function = kernel(SOURCE, f"correlation_backward_two_{suffix}", one.device)
    launch(
        function,
        one.numel(),
        (*shape, pointer(grad_volume), pointer(one), pointer(grad_two)),
        one.device,
    )
    return grad_one.to(one.dtype), grad_two.to(one.dtype)


# ---------------------------------------------------------------------------------- autograd
class _CorrelationFunction(torch.autograd.Function):
    """Explicit backward, so both backends share one autograd node and one set of tests."""

    @staticmethod
    def forward(
        ctx: Any, one: torch.Tensor, two: torch.Tensor, radius: int, use_cuda: bool
    ) -> torch.Tensor:
        ctx.save_for_backward(one, two)
        ctx.radius = radius
        ctx.use_cuda = use_cuda
        if use_cuda:
            return _cuda_forward(one, two, radius)
        return _torch_forward(one, two, radius)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(
        ctx: Any, grad_volume: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, None, None]:
        one, two = ctx.saved_tensors
        if not (ctx.needs_input_grad[0] or ctx.needs_input_grad[1]):
            return None, None, None, None
        backward = _cuda_backward if ctx.use_cuda else _torch_backward
        grad_one, grad_two = backward(one, two, grad_volume, ctx.radius)
        return (
            grad_one if ctx.needs_input_grad[0] else None,
            grad_two if ctx.needs_input_grad[1] else None,
            None,
            None,
        )


def correlation(
    one: torch.Tensor, two: torch.Tensor, radius: int = 4, backend: Backend = "auto"
) -> torch.Tensor:
    """Cost volume of ``one`` against ``two`` for displacements up to ``radius`` pixels.

    Shape:
        one, two: N x C x H x W floating point, same shape, dtype and device.
        output: N x (2 * radius + 1)^2 x H x W, dtype of the inputs.

    ``auto`` uses the CuPy kernels for float32/float16 CUDA tensors when CuPy works, and the
    PyTorch path otherwise. Differentiable with respect to both inputs.

    Example:
        >>> volume = correlation(torch.rand(1, 8, 6, 5), torch.rand(1, 8, 6, 5))
        >>> tuple(volume.shape)
        (1, 81, 6, 5)
    """
    if one.dim() != 4 or one.shape != two.shape:
        raise InvalidInputError(
            "correlation expects two N x C x H x W tensors of the same shape, got "
            f"{tuple(one.shape)} and {tuple(two.shape)}"
        )
    if one.dtype != two.dtype or one.device != two.device:
        raise InvalidInputError(
            f"correlation inputs must share dtype and device, got {one.dtype} on {one.device} "
            f"and {two.dtype} on {two.device}"
        )
    if not one.is_floating_point():
        raise InvalidInputError(f"correlation expects floating point features, got {one.dtype}")
    if isinstance(radius, bool) or not isinstance(radius, int) or radius < 0:
        raise InvalidInputError(f"radius must be a non-negative integer, got {radius!r}")
    if one.shape[1] == 0:
        raise InvalidInputError("correlation needs at least one feature channel, got 0")
    use_cuda = choose_backend(one, backend) == "cuda"
    result: torch.Tensor = _CorrelationFunction.apply(one, two, radius, use_cuda)
    return result


class Correlation(nn.Module):
    """Module twin of :func:`correlation` (no parameters)."""

    def __init__(self, radius: int = 4, backend: Backend = "auto") -> None:
        super().__init__()
        self.radius = radius
        self.backend: Backend = backend

    def forward(self, one: torch.Tensor, two: torch.Tensor) -> torch.Tensor:
        return correlation(one, two, self.radius, self.backend)

    def extra_repr(self) -> str:
        return f"radius={self.radius}, backend={self.backend!r}"
