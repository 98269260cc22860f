"""Differentiable ops: softmax splatting (forward warping), backward warping, the cost volume."""

from frameinterp.ops.backwarp import Backwarp, backwarp
from frameinterp.ops.correlation import Correlation, correlation
from frameinterp.ops.softsplat import MODES, SoftSplat, choose_backend, softsplat

__all__ = [
    "MODES",
    "Backwarp",
    "Correlation",
    "SoftSplat",
    "backwarp",
    "choose_backend",
    "correlation",
    "softsplat",
]
