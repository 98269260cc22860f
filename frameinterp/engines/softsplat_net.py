"""Engine ``softsplat-net``: the learned softmax-splatting network, with tiling for large frames.

The network needs trained weights, which the user passes (``--weights PATH``); nothing is ever
downloaded. Large frames keep memory bounded in two ways:

- flow is estimated on a downscaled copy when the frame's longer side exceeds
  ``flow_max_size`` (the pyramid's coarse levels already see large motions), then upsampled;
- synthesis runs in overlapping tiles (``frameinterp.tiling``), each tile's result weighted by
  smooth blend weights that sum to one, so seams fade out. Tiles start on multiples of four
  pixels so that their half- and quarter-resolution features line up with the whole frame's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from frameinterp.errors import InvalidInputError
from frameinterp.network.checkpoint import load_checkpoint
from frameinterp.network.flow import resize_flow
from frameinterp.network.model import Normalisation, SoftsplatNetwork, pad_even
from frameinterp.tiling import Tile, blend_weights, plan_tiles

ALIGN = 4  # synthesis features at 1, 1/2 and 1/4 resolution
# float16/bfloat16 run the convolutions under autocast (about half the memory and time on
# recent GPUs); splatting still accumulates in float32.
PRECISIONS = {"float32": None, "float16": torch.float16, "bfloat16": torch.bfloat16}


def aligned_tiles(height: int, width: int, tile_size: int, overlap: int) -> list[Tile]:
    """``plan_tiles`` on a grid of ``ALIGN``-pixel cells: every tile starts on a multiple of 4.

    Neighbours still overlap by exactly ``overlap`` pixels (a multiple of 4), so
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


class SoftsplatNetInterpolator:
    """The trained network behind the ``Interpolator`` contract (frames 3×H×W in [0, 1])."""

    name = "softsplat-net"

    def __init__(
        self,
        device: torch.device | str = "cpu",
        weights: str | Path | None = None,
        network: SoftsplatNetwork | None = None,
        tile_size: int = 1024,
        tile_overlap: int = 64,
        flow_max_size: int = 2048,
        precision: str = "float32",
    ) -> None:
        self.device = torch.device(device)
        if network is None:
            if weights is None:
                raise InvalidInputError(
                    "engine 'softsplat-net' needs trained weights: pass --weights PATH (a "
                    ".safetensors file, the published 'lf' checkpoint, or a checkpoint from "
                    "'frameinterp train'); no weights are downloaded. Without weights, use the "
                    "training-free engine ('classic')"
                )
            network = load_checkpoint(weights)
        if tile_overlap < 0 or tile_overlap % ALIGN:
            raise InvalidInputError(
                f"tile overlap must be a multiple of {ALIGN} pixels (0 or more), got {tile_overlap}"
            )
        if tile_size < max(3 * tile_overlap, 64) or tile_size % ALIGN:
            raise InvalidInputError(
                f"tile size must be a multiple of {ALIGN}, at least 64 and at least 3 × the "
                f"overlap ({tile_overlap}), got {tile_size}"
            )
        if flow_max_size < 64:
            raise InvalidInputError(
                f"flow_max_size must be at least 64 pixels, got {flow_max_size}"
            )
        if precision not in PRECISIONS:
            raise InvalidInputError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}"
            )
        self.precision = precision
        self.network = network.to(self.device).eval()
        self.tile_size = tile_size
        self.tile_overlap = tile_overlap
        self.flow_max_size = flow_max_size

    @torch.inference_mode()
    def interpolate(
        self, frame0: torch.Tensor, frame1: torch.Tensor, times: Sequence[float]
    ) -> list[torch.Tensor]:
        if frame0.dim() != 3 or frame0.shape[0] != 3 or frame0.shape != frame1.shape:
            raise InvalidInputError(
                "softsplat-net expects two 3×H×W frames of the same size, got "
                f"{tuple(frame0.shape)} and {tuple(frame1.shape)}"
            )
        if not times:
            return []
        one = frame0[None].to(self.device, torch.float32)
        two = frame1[None].to(self.device, torch.float32)
        stats = Normalisation.of(one, two)
        one_padded, crop = pad_even(stats.apply(one))
        two_padded, _ = pad_even(stats.apply(two))
        dtype = PRECISIONS[self.precision]
        with torch.autocast(
            self.device.type, dtype=dtype or torch.float32, enabled=dtype is not None
        ):
            flow_forward, flow_backward = self.estimate_flow(one_padded, two_padded)
            flow_forward, flow_backward = flow_forward.float(), flow_backward.float()
            rendered = self.synthesise(one_padded, two_padded, flow_forward, flow_backward, times)
        rendered = [image.float() for image in rendered]
        return [stats.invert(crop(image))[0].clamp(0.0, 1.0).to(frame0.dtype) for image in rendered]

    def estimate_flow(
        self, one: torch.Tensor, two: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both flows at full size; estimated on a downscaled copy for very large frames."""
        height, width = int(one.shape[-2]), int(one.shape[-1])
        longest = max(height, width)
        if longest <= self.flow_max_size:
            flows: tuple[torch.Tensor, torch.Tensor] = self.network.flow(one, two)
            return flows
        scale = self.flow_max_size / longest
        size = (max(2, round(height * scale / 2) * 2), max(2, round(width * scale / 2) * 2))
        small = [
            nn.functional.interpolate(
                image, size=size, mode="bilinear", align_corners=False, antialias=True
            )
            for image in (one, two)
        ]
        forward, backward = self.network.flow(small[0], small[1])
        return resize_flow(forward, (height, width)), resize_flow(backward, (height, width))

    def synthesise(
        self,
        one: torch.Tensor,
        two: torch.Tensor,
        flow_forward: torch.Tensor,
        flow_backward: torch.Tensor,
        times: Sequence[float],
    ) -> list[torch.Tensor]:
        """Frames at ``times`` (normalised space), in overlapping tiles when the frame is large."""
        synthesis = self.network.synthesis
        height, width = int(one.shape[-2]), int(one.shape[-1])
        time_tensors = [torch.full((1, 1, 1, 1), float(t), device=one.device) for t in times]
        if height <= self.tile_size and width <= self.tile_size:
            context = synthesis.prepare(one, two, flow_forward, flow_backward)
            return [synthesis.render(context, t) for t in time_tensors]
        outputs = [one.new_zeros(1, 3, height, width) for _ in times]
        for tile in aligned_tiles(height, width, self.tile_size, self.tile_overlap):
            context = synthesis.prepare(
                tile.crop(one), tile.crop(two), tile.crop(flow_forward), tile.crop(flow_backward)
            )
            weights = blend_weights(tile, height, width, self.tile_overlap, one.device)
            for output, time in zip(outputs, time_tensors, strict=True):
                tile.crop(output).add_(synthesis.render(context, time) * weights)
        return outputs
