"""`frameinterp slowmo`, `frameinterp batch` and `frameinterp evaluate`: options in, library out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from frameinterp.batch import BatchItem, interpolate_folder
from frameinterp.cli.app import app, console, err_console, fail, report_errors
from frameinterp.cli.options import DeviceOption, EngineOption, WeightsOption
from frameinterp.cli.progress import ProgressDisplay, print_summary
from frameinterp.evaluate import evaluate_video
from frameinterp.pipeline import interpolate_video
from frameinterp.timing import DEFAULT_SCENE_THRESHOLD
from frameinterp.video import CODECS

FactorOption = Annotated[
    int | None,
    typer.Option(
        "--factor",
        "-f",
        help="N-1 new frames between each pair of frames (default 2 unless --fps is given).",
    ),
]
FpsOption = Annotated[
    str | None,
    typer.Option(help="Target frame rate instead of --factor, e.g. 60, 59.94 or 60000/1001."),
]
SlowdownOption = Annotated[
    bool,
    typer.Option(
        "--slowdown",
        help="True slow motion: play at the input's rate, so the result lasts longer "
        "(audio is dropped).",
    ),
]
CodecOption = Annotated[str, typer.Option(help=f"Video encoder: {', '.join(CODECS)}.")]
CrfOption = Annotated[
    int | None, typer.Option(help="Quality for x264/x265/av1 (lower is better; encoder default).")
]
PresetOption = Annotated[
    str | None, typer.Option(help="Encoder speed preset, e.g. medium, slow (av1: 0-13).")
]
SceneThresholdOption = Annotated[
    float,
    typer.Option(help="Scene-cut score (0-1) above which frames are not interpolated across."),
]
NoSceneOption = Annotated[
    bool, typer.Option("--no-scene-detect", help="Interpolate across scene cuts too.")
]
NoAudioOption = Annotated[bool, typer.Option("--no-audio", help="Leave audio and subtitles out.")]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace an existing output file.")
]
FlowWorkersOption = Annotated[
    int | None,
    typer.Option(
        help="Threads that estimate the flow of the next pairs while the current one renders "
        "(default: 1 on the CPU, a few beside a GPU).",
        min=0,
    ),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress or summary; errors only.")
]
JobsOption = Annotated[int, typer.Option(help="Files converted in parallel (folders only).")]


def _check_codec(codec: str) -> None:
    if codec not in CODECS:
        fail(f"unknown codec {codec!r}; expected one of: {', '.join(CODECS)}", 2)


@app.command("slowmo")
@report_errors
def slowmo(
    input_path: Annotated[
        Path,
        typer.Argument(metavar="INPUT", help="Video file, or a folder to convert every video."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output file (default: INPUT.2x.mp4 beside it)."),
    ] = None,
    factor: FactorOption = None,
    fps: FpsOption = None,
    slowdown: SlowdownOption = False,
    engine: EngineOption = "classic",
    device: DeviceOption = "auto",
    weights: WeightsOption = None,
    flow_workers: FlowWorkersOption = None,
    codec: CodecOption = "x264",
    crf: CrfOption = None,
    preset: PresetOption = None,
    scene_threshold: SceneThresholdOption = DEFAULT_SCENE_THRESHOLD,
    no_scene_detect: NoSceneOption = False,
    no_audio: NoAudioOption = False,
    overwrite: OverwriteOption = False,
    quiet: QuietOption = False,
    output_dir: Annotated[
        Path | None, typer.Option(help="Where outputs go when INPUT is a folder.")
    ] = None,
    jobs: JobsOption = 1,
    frames: Annotated[
        int | None,
        typer.Option("--frames", help="Convert only the first N input frames (a quick preview)."),
    ] = None,
    hwaccel: Annotated[
        str | None,
        typer.Option(
            help="Hardware decoding through FFmpeg (cuda, vaapi, qsv …); falls back to the CPU "
            "with a warning when it does not work here."
        ),
    ] = None,
) -> None:
    """Smoother motion (more frames, same duration) or true slow motion with --slowdown."""
    _check_codec(codec)
    if input_path.is_dir():
        _run_batch(
            input_path,
            output_dir or output,
            factor=factor,
            fps=fps,
            slowdown=slowdown,
            engine=engine,
            device=device,
            weights=weights,
            flow_workers=flow_workers,
            codec=codec,
            crf=crf,
            preset=preset,
            scene_threshold=None if no_scene_detect else scene_threshold,
            no_audio=no_audio,
            overwrite=overwrite,
            quiet=quiet,
            jobs=jobs,
        )
        return
    with ProgressDisplay(err_console, quiet=quiet) as display:
        summary = interpolate_video(
            input_path,
            output,
            factor=factor,
            fps=fps,
            slowdown=slowdown,
            engine=engine,
            device=device,
            weights=weights,
            flow_workers=flow_workers,
            codec=codec,
            crf=crf,
            preset=preset,
            scene_threshold=None if no_scene_detect else scene_threshold,
            keep_audio=False if no_audio else None,
            overwrite=overwrite,
            progress=display.track(input_path.name),
            max_frames=frames,
            hwaccel=hwaccel,
        )
    if not quiet:
        print_summary(console, summary)


@app.command("batch")
@report_errors
def batch(
    folder: Annotated[Path, typer.Argument(help="Folder of videos, or of numbered images.")],
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", "-o", help="Where outputs go (default FOLDER/interpolated)."),
    ] = None,
    factor: FactorOption = None,
    fps: FpsOption = None,
    slowdown: SlowdownOption = False,
    engine: EngineOption = "classic",
    device: DeviceOption = "auto",
    weights: WeightsOption = None,
    flow_workers: FlowWorkersOption = None,
    codec: CodecOption = "x264",
    crf: CrfOption = None,
    preset: PresetOption = None,
    scene_threshold: SceneThresholdOption = DEFAULT_SCENE_THRESHOLD,
    no_scene_detect: NoSceneOption = False,
    no_audio: NoAudioOption = False,
    overwrite: OverwriteOption = False,
    quiet: QuietOption = False,
    jobs: JobsOption = 1,
    sequence_fps: Annotated[
        str, typer.Option(help="Frame rate of an image-sequence folder (matters with --fps).")
    ] = "25",
) -> None:
    """Convert every video in FOLDER (found by probing), skipping outputs already complete."""
    _check_codec(codec)
    _run_batch(
        folder,
        output_dir,
        factor=factor,
        fps=fps,
        slowdown=slowdown,
        engine=engine,
        device=device,
        weights=weights,
        flow_workers=flow_workers,
        codec=codec,
        crf=crf,
        preset=preset,
        scene_threshold=None if no_scene_detect else scene_threshold,
        no_audio=no_audio,
        overwrite=overwrite,
        quiet=quiet,
        jobs=jobs,
        sequence_fps=sequence_fps,
    )


def _run_batch(
    folder: Path,
    output_dir: Path | None,
    *,
    factor: int | None,
    fps: str | None,
    slowdown: bool,
    engine: str,
    device: str,
    weights: Path | None,
    flow_workers: int | None,
    codec: str,
    crf: int | None,
    preset: str | None,
    scene_threshold: float | None,
    no_audio: bool,
    overwrite: bool,
    quiet: bool,
    jobs: int,
    sequence_fps: str = "25",
) -> None:
    with ProgressDisplay(err_console, quiet=quiet) as display:
        items = interpolate_folder(
            folder,
            output_dir,
            factor=factor,
            fps=fps,
            codec=codec,
            jobs=jobs,
            overwrite=overwrite,
            engine=engine,
            device=device,
            weights=weights,
            flow_workers=flow_workers,
            progress_for=display.track,
            sequence_rate=sequence_fps,
            slowdown=slowdown,
            crf=crf,
            preset=preset,
            scene_threshold=scene_threshold,
            keep_audio=False if no_audio else None,
        )
    if not items:
        fail(f"no videos or numbered images found in {str(folder)!r}", 3)
    if not quiet:
        _print_batch_table(items)
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
            if item.message:
                detail += f"; {item.message}"
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
