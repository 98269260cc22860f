"""Options shared between commands, declared once.

``EngineOption``/``DeviceOption``/``WeightsOption`` serve every command that runs an engine.
``conversion_options`` adds every option of a conversion (``slowmo``, ``batch``) to a command
and hands it one ``ConversionSettings`` built and validated from them: a new conversion option
is declared here (and in ``ConversionSettings``), nowhere else.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from frameinterp.colour import CODECS
from frameinterp.settings import MAX_OUTPUT_RATE, ConversionSettings
from frameinterp.timing import DEFAULT_SCENE_THRESHOLD

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
QualityOption = Annotated[
    str | None,
    typer.Option(
        help="Classic engine preset: fast, balanced (default) or best; see the README's "
        "quality table."
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", metavar="", help="Print JSON instead of a table.")
]
QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        metavar="",
        help="No progress or summary; errors and data-loss warnings only.",
    ),
]


def flag(name: str, help: str) -> Any:
    """A boolean switch shown as ``--name`` in help (no ``<bool>``)."""
    return Annotated[bool, typer.Option(name, metavar="", help=help)]


# name, annotation, default: the options of a conversion, in the order help lists them.
_CONVERSION: list[tuple[str, Any, Any]] = [
    (
        "factor",
        Annotated[
            int | None,
            typer.Option(
                "--factor",
                "-f",
                help="N-1 new frames between each pair of frames (default 2 unless --fps).",
            ),
        ],
        None,
    ),
    (
        "fps",
        Annotated[
            str | None,
            typer.Option(
                help="Target frame rate instead of --factor, e.g. 60, 59.94 or 60000/1001."
            ),
        ],
        None,
    ),
    (
        "slowdown",
        flag(
            "--slowdown",
            "True slow motion: play at the input's rate, so the result lasts longer "
            "(audio is dropped unless --keep-audio).",
        ),
        False,
    ),
    ("engine", EngineOption, "classic"),
    ("device", DeviceOption, "auto"),
    ("weights", WeightsOption, None),
    ("quality", QualityOption, None),
    (
        "flow_workers",
        Annotated[
            int | None,
            typer.Option(
                help="Threads that estimate the flow of the next pairs while the current one "
                "renders (default: 1 on the CPU, a few beside a GPU).",
                min=0,
            ),
        ],
        None,
    ),
    ("codec", Annotated[str, typer.Option(help=f"Video encoder: {', '.join(CODECS)}.")], "x264"),
    (
        "crf",
        Annotated[
            int | None,
            typer.Option(help="Quality for x264/x265/av1 (lower is better; encoder default)."),
        ],
        None,
    ),
    (
        "preset",
        Annotated[
            str | None,
            typer.Option(
                help="Encoder speed preset for x264/x265 (e.g. medium, slow) or av1 (0-13)."
            ),
        ],
        None,
    ),
    (
        "scene_threshold",
        Annotated[
            float,
            typer.Option(
                help="Scene-cut score (0-1) above which frames are not interpolated across."
            ),
        ],
        DEFAULT_SCENE_THRESHOLD,
    ),
    ("no_scene_detect", flag("--no-scene-detect", "Interpolate across scene cuts too."), False),
    ("no_audio", flag("--no-audio", "Leave audio and subtitles out."), False),
    (
        "keep_audio",
        flag("--keep-audio", "Keep audio with --slowdown (it will not match the picture)."),
        False,
    ),
    (
        "frames",
        Annotated[
            int | None,
            typer.Option(
                "--frames", help="Convert only the first N input frames (a quick preview)."
            ),
        ],
        None,
    ),
    (
        "hwaccel",
        Annotated[
            str | None,
            typer.Option(
                help="Hardware decoding through FFmpeg (cuda, vaapi, qsv …); falls back to the "
                "CPU with a warning when it does not work here."
            ),
        ],
        None,
    ),
    ("overwrite", flag("--overwrite", "Replace existing outputs."), False),
    (
        "force",
        flag("--force", f"Allow output rates above {MAX_OUTPUT_RATE} fps."),
        False,
    ),
    (
        "allow_damaged",
        flag(
            "--allow-damaged",
            "Exit 0 even when the input lost frames (truncated or corrupt); the output is "
            "kept either way.",
        ),
        False,
    ),
]


def build_settings(values: dict[str, Any]) -> ConversionSettings:
    """The settings object from the options' values (validated by ``ConversionSettings``)."""
    keep_audio: bool | None = None
    if values["no_audio"]:
        keep_audio = False
    elif values["keep_audio"]:
        keep_audio = True
    return ConversionSettings(
        factor=values["factor"],
        fps=values["fps"],
        slowdown=values["slowdown"],
        engine=values["engine"],
        device=values["device"],
        weights=values["weights"],
        quality=values["quality"],
        flow_workers=values["flow_workers"],
        codec=values["codec"],
        crf=values["crf"],
        preset=values["preset"],
        scene_threshold=None if values["no_scene_detect"] else values["scene_threshold"],
        keep_audio=keep_audio,
        max_frames=values["frames"],
        hwaccel=values["hwaccel"],
        overwrite=values["overwrite"],
        force=values["force"],
        allow_damaged=values["allow_damaged"],
    )


F = TypeVar("F", bound=Callable[..., Any])


def _is_argument(parameter: inspect.Parameter) -> bool:
    metadata = getattr(parameter.annotation, "__metadata__", ())
    return any(isinstance(item, typer.models.ArgumentInfo) for item in metadata)


def conversion_options(command: F) -> F:
    """Give ``command`` every conversion option; it receives ``settings=ConversionSettings``.

    Help lists the command's arguments, then the conversion options, then the command's own
    options. Settings are built when the command runs, so a bad value is reported like any
    other error.
    """
    own = [
        parameter
        for parameter in inspect.signature(command, eval_str=True).parameters.values()
        if parameter.name != "settings"
    ]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, kind, default in _CONVERSION
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name, _, _ in _CONVERSION}
        return command(*args, settings=build_settings(values), **kwargs)

    arguments = [parameter for parameter in own if _is_argument(parameter)]
    options = [
        parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for parameter in own
        if not _is_argument(parameter)
    ]
    signature = inspect.Signature(arguments + shared + options)
    wrapper.__signature__ = signature  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
