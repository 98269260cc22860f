"""The input frame that flows through a conversion: decoded pixels as they came, RGB only on demand.

A decoded video frame keeps its own pixel format (``frame``, a PyAV ``VideoFrame``), so an output
time that falls on it can be encoded from exactly those pixels. Its RGB array (``image``) is made
the first time an engine needs it, once. Image-sequence frames start out as RGB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np

from frameinterp.colour import rgb_from_frame
from frameinterp.timing import FrameMeasure

__all__ = ["DecodedFrame", "Picture"]

# What a frame sink receives: a decoded frame untouched, or RGB pixels (H×W×3 uint8/uint16).
Picture = av.VideoFrame | np.ndarray


@dataclass
class DecodedFrame:
    """One input frame: its pixels, presentation time and how long it is shown (seconds).

    ``measure`` is its change from the previous frame (``None`` for the first); ``deep`` says
    that its RGB form is 16-bit (sources deeper than 8 bits).
    """

    index: int
    time: Fraction
    duration: Fraction | None
    measure: FrameMeasure | None
    frame: av.VideoFrame | None = None
    corrupt: bool = False
    deep: bool = False
    _image: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_image(
        cls, index: int, time: Fraction, image: np.ndarray, measure: FrameMeasure | None = None
    ) -> DecodedFrame:
        """A frame that starts out as RGB (an image of a sequence)."""
        return cls(index, time, None, measure, deep=image.dtype == np.uint16, _image=image)

    @property
    def image(self) -> np.ndarray:
        """H×W×3 RGB, ``uint8`` or (``deep``) ``uint16``; converted from ``frame`` once."""
        if self._image is None:
            assert self.frame is not None  # one of the two is always set
            self._image = rgb_from_frame(self.frame, self.deep)
        return self._image

    @property
    def converted(self) -> bool:
        """Whether the RGB form exists (made, or given)."""
        return self._image is not None

    @property
    def picture(self) -> Picture:
        """The pixels to hand a sink unchanged: the decoded frame, else the RGB image."""
        return self.frame if self.frame is not None else self.image
