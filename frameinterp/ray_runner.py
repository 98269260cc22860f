"""Files and chunks of long files as tasks on Ray: one engine per worker, data in the object store.

Ray (the optional extra ``frameinterp[ray]``) does the distributed work: it places one
``ChunkConverter`` actor per CPU slot or GPU (the engine is loaded once there and reused for
every chunk), moves chunk bytes in and encoded packets out through its object store (workers
need no shared filesystem), and restarts an actor whose process dies and retries its chunk.
The driver only demuxes (``chunks.plan_chunks``/``chunk_containers``), keeps each actor fed with
two chunks, stores finished chunks under the output's temporary folder (so a rerun converts only
the missing ones) and joins each file as soon as its last chunk is in.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import shutil
import socket
import time as clock
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

from frameinterp.batch import BatchItem, find_videos
from frameinterp.chunks import (
    DEFAULT_CHUNK_SECONDS,
    ChunkJob,
    ChunkPlan,
    ChunkSpec,
    EncodedChunk,
    chunk_containers,
    convert_chunk,
    join_chunks,
    plan_chunks,
)
from frameinterp.encode import default_extension
from frameinterp.engines import create_interpolator
from frameinterp.errors import (
    BackendUnavailableError,
    FrameInterpError,
    InputNotFoundError,
    InvalidInputError,
    OutputError,
)
from frameinterp.files import check_output_path, write_atomically
from frameinterp.pipeline import JobProgress, VideoSummary, default_output_path, resolve_settings
from frameinterp.probe import probe
from frameinterp.settings import ConversionSettings, output_record

__all__ = [
    "INSTALL_HINT",
    "ChunkConverter",
    "RayFile",
    "convert_on_ray",
    "import_ray",
    "interpolate_folder_on_ray",
    "interpolate_video_on_ray",
    "prepare_file",
    "start_converters",
]

INSTALL_HINT = "pip install 'frameinterp[ray]'"
DEFAULT_RETRIES = 3
_START_TIMEOUT = 300.0  # seconds for every worker to load its engine
_QUEUED_PER_WORKER = 2  # one converting, one waiting: workers stay busy while the driver joins


def import_ray() -> ModuleType:
    """The ``ray`` module, or a ``BackendUnavailableError`` that says how to install it."""
    try:
        import ray
    except ImportError:
        raise BackendUnavailableError(
            f"--workers and --ray run on Ray, which is not installed; install it with "
            f"{INSTALL_HINT}"
        ) from None
    return ray


# --------------------------------------------------------------------------------------------
# Workers


class ChunkConverter:
    """Ray actor body: one engine, loaded once, converting chunk after chunk."""

    def __init__(self, engine: str, device: str, weights: str | None) -> None:
        self.interpolator = create_interpolator(engine, device, weights=weights)

    def describe(self) -> tuple[int, str, str, str]:
        """(process id, engine, device, Ray node id): lets a driver (or a test) find it."""
        import ray

        node = ray.get_runtime_context().get_node_id()
        return os.getpid(), self.interpolator.name, str(self.interpolator.device), node

    def convert(self, data: bytes, chunk: ChunkSpec, job: ChunkJob) -> EncodedChunk:
        result = convert_chunk(data, chunk, job, self.interpolator)
        result.worker = f"{socket.gethostname()}:{os.getpid()}"
        return result


def connect(address: str | None, workers: int | None) -> bool:
    """Make sure Ray is running; return True when this call started it (and must stop it).

    An already initialised Ray (a notebook, a test) is used as it is. ``address`` ``auto``
    uses a running cluster when there is one (``RAY_ADDRESS`` or ``ray start``) and otherwise
    starts a local one; any other address is a cluster to join. Without an address a local
    Ray with ``workers`` CPU slots is started.
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    if address is None or address in ("auto", "local"):
        if workers is not None and address is None:
            options["num_cpus"] = workers
        ray.init(**options)
    else:
        try:
            ray.init(address=address, **options)
        except ConnectionError as error:
            raise InvalidInputError(
                f"cannot reach the Ray cluster at {address!r}: {error}"
            ) from None
    return True


def start_converters(
    count: int | None = None,
    *,
    engine: str = "classic",
    device: str = "auto",
    weights: str | Path | None = None,
    retries: int = DEFAULT_RETRIES,
) -> list[Any]:
    """Start ``count`` converter actors (default: one per GPU, else one per CPU slot).

    A GPU actor asks Ray for a whole GPU; a CPU actor for one CPU (Ray then limits its
    PyTorch threads to one). A dead actor is restarted, and a chunk it was converting is tried
    again up to ``retries`` times. Waits until every engine is loaded, so that a bad engine
    option fails here with its own message.
    """
    ray = import_ray()
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    wants_gpu = device.startswith("cuda") or (device == "auto" and gpus > 0)
    if wants_gpu and gpus == 0:
        raise BackendUnavailableError(f"--device {device}: the Ray cluster has no GPUs")
    if count is None:
        count = gpus if wants_gpu else max(1, int(resources.get("CPU", 1)))
    if count < 1:
        raise InvalidInputError(f"--workers must be at least 1, got {count}")
    kind = "GPU" if wants_gpu else "CPU"
    free = ray.available_resources().get(kind, 0)
    if count > free:
        raise InvalidInputError(
            f"{count} workers need {count} {kind}s, but the Ray cluster has {int(free)} free "
            f"(of {int(resources.get(kind, 0))}); ask for fewer workers"
        )
    placement: dict[str, Any] = {"num_gpus": 1} if wants_gpu else {"num_cpus": 1}
    actor_class = ray.remote(ChunkConverter).options(
        max_restarts=-1, max_task_retries=retries, **placement
    )
    actors = [
        actor_class.remote(engine, device, None if weights is None else str(weights))
        for _ in range(count)
    ]
    try:
        ray.get([actor.describe.remote() for actor in actors], timeout=_START_TIMEOUT)
    except ray.exceptions.GetTimeoutError:
        for actor in actors:
            ray.kill(actor)
        raise BackendUnavailableError(
            f"the Ray workers did not start within {_START_TIMEOUT:.0f} s: the cluster's "
            f"{kind}s are busy (other jobs or workers); ask for fewer workers"
        ) from None
    except ray.exceptions.RayError as error:
        raise BackendUnavailableError(f"the Ray workers cannot start: {_cause(error)}") from None
    return actors


def _cause(error: BaseException) -> str:
    """The worker's own error message from a Ray exception, without Ray's traceback."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        return str(cause).strip().splitlines()[-1] if str(cause).strip() else type(cause).__name__
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --------------------------------------------------------------------------------------------
# Files


@dataclass
class RayFile:
    """One input on its way through the chunked conversion."""

    source: Path
    output: Path
    job: ChunkJob
    plan: ChunkPlan
    keep_audio: bool
    expected_frames: int  # output frames, for progress
    warnings: list[str] = field(default_factory=list)
    failure: str | None = None
    done_frames: int = 0
    created: float = field(default_factory=clock.perf_counter)  # the job's start, for the summary
    started: float = field(default_factory=clock.perf_counter)  # conversion's start, for progress
    split_seconds: float = 0.0
    progress: Callable[[JobProgress], None] | None = None
    # chunk index -> (worker seconds, bytes sent, bytes returned), for benchmarks and sizing
    costs: dict[int, tuple[float, int, int]] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """Where finished chunks wait (hidden, beside the output): the resume state."""
        return self.output.with_name(f".{self.output.name}.chunks")

    def chunk_path(self, index: int) -> Path:
        return self.folder / f"{index:05d}.chunk"

    def missing(self) -> list[ChunkSpec]:
        return [c for c in self.plan.chunks if not self.chunk_path(c.index).exists()]


def prepare_file(
    source: str | Path,
    output: str | Path | None = None,
    settings: ConversionSettings | None = None,
    *,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    **options: Any,
) -> RayFile:
    """Probe, check and cut one input (same settings and output rules as ``interpolate_video``).

    ``options`` are fields of ``ConversionSettings``. Chunks already finished by an earlier run
    of the same job are kept; a different job (other settings, a changed input) starts afresh.
    """
    from frameinterp.pipeline import (  # the single-process run's exact output base and record
        RECORD_PREFIX,
        RECORD_TAG,
        _time_base,
        resolve_settings,
    )

    settings = resolve_settings(settings, options)
    if settings.max_frames is not None:
        raise InvalidInputError("--frames (a preview) runs in one process; drop --workers/--ray")
    if settings.hwaccel is not None:
        raise InvalidInputError("--hwaccel is not available with --workers/--ray yet")
    path = Path(source)
    info = probe(path)
    settings.check_rate(info.rate)
    request = settings.request
    target = Path(output) if output is not None else default_output_path(path, settings)
    if target.is_dir():
        target = default_output_path(target / path.name, settings)
    check_output_path(target, (path,), settings.overwrite)
    plan = plan_chunks(path, chunk_seconds)
    output_rate = request.output_rate(info.rate)
    scale = output_rate / info.rate if settings.slowdown else Fraction(1)
    time_base, exact = _time_base(info, request, scale)
    record = RECORD_PREFIX + json.dumps(output_record(path, settings))
    job = ChunkJob(
        info=info,
        settings=settings,
        rate=info.rate if settings.slowdown else output_rate,
        time_base=time_base,
        suffix=target.suffix or default_extension(settings.codec),
        last_time=plan.last_time,
        end_time=plan.end_time,
        metadata={RECORD_TAG: record},
    )
    duration = plan.end_time - plan.start
    expected = (
        plan.frames * request.factor
        if request.factor is not None
        else _ceil(duration * (request.fps or 1))
    )
    item = RayFile(
        source=path,
        output=target,
        job=job,
        plan=plan,
        keep_audio=settings.keeps_audio(),
        expected_frames=expected,
    )
    if not exact:
        item.warnings.append("output times rounded to the microsecond (exact time base too fine)")
    if settings.slowdown and info.audio_codecs and not item.keep_audio:
        item.warnings.append("audio dropped: slow motion changes the duration")
    _reset_if_stale(item)
    return item


def _ceil(value: Fraction) -> int:
    return -(-value.numerator // value.denominator)


def _job_key(item: RayFile) -> str:
    stat = item.source.stat()
    described = repr(
        (
            str(item.source.resolve()),
            stat.st_size,
            stat.st_mtime_ns,
            item.job,
            item.plan.chunks,
            item.keep_audio,
        )
    )
    return hashlib.sha256(described.encode()).hexdigest()


def _reset_if_stale(item: RayFile) -> None:
    """Delete chunks an earlier run made of another job (other options or a changed input)."""
    marker = item.folder / "job.key"
    if item.folder.exists() and (
        not marker.exists() or marker.read_text().strip() != _job_key(item)
    ):
        shutil.rmtree(item.folder)


def _store(item: RayFile, chunk: EncodedChunk) -> None:
    """Keep a finished chunk; the folder (and the job's key) appears with the first one."""
    if not item.folder.exists():
        try:
            item.folder.mkdir()
        except OSError as error:
            raise OutputError(f"cannot create {str(item.folder)!r}: {error.strerror}") from None
        write_atomically(item.folder / "job.key", _job_key(item).encode())
    write_atomically(item.chunk_path(chunk.index), pickle.dumps(chunk, pickle.HIGHEST_PROTOCOL))


def _load(item: RayFile, index: int) -> EncodedChunk:
    with open(item.chunk_path(index), "rb") as stream:
        chunk = pickle.load(stream)  # our own file, written by _store
    if not isinstance(chunk, EncodedChunk):
        raise OutputError(f"{str(item.chunk_path(index))!r} is not a finished chunk")
    return chunk


# --------------------------------------------------------------------------------------------
# The driver


def convert_on_ray(
    files: Sequence[RayFile],
    actors: Sequence[Any],
    *,
    overall: Callable[[JobProgress], None] | None = None,
) -> list[BatchItem]:
    """Convert every file's missing chunks on ``actors`` and join each file when it is complete.

    Chunks of all files go out in order, at most two per actor at a time, so a worker that
    finishes one file's last chunk goes straight on to the next file's. A chunk that fails
    (after Ray's retries when its worker died) fails only its file. ``overall`` gets the
    frames done over all files; each file's ``progress`` its own.
    """
    ray = import_ray()
    _, engine, _, _ = ray.get(actors[0].describe.remote())
    started = clock.perf_counter()
    for item in files:
        item.started = started
    total = sum(item.expected_frames for item in files)
    done_frames = 0
    results: dict[int, BatchItem] = {}
    summaries: dict[int, dict[str, Any]] = {id(item): _empty_counts() for item in files}

    def report(item: RayFile, frames: int) -> None:
        nonlocal done_frames
        item.done_frames += frames
        done_frames += frames
        now = clock.perf_counter()
        if item.progress is not None:
            item.progress(
                JobProgress(
                    item.done_frames,
                    max(item.expected_frames, item.done_frames),
                    now - item.started,
                )
            )
        if overall is not None:
            overall(JobProgress(done_frames, max(total, done_frames), now - started))

    def finish(item: RayFile) -> None:
        results[id(item)] = _join(item, summaries[id(item)], engine)

    for item in files:
        for chunk in item.plan.chunks:
            if item.chunk_path(chunk.index).exists():
                stored = _load(item, chunk.index)
                _count(summaries[id(item)], stored)
                report(item, stored.frames)
        if not item.missing():
            finish(item)

    free = [actor for actor in actors for _ in range(_QUEUED_PER_WORKER)]
    running: dict[Any, tuple[RayFile, ChunkSpec, Any, int]] = {}
    waiting = _missing_chunks([item for item in files if id(item) not in results])
    exhausted = False
    while True:
        while free and not exhausted:
            following = next(waiting, None)
            if following is None:
                exhausted = True
                break
            item, chunk, data = following
            actor = free.pop(0)
            reference = actor.convert.remote(ray.put(data), chunk, item.job)
            running[reference] = (item, chunk, actor, len(data))
        if not running:
            break
        ready, _ = ray.wait(list(running), num_returns=1)
        for reference in ready:
            item, chunk, actor, sent = running.pop(reference)
            free.append(actor)
            try:
                converted = ray.get(reference)
            except ray.exceptions.RayError as error:
                if item.failure is None:
                    item.failure = (
                        f"chunk {chunk.index + 1} of {len(item.plan.chunks)} (from "
                        f"{float(chunk.first_time):.2f} s) failed: {_cause(error)}"
                    )
                continue
            if item.failure is not None:
                continue
            _store(item, converted)
            item.costs[chunk.index] = (converted.seconds, sent, converted.size)
            _count(summaries[id(item)], converted)
            report(item, converted.frames)
            if not item.missing() and not any(entry[0] is item for entry in running.values()):
                finish(item)
    for item in files:
        if id(item) not in results:
            results[id(item)] = BatchItem(
                item.source, item.output, "failed", item.failure or "not converted"
            )
    return [results[id(item)] for item in files]


def _missing_chunks(files: Sequence[RayFile]) -> Iterator[tuple[RayFile, ChunkSpec, bytes]]:
    """Each file's missing chunks as containers, file after file, cut only when asked for."""
    for item in files:
        missing = {chunk.index for chunk in item.missing()}
        begun = clock.perf_counter()
        for chunk, data in chunk_containers(item.plan, missing):
            if item.failure is not None:
                break
            item.split_seconds += clock.perf_counter() - begun
            yield item, chunk, data
            begun = clock.perf_counter()


def _empty_counts() -> dict[str, Any]:
    return {
        "input_frames": 0,
        "interpolated_frames": 0,
        "scene_cuts": 0,
        "static_intervals": 0,
        "corrupt_frames": 0,
        "chunk_seconds": 0.0,
        "devices": set(),
    }


def _count(counts: dict[str, Any], chunk: EncodedChunk) -> None:
    for key in ("input_frames", "interpolated_frames", "scene_cuts", "static_intervals"):
        counts[key] += getattr(chunk, key)
    counts["corrupt_frames"] += chunk.corrupt_frames
    counts["chunk_seconds"] += chunk.seconds
    counts["devices"].add(chunk.worker)


def _join(item: RayFile, counts: dict[str, Any], engine: str) -> BatchItem:
    """Join a complete file's chunks (read back one at a time) and clear its chunk folder."""
    if item.failure is not None:
        return BatchItem(item.source, item.output, "failed", item.failure)
    chunks = (_load(item, chunk.index) for chunk in item.plan.chunks)
    try:
        joined = join_chunks(
            item.output,
            item.job,
            chunks,
            keep_audio=item.keep_audio,
            expected_chunks=len(item.plan.chunks),
        )
    except FrameInterpError as error:
        return BatchItem(item.source, item.output, "failed", str(error))
    shutil.rmtree(item.folder, ignore_errors=True)
    info = item.job.info
    duration = float(item.plan.end_time - item.plan.start)
    warnings = list(item.warnings)
    if counts["corrupt_frames"]:
        warnings.append(f"{counts['corrupt_frames']} input frame(s) lost or damaged")
    summary = VideoSummary(
        input=item.source,
        output=item.output,
        engine=engine,
        device=f"{len(counts['devices'])} Ray worker(s)",
        input_frames=counts["input_frames"],
        output_frames=joined.frames,
        interpolated_frames=counts["interpolated_frames"],
        input_rate=info.rate,
        output_rate=item.job.rate,
        input_duration=duration,
        output_duration=duration * float(item.job.scale),
        seconds=clock.perf_counter() - item.created,
        scene_cuts=counts["scene_cuts"],
        static_intervals=counts["static_intervals"],
        corrupt_frames=counts["corrupt_frames"],
        streams=joined.streams,
        warnings=warnings,
        stage_seconds={
            "split": item.split_seconds,
            "chunks": counts["chunk_seconds"],
            "join": joined.seconds,
        },
        settings=item.job.settings,
    )
    return BatchItem(item.source, item.output, "done", "; ".join(warnings), summary)


# --------------------------------------------------------------------------------------------
# Entry points for the CLI and library callers


@contextlib.contextmanager
def _converters(
    actors: Sequence[Any] | None,
    workers: int | None,
    settings: ConversionSettings,
    retries: int,
) -> Iterator[Sequence[Any]]:
    """The caller's actors, or new ones (with the settings' engine) stopped afterwards."""
    if actors is not None:
        yield actors
        return
    ray = import_ray()
    started = start_converters(
        workers,
        engine=settings.engine,
        device=settings.device,
        weights=settings.weights,
        retries=retries,
    )
    try:
        yield started
    finally:
        for actor in started:
            ray.kill(actor)


def interpolate_video_on_ray(
    input_path: str | Path,
    output_path: str | Path | None = None,
    settings: ConversionSettings | None = None,
    *,
    workers: int | None = None,
    address: str | None = None,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    retries: int = DEFAULT_RETRIES,
    on_progress: Callable[[JobProgress], None] | None = None,
    actors: Sequence[Any] | None = None,
    **options: Any,
) -> VideoSummary:
    """``interpolate_video`` cut into chunks converted by ``workers`` Ray workers.

    ``settings``/``options`` as for ``interpolate_video``. ``address`` joins a Ray cluster
    (``auto``: the running one, or a new local one); without it a local Ray with ``workers``
    CPU slots is started and stopped again. ``actors`` from ``start_converters`` reuse engines
    already loaded (a notebook converting many videos).
    """
    ray = import_ray()
    settings = resolve_settings(settings, options)
    item = prepare_file(input_path, output_path, settings, chunk_seconds=chunk_seconds)
    item.progress = on_progress
    started_here = connect(address, workers)
    try:
        with _converters(actors, workers, settings, retries) as pool:
            (result,) = convert_on_ray([item], pool)
    finally:
        if started_here:
            ray.shutdown()
    if result.status != "done" or result.summary is None:
        raise OutputError(f"{str(item.source)!r} was not converted: {result.message}")
    return result.summary


def interpolate_folder_on_ray(
    folder: str | Path,
    output_dir: str | Path | None = None,
    settings: ConversionSettings | None = None,
    *,
    address: str | None = "auto",
    workers: int | None = None,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    retries: int = DEFAULT_RETRIES,
    progress_for: Callable[[str], Callable[[JobProgress], None]] | None = None,
    actors: Sequence[Any] | None = None,
    **options: Any,
) -> list[BatchItem]:
    """Every video in ``folder`` on Ray: files and chunks of long files share the workers.

    Outputs and resume follow ``batch.interpolate_folder`` (``<stem>.2x.mp4`` in ``output_dir``,
    default ``FOLDER/interpolated``; an output made with the same settings is skipped). A file
    that fails is reported and the others go on. ``progress_for("all files")`` gets the whole
    job, ``progress_for(name)`` each file.
    """
    from frameinterp.batch import DEFAULT_OUTPUT_FOLDER, _resume_decision

    ray = import_ray()
    settings = resolve_settings(settings, options)
    source = Path(folder)
    if not source.is_dir():
        raise InputNotFoundError(f"folder {str(source)!r} does not exist")
    target = Path(output_dir) if output_dir is not None else source / DEFAULT_OUTPUT_FOLDER
    try:
        target.mkdir(exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create output folder {str(target)!r}: {error}") from None
    videos, items = find_videos(source)
    files: list[RayFile] = []
    replacing = settings.with_changes(overwrite=True)
    for path in videos:
        output = target / f"{path.stem}.{settings.label()}{default_extension(settings.codec)}"
        reason = _resume_decision(output, output_record(path, settings), settings.overwrite)
        if reason is not None:
            items.append(BatchItem(path, output, "skipped", reason))
            continue
        try:
            item = prepare_file(path, output, replacing, chunk_seconds=chunk_seconds)
        except FrameInterpError as error:
            items.append(BatchItem(path, output, "failed", str(error)))
            continue
        if progress_for is not None:
            item.progress = progress_for(path.name)
        files.append(item)
    if files:
        overall = progress_for("all files") if progress_for is not None else None
        started_here = connect(address, workers)
        try:
            with _converters(actors, workers, settings, retries) as pool:
                items.extend(convert_on_ray(files, pool, overall=overall))
        finally:
            if started_here:
                ray.shutdown()
    items.sort(key=lambda entry: entry.source.name)
    return items
