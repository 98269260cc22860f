"""Folders: every video in a folder, or a folder that is an image sequence.

Outputs are written under a temporary name and renamed when complete, so an output that exists
is complete: a second run skips it (resume after an interruption). One bad file does not stop
the rest; each item ends ``done``, ``skipped`` or ``failed`` with a one-line reason.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time as clock
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from frameinterp.engines import Interpolator, create_interpolator
from frameinterp.errors import (
    FrameInterpError,
    InputNotFoundError,
    InvalidInputError,
    OutputError,
    UnsupportedMediaError,
)
from frameinterp.images import IMAGE_SUFFIXES, read_rgb
from frameinterp.pipeline import (
    Progress,
    VideoSummary,
    _Engine,
    _render,
    interpolate_video,
    make_request,
)
from frameinterp.timing import (
    DEFAULT_SCENE_THRESHOLD,
    DEFAULT_STATIC_THRESHOLD,
    Planner,
    parse_rate,
)
from frameinterp.video import (
    DecodedFrame,
    StreamNotes,
    default_extension,
    frame_signature,
    measure_change,
    probe,
)

__all__ = [
    "BatchItem",
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
    return name.endswith("_pipe") or name in ("image2", "png", "jpeg", "webp", "gif", "bmp")


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


def interpolate_image_sequence(
    folder: str | Path,
    output_folder: str | Path,
    *,
    factor: int | None = None,
    fps: str | float | Fraction | None = None,
    input_rate: Fraction = Fraction(25),
    engine: str = "classic",
    device: str = "auto",
    weights: str | Path | None = None,
    scene_threshold: float | None = DEFAULT_SCENE_THRESHOLD,
    static_threshold: float | None = DEFAULT_STATIC_THRESHOLD,
    overwrite: bool = False,
    progress: Callable[[Progress], None] | None = None,
    interpolator: Interpolator | None = None,
) -> VideoSummary:
    """Numbered images in, numbered PNGs out (``frame_000001.png`` …) in ``output_folder``.

    The images are taken as frames at ``input_rate`` (only matters for ``fps``). The output is
    written to a temporary folder and renamed when complete.
    """
    started = clock.perf_counter()
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
    if not target.parent.is_dir():
        raise OutputError(f"output folder {str(target.parent)!r} does not exist")
    if not os.access(target.parent, os.W_OK):
        raise OutputError(f"output folder {str(target.parent)!r} is not writable")
    if target.exists() and not overwrite:
        raise OutputError(f"output {str(target)!r} already exists; pass --overwrite to replace it")
    request = make_request(factor, fps)
    if interpolator is None:
        interpolator = create_interpolator(engine, device, weights=weights)
    planner = Planner(request, scene_threshold=scene_threshold, static_threshold=static_threshold)
    runner = _Engine(interpolator)
    temporary = target.with_name(f".{target.name}.partial-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    total = len(frames) * request.factor if request.factor else 0
    written = 0
    held: dict[int, DecodedFrame] = {}
    try:
        signature: np.ndarray | None = None
        shape: tuple[int, ...] | None = None
        for index, path in enumerate(frames):
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
            decoded = DecodedFrame(index, Fraction(index) / input_rate, None, image, measure)
            planned = planner.push(decoded.time, measure) or []
            held = {key: value for key, value in held.items() if key == index - 1}
            held[index] = decoded
            for _, output_image in _render(planned, held, runner):
                written += 1
                _write_png(temporary / f"frame_{written:06d}.png", output_image)
                if progress is not None:
                    elapsed = clock.perf_counter() - started
                    progress(Progress(written, max(total, written), elapsed))
        end = Fraction(len(frames)) / input_rate
        for _, output_image in _render(planner.finish(end), held, runner):
            written += 1
            _write_png(temporary / f"frame_{written:06d}.png", output_image)
        if target.exists():
            shutil.rmtree(target)
        temporary.rename(target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    output_rate = request.output_rate(input_rate)
    duration = float(len(frames) / input_rate)
    return VideoSummary(
        input=source,
        output=target,
        engine=interpolator.name,
        device=str(interpolator.device),
        input_frames=len(frames),
        output_frames=written,
        interpolated_frames=runner.frames,
        input_rate=input_rate,
        output_rate=output_rate,
        input_duration=duration,
        output_duration=duration,
        seconds=clock.perf_counter() - started,
        scene_cuts=planner.kinds["cut"],
        static_intervals=planner.kinds["static"],
        corrupt_frames=0,
        streams=StreamNotes(),
        stage_seconds={"interpolate": runner.seconds},
    )


def _write_png(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OutputError(f"cannot write {str(path)!r}")


def interpolate_folder(
    folder: str | Path,
    output_dir: str | Path | None = None,
    *,
    factor: int | None = None,
    fps: str | float | Fraction | None = None,
    codec: str = "x264",
    jobs: int = 1,
    overwrite: bool = False,
    engine: str = "classic",
    device: str = "auto",
    weights: str | Path | None = None,
    progress_for: Callable[[str], Callable[[Progress], None]] | None = None,
    sequence_rate: str | float | Fraction = Fraction(25),
    **options: Any,
) -> list[BatchItem]:
    """Convert every video in ``folder`` (or the folder itself when it is an image sequence).

    Outputs go to ``output_dir`` (default ``FOLDER/interpolated``) as ``<stem>.<2x>.mp4``.
    Existing outputs are skipped unless ``overwrite``. ``jobs`` files run in parallel threads
    (worth it when the engine leaves cores idle, as decode and encode do). ``options`` are passed
    on to ``interpolate_video`` (``slowdown``, ``crf``, ``preset``, thresholds ...).
    ``progress_for(name)`` returns a progress callback for one file. ``sequence_rate`` is the
    frame rate of an image sequence (only matters with ``fps``).
    """
    source = Path(folder)
    if not source.exists():
        raise InputNotFoundError(f"folder {str(source)!r} does not exist")
    if not source.is_dir():
        raise InvalidInputError(f"{str(source)!r} is not a folder")
    if jobs < 1:
        raise InvalidInputError(f"--jobs must be at least 1, got {jobs}")
    request = make_request(factor, fps)
    target = Path(output_dir) if output_dir is not None else source / DEFAULT_OUTPUT_FOLDER
    if not target.exists():
        if not target.parent.is_dir():
            raise OutputError(f"output folder {str(target.parent)!r} does not exist")
        try:
            target.mkdir()
        except OSError as error:
            raise OutputError(f"cannot create output folder {str(target)!r}: {error}") from None
    if not os.access(target, os.W_OK):
        raise OutputError(f"output folder {str(target)!r} is not writable")
    interpolator = create_interpolator(engine, device, weights=weights)
    per_thread = threading.local()

    def engine_for_thread() -> Interpolator:
        """Parallel jobs each get their own engine: engines need not be thread-safe."""
        if jobs == 1:
            return interpolator
        if not hasattr(per_thread, "engine"):
            per_thread.engine = create_interpolator(engine, device, weights=weights)
        return per_thread.engine

    def callback(name: str) -> Callable[[Progress], None] | None:
        return progress_for(name) if progress_for is not None else None

    if is_image_sequence(source):
        output = target / f"{source.name}.{request.label()}"
        if output.exists() and not overwrite:
            return [BatchItem(source, output, "skipped", "output exists")]
        sequence_options = {
            key: options[key] for key in ("scene_threshold", "static_threshold") if key in options
        }
        try:
            summary = interpolate_image_sequence(
                source,
                output,
                factor=request.factor,
                fps=request.fps,
                input_rate=parse_rate(sequence_rate),
                overwrite=overwrite,
                progress=callback(source.name),
                interpolator=interpolator,
                **sequence_options,
            )
        except FrameInterpError as error:
            return [BatchItem(source, output, "failed", str(error))]
        return [BatchItem(source, output, "done", "", summary)]

    videos, items = find_videos(source)

    def run(path: Path) -> BatchItem:
        output = target / f"{path.stem}.{request.label()}{default_extension(codec)}"
        if output.exists() and not overwrite:
            return BatchItem(path, output, "skipped", "output exists")
        try:
            summary = interpolate_video(
                path,
                output,
                factor=request.factor,
                fps=request.fps,
                codec=codec,
                overwrite=overwrite,
                interpolator=engine_for_thread(),
                progress=callback(path.name),
                **options,
            )
        except FrameInterpError as error:
            return BatchItem(path, output, "failed", str(error))
        except OSError as error:
            return BatchItem(path, output, "failed", f"{error.strerror or error}")
        message = "; ".join(summary.warnings)
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
