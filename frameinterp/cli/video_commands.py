"""`frameinterp slowmo`, `frameinterp batch` and `frameinterp evaluate`: options in, library out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from frameinterp.batch import BatchItem, interpolate_folder
from frameinterp.cli.application import app, console, err_console, fail, report_errors
from frameinterp.cli.options import (
    DeviceOption,
    EngineOption,
    QuietOption,
    WeightsOption,
    conversion_options,
)
from frameinterp.cli.progress import ProgressDisplay, print_summary, print_warnings
from frameinterp.cli.ray_options import (
    DEFAULT_CHUNK_SECONDS,
    ChunkSecondsOption,
    RayOption,
    WorkersOption,
    batch_on_ray,
    slowmo_on_ray,
    wants_ray,
)
from frameinterp.evaluate import evaluate_video
from frameinterp.pipeline import interpolate_video
from frameinterp.settings import ConversionSettings

JobsOption = Annotated[int, typer.Option(help="Files converted in parallel (folders only).")]
SequenceFpsOption = Annotated[
    str, typer.Option(help="Frame rate of an image-sequence folder (matters with --fps).")
]


@app.command("slowmo")
@report_errors
@conversion_options
def slowmo(
    input: Annotated[Path, typer.Argument(help="Video file, or a folder to convert every video.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            "--output-dir",
            help="Output file, or an existing folder to put it in (default: beside INPUT, "
            "named INPUT.2x.mp4, INPUT.4x-slow.mp4 …). For a folder INPUT: the output folder.",
        ),
    ] = None,
    quiet: QuietOption = False,
    jobs: JobsOption = 1,
    sequence_fps: SequenceFpsOption = "25",
    workers: WorkersOption = None,
    ray: RayOption = None,
    chunk_seconds: ChunkSecondsOption = DEFAULT_CHUNK_SECONDS,
    *,
    settings: ConversionSettings,
) -> None:
    """Smoother motion (more frames, same duration) or true slow motion with --slowdown."""
    if input.is_dir():
        _run_batch(
            input,
            output,
            settings,
            quiet=quiet,
            jobs=jobs,
            sequence_fps=sequence_fps,
            workers=workers,
            address=ray,
            chunk_seconds=chunk_seconds,
        )
        return
    if wants_ray(workers, ray):
        summary = slowmo_on_ray(
            input,
            output,
            settings,
            workers=workers,
            address=ray,
            chunk_seconds=chunk_seconds,
            quiet=quiet,
        )
    else:
        with ProgressDisplay(err_console, quiet=quiet) as display:
            summary = interpolate_video(
                input, output, settings, on_progress=display.track(input.name)
            )
        if not quiet:
            print_summary(console, summary)
    print_warnings(err_console, summary.warnings, quiet=quiet, damaged=summary.damaged)
    if summary.damaged and not settings.allow_damaged:
        fail(
            f"{str(input)!r} is damaged: {summary.lost_frames} frame(s) lost; the output "
            "was kept, pass --allow-damaged to accept it",
            3,
        )


@app.command("batch")
@report_errors
@conversion_options
def batch(
    folder: Annotated[Path, typer.Argument(help="Folder of videos, or of numbered images.")],
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", "--output-dir", help="Output folder (default FOLDER/interpolated)."
        ),
    ] = None,
    quiet: QuietOption = False,
    jobs: JobsOption = 1,
    sequence_fps: SequenceFpsOption = "25",
    workers: WorkersOption = None,
    ray: RayOption = None,
    chunk_seconds: ChunkSecondsOption = DEFAULT_CHUNK_SECONDS,
    *,
    settings: ConversionSettings,
) -> None:
    """Convert every video in FOLDER (found by probing); resume skips outputs already made
    with the same settings and redoes the others."""
    _run_batch(
        folder,
        output_dir,
        settings,
        quiet=quiet,
        jobs=jobs,
        sequence_fps=sequence_fps,
        workers=workers,
        address=ray,
        chunk_seconds=chunk_seconds,
    )


def _run_batch(
    folder: Path,
    output_dir: Path | None,
    settings: ConversionSettings,
    *,
    quiet: bool,
    jobs: int,
    sequence_fps: str = "25",
    workers: int | None = None,
    address: str | None = None,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
) -> None:
    if wants_ray(workers, address):
        items = batch_on_ray(
            folder,
            output_dir,
            settings,
            workers=workers,
            address=address,
            chunk_seconds=chunk_seconds,
            quiet=quiet,
        )
    else:
        with ProgressDisplay(err_console, quiet=quiet) as display:
            items = interpolate_folder(
                folder,
                output_dir,
                settings,
                jobs=jobs,
                progress_for=display.track,
                sequence_rate=sequence_fps,
            )
    if not items:
        fail(f"no videos or numbered images found in {str(folder)!r}", 3)
    if not quiet:
        _print_batch_table(items)
    for item in items:
        if item.summary is not None:
            print_warnings(
                err_console,
                [f"{item.source.name}: {warning}" for warning in item.summary.warnings],
                quiet=quiet,
                damaged=item.summary.damaged,
            )
    if any(item.status == "failed" for item in items):
        raise typer.Exit(1)


def _print_batch_table(items: list[BatchItem]) -> None:
    table = Table(title="batch")
    table.add_column("input")
    table.add_column("status")
    table.add_column("output / reason", overflow="fold")
    styles = {"done": "green", "skipped": "yellow", "failed": "red"}
    for item in items:
        detail = item.message if item.status == "failed" else str(item.output or "")
        if item.status == "done" and item.summary is not None:
            detail += f" ({item.summary.output_frames} frames, {item.summary.seconds:.1f} s)"
        table.add_row(item.source.name, f"[{styles[item.status]}]{item.status}[/]", detail)
    console.print(table)
    counts = {status: sum(item.status == status for item in items) for status in styles}
    console.print(
        f"{counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed",
        highlight=False,
        soft_wrap=True,
    )


@app.command("evaluate")
@report_errors
def evaluate(
    video: Annotated[Path, typer.Argument(help="Any video with motion you own.")],
    engine: EngineOption = "classic",
    device: DeviceOption = "auto",
    weights: WeightsOption = None,
    max_triplets: Annotated[
        int | None, typer.Option(help="Stop after this many triplets (default: the whole video).")
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Drop every other frame, interpolate it back, and report PSNR/SSIM against blending."""
    with ProgressDisplay(err_console, quiet=quiet) as display:
        result = evaluate_video(
            video,
            engine=engine,
            device=device,
            weights=weights,
            max_triplets=max_triplets,
            on_progress=display.track(video.name),
        )
    table = Table(title=f"{video.name}: {result.triplets} dropped frames rebuilt")
    for column in ("method", "PSNR mean", "PSNR worst", "SSIM mean", "SSIM worst"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for name, scores in ((result.engine, result.engine_scores), ("blend", result.blend_scores)):
        table.add_row(
            name,
            f"{scores.psnr_mean:.2f}",
            f"{scores.psnr_worst:.2f}",
            f"{scores.ssim_mean:.4f}",
            f"{scores.ssim_worst:.4f}",
        )
    console.print(table)
    gain = result.engine_scores.psnr_mean - result.blend_scores.psnr_mean
    console.print(
        f"{result.engine} on {result.device}: {gain:+.2f} dB over blending; worst frame "
        f"{result.engine_scores.worst_frame}; skipped {result.skipped_cuts} triplet(s) at scene "
        f"cuts and {result.skipped_static} of duplicate frames; {result.seconds:.1f} s",
        highlight=False,
        soft_wrap=True,
    )
