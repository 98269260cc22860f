"""`frameinterp info` and `frameinterp splat-demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from frameinterp.cli.application import app, console, report_errors


@app.command("info")
@report_errors
def info() -> None:
    """Show library versions, devices, and which splatting backend 'auto' picks and why."""
    from frameinterp import __version__
    from frameinterp.environment import collect_environment

    environment = collect_environment()
    table = Table(show_header=False, box=None)
    table.add_row("frameinterp", __version__)
    for name, version in environment.versions.items():
        table.add_row(name, version)
    for device in environment.devices:
        table.add_row("device", device)
    table.add_row("backend (auto)", f"{environment.backend}: {environment.backend_reason}")
    console.print(table)


@app.command("splat-demo")
@report_errors
def splat_demo(
    pair: Annotated[
        Path | None,
        typer.Argument(
            help="Folder with one.png, two.png and flow.flo (one → two). "
            "Default: the bundled DAVIS pair.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Image to write (PNG or JPEG).")
    ] = Path("splat-modes.png"),
    steps: Annotated[int, typer.Option(min=2, help="Number of times t from 0 to 1.")] = 11,
    width: Annotated[int, typer.Option(min=64, help="Width of each cell in pixels.")] = 320,
    video: Annotated[
        Path | None,
        typer.Option(help="Also write a short MP4 of the four modes as t runs from 0 to 1."),
    ] = None,
) -> None:
    """Compare summation, average, linear and softmax splatting (the paper's figure)."""
    from frameinterp.bundled import SAMPLE_PAIR, sample_path
    from frameinterp.splat_demo import render_splat_demo

    if pair is None:
        pair = sample_path(SAMPLE_PAIR)
    written = render_splat_demo(pair, output, steps=steps, width=width, video=video)
    console.print(f"wrote {written}" + (f" and {video}" if video is not None else ""))
