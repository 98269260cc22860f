"""The complete learned interpolator: channel order, padding, normalisation, flow, synthesis.

``SoftsplatNetwork.forward`` is the one code path: training, ``load_checkpoint`` users and the
``softsplat-net`` engine all run it, and the reference test vector holds it to the published
network's outputs. What the published code does around its network is part of it:

- it takes **B, G, R** channels (it was trained on OpenCV-decoded frames); we take and return
  R, G, B like the rest of frameinterp, and reorder on the way in and out;
- an odd side is replicate-padded to even first, and the *padded* pair is then normalised by
  its joint mean and population standard deviation (+ 1e-7 when dividing);
- the output is de-normalised with the same statistics and cropped back.

For frames too large for memory, ``Tiling`` can estimate flow on a downscaled copy and run the
synthesis in overlapping tiles. Both change the output slightly, so they are off by default
and the engine turns them on only where a frame would not fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from frameinterp.errors import InvalidInputError
from frameinterp.network.flow import FlowEstimator, resize_flow_per_axis
from frameinterp.network.synthesis import Synthesis, _as_time
from frameinterp.tiling import Crop, Tile, blend_weights, pad_to_multiple, plan_tiles

PARAMETER_COUNT = 7_668_852  # the published checkpoint's size; tests hold us to it
STD_EPSILON = 1e-7  # added to the standard deviation when dividing, as the published code does
ALIGN = 4  # synthesis features at 1, 1/2 and 1/4 resolution: tiles start on multiples of 4


@dataclass(frozen=True)
class Normalisation:
    """Per-sample mean and standard deviation shared by both frames of a pair.

    The joint statistics of the two frames: the mean of their means, and the population
    standard deviation of all their values (each frame's variance plus its mean's distance
    from the joint mean, averaged), as the published network computes them.
    """

    mean: torch.Tensor  # N×1×1×1
    std: torch.Tensor  # N×1×1×1

    @staticmethod
    def of(frame_one: torch.Tensor, frame_two: torch.Tensor) -> Normalisation:
        frames = (frame_one, frame_two)
        means = [frame.mean((1, 2, 3), keepdim=True) for frame in frames]
        mean = (means[0] + means[1]) / 2
        variances = [
            frame.var((1, 2, 3), correction=0, keepdim=True) + (mean - frame_mean).square()
            for frame, frame_mean in zip(frames, means, strict=True)
        ]
        return Normalisation(mean, ((variances[0] + variances[1]) / 2).sqrt())

    def apply(self, image: torch.Tensor) -> torch.Tensor:
        return (image - self.mean) / (self.std + STD_EPSILON)

    def invert(self, image: torch.Tensor) -> torch.Tensor:
        return image * self.std + self.mean


@dataclass(frozen=True)
class Tiling:
    """How to bound memory on large frames; the defaults (``None``) process the frame whole.

    ``tile_size``: run the synthesis in overlapping tiles of at most this side, each tile's
    result weighted by blend weights that sum to one (``frameinterp.tiling``).
    ``flow_max_size``: estimate flow on a copy downscaled so its longer side is at most this,
    then upsample the flow. Either changes the output a little (the network sees less context
    at a tile's border, and a coarser frame), so use them only where the frame would not fit.
    """

    tile_size: int | None = None
    tile_overlap: int = 64
    flow_max_size: int | None = None

    def __post_init__(self) -> None:
        if self.tile_overlap < 0 or self.tile_overlap % ALIGN:
            raise InvalidInputError(
                f"tile overlap must be a multiple of {ALIGN} pixels (0 or more), "
                f"got {self.tile_overlap}"
            )
        if self.tile_size is not None and (
            self.tile_size < max(3 * self.tile_overlap, 64) or self.tile_size % ALIGN
        ):
            raise InvalidInputError(
                f"tile size must be a multiple of {ALIGN}, at least 64 and at least 3 × the "
                f"overlap ({self.tile_overlap}), got {self.tile_size}"
            )
        if self.flow_max_size is not None and self.flow_max_size < 64:
            raise InvalidInputError(
                f"flow_max_size must be at least 64 pixels, got {self.flow_max_size}"
            )


def aligned_tiles(height: int, width: int, tile_size: int, overlap: int) -> list[Tile]:
    """``plan_tiles`` on a grid of ``ALIGN``-pixel cells: every tile starts on a multiple of 4.

    Then a tile's half- and quarter-resolution features line up with the whole frame's, and
    neighbours still overlap by exactly ``overlap`` pixels (a multiple of 4), so
    ``blend_weights(tile, height, width, overlap)`` sums to one over the frame.
    """
    cells = plan_tiles(
        -(-height // ALIGN), -(-width // ALIGN), tile_size // ALIGN, overlap // ALIGN
    )
    return [
        Tile(
            cell.y0 * ALIGN,
            min(cell.y1 * ALIGN, height),
            cell.x0 * ALIGN,
            min(cell.x1 * ALIGN, width),
        )
        for cell in cells
    ]


class SoftsplatNetwork(nn.Module):
    """Softmax-splatting interpolation network (Niklaus & Liu, CVPR 2020), 7,668,852 parameters.

    Shape:
        frame_one, frame_two: N×3×H×W, **RGB** in [0, 1] (any size of at least 2×2).
        ``forward`` returns one N×3×H×W RGB frame per time (not clamped: training sees raw
        values).

    Example:
        >>> network = SoftsplatNetwork().eval()
        >>> with torch.no_grad():
        ...     middle = network(torch.rand(1, 3, 32, 48), torch.rand(1, 3, 32, 48), [0.5])[0]
        >>> tuple(middle.shape)
        (1, 3, 32, 48)
    """

    def __init__(self) -> None:
        super().__init__()
        self.flow = FlowEstimator()
        self.synthesis = Synthesis()

    def forward(
        self,
        frame_one: torch.Tensor,
        frame_two: torch.Tensor,
        times: Sequence[float] | torch.Tensor,
        tiling: Tiling | None = None,
    ) -> list[torch.Tensor]:
        _check_frames(frame_one, frame_two)
        tiling = tiling or Tiling()
        # The published weights expect B, G, R: reverse the channels in, and out again below.
        one, crop = pad_even(frame_one.flip(1))
        two, _ = pad_even(frame_two.flip(1))
        normalisation = Normalisation.of(one, two)
        one, two = normalisation.apply(one), normalisation.apply(two)
        flow_forward, flow_backward = self.estimate_flow(one, two, tiling.flow_max_size)
        # Flows stay float32 under autocast: splatting positions need the precision.
        flows = (flow_forward.float(), flow_backward.float())
        frames = self.synthesise(one, two, *flows, times, tiling)
        return [crop(normalisation.invert(frame)).flip(1) for frame in frames]

    def estimate_flow(
        self, one: torch.Tensor, two: torch.Tensor, max_size: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both flows at full size; on a downscaled copy where the longer side exceeds
        ``max_size`` (the pyramid's coarse levels still see large motions)."""
        height, width = int(one.shape[-2]), int(one.shape[-1])
        longest = max(height, width)
        if max_size is None or longest <= max_size:
            flows: tuple[torch.Tensor, torch.Tensor] = self.flow(one, two)
            return flows
        scale = max_size / longest
        size = (max(2, round(height * scale)), max(2, round(width * scale)))
        small = [
            nn.functional.interpolate(
                image, size=size, mode="bilinear", align_corners=False, antialias=True
            )
            for image in (one, two)
        ]
        forward, backward = self.flow(small[0], small[1])
        full = (height, width)
        return resize_flow_per_axis(forward, full), resize_flow_per_axis(backward, full)

    def synthesise(
        self,
        one: torch.Tensor,
        two: torch.Tensor,
        flow_forward: torch.Tensor,
        flow_backward: torch.Tensor,
        times: Sequence[float] | torch.Tensor,
        tiling: Tiling | None = None,
    ) -> list[torch.Tensor]:
        """Frames at ``times`` (normalised space), in overlapping tiles when asked to."""
        tiling = tiling or Tiling()
        height, width = int(one.shape[-2]), int(one.shape[-1])
        time_tensors = [_as_time(t, one) for t in times]
        size = tiling.tile_size
        if size is None or (height <= size and width <= size):
            context = self.synthesis.prepare(one, two, flow_forward, flow_backward)
            return [self.synthesis.render(context, time) for time in time_tensors]
        outputs = [one.new_zeros(one.shape[0], 3, height, width) for _ in time_tensors]
        for tile in aligned_tiles(height, width, size, tiling.tile_overlap):
            context = self.synthesis.prepare(
                tile.crop(one), tile.crop(two), tile.crop(flow_forward), tile.crop(flow_backward)
            )
            weights = blend_weights(tile, height, width, tiling.tile_overlap, one.device)
            for output, time in zip(outputs, time_tensors, strict=True):
                tile.crop(output).add_(self.synthesis.render(context, time) * weights)
        return outputs


def pad_even(image: torch.Tensor) -> tuple[torch.Tensor, Crop]:
    """Replicate-pad to even height and width, as the network expects."""
    return pad_to_multiple(image, 2)


def _check_frames(frame_one: torch.Tensor, frame_two: torch.Tensor) -> None:
    if frame_one.dim() != 4 or frame_one.shape[1] != 3 or frame_one.shape != frame_two.shape:
        raise InvalidInputError(
            "the network expects two N×3×H×W frames of the same shape, got "
            f"{tuple(frame_one.shape)} and {tuple(frame_two.shape)}"
        )
    if min(frame_one.shape[-2:]) < 2:
        raise InvalidInputError(f"frames must be at least 2×2 pixels, got {tuple(frame_one.shape)}")
