"""frameinterp: video frame interpolation with softmax splatting.

From Python, the entry points take the same options as the commands:

- ``interpolate_frames(a, b, times)``: NumPy arrays or torch tensors in, the frames between out;
- ``interpolate_pair(first, second)``: the same for two image files;
- ``interpolate_video(input, output, factor=2)`` and ``interpolate_folder(folder)``;
- ``evaluate_video(video)``: how well an engine rebuilds dropped frames, against blending;
- ``create_interpolator(engine, device, **options)``: an engine to reuse across calls;
- the ops ``softsplat`` and ``backwarp`` (and their modules ``SoftSplat``, ``Backwarp``).

Every error raised on purpose is a ``FrameInterpError``. Names load on first use, so
``import frameinterp`` stays light.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

# The one place the version is written: pyproject.toml reads it from here.
__version__ = "0.1.0"

_LAZY = {
    "Backwarp": "frameinterp.ops",
    "BackendUnavailableError": "frameinterp.errors",
    "BatchItem": "frameinterp.batch",
    "CheckpointError": "frameinterp.errors",
    "ClassicOptions": "frameinterp.engines.classic",
    "EvaluationResult": "frameinterp.evaluate",
    "FrameInterpError": "frameinterp.errors",
    "InputNotFoundError": "frameinterp.errors",
    "Interpolator": "frameinterp.engines",
    "InvalidInputError": "frameinterp.errors",
    "OutputError": "frameinterp.errors",
    "PreparingInterpolator": "frameinterp.engines",
    "JobProgress": "frameinterp.progress_bar",
    "Scores": "frameinterp.evaluate",
    "SoftSplat": "frameinterp.ops",
    "UnsupportedMediaError": "frameinterp.errors",
    "VideoSummary": "frameinterp.pipeline",
    "backwarp": "frameinterp.ops",
    "create_interpolator": "frameinterp.engines",
    "evaluate_video": "frameinterp.evaluate",
    "interpolate_folder": "frameinterp.batch",
    "interpolate_frames": "frameinterp.frames",
    "interpolate_pair": "frameinterp.pair",
    "interpolate_video": "frameinterp.pipeline",
    "softsplat": "frameinterp.ops",
}

__all__ = [
    "BackendUnavailableError",
    "Backwarp",
    "BatchItem",
    "CheckpointError",
    "ClassicOptions",
    "EvaluationResult",
    "FrameInterpError",
    "InputNotFoundError",
    "Interpolator",
    "InvalidInputError",
    "JobProgress",
    "OutputError",
    "PreparingInterpolator",
    "Scores",
    "SoftSplat",
    "UnsupportedMediaError",
    "VideoSummary",
    "__version__",
    "backwarp",
    "create_interpolator",
    "evaluate_video",
    "interpolate_folder",
    "interpolate_frames",
    "interpolate_pair",
    "interpolate_video",
    "softsplat",
]

if _TYPE_CHECKING:
    from frameinterp.batch import BatchItem, interpolate_folder
    from frameinterp.engines import Interpolator, PreparingInterpolator, create_interpolator
    from frameinterp.engines.classic import ClassicOptions
    from frameinterp.errors import (
        BackendUnavailableError,
        CheckpointError,
        FrameInterpError,
        InputNotFoundError,
        InvalidInputError,
        OutputError,
        UnsupportedMediaError,
    )
    from frameinterp.evaluate import EvaluationResult, Scores, evaluate_video
    from frameinterp.frames import interpolate_frames
    from frameinterp.ops import Backwarp, SoftSplat, backwarp, softsplat
    from frameinterp.pair import interpolate_pair
    from frameinterp.pipeline import VideoSummary, interpolate_video
    from frameinterp.progress_bar import JobProgress


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        value = getattr(_importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'frameinterp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return list(__all__)
