"""How much a frame changed from the one before: the measures scene-cut and duplicate detection
(``timing.classify_interval``) decide on.

Both work on a small luma thumbnail (64 px wide, values 0–1). A decoded video frame gives it
straight from its own pixels (FFmpeg scales and takes luma in one step, no RGB conversion); an
RGB image (image sequences) gives it with the same luma weights.
"""

from __future__ import annotations

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from frameinterp.timing import FrameMeasure
from frameinterp.transfer import pixel_peak

__all__ = ["frame_signature", "measure_change", "video_frame_signature"]

_SIGNATURE_WIDTH = 64
_HISTOGRAM_BINS = 32


def _thumbnail_height(width: int, height: int) -> int:
    return max(1, round(height * _SIGNATURE_WIDTH / width))


def frame_signature(image: np.ndarray) -> np.ndarray:
    """A small float32 luma thumbnail (64 px wide, values 0–1) of an RGB image."""
    height, width = image.shape[:2]
    scale = pixel_peak(image.dtype)
    size = (_SIGNATURE_WIDTH, _thumbnail_height(width, height))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small = small.astype(np.float32) / scale
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)  # Rec. 601 luma weights


def video_frame_signature(
    frame: av.VideoFrame, deep: bool, reformatter: VideoReformatter | None = None
) -> np.ndarray:
    """The same thumbnail taken from a decoded frame in its own pixel format.

    ``reformatter`` (one per thread) keeps swscale's context between frames, and off the
    frame, whose own cached context another thread may use later.
    """
    small = (reformatter or VideoReformatter()).reformat(
        frame,
        width=_SIGNATURE_WIDTH,
        height=_thumbnail_height(frame.width, frame.height),
        format="gray16le" if deep else "gray",
        interpolation="AREA",
    )
    return small.to_ndarray().astype(np.float32) / (65535.0 if deep else 255.0)


def measure_change(previous: np.ndarray, current: np.ndarray) -> FrameMeasure:
    """Mean and peak absolute luma difference and histogram distance between two signatures."""
    change = np.abs(current - previous)
    difference = float(np.mean(change))
    bins = np.linspace(0.0, 1.0, _HISTOGRAM_BINS + 1)
    first, _ = np.histogram(previous, bins=bins)
    second, _ = np.histogram(current, bins=bins)
    distance = 0.5 * float(np.abs(first / first.sum() - second / second.sum()).sum())
    return FrameMeasure(
        difference=difference, histogram_distance=distance, peak_difference=float(change.max())
    )
