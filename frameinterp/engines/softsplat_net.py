"""Engine ``softsplat-net``: the learned softmax-splatting network behind the engine contract.

The engine runs ``SoftsplatNetwork.forward`` (the code path the reference test vector checks)
and adds only what an engine needs: device placement, optional autocast, clamping to [0, 1],
and a memory plan. The network needs trained weights, which the user passes (``--weights
PATH``); nothing is ever downloaded.

Memory plan: a frame is processed whole, exactly as the published network does, whenever its
estimated working set fits the memory budget (half the memory free on the device, or
``memory_budget`` bytes). Only a frame that would not fit gets the two approximations of
``Tiling``: synthesis in overlapping tiles sized to the budget, and flow estimated on a
downscaled copy. Explicit ``tile_size`` / ``flow_max_size`` force them (for tests and for
users who know their memory better).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch

from frameinterp.errors import InvalidInputError
from frameinterp.network.checkpoint import load_checkpoint
from frameinterp.network.model import ALIGN, SoftsplatNetwork, Tiling, aligned_tiles

__all__ = [
    "FLOW_BYTES_PER_PIXEL",
    "SYNTHESIS_BYTES_PER_PIXEL",
    "SoftsplatNetInterpolator",
    "aligned_tiles",
    "available_memory",
    "plan_tiling",
]

# float16/bfloat16 run the convolutions under autocast (about half the memory and time on
# recent GPUs); splatting still accumulates in float32.
PRECISIONS = {"float32": None, "float16": torch.float16, "bfloat16": torch.bfloat16}

# Peak working set per pixel of the (even-padded) frame in float32 inference on the CPU, from
# bench/softsplat_net_memory.py (peak resident growth at 512×768: flow 3,211 B, synthesis
# 2,630 B for one time), rounded up for allocator slack. At 4K (8.3 Mpx) that is about 34 GB
# for flow and 26 GB for synthesis: whole on a large GPU, tiled on a 24 GB machine.
SYNTHESIS_BYTES_PER_PIXEL = 3072  # one time step: encoder, metric, splatting and GridNet
FLOW_BYTES_PER_PIXEL = 4096  # both directions: half-resolution pyramid, cost volumes, decoders


def available_memory(device: torch.device) -> int:
    """Bytes free for this job on ``device``: free device memory, or available system RAM."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(free + cached)
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30  # unknown platform: assume a modest machine


def plan_tiling(height: int, width: int, budget: int, overlap: int = 64) -> Tiling:
    """The ``Tiling`` for a frame (even-padded size) under a memory budget in bytes.

    Whole frame where it fits; otherwise tiles whose working set fits, and a flow size whose
    working set fits.
    """
    pixels = height * width
    tile_size = None
    if pixels * SYNTHESIS_BYTES_PER_PIXEL > budget:
        side = math.isqrt(max(budget, 0) // SYNTHESIS_BYTES_PER_PIXEL) // ALIGN * ALIGN
        tile_size = max(side, 3 * overlap, 64)
    flow_max_size = None
    if pixels * FLOW_BYTES_PER_PIXEL > budget:
        scale = math.sqrt(max(budget, 0) / (pixels * FLOW_BYTES_PER_PIXEL))
        flow_max_size = max(64, math.floor(max(height, width) * scale))
    return Tiling(tile_size=tile_size, tile_overlap=overlap, flow_max_size=flow_max_size)


class SoftsplatNetInterpolator:
    """The trained network behind the ``Interpolator`` contract (frames 3×H×W RGB in [0, 1])."""

    name = "softsplat-net"

    def __init__(
        self,
        device: torch.device | str = "cpu",
        weights: str | Path | None = None,
        network: SoftsplatNetwork | None = None,
        tile_size: int | None = None,
        tile_overlap: int = 64,
        flow_max_size: int | None = None,
        precision: str = "float32",
        memory_budget: int | None = None,
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
        # Checks the sizes now, so a bad option fails before the first frame.
        self.forced = Tiling(tile_size, tile_overlap, flow_max_size)
        if precision not in PRECISIONS:
            raise InvalidInputError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}"
            )
        if memory_budget is not None and memory_budget <= 0:
            raise InvalidInputError(f"memory budget must be positive, got {memory_budget}")
        self.precision = precision
        self.memory_budget = memory_budget
        self.network = network.to(self.device).eval()

    def tiling_for(self, height: int, width: int) -> Tiling:
        """The plan for a frame of this size: forced options win, the rest follow memory."""
        padded = (height + height % 2, width + width % 2)
        budget = self.memory_budget
        if budget is None:
            budget = available_memory(self.device) // 2  # leave room for the rest of the job
        planned = plan_tiling(*padded, budget, self.forced.tile_overlap)
        return Tiling(
            tile_size=self.forced.tile_size or planned.tile_size,
            tile_overlap=self.forced.tile_overlap,
            flow_max_size=self.forced.flow_max_size or planned.flow_max_size,
        )

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
        tiling = self.tiling_for(int(one.shape[-2]), int(one.shape[-1]))
        dtype = PRECISIONS[self.precision]
        with torch.autocast(
            self.device.type, dtype=dtype or torch.float32, enabled=dtype is not None
        ):
            frames = self.network(one, two, list(times), tiling)
        return [frame.float()[0].clamp(0.0, 1.0).to(frame0.dtype) for frame in frames]
