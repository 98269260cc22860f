"""The one conversion loop: frames in from a source, planned, interpolated, out to a sink.

Videos and image sequences both go through ``convert``::

    source (FrameSource) ──frames──▶ Planner ──(pair, t)──▶ engine ──pictures──▶ sink (FrameSink)

* A ``FrameSource`` is an iterable of ``DecodedFrame`` (``frameinterp.decoded``) with increasing
  times, a nominal ``rate`` and ``close()``: ``decode.VideoReader`` for videos (decoded frames
  in their own pixel format), ``batch.ImageSequence`` for numbered images. Anything with these
  members will do (a chunk decoded from memory, for example).
* A ``FrameSink`` takes ``write(picture, time)`` for each output frame in time order, then
  ``commit(end)`` once, or ``abort()`` on failure: ``encode.VideoWriter`` for videos (a path or
  an in-memory file), ``batch.PngFolder`` for image sequences. ``picture`` is the decoded
  frame untouched when the output time falls on an input frame (and for cut, static and hold
  copies), or an RGB array (H×W×3 uint8/uint16) for an interpolated frame. ``time`` is on the
  output timeline (stretched by ``slowdown``); ``end`` is where side streams stop (or ``None``).
* ``settings`` (``ConversionSettings``) says what to make; ``interpolator`` is a ready engine.

Memory stays bounded for any video length, factor and rate: the source runs at most
``queue_size`` frames ahead, the loop holds the current pair and renders its output times a
few at a time (however many fall in the interval), and the sink runs in its own thread at most
``queue_size`` frames behind. Progress is reported for every output frame (``on_progress``).

Chunked conversion (many workers each doing part of one video) uses two more arguments:
``origin`` anchors the ``fps`` output grid (and the slow-motion stretch) at a time other than
this source's first frame, so that every chunk lands on the same global grid; ``window``
``(begin, end)`` renders only output times (on the input timeline) in ``[begin, end)``. With
an ``end``, the source's final frame is only the right end of the last interval: nothing is
held after it (the next chunk starts there).
"""

from __future__ import annotations

import os
import time as clock
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol, cast, runtime_checkable

import numpy as np
import torch

from frameinterp.decoded import DecodedFrame, Picture
from frameinterp.engines import Interpolator, PreparingInterpolator
from frameinterp.errors import InvalidInputError, UnsupportedMediaError
from frameinterp.memory import TRIM_EVERY, release_free_memory
from frameinterp.progress_bar import JobProgress
from frameinterp.settings import ConversionSettings
from frameinterp.threads import ThreadedConsumer
from frameinterp.timing import PlannedFrame, Planner, classify_interval
from frameinterp.transfer import FrameTransfer

__all__ = [
    "ConversionResult",
    "FrameSink",
    "FrameSource",
    "JobProgress",
    "Window",
    "convert",
    "default_flow_workers",
]

Window = tuple[Fraction, Fraction | None]
# Output pixels (float32 on the device) rendered by one engine call, at most: a pair with many
# output times is rendered in batches, so a huge factor needs no more memory than a small one.
_RENDER_BUDGET_BYTES = 256 * 2**20
_MAX_BATCH = 16


@runtime_checkable
class FrameSource(Protocol):
    """Input frames in increasing time order (see the module docstring)."""

    rate: Fraction  # nominal frames per second (slow motion's play rate; last frame's duration)
    time_base: Fraction | None  # timestamp precision: output times this close to a frame copy it

    def __iter__(self) -> Iterator[DecodedFrame]: ...

    def close(self) -> None: ...


@runtime_checkable
class FrameSink(Protocol):
    """Where output frames go (see the module docstring)."""

    def write(self, picture: Picture, time: Fraction) -> None: ...

    def commit(self, end: Fraction | None = None) -> None: ...

    def abort(self) -> None: ...


@dataclass
class ConversionResult:
    """What the loop did: counts, the input's time span, and seconds per stage."""

    input_frames: int
    output_frames: int
    interpolated_frames: int
    scene_cuts: int
    static_intervals: int
    start: Fraction  # first input frame's time
    end: Fraction  # when the last input frame stops being shown (input timeline)
    scale: Fraction  # output duration / input duration (slow motion)
    stage_seconds: dict[str, float] = field(default_factory=dict)  # interpolate, encode


def default_flow_workers(device: torch.device, requested: int | None) -> int:
    """``requested``, else 1 on the CPU and a quarter of the cores (1 to 4) beside a GPU.

    On a 2-core CPU one worker measured 5-15% more output frames per second than none and no
    less than two (480p and 720p, classic engine); a GPU needs several to be kept busy.
    """
    if requested is not None:
        if requested < 0:
            raise InvalidInputError(f"--flow-workers must be 0 or more, got {requested}")
        return requested
    if device.type == "cpu":
        return 1
    return max(1, min(4, (os.cpu_count() or 4) // 4))


def _prepare_without_grad(
    engine: PreparingInterpolator, first: torch.Tensor, second: torch.Tensor
) -> object:
    with torch.inference_mode():
        return engine.prepare(first, second)


class _Engine:
    """Runs the interpolator pair by pair; uploads each input frame once.

    With ``flow_workers`` > 0 and an engine that can split its work
    (``PreparingInterpolator``), the per-pair work (optical flow) of the next pairs runs in a
    thread pool while the current pair renders: ``prefetch`` is called as frames arrive,
    ``between`` uses the result. Outputs are identical either way.
    """

    def __init__(self, interpolator: Interpolator, flow_workers: int = 0) -> None:
        self.interpolator = interpolator
        self.seconds = 0.0
        self.frames = 0
        self.transfer = FrameTransfer(interpolator.device)
        self._cache: dict[int, torch.Tensor] = {}
        self._pending: dict[tuple[int, int], Future[object]] = {}
        self._prepared: tuple[tuple[int, int], object] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._preparing = isinstance(interpolator, PreparingInterpolator)
        if flow_workers > 0 and self._preparing:
            self._pool = ThreadPoolExecutor(flow_workers, thread_name_prefix="frameinterp-flow")
        self.lookahead = flow_workers if self._pool is not None else 0

    def tensor(self, frame: DecodedFrame) -> torch.Tensor:
        if frame.index not in self._cache:
            oldest = frame.index - self.lookahead - 1  # the pair being rendered starts here
            self._cache = {i: tensor for i, tensor in self._cache.items() if i >= oldest}
            self._cache[frame.index] = self.transfer.upload(frame.image)
        return self._cache[frame.index]

    def prefetch(self, left: DecodedFrame, right: DecodedFrame) -> None:
        """Start preparing the pair (left, right) in the pool, if there is one."""
        if self._pool is None or (left.index, right.index) in self._pending:
            return
        engine = cast(PreparingInterpolator, self.interpolator)
        first, second = self.tensor(left), self.tensor(right)
        self._pending[(left.index, right.index)] = self._pool.submit(
            _prepare_without_grad, engine, first, second
        )

    def batch_size(self, frame: DecodedFrame) -> int:
        """Output times rendered per engine call for frames of this size (see the budget)."""
        height, width = frame.image.shape[:2]
        return max(1, min(_MAX_BATCH, _RENDER_BUDGET_BYTES // (height * width * 3 * 4)))

    def between(
        self, left: DecodedFrame, right: DecodedFrame, times: list[Fraction]
    ) -> list[np.ndarray]:
        """RGB frames at ``times`` between ``left`` and ``right`` (one engine call)."""
        started = clock.perf_counter()
        first, second = self.tensor(left), self.tensor(right)
        key = (left.index, right.index)
        with torch.inference_mode():
            if self._preparing:
                engine = cast(PreparingInterpolator, self.interpolator)
                if self._prepared is None or self._prepared[0] != key:
                    pending = self._pending.pop(key, None)
                    state = (
                        pending.result() if pending is not None else engine.prepare(first, second)
                    )
                    self._prepared = (key, state)
                results = engine.render(self._prepared[1], first, second, [float(t) for t in times])
            else:
                results = self.interpolator.interpolate(first, second, [float(t) for t in times])
        if len(results) != len(times):
            raise RuntimeError(
                f"engine {self.interpolator.name!r} returned {len(results)} frames for "
                f"{len(times)} times"
            )
        images = [self.transfer.download(result, left.image.dtype) for result in results]
        self.seconds += clock.perf_counter() - started
        self.frames += len(images)
        self._cancel_before(left.index)
        return images

    def _cancel_before(self, index: int) -> None:
        """Cancel preparations no later pair can use (uploads are bounded in ``tensor``)."""
        for key in [key for key in self._pending if key[0] < index]:
            self._pending.pop(key).cancel()

    def close(self) -> None:
        self._prepared = None
        if self._pool is not None:
            for future in self._pending.values():
                future.cancel()
            self._pool.shutdown(wait=True)
            self._pending.clear()


def _looking_ahead(
    frames: Iterable[DecodedFrame], engine: _Engine, planner: Planner
) -> Iterator[DecodedFrame]:
    """Yield ``frames`` in order, ``engine.lookahead`` frames late, prefetching every pair that
    will be interpolated (not cuts or static intervals) as soon as both its frames are in."""
    window: deque[DecodedFrame] = deque()
    previous: DecodedFrame | None = None
    for frame in frames:
        if previous is not None and engine.lookahead:
            kind = classify_interval(
                frame.measure, planner.scene_threshold, planner.static_threshold
            )
            if kind == "motion":
                engine.prefetch(previous, frame)
        previous = frame
        window.append(frame)
        if len(window) > engine.lookahead:
            yield window.popleft()
    yield from window


def _render(
    planned: list[PlannedFrame], frames: dict[int, DecodedFrame], engine: _Engine
) -> Iterator[tuple[Fraction, Picture]]:
    """Turn planned frames into (time, picture), in order, a few interpolated at a time."""
    index = 0
    while index < len(planned):
        frame = planned[index]
        if frame.source is not None:
            yield frame.time, frames[frame.source].picture
            index += 1
            continue
        left, right = frames[frame.left], frames[frame.right]
        batch = [frame]
        limit = engine.batch_size(left)
        while (
            index + len(batch) < len(planned)
            and len(batch) < limit
            and planned[index + len(batch)].source is None
            and planned[index + len(batch)].left == frame.left
        ):
            batch.append(planned[index + len(batch)])
        images = engine.between(left, right, [item.t for item in batch])
        for item, image in zip(batch, images, strict=True):
            yield item.time, image
        index += len(batch)


def _last_duration(last: DecodedFrame, previous: Fraction | None, rate: Fraction) -> Fraction:
    """How long the last frame is shown: its own duration, else the last interval, else 1/rate."""
    if last.duration is not None and last.duration > 0:
        return last.duration
    if previous is not None:
        return last.time - previous
    return 1 / rate


def convert(
    source: FrameSource,
    sink: FrameSink,
    settings: ConversionSettings,
    interpolator: Interpolator,
    *,
    origin: Fraction | None = None,
    window: Window | None = None,
    on_progress: Callable[[JobProgress], None] | None = None,
    expected_outputs: int = 0,
    name: str = "the input",
) -> ConversionResult:
    """Convert every frame of ``source`` into ``sink`` as ``settings`` ask; see the module.

    The sink is committed on success (``commit(end)``, with ``end`` on the output timeline
    when only part of the source was converted) and aborted on any error or interrupt; the
    source is closed either way. ``expected_outputs`` is the progress total (an estimate).
    """
    started = clock.perf_counter()
    planner = Planner(
        settings.request,
        scene_threshold=settings.scene_threshold,
        static_threshold=settings.static_threshold,
        origin=origin,
        precision=source.time_base,
    )
    runner = _Engine(interpolator, default_flow_workers(interpolator.device, settings.flow_workers))
    output_rate = settings.request.output_rate(source.rate)
    scale = output_rate / source.rate if settings.slowdown else Fraction(1)
    begin, end_limit = window if window is not None else (None, None)
    encode_seconds = [0.0]
    anchor: list[Fraction] = []

    def write(item: tuple[Picture, Fraction]) -> None:
        begun = clock.perf_counter()
        sink.write(*item)
        encode_seconds[0] += clock.perf_counter() - begun

    def output_time(when: Fraction) -> Fraction:
        return anchor[0] + (when - anchor[0]) * scale

    done = 0

    def hand_over(planned: list[PlannedFrame], frames: dict[int, DecodedFrame]) -> None:
        nonlocal done
        wanted = [
            frame
            for frame in planned
            if (begin is None or frame.time >= begin)
            and (end_limit is None or frame.time < end_limit)
        ]
        for when, picture in _render(wanted, frames, runner):
            encoder.put((picture, output_time(when)))
            done += 1
            if on_progress is not None:
                elapsed = clock.perf_counter() - started
                on_progress(JobProgress(done, max(expected_outputs, done), elapsed))

    held: dict[int, DecodedFrame] = {}
    last: DecodedFrame | None = None
    previous_time: Fraction | None = None
    encoder: ThreadedConsumer[tuple[Picture, Fraction]] = ThreadedConsumer(
        write, maxsize=settings.queue_size, name="frameinterp-encode"
    )
    try:
        for decoded in _looking_ahead(source, runner, planner):
            if decoded.index % TRIM_EVERY == TRIM_EVERY - 1:
                release_free_memory()
            if not anchor:
                anchor.append(origin if origin is not None else decoded.time)
            planned = planner.push(decoded.time, decoded.measure)
            if planned is None:  # sources already drop non-increasing times; kept for safety
                continue
            held = {index: frame for index, frame in held.items() if index == decoded.index - 1}
            held[decoded.index] = decoded
            hand_over(planned, held)
            previous_time = last.time if last is not None else None
            last = decoded
            if settings.max_frames is not None and planner.count >= settings.max_frames:
                break
        if last is None or planner.count == 0:
            raise UnsupportedMediaError(f"{name} has no decodable video frames")
        if planner.count < 2:
            raise UnsupportedMediaError(
                f"{name} has only one frame; interpolation needs at least two"
            )
        if end_limit is None:
            end = last.time + _last_duration(last, previous_time, source.rate)
            hand_over(planner.finish(end), held)
        else:
            end = last.time
        encoder.finish()
        partial = settings.max_frames is not None or window is not None
        sink.commit(output_time(end) if partial else None)
    except BaseException:
        runner.close()
        source.close()
        encoder.abandon()
        sink.abort()
        raise
    runner.close()
    source.close()
    return ConversionResult(
        input_frames=planner.count,
        output_frames=done,
        interpolated_frames=runner.frames,
        scene_cuts=planner.kinds["cut"],
        static_intervals=planner.kinds["static"],
        start=planner.start if planner.start is not None else anchor[0],
        end=end,
        scale=scale,
        stage_seconds={"interpolate": runner.seconds, "encode": encode_seconds[0]},
    )
