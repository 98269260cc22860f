"""The video job: decode thread → plan → interpolate → encode thread, with bounded queues.

Memory stays flat in the video's length: the decoder runs at most ``queue_size`` frames ahead,
the interpolation step holds only the current pair, and the encoder at most ``queue_size`` frames
behind. Frames stay numpy RGB arrays between stages; ``FrameTransfer`` (``frameinterp.transfer``)
is the one place where they become engine tensors and back: each input frame is uploaded once
(pinned, asynchronous copies on CUDA) and scaled on the device.
"""

from __future__ import annotations

import math
import os
import time as clock
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import cast

import numpy as np
import torch

from frameinterp.engines import Interpolator, PreparingInterpolator, create_interpolator
from frameinterp.errors import InvalidInputError, UnsupportedMediaError
from frameinterp.files import check_output_path
from frameinterp.memory import TRIM_EVERY, release_free_memory
from frameinterp.timing import (
    DEFAULT_SCENE_THRESHOLD,
    DEFAULT_STATIC_THRESHOLD,
    PlannedFrame,
    Planner,
    Request,
    classify_interval,
    common_time_base,
    parse_rate,
)
from frameinterp.transfer import FrameTransfer
from frameinterp.video import (
    DecodedFrame,
    EncodeSettings,
    StreamNotes,
    ThreadedConsumer,
    VideoInfo,
    VideoReader,
    VideoWriter,
    default_extension,
    hardware_decoder,
    probe,
)

__all__ = [
    "Progress",
    "VideoSummary",
    "default_output_path",
    "interpolate_video",
    "make_request",
]

# Largest numerator/denominator a container time base may have (int32 in FFmpeg).
_MAX_TIME_BASE_TERM = 2**31 - 1
_FALLBACK_TIME_BASE = Fraction(1, 1_000_000)


@dataclass(frozen=True)
class Progress:
    """Reported after each output frame: frames handed to the encoder, expected total, seconds."""

    done: int
    total: int
    elapsed: float


@dataclass
class VideoSummary:
    """What a job did, for the end-of-run summary and for scripts."""

    input: Path
    output: Path
    engine: str
    device: str
    input_frames: int
    output_frames: int
    interpolated_frames: int
    input_rate: Fraction
    output_rate: Fraction
    input_duration: float  # seconds
    output_duration: float  # seconds
    seconds: float  # wall time of the whole job
    scene_cuts: int
    static_intervals: int
    corrupt_frames: int  # frames lost or damaged by corrupt packets
    streams: StreamNotes
    warnings: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)  # decode, interpolate, encode

    @property
    def frames_per_second(self) -> float:
        """Output frames produced per second of wall time."""
        return self.output_frames / self.seconds if self.seconds > 0 else 0.0


def make_request(factor: int | None = None, fps: str | float | Fraction | None = None) -> Request:
    """Build a ``Request`` from CLI-style values; ``factor`` 2 when neither is given."""
    if factor is not None and fps is not None:
        raise InvalidInputError("give either --factor or --fps, not both")
    if fps is not None:
        return Request(fps=parse_rate(fps))
    return Request(factor=2 if factor is None else factor)


def default_output_path(input_path: Path, request: Request, codec: str = "x264") -> Path:
    """``clip.mp4`` → ``clip.2x.mp4`` (or ``clip.60fps.mp4``) beside the input."""
    return input_path.with_name(f"{input_path.stem}.{request.label()}{default_extension(codec)}")


def _time_base(info: VideoInfo, request: Request, scale: Fraction) -> tuple[Fraction, bool]:
    """A time base in which every planned output time is a whole number (exact), if one fits.

    Returns the base and whether it is exact; a base too fine for a container (int32 terms)
    falls back to microseconds, with each time rounded to the nearest one.
    """
    base = info.time_base
    grid = (
        base / request.factor
        if request.factor is not None
        else common_time_base(base, 1 / request.fps if request.fps is not None else base)
    )
    exact = common_time_base(base, grid * scale)
    if exact.numerator > _MAX_TIME_BASE_TERM or exact.denominator > _MAX_TIME_BASE_TERM:
        return _FALLBACK_TIME_BASE, False
    return exact, True


class _Engine:
    """Runs the interpolator pair by pair; uploads each input frame once.

    With ``flow_workers`` > 0 and an engine that can split its work
    (``PreparingInterpolator``), the per-pair work (optical flow) of the next pairs runs in a
    thread pool while the current pair renders: ``prefetch`` is called as frames are decoded,
    ``between`` collects the result. Outputs are identical either way.
    """

    def __init__(self, interpolator: Interpolator, flow_workers: int = 0) -> None:
        self.interpolator = interpolator
        self.seconds = 0.0
        self.frames = 0
        self.prefetched = 0  # pairs whose preparation ran ahead in a worker
        self.transfer = FrameTransfer(interpolator.device)
        self._cache: dict[int, torch.Tensor] = {}
        self._pending: dict[tuple[int, int], Future[object]] = {}
        self._pool: ThreadPoolExecutor | None = None
        if flow_workers > 0 and isinstance(interpolator, PreparingInterpolator):
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

    def between(
        self, left: DecodedFrame, right: DecodedFrame, times: list[Fraction]
    ) -> list[np.ndarray]:
        started = clock.perf_counter()
        first, second = self.tensor(left), self.tensor(right)
        pending = self._pending.pop((left.index, right.index), None)
        with torch.inference_mode():
            if pending is not None:
                engine = cast(PreparingInterpolator, self.interpolator)
                results = engine.render(pending.result(), first, second, [float(t) for t in times])
                self.prefetched += 1
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
        if self._pool is not None:
            for future in self._pending.values():
                future.cancel()
            self._pool.shutdown(wait=True)
            self._pending.clear()


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
) -> list[tuple[Fraction, np.ndarray]]:
    """Turn planned frames into (time, image); one engine call per pair for all its times."""
    wanted: dict[tuple[int, int], list[Fraction]] = {}
    for frame in planned:
        if frame.source is None:
            wanted.setdefault((frame.left, frame.right), []).append(frame.t)
    made: dict[tuple[int, int, Fraction], np.ndarray] = {}
    for (left, right), times in wanted.items():
        images = engine.between(frames[left], frames[right], times)
        for t, image in zip(times, images, strict=True):
            made[(left, right, t)] = image
    rendered = []
    for frame in planned:
        if frame.source is not None:
            rendered.append((frame.time, frames[frame.source].image))
        else:
            rendered.append((frame.time, made[(frame.left, frame.right, frame.t)]))
    return rendered


def interpolate_video(
    input_path: str | Path,
    output_path: str | Path | None = None,
    *,
    factor: int | None = None,
    fps: str | float | Fraction | None = None,
    slowdown: bool = False,
    engine: str = "classic",
    device: str = "auto",
    weights: str | Path | None = None,
    codec: str = "x264",
    crf: int | None = None,
    preset: str | None = None,
    scene_threshold: float | None = DEFAULT_SCENE_THRESHOLD,
    static_threshold: float | None = DEFAULT_STATIC_THRESHOLD,
    keep_audio: bool | None = None,
    overwrite: bool = False,
    progress: Callable[[Progress], None] | None = None,
    interpolator: Interpolator | None = None,
    max_frames: int | None = None,
    queue_size: int = 8,
    hwaccel: str | None = None,
    flow_workers: int | None = None,
) -> VideoSummary:
    """Make a video smoother (``factor`` N or target ``fps``) or slower (``slowdown``).

    By default the output lasts as long as the input, at ``factor`` × its frame rate (or
    ``fps``), with audio and subtitles copied. With ``slowdown`` the output plays at the input's
    rate, so it lasts ``factor`` times longer (or ``fps`` / input rate); audio is then dropped
    unless ``keep_audio`` is set (it would no longer be in sync; it is never stretched).
    ``scene_threshold``/``static_threshold`` of ``None`` switch cut / duplicate detection off.
    ``interpolator`` overrides ``engine`` and ``device`` with a ready engine object.
    ``max_frames`` converts only the first that many input frames (a quick preview; audio is
    cut at the same time). ``hwaccel`` (e.g. ``"cuda"``) decodes with PyAV's hardware decoder
    when a trial decode works, and otherwise falls back to the CPU with a warning.
    ``flow_workers`` threads prepare the next pairs (optical flow) while the current one
    renders; ``None`` means one on the CPU and a few beside a GPU.
    The output is written under a temporary name and renamed when complete: an error or Ctrl-C
    leaves nothing behind.
    """
    started = clock.perf_counter()
    source = Path(input_path)
    request = make_request(factor, fps)
    if max_frames is not None and max_frames < 2:
        raise InvalidInputError(f"--frames must be at least 2, got {max_frames}")
    settings = EncodeSettings(codec=codec, crf=crf, preset=preset)
    info = probe(source)
    output = (
        Path(output_path)
        if output_path is not None
        else default_output_path(source, request, codec)
    )
    check_output_path(output, (source,), overwrite)
    if interpolator is None:
        interpolator = create_interpolator(engine, device, weights=weights)

    output_rate = request.output_rate(info.rate)
    scale = output_rate / info.rate if slowdown else Fraction(1)
    nominal_rate = info.rate if slowdown else output_rate
    time_base, exact = _time_base(info, request, scale)
    warnings: list[str] = []
    decoder = None
    if hwaccel is not None:
        decoder, reason = hardware_decoder(source, hwaccel)
        if decoder is None:
            warnings.append(f"--hwaccel {hwaccel}: {reason}; decoding on the CPU instead")
    if not exact:
        warnings.append("output times rounded to the microsecond (the exact time base is too fine)")
    keep = (not slowdown) if keep_audio is None else keep_audio
    total = _expected_outputs(info, request)
    if max_frames is not None:
        total = min(total, _expected_outputs(info, request, max_frames))

    planner = Planner(request, scene_threshold=scene_threshold, static_threshold=static_threshold)
    runner = _Engine(interpolator, default_flow_workers(interpolator.device, flow_workers))
    writer = VideoWriter(
        output,
        info,
        settings=settings,
        rate=nominal_rate,
        time_base=time_base,
        keep_audio=keep,
        keep_subtitles=keep,
    )
    if slowdown and info.audio_codecs and not keep:
        warnings.append("audio dropped: slow motion changes the duration, so it would not match")
    encode_seconds = [0.0]

    def encode(item: tuple[Fraction, np.ndarray]) -> None:
        begun = clock.perf_counter()
        when, image = item
        writer.write(image, info.start + (when - info.start) * scale)
        encode_seconds[0] += clock.perf_counter() - begun

    done = 0
    held: dict[int, DecodedFrame] = {}
    last: DecodedFrame | None = None
    previous_time: Fraction | None = None
    encoder: ThreadedConsumer[tuple[Fraction, np.ndarray]] | None = None
    reader: VideoReader | None = None
    try:
        encoder = ThreadedConsumer(encode, maxsize=queue_size, name="frameinterp-encode")
        reader = VideoReader(info, queue_size=queue_size, measure=True, hwaccel=decoder)
        for decoded in _looking_ahead(reader, runner, planner):
            if decoded.index % TRIM_EVERY == TRIM_EVERY - 1:
                release_free_memory()
            planned = planner.push(decoded.time, decoded.measure)
            if planned is None:  # reader already drops non-increasing times; kept for safety
                continue
            held = {index: frame for index, frame in held.items() if index == decoded.index - 1}
            held[decoded.index] = decoded
            for when, image in _render(planned, held, runner):
                encoder.put((when, image))
                done += 1
                if progress is not None:
                    progress(Progress(done, max(total, done), clock.perf_counter() - started))
            previous_time = last.time if last is not None else None
            last = decoded
            if max_frames is not None and planner.count >= max_frames:
                break
        if last is None or planner.count == 0:
            raise UnsupportedMediaError(f"{str(source)!r} has no decodable video frames")
        if planner.count < 2:
            raise UnsupportedMediaError(
                f"{str(source)!r} has only one frame; interpolation needs at least two"
            )
        end = last.time + _last_duration(last, previous_time, info)
        for when, image in _render(planner.finish(end), held, runner):
            encoder.put((when, image))
            done += 1
            if progress is not None:
                progress(Progress(done, max(total, done), clock.perf_counter() - started))
        encoder.finish()
        writer.commit(None if max_frames is None else info.start + (end - info.start) * scale)
    except BaseException:
        runner.close()
        if reader is not None:
            reader.close()
        if encoder is not None:
            encoder.abandon()
        writer.abort()
        raise
    runner.close()
    reader.close()

    stats = reader.stats
    affected = stats.affected_frames
    if affected:
        warnings.append(
            f"{affected} input frame(s) lost or damaged by corrupt data "
            f"({stats.bad_packets} unreadable packet(s)); the rest was converted"
        )
    if stats.skipped_times:
        warnings.append(f"{stats.skipped_times} frame(s) with out-of-order timestamps skipped")
    input_duration = float(end - info.start)
    return VideoSummary(
        input=source,
        output=output,
        engine=interpolator.name,
        device=str(interpolator.device),
        input_frames=planner.count,
        output_frames=writer.frames_written,
        interpolated_frames=runner.frames,
        input_rate=info.rate,
        output_rate=nominal_rate,
        input_duration=input_duration,
        output_duration=input_duration * float(scale),
        seconds=clock.perf_counter() - started,
        scene_cuts=planner.kinds["cut"],
        static_intervals=planner.kinds["static"],
        corrupt_frames=affected,
        streams=writer.notes,
        warnings=warnings,
        stage_seconds={
            "decode": stats.seconds,
            "interpolate": runner.seconds,
            "encode": encode_seconds[0],
        },
    )


def _last_duration(last: DecodedFrame, previous: Fraction | None, info: VideoInfo) -> Fraction:
    """How long the last frame is shown: its own duration, else the last interval, else 1/rate."""
    if last.duration is not None and last.duration > 0:
        return last.duration
    if previous is not None:
        return last.time - previous
    return 1 / info.rate


def _expected_outputs(info: VideoInfo, request: Request, frames: int | None = None) -> int:
    """Output frames a progress bar should expect (estimate from container metadata)."""
    if request.factor is not None:
        return (frames or info.estimated_frames()) * request.factor
    assert request.fps is not None
    if frames is None and info.duration is not None:
        return math.ceil(info.duration * request.fps)
    return math.ceil((frames or info.estimated_frames()) / info.rate * request.fps)
