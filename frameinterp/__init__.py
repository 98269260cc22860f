"""frameinterp: video frame interpolation with softmax splatting."""

from frameinterp.errors import FrameInterpError
from frameinterp.ops import Backwarp, SoftSplat, backwarp, softsplat

__version__ = "0.1.0"
__all__ = ["Backwarp", "FrameInterpError", "SoftSplat", "__version__", "backwarp", "softsplat"]
