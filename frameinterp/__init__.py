"""frameinterp: video frame interpolation with softmax splatting.

The ops import eagerly (they need only torch); the video, image and engine entry points load on
first use, so ``import frameinterp`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from frameinterp.errors import FrameInterpError
from frameinterp.ops import Backwarp, SoftSplat, backwarp, softsplat

__version__ = "0.1.0"

_LAZY = {
    "create_interpolator": "frameinterp.engines",
    "evaluate_video": "frameinterp.evaluate",
    "interpolate_folder": "frameinterp.batch",
    "interpolate_pair": "frameinterp.pair",
    "interpolate_video": "frameinterp.pipeline",
}

__all__ = [
    "Backwarp",
    "FrameInterpError",
    "SoftSplat",
    "__version__",
    "backwarp",
    "create_interpolator",
    "evaluate_video",
    "interpolate_folder",
    "interpolate_pair",
    "interpolate_video",
    "softsplat",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'frameinterp' has no attribute {name!r}")
