"""Options shared by every command that runs an engine, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

EngineOption = Annotated[
    str, typer.Option(help="Interpolation engine: classic (default), softsplat-net, blend.")
]
DeviceOption = Annotated[str, typer.Option(help="auto, cpu or cuda[:N].")]
WeightsOption = Annotated[
    Path | None,
    typer.Option(
        help="Weights file for --engine softsplat-net (.pytorch/.pt or .safetensors); "
        "nothing is ever downloaded."
    ),
]
