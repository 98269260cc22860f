"""`frameinterp pair`: the frames between two still images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from frameinterp.cli.application import app, console, report_errors
from frameinterp.cli.options import DeviceOption, EngineOption, QualityOption, WeightsOption
from frameinterp.pair import interpolate_pair


@app.command("pair")
@report_errors
def pair_command(
    first: Annotated[Path, typer.Argument(help="The first image (time 0).")],
    second: Annotated[Path, typer.Argument(help="The second image (time 1).")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Output file (several frames: numbered NAME_01.png …) or an existing folder. "
            "Default: next to the first image, never over an input; an existing file is "
            "replaced only with --overwrite.",
        ),
    ] = None,
    time: Annotated[
        list[float] | None,
        typer.Option("--time", "-t", help="Time in (0, 1) to synthesise; repeat for several."),
    ] = None,
    count: Annotated[
        int | None,
        typer.Option("--count", "-n", help="N evenly spaced frames in between (numbered).", min=1),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", metavar="", help="Replace output files that already exist."),
    ] = False,
    engine: EngineOption = "classic",
    device: DeviceOption = "auto",
    weights: WeightsOption = None,
    quality: QualityOption = None,
) -> None:
    """Synthesise the frames between two images (PNG, JPEG, TIFF, WebP, BMP; 8 or 16 bit)."""
    written = interpolate_pair(
        first,
        second,
        times=time,
        count=count,
        output=output,
        overwrite=overwrite,
        engine=engine,
        device=device,
        weights=weights,
        quality=quality,
    )
    for path in written:
        console.print(str(path), highlight=False, soft_wrap=True)
