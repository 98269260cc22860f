"""Overlapping tiles, their blend weights, and padding: pure helpers for high resolutions.

A frame too large for memory is cut into a grid of tiles that overlap by exactly ``overlap``
pixels with their neighbours. Each tile is processed on its own and the results are summed with
``blend_weights``: smooth ramps across each overlap that add up to exactly 1 at every pixel, so
the seams fade instead of showing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from frameinterp.errors import InvalidInputError

__all__ = [
    "Crop",
    "Tile",
    "blend_weights",
    "pad_to_multiple",
    "plan_axis",
    "plan_tiles",
    "tile_side_for_budget",
]


@dataclass(frozen=True)
class Tile:
    """A tile's rows ``y0:y1`` and columns ``x0:x1``, overlap included (end exclusive)."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    def crop(self, tensor: torch.Tensor) -> torch.Tensor:
        """The tile's region of a ``(..., H, W)`` tensor (a view, no copy)."""
        return tensor[..., self.y0 : self.y1, self.x0 : self.x1]


def plan_axis(length: int, tile_size: int, overlap: int) -> list[tuple[int, int]]:
    """Split ``0:length`` into the fewest spans (at most ``tile_size``) overlapping by ``overlap``.

    Neighbouring spans overlap by exactly ``overlap`` (so a fixed-width ramp cross-fades them),
    and their lengths differ by at most one pixel.
    """
    if length < 1:
        raise InvalidInputError(f"cannot tile an axis of length {length}; expected at least 1")
    if overlap < 0:
        raise InvalidInputError(f"tile overlap must be 0 or more pixels, got {overlap}")
    if tile_size < max(1, 3 * overlap):
        raise InvalidInputError(
            f"tile size {tile_size} is too small for an overlap of {overlap}: "
            "use a tile size of at least 3 × the overlap (and at least 1)"
        )
    if length <= tile_size:
        return [(0, length)]
    count = math.ceil((length - overlap) / (tile_size - overlap))
    total = length + (count - 1) * overlap  # summed span lengths, overlaps counted twice
    base, extra = divmod(total, count)
    spans = []
    start = 0
    for index in range(count):
        span = base + (1 if index < extra else 0)
        spans.append((start, start + span))
        start += span - overlap
    return spans


def plan_tiles(height: int, width: int, tile_size: int, overlap: int) -> list[Tile]:
    """A grid of tiles of at most ``tile_size``×``tile_size`` covering the frame, row by row.

    Tiles overlap their neighbours by exactly ``overlap`` pixels; a frame smaller than the tile
    size is one tile. ``tile_size`` must be at least three times ``overlap`` so that the ramps
    at the two ends of a tile never meet.
    """
    rows = plan_axis(height, tile_size, overlap)
    columns = plan_axis(width, tile_size, overlap)
    return [Tile(y0, y1, x0, x1) for y0, y1 in rows for x0, x1 in columns]


def _ramp(
    start: int, end: int, length: int, overlap: int, device: torch.device | str | None
) -> torch.Tensor:
    """1-D weights of the span ``start:end``: smoothstep up/down across overlaps, 1 elsewhere.

    The rising ramp r(k) = smoothstep((k + 0.5) / overlap) satisfies r(k) + r(overlap-1-k) = 1,
    so a tile fading out and its neighbour fading in add to exactly 1 over the shared pixels.
    """
    weights = torch.ones(end - start, dtype=torch.float32, device=device)
    if overlap == 0:
        return weights
    position = (torch.arange(overlap, dtype=torch.float64, device=device) + 0.5) / overlap
    rising = (position * position * (3.0 - 2.0 * position)).to(torch.float32)
    if start > 0:
        weights[:overlap] *= rising
    if end < length:
        weights[-overlap:] *= rising.flip(0)
    return weights


def blend_weights(
    tile: Tile, height: int, width: int, overlap: int, device: torch.device | str | None = None
) -> torch.Tensor:
    """Weights (1×1×h×w, float32) to multiply the tile's result by before summing all tiles.

    Assumes the tile comes from ``plan_tiles(height, width, tile_size, overlap)`` with the same
    ``overlap``; then the weights of all tiles sum to 1 at every pixel of the frame.
    """
    if not (0 <= tile.y0 < tile.y1 <= height and 0 <= tile.x0 < tile.x1 <= width):
        raise InvalidInputError(f"tile {tile} does not lie inside a {width}×{height} frame")
    rows = _ramp(tile.y0, tile.y1, height, overlap, device)
    columns = _ramp(tile.x0, tile.x1, width, overlap, device)
    return (rows[:, None] * columns[None, :])[None, None]


@dataclass(frozen=True)
class Crop:
    """Undoes ``pad_to_multiple``: keeps the first ``height`` rows and ``width`` columns."""

    height: int
    width: int

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor[..., : self.height, : self.width]


def pad_to_multiple(
    tensor: torch.Tensor, multiple: int, mode: str = "replicate"
) -> tuple[torch.Tensor, Crop]:
    """Pad a ``(N, C, H, W)`` tensor at the bottom and right so H and W divide by ``multiple``.

    Networks with ``k`` halvings need sizes that divide by ``2**k``; replicated borders (the
    default) keep the padding free of artificial edges. Returns the padded tensor and the
    ``Crop`` that gives back the original size.
    """
    if multiple < 1:
        raise InvalidInputError(f"pad multiple must be 1 or more, got {multiple}")
    if tensor.ndim != 4:
        raise InvalidInputError(
            f"expected a (N, C, H, W) tensor to pad, got shape {tuple(tensor.shape)}"
        )
    height, width = int(tensor.shape[-2]), int(tensor.shape[-1])
    pad_bottom = -height % multiple
    pad_right = -width % multiple
    crop = Crop(height, width)
    if pad_bottom == 0 and pad_right == 0:
        return tensor, crop
    if mode == "reflect" and (pad_bottom >= height or pad_right >= width):
        raise InvalidInputError(
            f"reflect padding of {pad_right}×{pad_bottom} needs a larger frame than "
            f"{width}×{height}; use mode='replicate'"
        )
    return F.pad(tensor, (0, pad_right, 0, pad_bottom), mode=mode), crop


def tile_side_for_budget(budget_bytes: int, bytes_per_pixel: int, minimum: int = 64) -> int:
    """The largest square tile whose working set (``bytes_per_pixel`` each) fits the budget.

    Used to keep device memory bounded: a card with little free memory gets smaller tiles
    instead of an out-of-memory error. A budget below one ``minimum``-sided tile is refused.
    """
    if bytes_per_pixel <= 0:
        raise InvalidInputError(f"bytes_per_pixel must be positive, got {bytes_per_pixel}")
    side = math.isqrt(max(budget_bytes, 0) // bytes_per_pixel)
    if side < minimum:
        needed = minimum * minimum * bytes_per_pixel
        raise InvalidInputError(
            f"a memory budget of {budget_bytes / 2**20:.1f} MiB is too small for tiles of "
            f"{minimum}×{minimum} pixels; allow at least {needed / 2**20:.1f} MiB"
        )
    return side
