"""Folders: every video in a folder, or a folder that is an image sequence.

Outputs are written under a temporary name and renamed when complete (``frameinterp.files``),
so an output that exists is complete. Each output records what produced it
(``settings.output_record``: input size and modification time, the settings' ``recipe``, the
package version): a second run skips an output whose record is the same (resume after an
interruption) and redoes one whose record differs. One bad file does
not stop the rest; each item ends ``done``, ``skipped`` or ``failed`` with a one-line reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time as clock
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.error
import numpy as np

from frameinterp.colour import rgb_from_frame
from frameinterp.convert import JobProgress, convert
from frameinterp.decoded import DecodedFrame, Picture
from frameinterp.encode import StreamNotes, default_extension
from frameinterp.engines import Interpolator, create_interpolator
from frameinterp.errors import (
    FrameInterpError,
    InputNotFoundError,
    InvalidInputError,
    OutputError,
    UnsupportedMediaError,
)
from frameinterp.files import TemporaryFolder, check_output_path, write_atomically
from frameinterp.images import IMAGE_SUFFIXES, read_rgb, save_pixels
from frameinterp.pipeline import (
    RECORD_PREFIX,
    RECORD_TAG,
    VideoSummary,
    interpolate_video,
    resolve_settings,
)
from frameinterp.probe import probe
from frameinterp.scene import frame_signature, measure_change
from frameinterp.settings import ConversionSettings, output_record
from frameinterp.timing import parse_rate

__all__ = [
    "BatchItem",
    "ImageSequence",
    "PngFolder",
    "find_videos",
    "interpolate_folder",
    "interpolate_image_sequence",
    "is_image_sequence",
]

Status = Literal["done", "skipped", "failed"]

# Extensions that announce a video: such a file that cannot be read is a failure, not ignored.
_VIDEO_EXTENSIONS = {
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mts", ".m2ts", ".ts", ".mpg", ".mpeg",
    ".flv", ".wmv", ".3gp", ".ogv", ".nut",
}  # fmt: skip
_SEQUENCE_NAME = re.compile(r"^(?P<prefix>.*?)(?P<number>[0-9]+)$")
DEFAULT_OUTPUT_FOLDER = "interpolated"


@dataclass
class BatchItem:
    """What happened to one input of a folder job."""

    source: Path
    output: Path | None
    status: Status
    message: str = ""
    summary: VideoSummary | None = None


def _is_image_container(name: str) -> bool:
    # tty: FFmpeg's demuxer for text art, which happily "decodes" any text file.
    return name.endswith("_pipe") or name in ("image2", "png", "jpeg", "webp", "gif", "bmp", "tty")


def find_videos(folder: Path) -> tuple[list[Path], list[BatchItem]]:
    """Videos in ``folder`` (top level, by probing, not only by extension), sorted by name.

    Returns the videos and a ``failed`` item for each file that looks like a video by its
    extension but cannot be read. Other unreadable files (notes, images) are ignored.
    """
    videos: list[Path] = []
    bad: list[BatchItem] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES:
            continue
        try:
            info = probe(path)
        except FrameInterpError as error:
            if path.suffix.lower() in _VIDEO_EXTENSIONS:
                bad.append(BatchItem(path, None, "failed", str(error)))
            continue
        if _is_image_container(info.container):
            continue
        videos.append(path)
    return videos, bad


def _sequence_frames(folder: Path) -> list[Path]:
    """Numbered images in ``folder``, in numeric order (``frame_2`` before ``frame_10``)."""
    numbered: list[tuple[str, int, Path]] = []
    for path in folder.iterdir():
        if path.suffix.lower() not in IMAGE_SUFFIXES or path.name.startswith("."):
            continue
        match = _SEQUENCE_NAME.match(path.stem)
        if match:
            numbered.append((match["prefix"], int(match["number"]), path))
    numbered.sort()
    return [path for _, _, path in numbered]


def is_image_sequence(folder: Path) -> bool:
    """True when ``folder`` holds numbered images (``frame_0001.png`` …) and no videos."""
    return len(_sequence_frames(folder)) > 0 and not any(
        path.suffix.lower() in _VIDEO_EXTENSIONS for path in folder.iterdir()
    )


class ImageSequence:
    """A ``FrameSource`` of numbered images, read one at a time, shown at ``rate``."""

    def __init__(self, paths: list[Path], rate: Fraction) -> None:
        self.paths = paths
        self.rate = rate
        self.time_base: Fraction | None = None  # times are exact multiples of 1 / rate

    def __iter__(self) -> Iterator[DecodedFrame]:
        signature: np.ndarray | None = None
        shape: tuple[int, ...] | None = None
        for index, path in enumerate(self.paths):
            image = read_rgb(path)
            if shape is not None and image.shape != shape:
                raise UnsupportedMediaError(
                    f"{path.name} is {image.shape[1]}×{image.shape[0]}, the sequence is "
                    f"{shape[1]}×{shape[0]}; every image must have the same size"
                )
            shape = image.shape
            current = frame_signature(image)
            measure = measure_change(signature, current) if signature is not None else None
            signature = current
            time = Fraction(index) / self.rate
            frame = DecodedFrame.from_image(index, time, image, measure)
            frame.duration = 1 / self.rate
            yield frame

    def close(self) -> None:
        """Nothing to release: images are read one at a time."""


class PngFolder:
    """A ``FrameSink`` writing ``frame_000001.png`` … into a temporary folder, renamed on
    ``commit`` over ``target``."""

    def __init__(self, target: Path) -> None:
        self._folder = TemporaryFolder(target)
        self.frames_written = 0

    def write(self, picture: Picture, time: Fraction) -> None:
        image = picture if isinstance(picture, np.ndarray) else rgb_from_frame(picture, False)
        self.frames_written += 1
        save_pixels(self._folder.temporary / f"frame_{self.frames_written:06d}.png", image)

    def commit(self, end: Fraction | None = None) -> None:
        self._folder.commit()

    def abort(self) -> None:
        self._folder.discard()


def interpolate_image_sequence(
    folder: str | Path,
    output_folder: str | Path,
    settings: ConversionSettings | None = None,
    *,
    input_rate: str | float | Fraction = Fraction(25),
    interpolator: Interpolator | None = None,
    on_progress: Callable[[JobProgress], None] | None = None,
    **options: Any,
) -> VideoSummary:
    """Numbered images in, numbered PNGs out (``frame_000001.png`` …) in ``output_folder``.

    The images are taken as frames at ``input_rate`` (only matters for ``fps``). ``settings``
    and ``options`` as for ``interpolate_video`` (the encoding fields do not apply). The
    output is written to a temporary folder and renamed when complete.
    """
    started = clock.perf_counter()
    settings = resolve_settings(settings, options)
    rate = parse_rate(input_rate)
    source = Path(folder)
    if not source.is_dir():
        raise InputNotFoundError(f"image folder {str(source)!r} does not exist")
    frames = _sequence_frames(source)
    if len(frames) < 2:
        raise UnsupportedMediaError(
            f"{str(source)!r} has {len(frames)} numbered image(s); need at least two "
            "(named like frame_0001.png)"
        )
    target = Path(output_folder)
    if target.resolve() == source.resolve():
        raise OutputError("the output folder is the input folder; choose another")
    check_output_path(target, (), settings.overwrite, folder=True)
    settings.check_rate(rate)
    if settings.max_frames is not None:
        frames = frames[: settings.max_frames]
    if interpolator is None:
        interpolator = create_interpolator(
            settings.engine, settings.device, **settings.engine_options()
        )
    request = settings.request
    total = len(frames) * request.factor if request.factor else 0
    sink = PngFolder(target)
    result = convert(
        ImageSequence(frames, rate),
        sink,
        settings,
        interpolator,
        on_progress=on_progress,
        expected_outputs=total,
        name=repr(str(source)),
    )
    duration = float(result.end - result.start)
    return VideoSummary(
        input=source,
        output=target,
        engine=interpolator.name,
        device=str(interpolator.device),
        input_frames=result.input_frames,
        output_frames=sink.frames_written,
        interpolated_frames=result.interpolated_frames,
        input_rate=rate,
        output_rate=rate if settings.slowdown else request.output_rate(rate),
        input_duration=duration,
        output_duration=duration * float(result.scale),
        seconds=clock.perf_counter() - started,
        scene_cuts=result.scene_cuts,
        static_intervals=result.static_intervals,
        corrupt_frames=0,
        streams=StreamNotes(),
        stage_seconds=result.stage_seconds,
        settings=settings,
    )


# --------------------------------------------------------------------------------------------
# What produced an output: recorded with it, so that resume can tell a finished output from a
# stale one. A video carries its record in a container tag; a sequence folder in a hidden
# sidecar beside it (``.NAME.frameinterp.json``).


def sidecar_path(output: Path) -> Path:
    """``OUT/.shots.2x.frameinterp.json`` for the sequence folder ``OUT/shots.2x``."""
    return output.with_name(f".{output.name}.frameinterp.json")


def read_record(output: Path) -> dict[str, Any] | None:
    """The record an output was made with, or ``None`` (made elsewhere, or by an old version)."""
    text: str | None = None
    if output.is_dir():
        with contextlib.suppress(OSError):
            text = sidecar_path(output).read_text()
    else:
        with contextlib.suppress(FrameInterpError, av.error.FFmpegError, OSError):
            with av.open(str(output)) as container:
                tags = {key.lower(): value for key, value in container.metadata.items()}
            tag = tags.get(RECORD_TAG, "")
            if tag.startswith(RECORD_PREFIX):
                text = tag[len(RECORD_PREFIX) :]
    if text is None:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _resume_decision(output: Path, made: dict[str, Any], overwrite: bool) -> str | None:
    """Why an existing output is kept (a skip message), or ``None`` to (re)make it."""
    if overwrite or not output.exists():
        return None
    recorded = read_record(output)
    if recorded is None:
        return "output exists (no record of how it was made; --overwrite redoes it)"
    if recorded == made:
        return "output exists, made with the same settings"
    return None


def interpolate_folder(
    folder: str | Path,
    output_dir: str | Path | None = None,
    settings: ConversionSettings | None = None,
    *,
    jobs: int = 1,
    progress_for: Callable[[str], Callable[[JobProgress], None]] | None = None,
    sequence_rate: str | float | Fraction = Fraction(25),
    **options: Any,
) -> list[BatchItem]:
    """Convert every video in ``folder`` (or the folder itself when it is an image sequence).

    Outputs go to ``output_dir`` (default ``FOLDER/interpolated``) named as
    ``default_output_path`` names them (``<stem>.2x.mp4``, ``<stem>.4x-slow.mp4``). An
    existing output made with the same recipe is skipped; one made differently is redone;
    ``overwrite`` redoes every one. ``jobs`` files run in parallel threads (worth it when the
    engine leaves cores idle, as decode and encode do). ``settings``/``options`` as for
    ``interpolate_video``. ``progress_for(name)`` returns a progress callback for one file.
    ``sequence_rate`` is the frame rate of an image sequence (only matters with ``fps``).
    """
    settings = resolve_settings(settings, options)
    source = Path(folder)
    if not source.exists():
        raise InputNotFoundError(f"folder {str(source)!r} does not exist")
    if not source.is_dir():
        raise InvalidInputError(f"{str(source)!r} is not a folder")
    if jobs < 1:
        raise InvalidInputError(f"--jobs must be at least 1, got {jobs}")
    rate = parse_rate(sequence_rate)
    target = Path(output_dir) if output_dir is not None else source / DEFAULT_OUTPUT_FOLDER
    if not target.exists():
        if not target.parent.is_dir():
            raise OutputError(f"output folder {str(target.parent)!r} does not exist")
        try:
            target.mkdir()
        except OSError as error:
            raise OutputError(f"cannot create output folder {str(target)!r}: {error}") from None
    if not target.is_dir():
        raise OutputError(f"output {str(target)!r} is a file; give a folder with -o")
    if not os.access(target, os.W_OK):
        raise OutputError(f"output folder {str(target)!r} is not writable")
    interpolator = create_interpolator(
        settings.engine, settings.device, **settings.engine_options()
    )
    per_thread = threading.local()

    def engine_for_thread() -> Interpolator:
        """Parallel jobs each get their own engine: engines need not be thread-safe."""
        if jobs == 1:
            return interpolator
        if not hasattr(per_thread, "engine"):
            per_thread.engine = create_interpolator(
                settings.engine, settings.device, **settings.engine_options()
            )
        return per_thread.engine

    def callback(name: str) -> Callable[[JobProgress], None] | None:
        return progress_for(name) if progress_for is not None else None

    if is_image_sequence(source):
        output = target / f"{source.name}.{settings.label()}"
        made = output_record(source, settings, sequence_rate=str(rate))
        reason = _resume_decision(output, made, settings.overwrite)
        if reason is not None:
            return [BatchItem(source, output, "skipped", reason)]
        try:
            summary = interpolate_image_sequence(
                source,
                output,
                settings.with_changes(overwrite=True),
                input_rate=rate,
                on_progress=callback(source.name),
                interpolator=interpolator,
            )
            write_atomically(sidecar_path(output), (json.dumps(made) + "\n").encode())
        except FrameInterpError as error:
            return [BatchItem(source, output, "failed", str(error))]
        return [BatchItem(source, output, "done", "", summary)]

    videos, items = find_videos(source)
    replacing = settings.with_changes(overwrite=True)

    def run(path: Path) -> BatchItem:
        output = target / f"{path.stem}.{settings.label()}{default_extension(settings.codec)}"
        made = output_record(path, settings)
        reason = _resume_decision(output, made, settings.overwrite)
        if reason is not None:
            return BatchItem(path, output, "skipped", reason)
        report = callback(path.name)
        try:
            summary = interpolate_video(
                path,
                output,
                replacing,
                interpolator=engine_for_thread(),
                on_progress=report,
            )
            if report is not None:  # the estimate may be off: the bar ends where the job did
                done = summary.output_frames
                report(JobProgress(done, done, summary.seconds))
            message = "; ".join(summary.warnings)
            if summary.damaged and not settings.allow_damaged:
                message += "; the output was kept, pass --allow-damaged to accept it"
                return BatchItem(path, output, "failed", message, summary)
        except FrameInterpError as error:
            return BatchItem(path, output, "failed", str(error))
        except OSError as error:
            return BatchItem(path, output, "failed", f"{error.strerror or error}")
        return BatchItem(path, output, "done", message, summary)

    if jobs == 1 or len(videos) < 2:
        results = [run(path) for path in videos]
    else:
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="frameinterp-batch")
        try:
            results = list(pool.map(run, videos))
        except BaseException:
            # Ctrl-C: start nothing new. Files already being converted finish (each is written
            # under a temporary name, so what exists afterwards is complete).
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    items.extend(results)
    items.sort(key=lambda item: item.source.name)
    return items
