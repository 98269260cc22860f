"""The training-free engine: optical flow, softmax splatting of the motion, backward warping.

For each pair:

1. Bidirectional flow ``F01``, ``F10`` at the quality preset's scale (``frameinterp.flow``;
   full resolution up to 960 px a side by default), once per pair. Pixels whose flow the other
   direction contradicts (round trip off by more than ``refill_threshold``) are most likely
   hidden in the other frame: their flow is refilled from their neighbours.
2. An importance metric per source pixel, from brightness constancy and flow consistency:
   ``Z0 = -alpha * |I0 - backwarp(I1, F01)| - consistency * |F01 + backwarp(F10, F01)|``
   (and symmetrically ``Z1``): pixels that are occluded in the other frame, or whose flow the
   other direction contradicts, lose every collision.

For each time ``t``:

3. Softmax splatting of the *motion* towards ``t``: frame 0's pixels travel by ``t·F01`` and
   carry ``F01``; frame 1's travel by ``(1-t)·F10`` and carry ``-F10``. Both directions share
   one softmax, weighted by their time weights ``1-t`` and ``t``, so at every pixel of the new
   frame we get the velocity ``M`` of whatever is visible there, plus how much of each frame
   landed there (``D0``, ``D1``). Where nothing landed from either frame (rare), ``M`` is filled
   from its surroundings by a push-pull pyramid: no hole is left to patch afterwards.
   Where both frames see a pixel but still visibly disagree along ``M`` (presets ``balanced``
   and ``best``), ``M`` is corrected so that they agree (``frameinterp.align``).
4. The new frame is sampled *backwards* from the full-resolution inputs: ``I0(x - t·M)`` and
   ``I1(x + (1-t)·M)``, blended by the visibility weights ``(D0 + ε(1-t)) : (D1 + εt)``. A region
   seen only in frame 0 (being covered in frame 1) gets nothing from frame 1 and takes frame 0's
   colours, and vice versa; where both frames see it the blend follows time. Backward sampling
   of the full-resolution frames keeps them sharp even though the motion is estimated small.

Step 4 is independent per output pixel, so it runs in tiles (``frameinterp.tiling``) of at most
``tile_size`` pixels: memory stays bounded at any resolution (the motion field is small), and
tiles need no overlap and cannot leave seams (the tiled and untiled results are identical up to
float rounding, see ``tests/test_classic.py``).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from frameinterp.align import Alignment, align_motion
from frameinterp.errors import InvalidInputError
from frameinterp.flow import (
    FlowOptions,
    downscale,
    estimate_flows,
    estimate_flows_and_errors,
    flow_scale,
)
from frameinterp.ops import backwarp, softsplat, splat_torch
from frameinterp.sampling import fixed_point, pixel_grid, sample, warp
from frameinterp.tiling import plan_tiles

__all__ = [
    "QUALITIES",
    "QUALITY_ALIGNMENT",
    "QUALITY_FLOW",
    "QUALITY_ORIENTATIONS",
    "ClassicInterpolator",
    "ClassicOptions",
    "Quality",
    "fill_holes",
]

# exp(-50) ≈ 2e-22 is still a normal float32; a floor keeps every weight representable.
_METRIC_FLOOR = -50.0
# Summed softmax weight below which nothing is considered to have landed at a pixel.
_LANDED = 1e-6
_REPLICATE = cv2.BORDER_REPLICATE
_BLEND_SCALE = 1e5


Quality = Literal["fast", "balanced", "best"]
QUALITIES: tuple[Quality, ...] = ("fast", "balanced", "best")

# How much smaller than the flow the splatted motion is, per preset (see ``motion_scale``):
# halving it costs a quarter of the metric and the splatting, and measured no loss on either
# half of the protocol (README, "Quality, like the paper"); ``best`` keeps every pixel.
QUALITY_MOTION_SCALE: dict[str, int] = {"fast": 2, "balanced": 2, "best": 1}
# The flow of each quality preset (measured in README, "Quality, like the paper"). The block
# search's levels count from the motion scale (``flow.estimate_flows_and_errors``):
# fast: the longer side halved until ≤ 512 px (640×480 → 320×240), a ±20 px block search
#   refined down to a quarter of the flow's scale, DIS patch stride 6;
# balanced: full resolution up to 960 px a side (above: halved until it fits, so 720p and
#   1080p frames get 640×360 and 960×540 flow: full-resolution flow at 720p cost 2.5 times
#   the whole conversion's CPU time, and the end-to-end bar is twice minterpolate's speed
#   there), the block search at an eighth of that scale (±40 px), refined down to a quarter;
#   DIS patch stride 8 (a DIS call a third of stride 4's cost; its patch grid, unlike stride
#   6's, is the same mirrored on 640×480 and its halvings, so the result keeps to the
#   orientation); then a 5×5 median of the chosen flow (``flow.filter_flow``: +0.03 dB on
#   each half of the protocol for ~2% of the time; 3×3 gained on one half only);
# best: full resolution up to 2048 px, and a finer, longer DIS search (patch stride 3, 25
#   iterations per level).
# Motion correction at the output time (``frameinterp.align``), per preset: ``fast`` lost on
# half B with it (+0.06 / -0.01 dB), ``balanced`` and ``best`` gained on both halves.
# How many orientations of the pair each preset interpolates and averages (as is; mirrored
# left-right; upside down; both): ``best`` runs all four, which makes its result the same
# however the input is flipped, and gained on both halves of the protocol (+0.09 / +0.08 dB
# over ``best`` alone; +0.09 / +0.07 for ``balanced``), for four times the time.
QUALITY_ORIENTATIONS: dict[str, int] = {"fast": 1, "balanced": 1, "best": 4}
QUALITY_ALIGNMENT: dict[str, Alignment] = {
    "fast": Alignment(steps=0),
    "balanced": Alignment(),
    "best": Alignment(),
}
QUALITY_FLOW: dict[str, FlowOptions] = {
    "fast": FlowOptions(max_side=512, match_levels=1, match_finest_level=1, patch_stride=6),
    "balanced": FlowOptions(
        max_side=960, match_levels=2, match_finest_level=1, patch_stride=8, median_size=5
    ),
    "best": FlowOptions(max_side=2048, match_levels=3, patch_stride=3, descent_iterations=25),
}


@dataclass(frozen=True)
class ClassicOptions:
    """Constants of the classic engine (chosen on one half of ``frameinterp benchmark
    generalisation`` and checked on the other).

    ``quality`` picks the flow preset (``QUALITY_FLOW``) unless ``flow`` is given, and the
    ``motion_scale`` (``QUALITY_MOTION_SCALE``) unless that is given: the flow is estimated
    at its scale, then area-averaged by this factor for the metric and the splatting (whose
    cost grows with the area; the motion field is smooth).
    ``alpha`` scales the colour error (range 0–1) and ``consistency`` the forward-backward flow
    disagreement (in flow pixels) in the splatting metric; ``visibility_prior`` is the weight ε
    each frame keeps where nothing of it landed (larger: more plain cross-fading in doubtful
    places). ``refill_threshold``: a pixel whose forward-backward round trip misses by more
    than this many flow pixels is taken as occluded and its flow is filled from its neighbours
    (0: off).
    ``orientations`` (1, 2 or 4; the preset's, ``QUALITY_ORIENTATIONS``, when not given): how
    many flipped versions of the pair are interpolated, turned back and averaged.
    ``alignment`` (``align.Alignment``; the preset's, ``QUALITY_ALIGNMENT``, when not given)
    sets the correction of the motion at the output time (``steps=0``: off).
    ``tile_size`` bounds the full-resolution synthesis step; ``sampler`` picks the
    implementation of everything but the flow and the splatting: ``opencv`` (``cv2.remap`` and
    friends on the host arrays, CPU only, fastest there), ``torch`` (``grid_sample``, any
    device) or ``auto`` (OpenCV for CPU tensors); they agree closely (see the tests).
    """

    alpha: float = 10.0
    consistency: float = 1.0
    visibility_prior: float = 0.1
    refill_threshold: float = 3.0
    tile_size: int = 1024
    sampler: str = "auto"
    quality: Quality = "balanced"
    flow: FlowOptions | None = None
    motion_scale: int | None = None
    alignment: Alignment | None = None
    orientations: int | None = None

    def __post_init__(self) -> None:
        if self.quality not in QUALITIES:
            raise InvalidInputError(
                f"unknown quality {self.quality!r}; expected one of: {', '.join(QUALITIES)}"
            )
        if self.orientations is not None and self.orientations not in (1, 2, 4):
            raise InvalidInputError(f"orientations must be 1, 2 or 4, got {self.orientations}")
        if self.motion_scale is not None and self.motion_scale < 1:
            raise InvalidInputError(f"motion_scale must be 1 or more, got {self.motion_scale}")

    @property
    def resolved_motion_scale(self) -> int:
        """``motion_scale``, or the quality preset's when it is not given."""
        if self.motion_scale is not None:
            return self.motion_scale
        return QUALITY_MOTION_SCALE[self.quality]

    @property
    def resolved_orientations(self) -> int:
        """``orientations``, or the quality preset's when it is not given."""
        if self.orientations is not None:
            return self.orientations
        return QUALITY_ORIENTATIONS[self.quality]

    @property
    def resolved_alignment(self) -> Alignment:
        """``alignment``, or the quality preset's when it is not given."""
        return self.alignment if self.alignment is not None else QUALITY_ALIGNMENT[self.quality]

    @property
    def flow_options(self) -> FlowOptions:
        """``flow``, or the quality preset's flow when it is not given."""
        return self.flow if self.flow is not None else QUALITY_FLOW[self.quality]


def fill_holes(values: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Fill pixels where ``known`` is False with smooth averages of their known neighbours.

    Push-pull: average the known values down a pyramid until every pixel is known, then walk
    back up, keeping known values and taking unknown ones from the coarser level (bilinear).
    ``values`` is N×C×H×W, ``known`` N×1×H×W (bool). Known pixels are returned unchanged.
    """
    if bool(known.all()) or not bool(known.any()):
        return values
    levels: list[tuple[torch.Tensor, torch.Tensor]] = []
    weight = known.to(values.dtype)
    current = values * weight
    while True:
        levels.append((current, weight))
        if bool((weight > 0).all()) or min(current.shape[-2:]) == 1:
            break
        summed = F.avg_pool2d(current, 2, ceil_mode=True)
        weight_sum = F.avg_pool2d(weight, 2, ceil_mode=True)
        current = summed / weight_sum.clamp(min=1e-12) * (weight_sum > 0)
        weight = (weight_sum > 0).to(values.dtype)
    filled, filled_weight = levels[-1]
    if not bool((filled_weight > 0).all()):  # a 1-pixel-wide pyramid top: spread the mean
        mean = filled.sum(dim=(2, 3), keepdim=True) / filled_weight.sum(dim=(2, 3), keepdim=True)
        filled = torch.where(filled_weight > 0, filled, mean.expand_as(filled))
    for current, weight in reversed(levels[:-1]):
        upsampled = F.interpolate(
            filled, size=current.shape[-2:], mode="bilinear", align_corners=False
        )
        filled = torch.where(weight > 0, current, upsampled)
    return filled


def _normalised_grid(
    x: torch.Tensor, y: torch.Tensor, height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel coordinates (pixel ``i`` centred at ``i``) → ``grid_sample``'s [-1, 1] range."""
    return x * (2.0 / max(width - 1, 1)) - 1.0, y * (2.0 / max(height - 1, 1)) - 1.0


def _sample(image: torch.Tensor, grid_x: torch.Tensor, grid_y: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of ``image`` (N×C×H×W) at normalised coordinates (N×h×w), edges
    repeated."""
    grid = torch.stack([grid_x, grid_y], dim=-1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


@dataclass(frozen=True)
class _PairState:
    """What the classic engine computes once per pair and reuses for every time."""

    flows: torch.Tensor  # 2×2×h×w: F01 and F10 at the working scale
    carried: torch.Tensor  # 2×3×h×w: what each direction splats, (F01, 1)·w0 and (-F10, 1)·w1

    @staticmethod
    def of(flows: torch.Tensor, weights: torch.Tensor) -> _PairState:
        """The state from both flows (2×2×h×w) and their softmax weights (2×1×h×w)."""
        motions = torch.stack([flows[0], -flows[1]])
        return _PairState(flows=flows, carried=torch.cat([motions * weights, weights], dim=1))


@dataclass(frozen=True)
class _HostState:
    """``_PairState`` as numpy arrays, for the OpenCV path: numpy and OpenCV keep to their own
    threads, where torch's CPU ops would start (and spin) OpenMP threads of their own."""

    flows: np.ndarray  # 2×h×w×2: F01 and F10 at the working scale
    carried: np.ndarray  # 2×3×h×w: (F01, 1)·w0 and (-F10, 1)·w1, channel planes


@dataclass(frozen=True)
class _Prepared:
    """``ClassicInterpolator.prepare``'s result: the pair state (``_HostState`` on the OpenCV
    path, with the frames as host arrays in their layout so ``render`` does not convert them
    again)."""

    state: _PairState | _HostState
    channel_last: bool = False
    sources: tuple[np.ndarray, np.ndarray] | None = None
    # The frames as h×w float32 grey at the motion scale, for ``align.align_motion`` (None when
    # the preset does not align).
    greys: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class _Ensemble:
    """``prepare``'s result for several orientations: one ``_Prepared`` per flip, in
    ``_FLIPS`` order."""

    parts: tuple[_Prepared, ...]


# The orientations of a (3, H, W) frame, as the dimensions to flip: as is, mirrored left-right,
# upside down, both. A flip is its own inverse.
_FLIPS: tuple[tuple[int, ...], ...] = ((), (2,), (1,), (1, 2))
_FLIP_CODES = {(2,): 1, (1,): 0, (1, 2): -1}  # the same for cv2.flip on H×W×C arrays


def _flip(frame: torch.Tensor, flip: tuple[int, ...]) -> torch.Tensor:
    """``frame`` (3×H×W) flipped along ``flip``, keeping an H×W×3 memory layout on the CPU (the
    OpenCV path's fast one)."""
    if not flip:
        return frame
    if frame.device.type == "cpu" and _is_channel_last(frame) and frame.dtype == torch.float32:
        pixels = frame.detach().permute(1, 2, 0).numpy()
        return torch.from_numpy(cv2.flip(pixels, _FLIP_CODES[flip])).permute(2, 0, 1)
    return frame.flip(flip).contiguous()


class ClassicInterpolator:
    """Optical flow + softmax splatting + visibility-aware backward warping; no weights needed."""

    name = "classic"

    def __init__(
        self, device: torch.device | str = "cpu", options: ClassicOptions | None = None
    ) -> None:
        self.device = torch.device(device)
        self.options = options or ClassicOptions()
        self.flow_seconds = 0.0  # time spent estimating flow so far (`benchmark speed` reads it)
        self._lock = threading.Lock()  # guards flow_seconds and the pool's creation
        self._pool: ThreadPoolExecutor | None = None
        if self.options.sampler not in ("auto", "opencv", "torch"):
            raise InvalidInputError(
                f"unknown sampler {self.options.sampler!r}; expected auto, opencv or torch"
            )
        if self.options.tile_size < 16:
            raise InvalidInputError(
                f"tile_size must be at least 16 pixels, got {self.options.tile_size}"
            )

    def _workers(self) -> ThreadPoolExecutor:
        """This engine's two flow threads, one per direction, started on first use and kept
        (starting threads for every pair cost more than some of the work they ran); ``close``
        or garbage collection stops them."""
        with self._lock:
            if self._pool is None:
                pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="frameinterp-flow")
                weakref.finalize(self, pool.shutdown, wait=False)
                self._pool = pool
            return self._pool

    def close(self) -> None:
        """Stop the flow threads (the engine starts new ones if used again)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> ClassicInterpolator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _count_flow(self, started: float) -> None:
        with self._lock:
            self.flow_seconds += time.perf_counter() - started

    def interpolate(
        self, frame0: torch.Tensor, frame1: torch.Tensor, times: Sequence[float]
    ) -> list[torch.Tensor]:
        self._check(frame0, frame1, times)
        if len(times) == 0:
            return []
        return self.render(self.prepare(frame0, frame1), frame0, frame1, times)

    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor) -> _Prepared | _Ensemble:
        """The per-pair work (flow, metric, what each direction splats), shared by every t;
        once per orientation when the preset averages several (``orientations``).

        Safe to run in a worker thread ahead of ``render`` (the video pipeline does, so that
        CPU flow keeps a GPU busy): it reads the frames and changes nothing on the engine but
        the ``flow_seconds`` counter.
        """
        self._check(frame0, frame1, ())
        count = self.options.resolved_orientations
        if count == 1:
            return self._prepare_pair(frame0, frame1)
        return _Ensemble(
            tuple(
                self._prepare_pair(_flip(frame0, flip), _flip(frame1, flip))
                for flip in _FLIPS[:count]
            )
        )

    def _prepare_pair(self, frame0: torch.Tensor, frame1: torch.Tensor) -> _Prepared:
        """``prepare`` for one orientation."""
        height, width = frame0.shape[-2:]
        scale = flow_scale(height, width, self.options.flow_options.max_side)
        if self._use_opencv(frame0):
            channel_last = _is_channel_last(frame0) and _is_channel_last(frame1)
            source0, source1 = (_host_layout(f, channel_last) for f in (frame0, frame1))
            small0, small1 = (
                _downscale_host(source, scale, channel_last) for source in (source0, source1)
            )
            started = time.perf_counter()
            flow01, flow10, errors = estimate_flows_and_errors(
                small0,
                small1,
                self.options.flow_options,
                self._workers(),
                result_scale=self.options.resolved_motion_scale,
            )
            self._count_flow(started)
            host = self._prepare_opencv(flow01, flow10, errors)
            greys = None
            if self.options.resolved_alignment.steps:
                size = (flow01.shape[1], flow01.shape[0])
                greys = (
                    _grey_host(source0, size, channel_last),
                    _grey_host(source1, size, channel_last),
                )
            return _Prepared(
                host, channel_last=channel_last, sources=(source0, source1), greys=greys
            )
        image0 = frame0[None].float()
        image1 = frame1[None].float()
        state = self._prepare(downscale(image0, scale), downscale(image1, scale))
        greys = None
        if self.options.resolved_alignment.steps:
            shape = tuple(state.flows.shape[-2:])
            greys = (_grey_tensor(image0, shape), _grey_tensor(image1, shape))
        return _Prepared(state, greys=greys)

    def render(
        self,
        prepared: _Prepared | _Ensemble,
        frame0: torch.Tensor,
        frame1: torch.Tensor,
        times: Sequence[float],
    ) -> list[torch.Tensor]:
        """The frames at ``times`` from a pair's ``prepare`` result (same frames): with several
        orientations, each one's frames turned back and averaged."""
        self._check(frame0, frame1, times)
        if isinstance(prepared, _Prepared):
            return self._render_pair(prepared, frame0, frame1, times)
        sums: list[torch.Tensor] = []
        for flip, part in zip(_FLIPS, prepared.parts, strict=False):
            frames = self._render_pair(part, _flip(frame0, flip), _flip(frame1, flip), times)
            turned = [_flip(frame, flip) for frame in frames]
            sums = turned if not sums else [a + b for a, b in zip(sums, turned, strict=True)]
        return [total / len(prepared.parts) for total in sums]

    def _render_pair(
        self,
        prepared: _Prepared,
        frame0: torch.Tensor,
        frame1: torch.Tensor,
        times: Sequence[float],
    ) -> list[torch.Tensor]:
        """``render`` for one orientation."""
        state = prepared.state
        if isinstance(state, _HostState):
            if prepared.sources is None:
                raise InvalidInputError("a host-path preparation needs its source frames")
            source0, source1 = prepared.sources
            return [
                self._synthesise_opencv(
                    source0,
                    source1,
                    self._aligned(self._fields_host(state, float(t)), prepared.greys, float(t)),
                    float(t),
                    prepared.channel_last,
                ).to(frame0.dtype)
                for t in times
            ]
        image0 = frame0[None].float()
        image1 = frame1[None].float()
        frames = []
        for t in times:
            fields = self._fields(state, float(t))
            if prepared.greys is not None:
                host = self._aligned(fields[0].cpu().numpy(), prepared.greys, float(t))
                fields = torch.from_numpy(host)[None].to(fields.device)
            frames.append(self._synthesise(image0, image1, fields, float(t)).to(frame0.dtype)[0])
        return frames

    def _aligned(
        self, fields: np.ndarray, greys: tuple[np.ndarray, np.ndarray] | None, t: float
    ) -> np.ndarray:
        """``fields`` (3×h×w: velocity x, y, frame 0's share) with the velocity corrected so
        that both frames agree at time ``t`` (``align.align_motion``); unchanged without
        ``greys``."""
        if greys is None:
            return fields
        motion = align_motion(
            greys[0],
            greys[1],
            cv2.merge([fields[0], fields[1]]),
            np.ascontiguousarray(fields[2]),
            t,
            self.options.resolved_alignment,
        )
        return np.stack([motion[:, :, 0], motion[:, :, 1], fields[2]])

    def _use_opencv(self, image: torch.Tensor) -> bool:
        sampler = self.options.sampler
        if sampler == "opencv" and image.device.type != "cpu":
            raise InvalidInputError("sampler 'opencv' needs CPU tensors; use 'torch' or 'auto'")
        return sampler == "opencv" or (sampler == "auto" and image.device.type == "cpu")

    def _fields_host(self, state: _HostState, t: float) -> np.ndarray:
        """``_fields`` on the host: 3×h×w float32 (velocity x, y and frame 0's share)."""
        landed = [
            _splat_host(state.carried[d], state.flows[d], travel)
            for d, travel in enumerate((t, 1.0 - t))
        ]
        weight0, weight1 = np.float32(1.0 - t), np.float32(t)
        numerator = landed[0][:2] * weight0 + landed[1][:2] * weight1
        density0 = landed[0][2] * weight0
        density1 = landed[1][2] * weight1
        total = density0 + density1
        motion = numerator / np.maximum(total, np.float32(1e-30))
        motion = _fill_holes_host(motion, total > _LANDED)
        prior = np.float32(self.options.visibility_prior)
        visible0 = density0 + prior * weight0
        share0 = visible0 / (visible0 + density1 + prior * weight1)
        return np.concatenate([motion, share0[None]])

    def _fields(self, state: _PairState, t: float) -> torch.Tensor:
        """Velocity (2 channels) and frame 0's visibility share (1 channel) at the working scale."""
        motion, share0 = self._motion_at(state, t)
        return torch.cat([motion, share0], dim=1)

    def _check(self, frame0: torch.Tensor, frame1: torch.Tensor, times: Sequence[float]) -> None:
        for name, frame in (("frame0", frame0), ("frame1", frame1)):
            if frame.ndim != 3 or frame.shape[0] != 3 or not frame.is_floating_point():
                raise InvalidInputError(
                    f"{name} must be a float tensor of shape (3, H, W), got "
                    f"{tuple(frame.shape)} {frame.dtype}"
                )
        if frame0.shape != frame1.shape:
            raise InvalidInputError(
                f"the two frames differ in size: {tuple(frame0.shape)} and {tuple(frame1.shape)}"
            )
        if frame0.device != frame1.device:
            raise InvalidInputError(
                f"the two frames are on different devices: {frame0.device} and {frame1.device}"
            )
        for t in times:
            if not 0.0 <= float(t) <= 1.0:
                raise InvalidInputError(f"interpolation times must lie in [0, 1], got {t}")

    def _prepare(self, small0: torch.Tensor, small1: torch.Tensor) -> _PairState:
        started = time.perf_counter()
        factor = self.options.resolved_motion_scale
        flow01, flow10 = estimate_flows(
            small0, small1, self.options.flow_options, self._workers(), result_scale=factor
        )
        self._count_flow(started)
        if factor > 1:
            size = flow01.shape[-2:]
            small0, small1 = (F.interpolate(x, size=size, mode="area") for x in (small0, small1))
        flow01 = flow01.to(small0.device)
        flow10 = flow10.to(small0.device)
        sources = torch.cat([small0, small1])
        targets = torch.cat([small1, small0])
        flows = torch.cat([flow01, flow10])
        reverse = torch.cat([flow10, flow01])
        colour_error = (sources - backwarp(targets, flows)).abs().mean(1, keepdim=True)
        round_trip = flows + backwarp(reverse, flows)
        disagreement = torch.hypot(round_trip[:, :1], round_trip[:, 1:])
        metric = -self.options.alpha * colour_error - self.options.consistency * disagreement
        weights = torch.exp(metric.clamp(min=_METRIC_FLOOR))
        flows = self._refill(flows, disagreement)
        return _PairState.of(flows, weights)

    def _refill(self, flows: torch.Tensor, disagreement: torch.Tensor) -> torch.Tensor:
        """Flows (2×2×h×w) with those of pixels the other direction contradicts by more than
        ``refill_threshold`` replaced by their neighbours' (push-pull): such a pixel is most
        likely hidden in the other frame, and its flow estimate there is a guess."""
        threshold = self.options.refill_threshold
        if threshold <= 0:
            return flows
        known = disagreement <= threshold
        return torch.cat([fill_holes(flows[i : i + 1], known[i : i + 1]) for i in range(2)])

    def _prepare_opencv(
        self,
        flow01: np.ndarray,
        flow10: np.ndarray,
        errors: tuple[np.ndarray, np.ndarray],
    ) -> _HostState:
        """``_prepare`` on host arrays (h×w×2 flows), with ``cv2.remap`` for the backward
        warps; the colour errors are the flow estimate's (``errors``, summed over channels)."""
        height, width = flow01.shape[:2]
        flows = [flow01, flow10]
        metrics = []
        for direction, (flow, reverse) in enumerate(((flow01, flow10), (flow10, flow01))):
            colour_error = errors[direction] * np.float32(1.0 / 3.0)
            round_trip = flow + warp(reverse, flow)
            # (Not cv2.magnitude: in OpenCV 5.0 it gave different last bits from run to run.)
            disagreement = np.hypot(round_trip[:, :, 0], round_trip[:, :, 1])
            metrics.append(
                cv2.addWeighted(
                    colour_error, -self.options.alpha, disagreement, -self.options.consistency, 0
                )
            )
            threshold = self.options.refill_threshold
            if threshold > 0:
                planes = np.ascontiguousarray(flow.transpose(2, 0, 1))
                filled = _fill_holes_host(planes, disagreement <= np.float32(threshold))
                flows[direction] = np.ascontiguousarray(filled.transpose(1, 2, 0))
        carried = np.empty((2, 3, height, width), dtype=np.float32)
        for direction, (flow, metric, sign) in enumerate(
            zip(flows, metrics, (1.0, -1.0), strict=True)
        ):
            weight = cv2.exp(np.maximum(metric, np.float32(_METRIC_FLOOR)))
            carried[direction, 0] = flow[:, :, 0] * weight * np.float32(sign)
            carried[direction, 1] = flow[:, :, 1] * weight * np.float32(sign)
            carried[direction, 2] = weight
        return _HostState(flows=np.stack(flows), carried=carried)

    def _motion_at(self, state: _PairState, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Velocity field M (1×2×h×w) at time t and frame 0's visibility share (1×1×h×w)."""
        time_weights = torch.tensor([1.0 - t, t], device=state.flows.device).view(2, 1, 1, 1)
        travel = state.flows * torch.tensor([t, 1.0 - t], device=state.flows.device).view(
            2, 1, 1, 1
        )
        if state.carried.device.type == "cpu":
            # The operator itself: softsplat() would re-validate inputs that are finite by
            # construction (its isfinite scan costs as much as a sixth of the splat here).
            # (Splatting the two directions in two threads measured no faster, end to end.)
            landed = _splat_cpu(state.carried, travel)
        else:
            landed = softsplat(state.carried, travel, mode="sum")
        landed = landed * time_weights
        # Sums over the two directions written out: faster than a reduction on the CPU.
        numerator = landed[:1, :2] + landed[1:, :2]
        density = landed[:, 2:]  # D0, D1
        total = density[:1] + density[1:]
        motion = numerator / total.clamp(min=1e-30)
        motion = fill_holes(motion, total > _LANDED)
        prior = self.options.visibility_prior * time_weights
        visible = density + prior
        share0 = visible[:1] / (visible[:1] + visible[1:])
        return motion, share0

    def _synthesise(
        self, image0: torch.Tensor, image1: torch.Tensor, fields: torch.Tensor, t: float
    ) -> torch.Tensor:
        """The new frame from the working-scale ``fields``, tile by tile (``grid_sample``)."""
        height, width = image0.shape[-2:]
        small_height, small_width = fields.shape[-2:]
        scale_x = width / small_width
        scale_y = height / small_height
        # Velocity in full-resolution pixels, expressed directly in grid_sample's units.
        to_grid_x = scale_x * 2.0 / max(width - 1, 1)
        to_grid_y = scale_y * 2.0 / max(height - 1, 1)
        output = torch.empty_like(image0)
        for tile in plan_tiles(height, width, self.options.tile_size, 0):
            ys = torch.arange(tile.y0, tile.y1, device=image0.device, dtype=torch.float32)
            xs = torch.arange(tile.x0, tile.x1, device=image0.device, dtype=torch.float32)
            grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
            # Full-resolution pixel centres in the working grid (F.interpolate's convention).
            small_x, small_y = _normalised_grid(
                (grid_x + 0.5) / scale_x - 0.5,
                (grid_y + 0.5) / scale_y - 0.5,
                small_height,
                small_width,
            )
            sampled = _sample(fields, small_x[None], small_y[None])[0]
            step_x = sampled[0] * to_grid_x
            step_y = sampled[1] * to_grid_y
            base_x, base_y = _normalised_grid(grid_x, grid_y, height, width)
            colour0 = _sample(image0, (base_x - t * step_x)[None], (base_y - t * step_y)[None])
            colour1 = _sample(
                image1, (base_x + (1.0 - t) * step_x)[None], (base_y + (1.0 - t) * step_y)[None]
            )
            tile.crop(output).copy_(torch.lerp(colour1, colour0, sampled[2:3][None]))
        return output

    def _synthesise_opencv(
        self,
        source0: np.ndarray,
        source1: np.ndarray,
        fields: np.ndarray,
        t: float,
        channel_last: bool,
    ) -> torch.Tensor:
        """The same sampling as the torch path with OpenCV, tile by tile, on H×W×3 frames
        (``channel_last``) or 3×H×W planes; the result is laid out like the sources.

        The working-scale fields are upsampled by ``cv2.resize`` (``cv2.warpAffine`` for a
        tile), the velocity as one two-channel map; the sampling positions are that map added
        to a cached identity grid. H×W×3 frames are sampled by one ``cv2.remap`` each, planes
        by one each with fixed-point maps computed once. Coordinates resolve to 1/32 pixel, far
        below what 8-bit output shows.
        """
        height, width = source0.shape[:2] if channel_last else source0.shape[1:]
        small_height, small_width = fields.shape[-2:]
        scale_x = width / small_width
        scale_y = height / small_height
        # Velocity in full-resolution pixels, as one h×w×2 map; frame 0's share pre-scaled for
        # blendLinear, which divides by (w0 + w1 + 1e-5): weights that sum to 1e5 make that
        # constant vanish in float32 (frame 0's share, and the rest to frame 1).
        velocity_small = cv2.merge(
            [fields[0] * np.float32(scale_x), fields[1] * np.float32(scale_y)]
        )
        share_small = fields[2] * np.float32(_BLEND_SCALE)
        tiles = plan_tiles(height, width, self.options.tile_size, 0)
        whole = len(tiles) == 1
        shape = (height, width, 3) if channel_last else (3, height, width)
        output = np.empty(shape, dtype=np.float32)
        for tile in tiles:
            size = (tile.width, tile.height)
            # Output pixel centre (x + 0.5) lands at (x + 0.5) / scale - 0.5 in the small grid,
            # F.interpolate's convention (and grid_sample's in the torch path); with one tile,
            # the whole frame, a plain resize does the same.
            to_small = None
            if not whole:
                to_small = np.array(
                    [
                        [1.0 / scale_x, 0.0, (tile.x0 + 0.5) / scale_x - 0.5],
                        [0.0, 1.0 / scale_y, (tile.y0 + 0.5) / scale_y - 0.5],
                    ]
                )
            velocity = _upsample(velocity_small, size, to_small)
            weight0 = _upsample(share_small, size, to_small)
            weight1 = np.float32(_BLEND_SCALE) - weight0
            grid = pixel_grid(tile.height, tile.width, tile.x0, tile.y0)
            maps0 = cv2.scaleAdd(velocity, -t, grid)
            maps1 = cv2.scaleAdd(velocity, 1.0 - t, grid)
            rows, columns = slice(tile.y0, tile.y1), slice(tile.x0, tile.x1)
            if channel_last:
                colour0 = sample(source0, maps0)
                colour1 = sample(source1, maps1)
                if whole:
                    cv2.blendLinear(colour0, colour1, weight0, weight1, dst=output)
                else:
                    output[rows, columns] = cv2.blendLinear(colour0, colour1, weight0, weight1)
                continue
            # Fixed-point maps, computed once and used for all three planes.
            fixed0 = fixed_point(maps0)
            fixed1 = fixed_point(maps1)
            for channel in range(3):
                colour0 = sample(source0[channel], *fixed0)
                colour1 = sample(source1[channel], *fixed1)
                output[channel, rows, columns] = cv2.blendLinear(colour0, colour1, weight0, weight1)
        if channel_last:
            return torch.from_numpy(output).permute(2, 0, 1)
        return torch.from_numpy(output)


# OpenCV's RGB → grey weights (``cv2.COLOR_RGB2GRAY``), for the torch path.
_GREY_WEIGHTS = (0.299, 0.587, 0.114)


def _grey_host(source: np.ndarray, size: tuple[int, int], channel_last: bool) -> np.ndarray:
    """An H×W×3 (``channel_last``) or 3×H×W float32 frame → h×w float32 grey (OpenCV's
    weights), area-averaged to ``size`` (w, h)."""
    rgb = source if channel_last else cv2.merge(list(source))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if (grey.shape[1], grey.shape[0]) == size:
        return grey
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def _grey_tensor(image: torch.Tensor, size: tuple[int, ...]) -> np.ndarray:
    """A 1×3×H×W image on any device → h×w float32 host grey, area-averaged to ``size``."""
    weights = torch.tensor(_GREY_WEIGHTS, device=image.device, dtype=image.dtype).view(1, 3, 1, 1)
    grey = (image * weights).sum(1, keepdim=True)
    if tuple(grey.shape[-2:]) != tuple(size):
        grey = F.interpolate(grey, size=tuple(size), mode="area")
    return np.ascontiguousarray(grey[0, 0].float().cpu().numpy())


def _splat_cpu(values: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Bilinear sum splat on the CPU, without autograd."""
    with torch.no_grad():
        return splat_torch.splat_forward(values, flow)


def _upsample(plane: np.ndarray, size: tuple[int, int], to_small: np.ndarray | None) -> np.ndarray:
    """Bilinear samples of a working-scale plane on a full-resolution tile of ``size``: the
    whole frame (``to_small`` None) or the tile that the affine map ``to_small`` describes."""
    if to_small is None:
        return cv2.resize(plane, size, interpolation=cv2.INTER_LINEAR)
    if plane.ndim == 3:  # one channel at a time: OpenCV's multi-channel warp rounds coarser
        return cv2.merge([_upsample(channel, size, to_small) for channel in cv2.split(plane)])
    return cv2.warpAffine(
        plane, to_small, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=_REPLICATE
    )


def _is_channel_last(frame: torch.Tensor) -> bool:
    """Whether a (3, H, W) frame is a view of an H×W×3 array."""
    return frame.permute(1, 2, 0).is_contiguous()


def _host_layout(frame: torch.Tensor, channel_last: bool) -> np.ndarray:
    """A (3, H, W) CPU frame as float32 H×W×3 (``channel_last``) or 3×H×W numpy; no copy
    when it is already laid out so."""
    frame = frame.detach().float()
    if channel_last:
        return np.ascontiguousarray(frame.permute(1, 2, 0).numpy())
    return np.ascontiguousarray(frame.numpy())


def _downscale_host(source: np.ndarray, scale: int, channel_last: bool) -> np.ndarray:
    """H×W×3 (``channel_last``) or 3×H×W float32 → the h×w×3 image ``flow.downscale`` gives."""
    if channel_last:
        return _downscale_rgb(source, scale)
    height, width = source.shape[1:]
    if scale == 1:
        return cv2.merge(list(source))  # interleaving planes: cheaper than a transposed copy
    if height % scale == 0 and width % scale == 0:
        size = (width // scale, height // scale)
        return cv2.merge(
            [cv2.resize(plane, size, interpolation=cv2.INTER_AREA) for plane in source]
        )
    small = downscale(torch.from_numpy(source)[None], scale)
    return np.ascontiguousarray(small[0].permute(1, 2, 0).numpy())


def _downscale_rgb(rgb: np.ndarray, scale: int) -> np.ndarray:
    """``flow.downscale`` for an H×W×3 float32 array (OpenCV's area resize when it divides)."""
    height, width = rgb.shape[:2]
    if scale == 1:
        return rgb
    if height % scale == 0 and width % scale == 0:
        size = (width // scale, height // scale)
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    small = downscale(torch.from_numpy(rgb).permute(2, 0, 1)[None], scale)
    return np.ascontiguousarray(small[0].permute(1, 2, 0).numpy())


def _splat_host(values: np.ndarray, flow: np.ndarray, travel: float) -> np.ndarray:
    """Bilinear sum splat of C×h×w planes along ``travel``·``flow`` (h×w×2), ``splat_torch``'s
    numbers (landing positions clamped to [-2, size + 1], corners outside dropped) computed
    with ``np.bincount``."""
    channels, height, width = values.shape
    canvas_width = width + 5
    target_x = np.clip(
        flow[:, :, 0] * np.float32(travel) + np.arange(width, dtype=np.float32), -2.0, width + 1.0
    )
    target_y = np.clip(
        flow[:, :, 1] * np.float32(travel) + np.arange(height, dtype=np.float32)[:, None],
        -2.0,
        height + 1.0,
    )
    left = np.floor(target_x)
    top = np.floor(target_y)
    right_weight = (target_x - left).ravel()
    bottom_weight = (target_y - top).ravel()
    top_left = ((top.astype(np.intp) + 2) * canvas_width + left.astype(np.intp) + 2).ravel()
    index = np.concatenate(
        [top_left, top_left + 1, top_left + canvas_width, top_left + canvas_width + 1]
    )
    corner_weights = np.concatenate(
        [
            (1.0 - right_weight) * (1.0 - bottom_weight),
            right_weight * (1.0 - bottom_weight),
            (1.0 - right_weight) * bottom_weight,
            right_weight * bottom_weight,
        ]
    )
    size = (height + 5) * canvas_width
    landed = np.empty((channels, height, width), dtype=np.float32)
    weighted = np.empty(4 * height * width, dtype=np.float64)
    for channel in range(channels):
        plane = values[channel].ravel()
        np.multiply(corner_weights.reshape(4, -1), plane, out=weighted.reshape(4, -1))
        summed = np.bincount(index, weights=weighted, minlength=size)
        landed[channel] = summed.reshape(height + 5, canvas_width)[2 : 2 + height, 2 : 2 + width]
    return landed


def _block_sum(plane: np.ndarray) -> np.ndarray:
    """Sums over 2×2 blocks of a C×h×w array, odd sizes padded with zeros (ceil mode)."""
    channels, height, width = plane.shape
    if height % 2 or width % 2:
        padded = np.zeros((channels, height + height % 2, width + width % 2), dtype=plane.dtype)
        padded[:, :height, :width] = plane
        plane = padded
    # Four strided views added: several times faster than a reshaped sum over two axes.
    return plane[:, 0::2, 0::2] + plane[:, 0::2, 1::2] + plane[:, 1::2, 0::2] + plane[:, 1::2, 1::2]


def _fill_holes_host(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``fill_holes`` for a C×h×w float32 array and an h×w bool mask (numpy and OpenCV)."""
    if known.all() or not known.any():
        return values
    weight = known.astype(np.float32)[None]
    current = values * weight
    levels: list[tuple[np.ndarray, np.ndarray]] = []
    while True:
        levels.append((current, weight))
        if (weight > 0).all() or min(current.shape[1:]) == 1:
            break
        summed = _block_sum(current)
        weight_sum = _block_sum(weight)
        current = np.where(weight_sum > 0, summed / np.maximum(weight_sum, 1e-12), 0.0)
        current = current.astype(np.float32)
        weight = (weight_sum > 0).astype(np.float32)
    filled, filled_weight = levels[-1]
    if not (filled_weight > 0).all():  # a 1-pixel-wide pyramid top: spread the mean
        mean = (filled * filled_weight).sum((1, 2), keepdims=True) / filled_weight.sum()
        filled = np.where(filled_weight > 0, filled, mean).astype(np.float32)
    for current, weight in reversed(levels[:-1]):
        height, width = current.shape[1:]
        upsampled = np.stack(
            [cv2.resize(p, (width, height), interpolation=cv2.INTER_LINEAR) for p in filled]
        )
        filled = np.where(weight > 0, current, upsampled)
    return filled
