"""`frameinterp benchmark middlebury`: quality and speed against baselines, in one run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from frameinterp.benchmark import MiddleburyReport, benchmark_middlebury
from frameinterp.cli.app import benchmark_app, console, report_errors
from frameinterp.cli.options import DeviceOption, EngineOption, WeightsOption


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
        bool, typer.Option(help="Also run frame blending and FFmpeg minterpolate.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
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
