"""`--workers`, `--ray` and `--chunk-seconds`: the options and the two calls behind them.

``slowmo`` and ``batch`` declare these options and, when one is given, hand the job to
``slowmo_on_ray`` or ``batch_on_ray`` instead of the single-process library call. Both render
progress and the summary the same way the single-process commands do. Without Ray installed
they fail with one line that says how to install it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from frameinterp.batch import BatchItem
from frameinterp.chunks import DEFAULT_CHUNK_SECONDS
from frameinterp.cli.application import console, err_console, fail
from frameinterp.cli.progress import ProgressDisplay, print_summary
from frameinterp.errors import BackendUnavailableError
from frameinterp.pipeline import VideoSummary
from frameinterp.settings import ConversionSettings

__all__ = [
    "ChunkSecondsOption",
    "RayOption",
    "WorkersOption",
    "batch_on_ray",
    "slowmo_on_ray",
    "wants_ray",
]

WorkersOption = Annotated[
    int | None,
    typer.Option(
        help="Cut the video into chunks and convert them on N local worker processes (Ray; "
        "install with: pip install 'frameinterp[ray]').",
        min=1,
    ),
]
RayOption = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="ADDRESS",
        help="Run files and chunks on a Ray cluster (ADDRESS such as ray://host:10001, or "
        "auto: the running cluster, else a local one). Install with: "
        "pip install 'frameinterp[ray]'.",
    ),
]
ChunkSecondsOption = Annotated[
    float,
    typer.Option(
        help="With --workers/--ray: chunk length in seconds (cut at the next keyframe).",
        min=0.001,
    ),
]


def wants_ray(workers: int | None, address: str | None) -> bool:
    """Whether the command should run on Ray."""
    return workers is not None or address is not None


def _require_ray() -> None:
    """Say how to install Ray before any work (``fail`` escapes the ``[ray]`` of the hint)."""
    from frameinterp.ray_runner import import_ray

    try:
        import_ray()
    except BackendUnavailableError as error:
        fail(str(error), error.exit_code)


def slowmo_on_ray(
    input_path: Path,
    output: Path | None,
    settings: ConversionSettings,
    *,
    workers: int | None,
    address: str | None,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    quiet: bool = False,
) -> VideoSummary:
    """``frameinterp slowmo INPUT --workers N`` (or ``--ray ADDRESS``): one video in chunks.

    Shows progress and the summary; returns the summary for the command's warnings.
    """
    from frameinterp.ray_runner import interpolate_video_on_ray

    _require_ray()
    with ProgressDisplay(err_console, quiet=quiet) as display:
        summary = interpolate_video_on_ray(
            input_path,
            output,
            settings,
            workers=workers,
            address=address,
            chunk_seconds=chunk_seconds,
            on_progress=display.track(input_path.name),
        )
    if not quiet:
        print_summary(console, summary)
    return summary


def batch_on_ray(
    folder: Path,
    output_dir: Path | None,
    settings: ConversionSettings,
    *,
    workers: int | None,
    address: str | None,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    quiet: bool = False,
) -> list[BatchItem]:
    """``frameinterp batch FOLDER --ray ADDRESS``: every file and chunk on the cluster.

    Returns the items for the command's usual table; the progress display has one line for the
    whole job and one per file.
    """
    from frameinterp.ray_runner import interpolate_folder_on_ray

    _require_ray()
    with ProgressDisplay(err_console, quiet=quiet) as display:
        return interpolate_folder_on_ray(
            folder,
            output_dir,
            settings,
            address=address,
            workers=workers,
            chunk_seconds=chunk_seconds,
            progress_for=display.track,
        )
