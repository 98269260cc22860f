"""``interpolate_video``: one video file in, one out, through the conversion loop.

This module only assembles the job: probe the input, decide the output name and time base,
build the decoding source and the encoding sink, call ``convert.convert``, and summarise.
The loop itself (planning, engine, bounded queues) is ``frameinterp.convert``.
"""

from __future__ import annotations

import json
import math
import time as clock
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import torch

from frameinterp.convert import JobProgress, convert
from frameinterp.decode import VideoReader
from frameinterp.encode import StreamNotes, VideoWriter, default_extension
from frameinterp.engines import Interpolator, create_interpolator
from frameinterp.errors import InvalidInputError
from frameinterp.files import check_output_path
from frameinterp.probe import VideoInfo, hardware_decoder, probe
from frameinterp.progress_bar import ProgressBar
from frameinterp.settings import ConversionSettings, output_record
from frameinterp.timing import Request, common_time_base

__all__ = [
    "JobProgress",
    "VideoSummary",
    "default_output_path",
    "interpolate_video",
    "make_request",
    "resolve_settings",
]

# Largest numerator/denominator a container time base may have (int32 in FFmpeg).
_MAX_TIME_BASE_TERM = 2**31 - 1
_FALLBACK_TIME_BASE = Fraction(1, 1_000_000)
# The container tag that records what produced an output (``settings.output_record``).
RECORD_TAG = "comment"
RECORD_PREFIX = "frameinterp "


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
    lost_frames: int = 0  # frames the container announces that could not be decoded at all
    expected_frames: int | None = None  # what the container announces, when it does
    settings: ConversionSettings | None = None

    @property
    def frames_per_second(self) -> float:
        """Output frames produced per second of wall time."""
        return self.output_frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def damaged(self) -> bool:
        """Whether input frames were lost or damaged (the output misses or repeats some)."""
        return self.corrupt_frames > 0 or self.lost_frames > 0


def make_request(factor: int | None = None, fps: str | float | Fraction | None = None) -> Request:
    """Build a ``Request`` from CLI-style values; ``factor`` 2 when neither is given."""
    return ConversionSettings(factor=factor, fps=fps, force=True).request


def resolve_settings(
    settings: ConversionSettings | None, options: dict[str, Any]
) -> ConversionSettings:
    """``settings`` with ``options`` (fields of ``ConversionSettings``) applied, validated."""
    known = {item.name for item in fields(ConversionSettings) if item.init}
    unknown = sorted(set(options) - known)
    if unknown:
        raise InvalidInputError(
            f"unknown option(s) {', '.join(unknown)}; expected settings among: "
            f"{', '.join(sorted(known))}"
        )
    if settings is None:
        return ConversionSettings(**options)
    return settings.with_changes(**options) if options else settings


def default_output_path(
    input_path: Path, request: Request | ConversionSettings, codec: str = "x264"
) -> Path:
    """``clip.mp4`` → ``clip.2x.mp4`` (``clip.60fps.mp4``, ``clip.4x-slow.mp4``) beside it."""
    if isinstance(request, ConversionSettings):
        label, codec = request.label(), request.codec
    else:
        label = request.label()
    return input_path.with_name(f"{input_path.stem}.{label}{default_extension(codec)}")


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


def _expected_outputs(info: VideoInfo, request: Request, frames: int | None = None) -> int:
    """Output frames a progress bar should expect (estimate from container metadata)."""
    if request.factor is not None:
        return (frames or info.estimated_frames()) * request.factor
    assert request.fps is not None
    if frames is None and info.duration is not None:
        return math.ceil(info.duration * request.fps)
    return math.ceil((frames or info.estimated_frames()) / info.rate * request.fps)


def interpolate_video(
    input_path: str | Path | IO[bytes],
    output_path: str | Path | None = None,
    settings: ConversionSettings | None = None,
    *,
    interpolator: Interpolator | None = None,
    device: str | torch.device | None = None,
    on_progress: Callable[[JobProgress], None] | None = None,
    progress: bool = False,
    **options: Any,
) -> VideoSummary:
    """Make a video smoother (``factor`` N or target ``fps``) or slower (``slowdown``).

    ``settings`` (``ConversionSettings``) holds every choice; keyword ``options`` are its
    fields, for short calls (``interpolate_video("clip.mp4", factor=4)``) or to change a few
    fields of ``settings``. By default the output lasts as long as the input, at ``factor`` ×
    its frame rate (or ``fps``), with audio and subtitles copied, named ``clip.2x.mp4`` beside
    the input; ``output_path`` may be a file or an existing folder (default name inside it).
    ``interpolator`` overrides the settings' engine and ``device`` with a ready engine object.
    ``on_progress`` is called after every output frame; ``progress=True`` shows a
    ``tqdm.auto`` bar instead. The output is written under a temporary name and renamed when
    complete: an error or interrupt leaves nothing behind. Damaged input is converted as far
    as it decodes, and ``VideoSummary.damaged`` / ``lost_frames`` say so.
    """
    started = clock.perf_counter()
    if device is not None:
        options["device"] = str(device)
    settings = resolve_settings(settings, options)
    info = probe(input_path)
    source_path = info.path
    settings.check_rate(info.rate)
    request = settings.request
    if output_path is None:
        if info.data is not None:
            raise InvalidInputError("an in-memory input needs an output_path")
        output = default_output_path(source_path, settings)
    else:
        output = Path(output_path)
        if output.is_dir():
            output = default_output_path(output / source_path.name, settings)
    check_output_path(output, (source_path,) if info.data is None else (), settings.overwrite)
    if interpolator is None:
        interpolator = create_interpolator(
            settings.engine, settings.device, **settings.engine_options()
        )

    output_rate = request.output_rate(info.rate)
    scale = output_rate / info.rate if settings.slowdown else Fraction(1)
    nominal_rate = info.rate if settings.slowdown else output_rate
    time_base, exact = _time_base(info, request, scale)
    warnings: list[str] = []
    decoder = None
    if settings.hwaccel is not None:
        decoder, reason = hardware_decoder(info, settings.hwaccel)
        if decoder is None:
            warnings.append(f"--hwaccel {settings.hwaccel}: {reason}; decoding on the CPU instead")
    if not exact:
        warnings.append("output times rounded to the microsecond (the exact time base is too fine)")
    keep = settings.keeps_audio()
    total = _expected_outputs(info, request)
    if settings.max_frames is not None:
        total = min(total, _expected_outputs(info, request, settings.max_frames))

    record_source = source_path if info.data is None else None
    writer = VideoWriter(
        output,
        info,
        settings=settings.encode,
        rate=nominal_rate,
        time_base=time_base,
        keep_audio=keep,
        keep_subtitles=keep,
        metadata={RECORD_TAG: RECORD_PREFIX + json.dumps(output_record(record_source, settings))},
    )
    if settings.slowdown and info.audio_codecs and not keep:
        warnings.append("audio dropped: slow motion changes the duration, so it would not match")
    reader: VideoReader | None = None
    try:  # a signal can land anywhere from here on: nothing half-written may stay behind
        reader = VideoReader(info, queue_size=settings.queue_size, measure=True, hwaccel=decoder)
        with ProgressBar(progress, source_path.name, on_progress, total=total) as bar:
            result = convert(
                reader,
                writer,
                settings,
                interpolator,
                on_progress=bar,
                expected_outputs=total,
                name=repr(str(source_path)),
            )
    except BaseException:
        if reader is not None:
            reader.close()
        writer.abort()
        raise

    stats = reader.stats
    affected = stats.affected_frames
    lost, expected = _lost_frames(info, reader, result.end)
    if lost > affected:
        counted = (
            "frames the container announces"
            if info.frame_count
            else ("frames the container's duration implies (about)")
        )
        warnings.append(
            f"{lost} of {expected} {counted} could not be decoded (the file is truncated or "
            "damaged); the output covers only what could be read"
        )
    elif affected:
        warnings.append(
            f"{affected} input frame(s) lost or damaged by corrupt data "
            f"({stats.bad_packets} unreadable packet(s)); the rest was converted"
        )
    if stats.skipped_times:
        warnings.append(f"{stats.skipped_times} frame(s) with out-of-order timestamps skipped")
    if writer.downgrade:
        warnings.append(f"output is {writer.pixel_format}: {writer.downgrade}")
    input_duration = float(result.end - result.start)
    return VideoSummary(
        input=source_path,
        output=output,
        engine=interpolator.name,
        device=str(interpolator.device),
        input_frames=result.input_frames,
        output_frames=writer.frames_written,
        interpolated_frames=result.interpolated_frames,
        input_rate=info.rate,
        output_rate=nominal_rate,
        input_duration=input_duration,
        output_duration=input_duration * float(scale),
        seconds=clock.perf_counter() - started,
        scene_cuts=result.scene_cuts,
        static_intervals=result.static_intervals,
        corrupt_frames=affected,
        streams=writer.notes,
        warnings=warnings,
        stage_seconds={"decode": stats.seconds, **result.stage_seconds},
        lost_frames=max(lost, affected),
        expected_frames=expected,
        settings=settings,
    )


def _lost_frames(info: VideoInfo, reader: VideoReader, end: Fraction) -> tuple[int, int | None]:
    """Frames the container announces (count, else duration) that never decoded.

    Only for a source decoded to its end; a frame or two of slack absorbs containers whose
    duration is rounded. Returns (lost, announced).
    """
    stats = reader.stats
    if not stats.finished:
        return 0, None
    decoded = stats.frames + stats.skipped_times
    if info.frame_count:
        return max(0, info.frame_count - decoded), info.frame_count
    if info.duration is not None:
        missing = (info.start + info.duration - end) * info.rate
        if missing > 2:
            return round(missing), decoded + round(missing)
    return 0, None
