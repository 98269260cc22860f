"""Pure-PyTorch bilinear forward splatting (summation) and its gradients, on any device.

Vectorised with ``scatter_add_``/``gather``: four passes, one per bilinear corner, no Python
loop over pixels. Deterministic on the CPU.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Corner:
    """One of the four integer neighbours of every landing position."""

    index: torch.Tensor  # N x 1 x HW flat target index (clamped where invalid)
    valid: torch.Tensor  # N x 1 x HW, 1 where the corner lies inside the frame
    weight_x: torch.Tensor  # N x 1 x HW bilinear factor along x
    weight_y: torch.Tensor
    slope_x: float  # d weight_x / d target_x: +1 or -1
    slope_y: float


def corners(flow: torch.Tensor) -> Iterator[Corner]:
    """The four bilinear corners of every source pixel's landing position ``p + flow(p)``."""
    batch, _, height, width = flow.shape
    xs = torch.arange(width, device=flow.device, dtype=flow.dtype).view(1, 1, width)
    ys = torch.arange(height, device=flow.device, dtype=flow.dtype).view(1, height, 1)
    # Clamping far-away targets keeps the integer conversion safe; their corners are all
    # outside the frame either way, so weights and gradients stay exact.
    target_x = (xs + flow[:, 0]).clamp(-2.0, width + 1.0).reshape(batch, 1, -1)
    target_y = (ys + flow[:, 1]).clamp(-2.0, height + 1.0).reshape(batch, 1, -1)
    left = target_x.floor()
    top = target_y.floor()
    frac_x = target_x - left
    frac_y = target_y - top
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        x = left + dx
        y = top + dy
        valid = (x >= 0) & (x < width) & (y >= 0) & (y < height)
        index = torch.where(valid, y * width + x, torch.zeros_like(x)).long()
        yield Corner(
            index=index,
            valid=valid.to(flow.dtype),
            weight_x=frac_x if dx else 1.0 - frac_x,
            weight_y=frac_y if dy else 1.0 - frac_y,
            slope_x=1.0 if dx else -1.0,
            slope_y=1.0 if dy else -1.0,
        )


# Margins of the canvas that ``splat_forward`` accumulates into: landing positions are clamped
# to [-2, size + 1], so every bilinear corner falls within [-2, size + 2].
_MARGIN_BEFORE = 2
_MARGIN_AFTER = 3


def splat_forward(values: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sum of ``values`` splatted bilinearly along ``flow``; same shape as ``values``.

    Splats onto a canvas with a margin wide enough for every corner, then crops it: no
    per-corner validity masks or index clamping (half the work of going through ``corners``),
    and the same additions in the same order for every pixel inside the frame, so the result
    is bit-identical to masking the outside corners away.
    """
    batch, channels, height, width = values.shape
    canvas_width = width + _MARGIN_BEFORE + _MARGIN_AFTER
    canvas_height = height + _MARGIN_BEFORE + _MARGIN_AFTER
    xs = torch.arange(width, device=flow.device, dtype=flow.dtype)
    ys = torch.arange(height, device=flow.device, dtype=flow.dtype).view(height, 1)
    target_x = (flow[:, 0] + xs).clamp_(-2.0, width + 1.0).reshape(batch, 1, -1)
    target_y = (flow[:, 1] + ys).clamp_(-2.0, height + 1.0).reshape(batch, 1, -1)
    left = target_x.floor()
    top = target_y.floor()
    right_weight = target_x - left
    bottom_weight = target_y - top
    weights_x = (1.0 - right_weight, right_weight)
    weights_y = (1.0 - bottom_weight, bottom_weight)
    top_left = (top.long() + _MARGIN_BEFORE) * canvas_width + (left.long() + _MARGIN_BEFORE)
    flat = values.reshape(batch, channels, height * width)
    canvas = values.new_zeros(batch, channels, canvas_height * canvas_width)
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        index = top_left + (dy * canvas_width + dx) if dx or dy else top_left
        weight = weights_x[dx] * weights_y[dy]
        canvas.scatter_add_(2, index.expand(-1, channels, -1), flat * weight)
    inside = canvas.view(batch, channels, canvas_height, canvas_width)[
        :, :, _MARGIN_BEFORE : _MARGIN_BEFORE + height, _MARGIN_BEFORE : _MARGIN_BEFORE + width
    ]
    return inside.contiguous()


def splat_backward(
    values: torch.Tensor, flow: torch.Tensor, grad_output: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of ``splat_forward`` with respect to ``values`` and ``flow``."""
    batch, channels, height, width = values.shape
    flat_values = values.reshape(batch, channels, -1)
    flat_grad = grad_output.reshape(batch, channels, -1)
    grad_values = torch.zeros_like(flat_values)
    grad_x = torch.zeros(batch, 1, height * width, dtype=values.dtype, device=values.device)
    grad_y = torch.zeros_like(grad_x)
    for corner in corners(flow):
        gathered = flat_grad.gather(2, corner.index.expand(-1, channels, -1)) * corner.valid
        grad_values += gathered * (corner.weight_x * corner.weight_y)
        dot = (gathered * flat_values).sum(dim=1, keepdim=True)
        grad_x += dot * corner.slope_x * corner.weight_y
        grad_y += dot * corner.slope_y * corner.weight_x
    grad_flow = torch.cat([grad_x, grad_y], dim=1).view(batch, 2, height, width)
    return grad_values.view_as(values), grad_flow
