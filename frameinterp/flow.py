"""Bidirectional optical flow for the classic engine: OpenCV DIS plus a block-matching fallback.

DIS (Kroeger et al., ECCV 2016, ``cv2.DISOpticalFlow``) is fast, well maintained and accurate
on textured, moderate motion, but like every coarse-to-fine method it loses small objects that
move farther than their own size (a thrown ball): at the coarse levels where the large motion is
found, the object is below one pixel. An exhaustive colour block search at 1/2**``match_levels``
of the flow resolution catches exactly those (and large motion in general), and each pixel keeps
whichever candidate explains the other frame better (lower local colour error); zero motion can
compete too (``static_margin``). Everything runs on the CPU: DIS needs 8-bit images in host
memory. The two directions' DIS calls run side by side in an executor the caller owns (the
classic engine keeps one per engine, with a ``close``); this module keeps no state of its own.

Determinism: DIS runs its patch search in parallel stripes, and the result could in principle
depend on OpenCV's thread count. With OpenCV 5.0 it does not (``tests/test_flow.py`` checks 1, 2
and 4 threads give bit-identical flow), so this module leaves ``cv2.setNumThreads`` to the
application instead of changing process-wide state behind its back.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import TypeVar

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from frameinterp.errors import InvalidInputError
from frameinterp.sampling import warp

T = TypeVar("T")

__all__ = [
    "FlowOptions",
    "block_match",
    "block_match_both",
    "downscale",
    "estimate_flows",
    "estimate_flows_and_errors",
    "estimate_flows_rgb",
    "filter_flow",
    "flow_scale",
    "pyramid",
    "shrink",
]


@dataclass(frozen=True)
class FlowOptions:
    """Knobs of the flow estimate; the defaults were chosen on real footage (see README).

    ``max_side``: the flow is estimated on the frames downscaled by the smallest power of two
    that brings their longer side to at most this many pixels (motion fields are smooth, and
    the cost of DIS grows with the area).
    DIS: ``finest_scale`` (the pyramid level its patch search stops at; 1 = half the flow
    resolution, upsampled), ``patch_size``, ``patch_stride``, ``descent_iterations`` and
    ``refinement_iterations`` (variational refinement at every pyramid level).
    Block matching: an exhaustive search of ±``match_radius`` pixels at 1/2**``match_levels``
    of the flow resolution, refined by ±1 pixel at each finer level down to
    ``match_finest_level`` (then only upsampled), with ``match_window``²
    windows; ``selection_window`` is the window over which the two candidates' colour errors
    are compared pixel by pixel; ``static_margin`` lets zero motion compete too and win unless
    beaten by more than that windowed error (summed channels in [0, 3]; 0 switches it off).
    ``median_size``: the chosen flow's components are median-filtered over that square window
    (``filter_flow``; 3 or 5, 0 = off), which removes the isolated pixels that the per-pixel
    choice between candidates and DIS's own outliers leave behind.
    """

    max_side: int = 512
    finest_scale: int = 0
    patch_size: int = 8
    patch_stride: int = 4
    descent_iterations: int = 12
    refinement_iterations: int = 0
    match_radius: int = 5
    match_levels: int = 2
    match_window: int = 3
    match_distance_penalty: float = 0.01
    match_finest_level: int = 1
    selection_window: int = 7
    static_margin: float = 0.0
    median_size: int = 0

    def __post_init__(self) -> None:
        if self.median_size not in (0, 3, 5):
            raise InvalidInputError(
                f"median_size for the flow must be 0 (off), 3 or 5, got {self.median_size}"
            )


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
    if height % scale == 0 and width % scale == 0:
        if image.device.type == "cpu" and image.dtype == torch.float32:
            # OpenCV's area resize: the same numbers as avg_pool2d, several times faster.
            size = (width // scale, height // scale)
            planes = image.contiguous().reshape(-1, height, width).numpy()
            small = np.stack([cv2.resize(p, size, interpolation=cv2.INTER_AREA) for p in planes])
            return torch.from_numpy(small).reshape(*image.shape[:-2], size[1], size[0])
        return F.avg_pool2d(image, scale)
    size = (max(1, -(-height // scale)), max(1, -(-width // scale)))
    return F.interpolate(image, size=size, mode="area")


def filter_flow(flow: np.ndarray, options: FlowOptions) -> np.ndarray:
    """``flow`` (h×w×2 float32) with each component replaced by its median over a
    ``median_size``² window (edges repeated); unchanged when ``median_size`` is 0.

    A robust clean-up after the per-pixel choice between candidates: a lone pixel (or a blob
    under half the window) whose flow disagrees with its surroundings takes theirs, while
    motion edges stay where they are (a median does not blur a step). On the generalisation
    protocol, 5 after the selection at full-resolution flow gained on both halves (about
    +0.03 dB each); a 3 on the halved (``motion_scale``) field gained on one half only.
    OpenCV's float median takes only 3 or 5.
    """
    if options.median_size == 0:
        return flow
    return cv2.medianBlur(np.ascontiguousarray(flow, dtype=np.float32), options.median_size)


def _dis(options: FlowOptions) -> cv2.DISOpticalFlow:
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    dis.setFinestScale(options.finest_scale)
    dis.setPatchSize(options.patch_size)
    dis.setPatchStride(options.patch_stride)
    dis.setGradientDescentIterations(options.descent_iterations)
    dis.setVariationalRefinementIterations(options.refinement_iterations)
    dis.setUseMeanNormalization(True)
    dis.setUseSpatialPropagation(True)
    return dis


# OpenCV's DIS refuses images whose sides are both under 12 px; smaller frames are padded with
# their edge pixels up to this size and the flow is cropped back.
_DIS_MIN_SIDE = 16


def _dis_flow(options: FlowOptions, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """DIS flow ``source → target`` (h×w 8-bit grey), for frames of any size."""
    height, width = source.shape
    pad_y, pad_x = max(0, _DIS_MIN_SIDE - height), max(0, _DIS_MIN_SIDE - width)
    if pad_x or pad_y:
        source, target = (
            cv2.copyMakeBorder(image, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
            for image in (source, target)
        )
    # An output buffer passed as the third argument changes DIS's result (it is read as a
    # starting point), so ``None`` it is; the stubs do not list that overload.
    flow = _dis(options).calc(source, target, None)  # type: ignore[call-overload]
    return np.ascontiguousarray(flow[:height, :width]) if pad_x or pad_y else flow


_CHANNEL_SUM = np.ones((1, 3), dtype=np.float32)


def _channel_sum(image: np.ndarray) -> np.ndarray:
    """h×w×3 → h×w sum of the channels (``cv2.transform``: several times numpy's speed)."""
    return cv2.transform(image, _CHANNEL_SUM)


def _window_error(
    source: np.ndarray, target: np.ndarray, flow: np.ndarray, window: int, interpolation: int
) -> np.ndarray:
    """Summed absolute colour difference to the warped target, box-averaged over ``window``."""
    difference = _channel_sum(cv2.absdiff(source, warp(target, flow, interpolation)))
    return cv2.boxFilter(difference, -1, (window, window), borderType=cv2.BORDER_REPLICATE)


def _argmin(costs: list[np.ndarray]) -> np.ndarray:
    """Index of the smallest of the cost maps per pixel (the first one on ties); a running
    minimum, several times faster than ``np.argmin`` over a stack of them."""
    best = costs[0].copy()
    choice = np.zeros(best.shape, dtype=np.intp)
    for index, cost in enumerate(costs[1:], start=1):
        better = cost < best
        np.copyto(best, cost, where=better)
        choice[better] = index
    return choice


def _pick(choice: np.ndarray, options: list[np.ndarray]) -> np.ndarray:
    """Per pixel, ``options[choice]`` (h×w or h×w×C arrays of one shape)."""
    picked = options[0].copy()
    for index, option in enumerate(options[1:], start=1):
        # OpenCV's masked copy (in place): boolean-mask assignment of h×w×2 arrays cost 6×
        # as much, numpy's broadcast ``copyto`` 2.5×.
        cv2.copyTo(option, (choice == index).view(np.uint8), picked)
    return picked


def pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    """``image`` and ``levels`` successive area-averaged halvings (sizes round up)."""
    images = [image]
    for _ in range(levels):
        height, width = images[-1].shape[:2]
        size = (max(1, (width + 1) // 2), max(1, (height + 1) // 2))
        images.append(cv2.resize(images[-1], size, interpolation=cv2.INTER_AREA))
    return images


def block_match(
    sources: list[np.ndarray], targets: list[np.ndarray], options: FlowOptions
) -> np.ndarray:
    """Flow ``source → target`` (h×w×2) by exhaustive colour block search, coarse to fine.

    ``sources`` and ``targets`` are image pyramids (``pyramid``) of h×w×3 float32 images, with
    at least ``match_levels + 1`` levels. The search covers ±``match_radius`` pixels at level
    ``match_levels``; each finer level down to level 1 tries the ±1 pixel neighbours of the
    upsampled result, and level 0 takes level 1's answer. Catches small fast objects that DIS
    misses; it is only a candidate, integer-valued and blocky by design.
    """
    return block_match_both([(sources, targets)], options)[0]


def block_match_both(
    pairs: list[tuple[list[np.ndarray], list[np.ndarray]]], options: FlowOptions
) -> list[np.ndarray]:
    """``block_match`` for several (sources, targets) pyramid pairs of one size at once.

    The exhaustive coarse search is hundreds of small OpenCV calls, so its cost is mostly
    per call: the pairs go through each call together, stacked along the channels (both flow
    directions for the price of one). Every pair's numbers are exactly those of
    ``block_match`` on it alone.
    """
    levels = options.match_levels
    radius = options.match_radius
    window = (options.match_window, options.match_window)
    count = len(pairs)
    coarse_sources = np.concatenate([sources[levels] for sources, _ in pairs], axis=2)
    coarse_targets = np.concatenate([targets[levels] for _, targets in pairs], axis=2)
    height, width = coarse_sources.shape[:2]
    padded = cv2.copyMakeBorder(
        coarse_targets, radius, radius, radius, radius, cv2.BORDER_REPLICATE
    )
    offsets = [(dx, dy) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]
    # One cost map per offset, written in place: stacking 121 separate maps cost more than
    # the search's arithmetic.
    costs = np.empty((len(offsets), height, width, count), dtype=np.float32)
    for offset, (dx, dy) in enumerate(offsets):
        difference = cv2.absdiff(
            coarse_sources, padded[radius + dy :, radius + dx :][:height, :width]
        )
        # h×w×3k → h×(w·k)×3: one colour pixel per pair and position, summed in one call.
        summed = _channel_sum(difference.reshape(height, width * count, 3))
        box = cv2.boxFilter(
            summed.reshape(height, width, count), -1, window, borderType=cv2.BORDER_REPLICATE
        )
        penalty = np.float32(options.match_distance_penalty * np.hypot(dx, dy))
        np.add(box.reshape(height, width, count), penalty, out=costs[offset])
    # The first smallest cost per column, as np.argmin(axis=0) gives, without its transpose.
    choices = cv2.reduceArgMin(costs.reshape(len(offsets), -1), 0).reshape(height, width, count)
    flows = []
    steps = np.asarray([(dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)], dtype=np.float32)
    for index, (sources, targets) in enumerate(pairs):
        flow = np.asarray(offsets, dtype=np.float32)[choices[:, :, index]]
        for level in range(levels - 1, -1, -1):
            level_height, level_width = sources[level].shape[:2]
            flow = 2.0 * cv2.resize(
                flow, (level_width, level_height), interpolation=cv2.INTER_NEAREST
            )
            if level < max(options.match_finest_level, 1):
                # No ±1 search here: each level costs 4× the one above it, and at full
                # resolution it would buy half-pixel gains that DIS has anyway.
                continue
            candidates = flow[None] + steps[:, None, None, :]
            choice = _argmin(
                [
                    _window_error(
                        sources[level],
                        targets[level],
                        candidate,
                        options.match_window,
                        cv2.INTER_NEAREST,
                    )
                    for candidate in candidates
                ]
            )
            flow = flow + steps[choice]  # the chosen candidate, the same sum as above
        flows.append(flow)
    return flows


def _select(
    source: np.ndarray,
    target: np.ndarray,
    candidates: list[np.ndarray],
    window: int,
    static_margin: float,
    whole_pixel: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the candidate flow with the lowest colour error averaged over ``window``,
    where zero motion also competes and wins unless another candidate beats it by more than
    ``static_margin`` (so a flat static wall keeps still instead of following noise); and the
    chosen flow's own colour error per pixel (channels summed, not averaged).

    The last ``whole_pixel`` candidates move by whole pixels only (the block search's): they are
    sampled by nearest neighbour, which gives exactly the bilinear values at whole-pixel
    positions at a third of the cost."""
    size = (window, window)
    first_whole = len(candidates) - whole_pixel
    pixels = [
        _channel_sum(
            cv2.absdiff(
                source,
                warp(target, flow, cv2.INTER_NEAREST if i >= first_whole else cv2.INTER_LINEAR),
            )
        )
        for i, flow in enumerate(candidates)
    ]
    errors = [cv2.boxFilter(p, -1, size, borderType=cv2.BORDER_REPLICATE) for p in pixels]
    if static_margin > 0:
        still = _channel_sum(cv2.absdiff(source, target))
        candidates = [*candidates, np.zeros_like(candidates[0])]
        pixels.append(still)
        errors.append(
            cv2.boxFilter(still, -1, size, borderType=cv2.BORDER_REPLICATE)
            - np.float32(static_margin)
        )
    if len(candidates) == 1:
        return candidates[0], pixels[0]
    choice = _argmin(errors)
    return _pick(choice, candidates), _pick(choice, pixels)


def estimate_flows(
    image0: torch.Tensor,
    image1: torch.Tensor,
    options: FlowOptions | None = None,
    pool: Executor | None = None,
    result_scale: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward and backward flow (each 1×2×h×w, pixels) between two 1×3×h×w images in [0, 1].

    Runs on the CPU whatever the images' device, and returns CPU float32 tensors. The caller
    chooses the resolution (see ``flow_scale``): pass already downscaled images. ``pool``: see
    ``estimate_flows_and_errors``, which also says what ``result_scale`` does.
    """
    if image0.shape != image1.shape or image0.ndim != 4 or image0.shape[:2] != (1, 3):
        raise InvalidInputError(
            "estimate_flows needs two 1×3×H×W images of the same size, got "
            f"{tuple(image0.shape)} and {tuple(image1.shape)}"
        )
    rgb0, rgb1 = (
        image[0].detach().float().cpu().permute(1, 2, 0).numpy() for image in (image0, image1)
    )
    forward, backward, _ = estimate_flows_and_errors(rgb0, rgb1, options, pool, result_scale)
    return tuple(  # type: ignore[return-value]
        torch.from_numpy(flow).permute(2, 0, 1)[None].contiguous() for flow in (forward, backward)
    )


def estimate_flows_rgb(
    rgb0: np.ndarray,
    rgb1: np.ndarray,
    options: FlowOptions | None = None,
    pool: Executor | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``estimate_flows`` on h×w×3 float32 arrays in [0, 1]; returns two h×w×2 float32 flows."""
    forward, backward, _ = estimate_flows_and_errors(rgb0, rgb1, options, pool)
    return forward, backward


class _Inline:
    """An ``Executor`` stand-in that runs each task at once in the calling thread."""

    def submit(self, task: Callable[..., T], *args: object) -> Future[T]:
        future: Future[T] = Future()
        future.set_result(task(*args))
        return future


def shrink(image: np.ndarray, factor: int) -> np.ndarray:
    """Area average of an h×w(×C) float32 array by ``factor``, sizes rounded up."""
    if factor == 1:
        return image
    height, width = image.shape[:2]
    size = (-(-width // factor), -(-height // factor))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _grey(rgb: np.ndarray) -> np.ndarray:
    """h×w×3 float32 RGB in [0, 1] → 8-bit grey for DIS: OpenCV's luma weights in float, clipped
    and rounded once (two passes over the frame, where clipping, scaling and rounding RGB first
    took five)."""
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return cv2.addWeighted(luma, 255.0, luma, 0.0, 0.0, dtype=cv2.CV_8U)


def estimate_flows_and_errors(
    rgb0: np.ndarray,
    rgb1: np.ndarray,
    options: FlowOptions | None = None,
    pool: Executor | None = None,
    result_scale: int = 1,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """``estimate_flows_rgb``, plus each chosen flow's colour error per pixel.

    The errors (h×w float32 each, forward then backward) are the per-pixel sums over the
    channels of |source - target(p + flow(p))|, bilinear with edges repeated.

    ``result_scale``: the flows (in pixels of that scale) and errors come back area-averaged by
    this factor, for a caller that works at a coarser scale (the classic engine splats the
    motion at one). DIS and the choice between candidates run at the given images' resolution
    (their precision: choosing on averaged images measured up to 0.4 dB worse on the periodic
    texture of Urban2), while the block search runs on a pyramid of the averaged images, so
    its ``match_levels`` count from the result scale.

    ``pool``: an executor with at least two workers to run the two directions side by side
    (DIS releases the GIL); the caller owns it (``ClassicInterpolator`` keeps one per engine).
    Tasks given to it wait only for tasks submitted before them, so a FIFO pool of two
    workers cannot deadlock. Without one, everything runs in the calling thread.
    """
    options = options or FlowOptions()
    if rgb0.shape != rgb1.shape or rgb0.ndim != 3 or rgb0.shape[2] != 3:
        raise InvalidInputError(
            "estimate_flows_rgb needs two h×w×3 arrays of the same size, got "
            f"{rgb0.shape} and {rgb1.shape}"
        )
    if result_scale < 1:
        raise InvalidInputError(f"result_scale must be 1 or more, got {result_scale}")
    runner: Executor | _Inline = pool if pool is not None else _Inline()
    rgb0 = np.clip(rgb0, 0.0, 1.0, dtype=np.float32)
    rgb1 = np.clip(rgb1, 0.0, 1.0, dtype=np.float32)

    def dis(source: np.ndarray, target: np.ndarray) -> np.ndarray:
        return _dis_flow(options, _grey(source), _grey(target))

    # DIS is one long call that releases the GIL: both directions run in the pool, side by
    # side. Block matching is many short OpenCV calls; two Python threads doing that spend
    # their time handing the GIL back and forth (measured: no faster than one thread), so
    # this thread does both directions' matching while DIS runs.
    dis_forward = runner.submit(dis, rgb0, rgb1)
    dis_backward = runner.submit(dis, rgb1, rgb0)
    candidates_forward: list[np.ndarray] = []
    candidates_backward: list[np.ndarray] = []
    height, width = rgb0.shape[:2]
    base_side = -(-min(height, width) // result_scale)  # the shorter side after ``shrink``
    if options.match_radius > 0 and base_side >= 2**options.match_levels * 4:
        base0, base1 = (shrink(rgb, result_scale) for rgb in (rgb0, rgb1))
        matched = block_match_both(
            [
                (pyramid(base0, options.match_levels), pyramid(base1, options.match_levels)),
                (pyramid(base1, options.match_levels), pyramid(base0, options.match_levels)),
            ],
            options,
        )
        candidates_forward, candidates_backward = (
            [_enlarge(flow, result_scale, width, height)] for flow in matched
        )
    window = options.selection_window
    margin = options.static_margin
    whole = len(candidates_forward)  # the block search's candidates move by whole pixels
    selecting = runner.submit(
        lambda: _select(
            rgb1, rgb0, [dis_backward.result(), *candidates_backward], window, margin, whole
        )
    )
    forward, error_forward = _select(
        rgb0, rgb1, [dis_forward.result(), *candidates_forward], window, margin, whole
    )
    backward, error_backward = selecting.result()
    # The errors stay the selection's: recomputing them for the filtered flow measured the same.
    forward, backward = filter_flow(forward, options), filter_flow(backward, options)
    if result_scale == 1:
        return forward, backward, (error_forward, error_backward)
    factor = np.float32(1.0 / result_scale)
    return (
        shrink(forward, result_scale) * factor,
        shrink(backward, result_scale) * factor,
        (shrink(error_forward, result_scale), shrink(error_backward, result_scale)),
    )


def _enlarge(flow: np.ndarray, factor: int, width: int, height: int) -> np.ndarray:
    """A block-search flow (piecewise constant) at ``factor`` times its resolution and values,
    cropped to ``width`` × ``height``."""
    if factor == 1:
        return flow
    size = (flow.shape[1] * factor, flow.shape[0] * factor)
    enlarged = cv2.resize(flow, size, interpolation=cv2.INTER_NEAREST) * np.float32(factor)
    return np.ascontiguousarray(enlarged[:height, :width])
