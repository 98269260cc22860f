"""`frameinterp benchmark middlebury` (quality against baselines), `benchmark generalisation`
(the tuning protocol) and `benchmark speed`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from frameinterp.benchmark import MiddleburyReport, benchmark_middlebury
from frameinterp.cli.application import benchmark_app, console, fail, report_errors
from frameinterp.cli.options import DeviceOption, EngineOption, JsonOption, WeightsOption

if TYPE_CHECKING:
    from frameinterp.generalisation import GeneralisationReport


def render_middlebury(report: MiddleburyReport) -> Table:
    """One row per sequence and method, then each method's mean over the sequences."""
    table = Table(title=f"Middlebury interpolation, t = 0.5 ({report.device})")
    for column in ("sequence", "method", "PSNR (dB)", "SSIM", "ms / frame", "CPU ms"):
        table.add_column(column, justify="left" if column in ("sequence", "method") else "right")
    rows = [(s.name, s.methods) for s in report.sequences]
    rows.append(("mean", {method: report.mean(method) for method in report.methods}))
    for index, (name, results) in enumerate(rows):
        for position, (method, result) in enumerate(results.items()):
            table.add_row(
                name if position == 0 else "",
                method,
                f"{result.psnr:.2f}",
                f"{result.ssim:.4f}",
                f"{result.seconds * 1000:.0f}",
                f"{result.cpu_seconds * 1000:.0f}",
                end_section=position == len(results) - 1,
                style="bold" if index == len(rows) - 1 else None,
            )
    return table


@benchmark_app.command("middlebury")
@report_errors
def middlebury_command(
    folder: Annotated[
        Path, typer.Argument(help="Folder of <Seq>/frame10.png, frame11.png, frame10i11.png.")
    ],
    engine: EngineOption = "classic",
    device: DeviceOption = "auto",
    weights: WeightsOption = None,
    repeats: Annotated[
        int, typer.Option(help="Timed runs per method and sequence (median).", min=1)
    ] = 3,
    baselines: Annotated[
        bool, typer.Option(metavar="", help="Also run frame blending and FFmpeg minterpolate.")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """PSNR/SSIM of the t = 0.5 frame on Middlebury, with blending and minterpolate baselines."""
    report = benchmark_middlebury(
        folder,
        engine=engine,
        device=device,
        weights=weights,
        repeats=repeats,
        baselines=baselines,
    )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    console.print(render_middlebury(report))
    if "minterpolate" in report.methods:
        ours, theirs = report.mean(engine), report.mean("minterpolate")
        console.print(
            f"{engine} time per frame = {ours.seconds / theirs.seconds:.2f} × minterpolate's "
            f"(CPU time: {ours.cpu_seconds / theirs.cpu_seconds:.2f} ×), same run"
        )


def render_generalisation(report: GeneralisationReport) -> Table:
    """One row per method: PSNR per half (all, Middlebury, clips), orientation spreads, time."""
    table = Table(
        title="Generalisation protocol, t = 0.5 (PSNR dB; each case: mean of its variants)"
    )
    columns = ("method", "A", "B", "A Middlebury", "B Middlebury", "A clips", "B clips")
    for column in (*columns, "worst spread", "mean spread", "ms / frame"):
        table.add_column(column, justify="left" if column == "method" else "right")
    names = [case.name for case in report.cases]
    for method in report.psnr:
        halves = [
            report.half_mean(method, half, source)
            for source in (None, "middlebury", "video")
            for half in "AB"
        ]
        spreads = [report.spread(method, name) for name in names]
        table.add_row(
            method,
            *(f"{value:.2f}" for value in halves),
            f"{max(spreads):.2f}",
            f"{sum(spreads) / len(spreads):.2f}",
            f"{report.seconds[method] * 1000:.0f}",
        )
    return table


@benchmark_app.command("generalisation")
@report_errors
def generalisation_command(
    middlebury: Annotated[
        Path | None, typer.Option(help="Folder of Middlebury <Seq>/frame10.png, frame11.png, ...")
    ] = None,
    videos: Annotated[
        Path | None, typer.Option(help="Folder searched for clips to cut triplets from.")
    ] = None,
    quality: Annotated[
        list[str] | None,
        typer.Option(help="Classic engine preset(s) to run: fast, balanced, best (repeatable)."),
    ] = None,
    triplets: Annotated[int, typer.Option(help="Triplets taken from each clip.", min=1)] = 2,
    max_side: Annotated[
        int, typer.Option(help="Clip frames are scaled to this longer side at most.", min=16)
    ] = 640,
    minterpolate: Annotated[
        bool, typer.Option(metavar="", help="Also run FFmpeg minterpolate (slower).")
    ] = True,
    cases: Annotated[
        bool, typer.Option(metavar="", help="Also print every case's PSNR and spread.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Tuning protocol: Middlebury + clip triplets, four orientations and time reversal, two
    fixed halves (choose constants on one, report the other), against the naive baseline."""
    from frameinterp.generalisation import benchmark_generalisation

    if middlebury is None and videos is None:
        fail("pass --middlebury DIR, --videos DIR or both", 2)
    report = benchmark_generalisation(
        middlebury,
        videos,
        qualities=quality or ["balanced"],
        triplets=triplets,
        max_side=max_side,
        minterpolate=minterpolate,
    )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    console.print(render_generalisation(report))
    if cases:
        table = Table(title="Per case: mean PSNR over its variants / spread over orientations")
        table.add_column("case")
        table.add_column("half")
        for method in report.psnr:
            table.add_column(method, justify="right")
        for case in report.cases:
            table.add_row(
                case.name,
                case.half,
                *(
                    f"{report.case_mean(m, case.name):.2f} / {report.spread(m, case.name):.2f}"
                    for m in report.psnr
                ),
            )
        console.print(table)
    for half in "AB":
        names = sorted({case.sequence for case in report.cases if case.half == half})
        console.print(f"half {half}: {', '.join(names)}")


@benchmark_app.command("speed")
@report_errors
def speed_command(
    video: Annotated[
        Path | None,
        typer.Argument(help="Clip to measure (default: the bundled sample scaled to --size)."),
    ] = None,
    size: Annotated[
        str, typer.Option(help="Size of the clip made from the sample: 480p, 720p, 1080p, 4k.")
    ] = "720p",
    frames: Annotated[int, typer.Option(help="Input frames to convert.", min=2)] = 24,
    engine: EngineOption = "classic",
    device: DeviceOption = "auto",
    weights: WeightsOption = None,
    preset: Annotated[str | None, typer.Option(help="x264 preset, e.g. veryfast.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Where the time goes: decode, upload, flow, splat + fusion, download, encode; end to end."""
    import tempfile

    from frameinterp.bundled import SAMPLE_CLIP, sample_path
    from frameinterp.speed import make_clip, measure_speed

    with tempfile.TemporaryDirectory() as folder:
        if video is None:
            sample = sample_path(SAMPLE_CLIP)
            video = make_clip(sample, Path(folder) / f"sample-{size}.mp4", size, frames)
        report = measure_speed(
            video, frames=frames, engine=engine, device=device, weights=weights, preset=preset
        )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    table = Table(
        title=f"{report.engine} on {report.device}, {report.width}×{report.height}, "
        f"{report.input_frames} frames in, factor 2"
    )
    for column in ("stage", "items", "ms / item", "ms / output frame", "share"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    total = sum(stage.ms_per_output_frame for stage in report.stages) or 1.0
    for stage in report.stages:
        table.add_row(
            stage.name,
            str(stage.items),
            f"{stage.ms_per_item:.1f}",
            f"{stage.ms_per_output_frame:.1f}",
            f"{stage.ms_per_output_frame / total:.0%}",
        )
    console.print(table)
    console.print(
        f"stages one after another: {report.stage_fps:.1f} output fps; end to end (decode and "
        f"encode in threads): {report.end_to_end_fps:.1f} output fps"
    )
