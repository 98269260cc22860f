"""Differentiable warping ops: softmax splatting (forward) and backward warping."""

from frameinterp.ops.backwarp import Backwarp, backwarp
from frameinterp.ops.softsplat import MODES, SoftSplat, choose_backend, softsplat

__all__ = ["MODES", "Backwarp", "SoftSplat", "backwarp", "choose_backend", "softsplat"]
