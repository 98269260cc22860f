"""The user's choices for a conversion, as one typed, validated object.

Built once (by the CLI from its options, or by a library caller), validated once when built
(``InvalidInputError`` with one line naming the option), then passed whole to the library and
recorded with each output (``recipe``), so that a resumed batch can tell whether an existing
output was made the same way. An option is added here, in ``cli/options.py``, and where it is
used: nowhere else.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from frameinterp.encode import EncodeSettings
from frameinterp.errors import InvalidInputError
from frameinterp.timing import (
    DEFAULT_SCENE_THRESHOLD,
    DEFAULT_STATIC_THRESHOLD,
    Request,
    parse_rate,
)

__all__ = ["HWACCELS", "MAX_OUTPUT_RATE", "ConversionSettings", "output_record"]

# Output rates above this are refused unless ``force``: no container, player or display
# handles them, and they usually mean a typo (``--fps 60000`` for ``60000/1001``).
MAX_OUTPUT_RATE = Fraction(1000)
# FFmpeg's hardware device types (``av_hwdevice_get_type_name``): anything else is a typo.
HWACCELS = (
    "cuda", "vaapi", "qsv", "vdpau", "videotoolbox", "d3d11va", "d3d12va", "dxva2", "drm",
    "opencl", "vulkan", "mediacodec", "amf",
)  # fmt: skip

# The classic engine's presets (``engines.classic.QUALITY_FLOW``; a test keeps the two equal),
# named here so that settings are checked without importing the engine.
QUALITY_PRESETS = ("fast", "balanced", "best")


@dataclass(frozen=True)
class ConversionSettings:
    """How to convert: what to make (``factor`` or ``fps``, ``slowdown``), with which engine,
    how to encode, and how to treat cuts, duplicates, audio and damaged input.

    ``factor`` N puts N-1 new frames in each interval (2 when neither it nor ``fps`` is given);
    ``fps`` aims at a frame rate (``"59.94"``, ``"60000/1001"``, a number or a ``Fraction``).
    ``slowdown`` plays the result at the input's rate (longer; audio dropped unless
    ``keep_audio``). ``scene_threshold``/``static_threshold`` of ``None`` switch cut/duplicate
    detection off. ``max_frames`` converts only the first N input frames. ``hwaccel`` decodes
    with an FFmpeg hardware decoder where it works. ``force`` allows output rates above
    ``MAX_OUTPUT_RATE``. ``allow_damaged`` accepts inputs that lost frames (the CLI otherwise
    exits non-zero). ``overwrite`` replaces existing outputs. ``flow_workers``, ``queue_size``
    and ``device`` change speed, not output. ``quality`` picks the classic engine's preset
    (``fast``, ``balanced``, ``best``; its default when ``None``).
    """

    factor: int | None = None
    fps: Fraction | str | float | None = None  # a Fraction once built
    slowdown: bool = False
    engine: str = "classic"
    device: str = "auto"
    weights: Path | None = None
    quality: str | None = None
    flow_workers: int | None = None
    codec: str = "x264"
    crf: int | None = None
    preset: str | None = None
    scene_threshold: float | None = DEFAULT_SCENE_THRESHOLD
    static_threshold: float | None = DEFAULT_STATIC_THRESHOLD
    keep_audio: bool | None = None
    max_frames: int | None = None
    hwaccel: str | None = None
    queue_size: int = 8
    force: bool = False
    allow_damaged: bool = False
    overwrite: bool = False
    encode: EncodeSettings = field(init=False, repr=False, compare=False)
    request: Request = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fps = self.fps
        if fps is not None and not isinstance(fps, Fraction):
            fps = parse_rate(fps)  # a str or float from a caller: normalised here, once
            object.__setattr__(self, "fps", fps)
        if self.factor is not None and fps is not None:
            raise InvalidInputError("give either --factor or --fps, not both")
        request = (
            Request(fps=fps)
            if fps is not None
            else Request(factor=2 if self.factor is None else self.factor)
        )
        object.__setattr__(self, "request", request)
        if fps is not None and fps > MAX_OUTPUT_RATE and not self.force:
            raise InvalidInputError(_too_fast(fps))
        if not isinstance(self.device, str):
            object.__setattr__(self, "device", str(self.device))  # a torch.device
        if self.weights is not None and not isinstance(self.weights, Path):
            object.__setattr__(self, "weights", Path(self.weights))
        if self.quality is not None:
            if self.engine != "classic":
                raise InvalidInputError(
                    f"--quality is a preset of the classic engine, not of --engine {self.engine}"
                )
            if self.quality not in QUALITY_PRESETS:
                raise InvalidInputError(
                    f"unknown --quality {self.quality!r}; expected one of: "
                    f"{', '.join(QUALITY_PRESETS)}"
                )
        object.__setattr__(
            self, "encode", EncodeSettings(codec=self.codec, crf=self.crf, preset=self.preset)
        )
        for name in ("scene_threshold", "static_threshold"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and 0 <= value <= 1):
                option = name.replace("_", "-")
                raise InvalidInputError(
                    f"--{option} must be between 0 and 1, got {value}"
                    + ("; use --no-scene-detect to switch detection off" if value < 0 else "")
                )
        if self.max_frames is not None and self.max_frames < 2:
            raise InvalidInputError(f"--frames must be at least 2, got {self.max_frames}")
        if self.flow_workers is not None and self.flow_workers < 0:
            raise InvalidInputError(f"--flow-workers must be 0 or more, got {self.flow_workers}")
        if self.queue_size < 1:
            raise InvalidInputError(f"queue_size must be at least 1, got {self.queue_size}")
        if self.hwaccel is not None and self.hwaccel not in HWACCELS:
            raise InvalidInputError(
                f"unknown --hwaccel {self.hwaccel!r}; expected one of: {', '.join(HWACCELS)}"
            )

    def engine_options(self) -> dict[str, Any]:
        """The options ``create_interpolator`` takes from these settings."""
        options: dict[str, Any] = {"weights": self.weights}
        if self.quality is not None:
            options["quality"] = self.quality
        return options

    def with_changes(self, **changes: Any) -> ConversionSettings:
        """A copy with some fields changed, validated again."""
        return replace(self, **changes)

    def check_rate(self, input_rate: Fraction) -> None:
        """Refuse an output rate above ``MAX_OUTPUT_RATE`` (unless ``force``) for this input."""
        rate = self.request.output_rate(input_rate)
        if rate > MAX_OUTPUT_RATE and not self.force:
            raise InvalidInputError(_too_fast(rate, input_rate if self.fps is None else None))

    def label(self) -> str:
        """What the output is, for default names: ``2x``, ``4x-slow``, ``60fps``."""
        return self.request.label() + ("-slow" if self.slowdown else "")

    def keeps_audio(self) -> bool:
        """Audio and subtitles are kept unless dropped, or slow motion drops them by default."""
        return (not self.slowdown) if self.keep_audio is None else self.keep_audio

    def recipe(self) -> dict[str, Any]:
        """The fields that decide what the output looks like, as JSON-ready values.

        Speed-only fields (device, threads, queues, hardware decoding) and ones that only
        decide whether a job may run (``force``, ``allow_damaged``) are left out.
        """
        values = asdict(self)
        for name in (
            "device", "flow_workers", "queue_size", "hwaccel", "force", "allow_damaged",
            "overwrite", "encode", "request",
        ):  # fmt: skip
            values.pop(name, None)
        values["fps"] = None if self.fps is None else str(self.fps)
        if self.weights is not None:
            values["weights"] = _file_identity(self.weights)
        return values


def output_record(
    source: Path | None, settings: ConversionSettings, **extra: Any
) -> dict[str, Any]:
    """What produced an output, recorded with it: the package version, the input's identity
    (size and modification time; of every image for a sequence folder) and ``recipe``."""
    from frameinterp import __version__

    record: dict[str, Any] = {"version": __version__}
    if source is not None:
        record["input"] = _input_identity(source)
    record["settings"] = settings.recipe()
    return record | extra


def _input_identity(source: Path) -> dict[str, Any]:
    paths = sorted(p for p in source.iterdir() if p.is_file()) if source.is_dir() else [source]
    stats = [path.stat() for path in paths]
    return {
        "name": source.name,
        "files": len(stats),
        "size": sum(stat.st_size for stat in stats),
        "mtime_ns": max((stat.st_mtime_ns for stat in stats), default=0),
    }


def _too_fast(rate: Fraction, input_rate: Fraction | None = None) -> str:
    source = f" ({float(input_rate):g} fps input × factor)" if input_rate is not None else ""
    return (
        f"an output rate of {float(rate):g} fps{source} is more than any container or player "
        f"handles (limit {MAX_OUTPUT_RATE} fps); ask for less, or pass --force"
    )


def _file_identity(path: Path) -> dict[str, Any]:
    """Name, size and modification time: enough to notice a changed file without reading it."""
    try:
        stat = os.stat(path)
    except OSError:
        return {"path": str(path)}
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
