"""Colour and pixel formats of video frames: YUV matrix and range, RGB conversion, encoders.

The one place where a decoded video frame's pixel format changes (to RGB for an engine and back
for an encoder), using the source's own tags in both directions. Integer RGB ↔ engine floats is
``frameinterp.transfer``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

__all__ = ["CODECS", "ColorInfo", "encoder_pixel_format", "frame_from_rgb", "rgb_from_frame"]

# --codec name -> (encoder, 8-bit pixel format, pixel format for deeper sources)
CODECS: dict[str, tuple[str, str, str]] = {
    "x264": ("libx264", "yuv420p", "yuv420p"),
    "x265": ("libx265", "yuv420p", "yuv420p10le"),
    "av1": ("libsvtav1", "yuv420p", "yuv420p10le"),
    "prores": ("prores_ks", "yuv422p10le", "yuv422p10le"),
    "ffv1": ("ffv1", "yuv420p", "yuv420p10le"),
}


def encoder_pixel_format(codec: str, source_pixel_format: str, bit_depth: int) -> str:
    """The pixel format ``codec`` encodes a source of ``source_pixel_format`` and depth in."""
    _, shallow, deep = CODECS[codec]
    return deep if bit_depth > 8 else shallow


# AVColorSpace (what frames carry) -> swscale's name for the same YUV matrix.
_SWS_MATRIX = {
    1: "itu709",
    4: "fcc",
    5: "itu601",
    6: "smpte170m",
    7: "smpte240m",
    9: "bt2020",
    10: "bt2020",
}
_UNSPECIFIED = 2  # AVCOL_PRI/TRC/SPC_UNSPECIFIED
_RANGE_NAMES = {0: "UNSPECIFIED", 1: "MPEG", 2: "JPEG"}


@dataclass(frozen=True)
class ColorInfo:
    """Colour tags of a stream, as FFmpeg's enum values (2 = unspecified; range 0 = unknown)."""

    primaries: int = _UNSPECIFIED
    transfer: int = _UNSPECIFIED
    matrix: int = _UNSPECIFIED
    range: int = 0


def rgb_from_frame(frame: av.VideoFrame, deep: bool) -> np.ndarray:
    """Decoded frame → H×W×3 RGB (uint8, or uint16 when ``deep``), full range."""
    matrix = _SWS_MATRIX.get(int(frame.colorspace or 0))
    source_range = _RANGE_NAMES.get(int(frame.color_range or 0), "UNSPECIFIED")
    if frame.format.name.startswith("yuvj"):
        source_range = "JPEG"
    rgb = frame.reformat(
        format="rgb48le" if deep else "rgb24",
        src_colorspace=matrix,
        src_color_range=source_range,
        dst_color_range="JPEG",
    )
    return rgb.to_ndarray()


def frame_from_rgb(image: np.ndarray, pixel_format: str, color: ColorInfo) -> av.VideoFrame:
    """H×W×3 RGB (uint8 or uint16) → a frame in ``pixel_format`` with the source's colour tags."""
    source = av.VideoFrame.from_ndarray(
        np.ascontiguousarray(image), format="rgb48le" if image.dtype == np.uint16 else "rgb24"
    )
    output_range = color.range if color.range in (1, 2) else 1
    frame = source.reformat(
        format=pixel_format,
        src_color_range="JPEG",
        dst_colorspace=_SWS_MATRIX.get(color.matrix),
        dst_color_range=_RANGE_NAMES[output_range],
    )
    frame.color_range = output_range
    frame.colorspace = color.matrix
    frame.color_primaries = color.primaries
    frame.color_trc = color.transfer
    return frame
