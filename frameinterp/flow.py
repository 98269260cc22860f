"""Bidirectional optical flow for the classic engine: OpenCV DIS plus a block-matching fallback.

DIS (Kroeger et al., ECCV 2016, ``cv2.DISOpticalFlow``) is fast, well maintained and accurate
on textured, moderate motion, but like every coarse-to-fine method it loses small objects that
move farther than their own size (a thrown ball): at the coarse levels where the large motion is
found, the object is below one pixel. An exhaustive colour block search at a quarter of the flow
resolution catches exactly those, and each pixel keeps whichever of the two candidates explains
the other frame better (lower local colour error). Everything runs on the CPU: DIS needs 8-bit
images in host memory, and the images here are small (the flow is estimated at a reduced scale).

Determinism: DIS runs its patch search in parallel stripes, and the result could in principle
depend on OpenCV's thread count. With OpenCV 5.0 it does not (``tests/test_flow.py`` checks 1, 2
and 4 threads give bit-identical flow), so this module leaves ``cv2.setNumThreads`` to the
application instead of changing process-wide state behind its back; torch's CPU ops used here
(pooling, ``grid_sample``, ``argmin``) are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from frameinterp.errors import InvalidInputError
from frameinterp.ops import backwarp

__all__ = ["FlowOptions", "box_mean", "downscale", "estimate_flows", "flow_scale"]


@dataclass(frozen=True)
class FlowOptions:
    """Knobs of the flow estimate; the defaults were chosen on real footage (see README).

    ``max_side``: the flow is estimated on the frames downscaled by the smallest power of two
    that brings their longer side to at most this many pixels (motion fields are smooth, and
    the cost of DIS grows with the area).
    DIS: ``patch_size``, ``patch_stride``, ``descent_iterations`` and
    ``refinement_iterations`` (variational refinement at every pyramid level).
    Block matching: an exhaustive search of ±``match_radius`` pixels at 1/2**``match_levels``
    of the flow resolution, refined by ±1 pixel at each finer level, with ``match_window``²
    windows; ``selection_window`` is the window over which the two candidates' colour errors
    are compared pixel by pixel.
    """

    max_side: int = 512
    patch_size: int = 8
    patch_stride: int = 4
    descent_iterations: int = 12
    refinement_iterations: int = 5
    match_radius: int = 5
    match_levels: int = 2
    match_window: int = 3
    match_distance_penalty: float = 0.01
    selection_window: int = 7


def flow_scale(height: int, width: int, max_side: int = 512) -> int:
    """The smallest power of two that brings ``max(height, width)`` to at most ``max_side``."""
    if max_side < 16:
        raise InvalidInputError(f"max_side for the flow must be at least 16 pixels, got {max_side}")
    scale = 1
    while max(height, width) / scale > max_side:
        scale *= 2
    return scale


def downscale(image: torch.Tensor, scale: int) -> torch.Tensor:
    """Area-average ``image`` (N×C×H×W) by an integer ``scale``; sizes round up."""
    if scale == 1:
        return image
    height, width = image.shape[-2:]
    size = (max(1, -(-height // scale)), max(1, -(-width // scale)))
    return F.interpolate(image, size=size, mode="area")


def box_mean(image: torch.Tensor, size: int) -> torch.Tensor:
    """Mean over a ``size``×``size`` window centred on every pixel, edges replicated."""
    if size <= 1:
        return image
    pad = size // 2
    padded = F.pad(image, (pad, pad, pad, pad), mode="replicate")
    return F.avg_pool2d(padded, size, stride=1)


def _to_grey_uint8(image: torch.Tensor) -> np.ndarray:
    rgb = (image[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).contiguous()
    return cv2.cvtColor(rgb.cpu().numpy(), cv2.COLOR_RGB2GRAY)


def _dis(options: FlowOptions) -> cv2.DISOpticalFlow:
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    dis.setFinestScale(0)
    dis.setPatchSize(options.patch_size)
    dis.setPatchStride(options.patch_stride)
    dis.setGradientDescentIterations(options.descent_iterations)
    dis.setVariationalRefinementIterations(options.refinement_iterations)
    dis.setUseMeanNormalization(True)
    dis.setUseSpatialPropagation(True)
    return dis


def _colour_error(source: torch.Tensor, target: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Per-pixel mean absolute colour difference between ``source`` and warped ``target``."""
    return (source - backwarp(target, flow)).abs().mean(1, keepdim=True)


def _first_argmin(costs: torch.Tensor) -> torch.Tensor:
    """Index of the smallest of K cost planes (K×h×w → h×w, first one wins ties).

    A running minimum: on the CPU, torch's reductions across a leading dimension are several
    times slower than these K elementwise passes.
    """
    best_cost = costs[0]
    best_index = torch.zeros_like(best_cost, dtype=torch.long)
    for index in range(1, costs.shape[0]):
        better = costs[index] < best_cost
        best_cost = torch.where(better, costs[index], best_cost)
        best_index = torch.where(better, index, best_index)
    return best_index


def block_match(source: torch.Tensor, target: torch.Tensor, options: FlowOptions) -> torch.Tensor:
    """Flow ``source → target`` (1×2×h×w) by exhaustive colour block search, coarse to fine.

    Catches small fast objects that DIS misses; it is only a candidate, blocky by design.
    """
    levels = options.match_levels
    radius = options.match_radius
    coarse_source = downscale(source, 2**levels)
    coarse_target = downscale(target, 2**levels)
    height, width = coarse_source.shape[-2:]
    padded = F.pad(coarse_target, (radius, radius, radius, radius), mode="replicate")
    offsets = [(dx, dy) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]
    costs = torch.cat(
        [
            (coarse_source - padded[:, :, radius + dy :, radius + dx :][..., :height, :width])
            .abs()
            .sum(1, keepdim=True)
            + options.match_distance_penalty * float(np.hypot(dx, dy))
            for dx, dy in offsets
        ],
        dim=1,
    )
    best = _first_argmin(box_mean(costs, options.match_window)[0])
    table = torch.tensor(offsets, dtype=source.dtype, device=source.device)
    flow = table[best].permute(2, 0, 1)[None].contiguous()
    steps = torch.tensor(
        [(dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)],
        dtype=source.dtype,
        device=source.device,
    ).view(9, 2, 1, 1)
    for level in range(levels - 1, -1, -1):
        level_source = downscale(source, 2**level)
        level_target = downscale(target, 2**level)
        flow = 2.0 * F.interpolate(flow, size=level_source.shape[-2:], mode="nearest")
        candidates = flow + steps  # 9×2×h×w: every ±1 pixel step around the upsampled flow
        errors = _colour_error(
            level_source.expand(9, -1, -1, -1), level_target.expand(9, -1, -1, -1), candidates
        )
        choice = _first_argmin(box_mean(errors, options.match_window)[:, 0])
        flow = torch.gather(candidates, 0, choice[None, None].expand(1, 2, -1, -1))
    return flow


def _select(
    source: torch.Tensor,
    target: torch.Tensor,
    first: torch.Tensor,
    second: torch.Tensor,
    window: int,
) -> torch.Tensor:
    """Per pixel, the candidate flow with the lower colour error averaged over ``window``."""
    first_error = box_mean(_colour_error(source, target, first), window)
    second_error = box_mean(_colour_error(source, target, second), window)
    return torch.where(second_error < first_error, second, first)


def estimate_flows(
    image0: torch.Tensor, image1: torch.Tensor, options: FlowOptions | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward and backward flow (each 1×2×h×w, pixels) between two 1×3×h×w images in [0, 1].

    Runs on the CPU whatever the images' device, and returns CPU float32 tensors. The caller
    chooses the resolution (see ``flow_scale``): pass already downscaled images.
    """
    options = options or FlowOptions()
    if image0.shape != image1.shape or image0.ndim != 4 or image0.shape[:2] != (1, 3):
        raise InvalidInputError(
            "estimate_flows needs two 1×3×H×W images of the same size, got "
            f"{tuple(image0.shape)} and {tuple(image1.shape)}"
        )
    image0 = image0.detach().float().cpu()
    image1 = image1.detach().float().cpu()
    grey0, grey1 = _to_grey_uint8(image0), _to_grey_uint8(image1)
    dis = _dis(options)
    # An output buffer passed as the third argument changes DIS's result (it is read as a
    # starting point), so ``None`` it is; the stubs do not list that overload.
    forward = dis.calc(grey0, grey1, None)  # type: ignore[call-overload]
    backward = dis.calc(grey1, grey0, None)  # type: ignore[call-overload]
    flow01 = torch.from_numpy(forward).permute(2, 0, 1)[None].contiguous()
    flow10 = torch.from_numpy(backward).permute(2, 0, 1)[None].contiguous()
    if options.match_radius > 0 and min(image0.shape[-2:]) >= 2**options.match_levels * 4:
        flow01 = _select(
            image0, image1, flow01, block_match(image0, image1, options), options.selection_window
        )
        flow10 = _select(
            image1, image0, flow10, block_match(image1, image0, options), options.selection_window
        )
    return flow01, flow10
