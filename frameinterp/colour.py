"""Colour and pixel formats of video frames: YUV matrix and range, RGB conversion, encoders.

The one place where a decoded video frame's pixel format changes: to RGB for an engine, back for
an encoder, or straight to the encoder's format for a frame that is not interpolated. Integer
RGB ↔ engine floats is ``frameinterp.transfer``'s job.

The common planar formats (YUV 4:2:0 … 4:4:4, grey and planar RGB at 8 to 16 bits, limited or
full range, BT.601/709/2020/240M/FCC matrices) are converted here in float32 with one rounding
at the end, rather than by swscale, whose fast paths truncate (a full-range yuvj420p frame came
back 0.9 luma levels darker from one trip through RGB, and limited-range ones 1.0–1.1 levels).
Chroma is upsampled by repeating each sample over the pixels it covers and downsampled by
averaging them: the two are exact inverses, so a frame that goes through RGB and back unchanged
(or a static region of an interpolated frame) keeps its chroma instead of being blurred once per
trip. Anything else (packed, semi-planar, big-endian, hardware frames) goes through swscale with
accurate rounding.

An unspecified YUV matrix is read as BT.709 for HD sizes and BT.601 below (as players do), and
``output_color`` tags the output with that same choice, so what is converted and what is tagged
never disagree.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

import av
import cv2
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

__all__ = [
    "CODECS",
    "ColorInfo",
    "convert_frame",
    "downgrade_note",
    "encoder_options",
    "encoder_pixel_format",
    "frame_color",
    "frame_from_rgb",
    "output_color",
    "resolve_color",
    "rgb_from_frame",
]

# --codec name -> (encoder, pixel format for 8-bit 4:2:0 sources, for deeper 4:2:0 sources).
# Other sources get what ``encoder_pixel_format`` chooses from ``_ENCODER_LAYOUTS``.
CODECS: dict[str, tuple[str, str, str]] = {
    "x264": ("libx264", "yuv420p", "yuv420p10le"),
    "x265": ("libx265", "yuv420p", "yuv420p10le"),
    "av1": ("libsvtav1", "yuv420p", "yuv420p10le"),
    "prores": ("prores_ks", "yuv422p10le", "yuv422p10le"),
    "ffv1": ("ffv1", "yuv420p", "yuv420p10le"),
}

# FFmpeg enum values (AVColorSpace, AVColorRange, AVColorPrimaries, AVColorTransferCharacteristic).
RGB_MATRIX = 0
BT709 = 1
UNSPECIFIED = 2
_UNSPECIFIED = UNSPECIFIED  # the name video.py imports
BT601 = 6  # SMPTE 170M; 5 (BT.470BG) is the same matrix
LIMITED = 1
FULL = 2

# AVColorSpace -> (Kr, Kb) of its YUV matrix.
_MATRIX_WEIGHTS: dict[int, tuple[float, float]] = {
    1: (0.2126, 0.0722),  # BT.709
    4: (0.30, 0.11),  # FCC
    5: (0.299, 0.114),  # BT.470BG (BT.601 625)
    6: (0.299, 0.114),  # SMPTE 170M (BT.601 525)
    7: (0.212, 0.087),  # SMPTE 240M
    9: (0.2627, 0.0593),  # BT.2020 non-constant luminance
    10: (0.2627, 0.0593),  # BT.2020 constant luminance: converted as non-constant
}
_MATRIX_NAMES = {1: "BT.709", 4: "FCC", 5: "BT.601", 6: "BT.601", 7: "SMPTE 240M", 9: "BT.2020"}
_MATRIX_NAMES[10] = "BT.2020"

# Codecs whose output records full range (in the bitstream or, for FFV1, the Matroska header).
# ProRes has no range flag: decoders read it as limited, so full-range input is converted.
_STORES_FULL_RANGE = {"x264", "x265", "av1", "ffv1"}

_ACCURATE = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
_ACCURATE |= Interpolation.FULL_CHR_H_INP | Interpolation.BITEXACT


@dataclass(frozen=True)
class ColorInfo:
    """Colour tags of a stream, as FFmpeg's enum values (2 = unspecified; range 0 = unknown)."""

    primaries: int = UNSPECIFIED
    transfer: int = UNSPECIFIED
    matrix: int = UNSPECIFIED
    range: int = 0


# --------------------------------------------------------------------------------------------
# Pixel format layouts

Kind = Literal["yuv", "gray", "rgb"]


@dataclass(frozen=True)
class _Layout:
    """A pixel format as this module sees it: kind, bits, chroma subsampling, range, alpha."""

    kind: Kind
    depth: int
    shift_x: int = 0  # log2 horizontal chroma subsampling
    shift_y: int = 0  # log2 vertical chroma subsampling
    full: bool = False  # yuvj*: full range whatever the tag says
    alpha: bool = False
    planar: bool = True  # the numpy path reads and writes it directly


_CHROMA = {"420": (1, 1), "422": (1, 0), "444": (0, 0), "440": (0, 1), "411": (2, 0), "410": (2, 1)}
_YUV = re.compile(r"(yuvj?)(a?)(420|422|444|440|411|410)p(?:(9|10|12|14|16)le)?")
_GRAY = re.compile(r"gray(?:(9|10|12|14|16)le)?")
_GBR = re.compile(r"gbr(a?)p(?:(9|10|12|14|16)le)?")
# Formats that are not planar here but whose layout matters for choosing an encoder format.
_OTHER: dict[str, _Layout] = {
    "nv12": _Layout("yuv", 8, 1, 1, planar=False),
    "nv21": _Layout("yuv", 8, 1, 1, planar=False),
    "nv16": _Layout("yuv", 8, 1, 0, planar=False),
    "nv24": _Layout("yuv", 8, 0, 0, planar=False),
    "p010le": _Layout("yuv", 10, 1, 1, planar=False),
    "p012le": _Layout("yuv", 12, 1, 1, planar=False),
    "p016le": _Layout("yuv", 16, 1, 1, planar=False),
    "p210le": _Layout("yuv", 10, 1, 0, planar=False),
    "p410le": _Layout("yuv", 10, 0, 0, planar=False),
    "yuyv422": _Layout("yuv", 8, 1, 0, planar=False),
    "uyvy422": _Layout("yuv", 8, 1, 0, planar=False),
    "rgb24": _Layout("rgb", 8, planar=False),
    "bgr24": _Layout("rgb", 8, planar=False),
    "rgb0": _Layout("rgb", 8, planar=False),
    "bgr0": _Layout("rgb", 8, planar=False),
    "0rgb": _Layout("rgb", 8, planar=False),
    "rgba": _Layout("rgb", 8, alpha=True, planar=False),
    "bgra": _Layout("rgb", 8, alpha=True, planar=False),
    "argb": _Layout("rgb", 8, alpha=True, planar=False),
    "abgr": _Layout("rgb", 8, alpha=True, planar=False),
    "rgb48le": _Layout("rgb", 16, planar=False),
    "rgba64le": _Layout("rgb", 16, alpha=True, planar=False),
}


def _layout(pixel_format: str) -> _Layout | None:
    """The layout of a pixel format, or None for one this module knows nothing about."""
    if match := _YUV.fullmatch(pixel_format):
        prefix, alpha, chroma, bits = match.groups()
        shift_x, shift_y = _CHROMA[chroma]
        return _Layout(
            "yuv", int(bits or 8), shift_x, shift_y, full=prefix == "yuvj", alpha=bool(alpha)
        )
    if match := _GRAY.fullmatch(pixel_format):
        return _Layout("gray", int(match.group(1) or 8))
    if match := _GBR.fullmatch(pixel_format):
        return _Layout("rgb", int(match.group(2) or 8), alpha=bool(match.group(1)))
    return _OTHER.get(pixel_format)


def _format_name(layout: _Layout) -> str:
    """The planar pixel format for a layout (alpha dropped; yuvj spelled as yuv)."""
    suffix = "" if layout.depth == 8 else f"{layout.depth}le"
    if layout.kind == "gray":
        return f"gray{suffix}"
    if layout.kind == "rgb":
        return f"gbrp{suffix}"
    chroma = next(name for name, shifts in _CHROMA.items() if shifts == _shifts(layout))
    return f"yuv{chroma}p{suffix}"


def _shifts(layout: _Layout) -> tuple[int, int]:
    return layout.shift_x, layout.shift_y


# --------------------------------------------------------------------------------------------
# Tags


def _is_hd(width: int, height: int) -> bool:
    return width >= 1280 or height > 576


def resolve_color(color: ColorInfo, pixel_format: str, width: int, height: int) -> ColorInfo:
    """``color`` with the matrix and range that the pixels are actually in.

    An unspecified (or unknown) matrix becomes BT.709 for HD sizes (width ≥ 1280 or height >
    576) and BT.601 below; an unknown range becomes limited, or full for ``yuvj`` formats and
    RGB. Primaries and transfer stay as they are: they describe the pixels without changing
    how they are converted.
    """
    layout = _layout(pixel_format)
    if layout is not None and layout.kind == "rgb":
        return replace(color, matrix=RGB_MATRIX, range=FULL)
    matrix = color.matrix
    if matrix not in _MATRIX_WEIGHTS:
        matrix = BT709 if _is_hd(width, height) else BT601
    if layout is not None and layout.full:
        color_range = FULL
    else:
        color_range = color.range if color.range in (LIMITED, FULL) else LIMITED
    return replace(color, matrix=matrix, range=color_range)


def frame_color(frame: av.VideoFrame) -> ColorInfo:
    """The resolved colour tags of a decoded frame (see ``resolve_color``)."""
    tags = ColorInfo(
        primaries=int(frame.color_primaries),
        transfer=int(frame.color_trc),
        matrix=int(frame.colorspace),
        range=int(frame.color_range),
    )
    return resolve_color(tags, frame.format.name, frame.width, frame.height)


def output_color(
    codec: str,
    pixel_format: str,
    source: ColorInfo,
    source_pixel_format: str,
    width: int,
    height: int,
) -> ColorInfo:
    """The tags an output in ``pixel_format`` must carry so that they describe its pixels.

    The source's resolved matrix (see ``resolve_color``), primaries and transfer; full range is
    kept where the codec records it and becomes limited where it does not (ProRes), and RGB
    outputs are tagged as RGB. Set these on the encoder and pass them to ``convert_frame`` and
    ``frame_from_rgb`` so that every frame is converted to what is tagged.
    """
    resolved = resolve_color(source, source_pixel_format, width, height)
    layout = _layout(pixel_format)
    if layout is not None and layout.kind == "rgb":
        return replace(resolved, matrix=RGB_MATRIX, range=FULL)
    if resolved.matrix == RGB_MATRIX:  # an RGB source encoded as YUV
        resolved = replace(resolved, matrix=BT709 if _is_hd(width, height) else BT601)
        resolved = replace(resolved, range=LIMITED)
    if resolved.range == FULL and codec not in _STORES_FULL_RANGE:
        resolved = replace(resolved, range=LIMITED)
    return resolved


def _tag(frame: av.VideoFrame, color: ColorInfo) -> None:
    frame.color_range = color.range
    frame.colorspace = color.matrix
    frame.color_primaries = color.primaries
    frame.color_trc = color.transfer


# --------------------------------------------------------------------------------------------
# Encoder pixel formats

# --codec -> (chroma subsamplings it encodes, bit depths, kinds it keeps as they are).
_Shifts = tuple[int, int]
_ENCODER_LAYOUTS: dict[str, tuple[tuple[_Shifts, ...], tuple[int, ...], tuple[str, ...]]] = {
    "x264": (((1, 1), (1, 0), (0, 0)), (8, 10), ("yuv",)),
    "x265": (((1, 1), (1, 0), (0, 0)), (8, 10, 12), ("yuv",)),
    "av1": (((1, 1),), (8, 10), ("yuv",)),
    "prores": (((1, 0), (0, 0)), (10,), ("yuv",)),
    "ffv1": (
        ((1, 1), (1, 0), (0, 0), (0, 1), (2, 0), (2, 1)),
        (8, 9, 10, 12, 14, 16),
        ("yuv", "gray", "rgb"),
    ),
}
# FFV1's subsamplings that exist only at some depths, and RGB depths (8-bit RGB is bgr0).
_FFV1_DEPTHS = {(2, 0): (8,), (2, 1): (8,), (0, 1): (8, 10, 12)}
_FFV1_RGB_DEPTHS = (8, 9, 10, 12, 14, 16)


def _chosen_layout(codec: str, source: _Layout) -> _Layout:
    chroma_options, depths, kinds = _ENCODER_LAYOUTS[codec]
    kind = source.kind if source.kind in kinds else "yuv"
    if kind == "gray":
        shifts = (0, 0)
    elif kind == "rgb":
        shifts, depths = (0, 0), _FFV1_RGB_DEPTHS
    elif source.kind == "yuv":
        # The coarsest subsampling that keeps every chroma sample; else the finest there is.
        keeping = [c for c in chroma_options if c[0] <= source.shift_x and c[1] <= source.shift_y]
        if keeping:
            shifts = max(keeping, key=lambda c: c[0] + c[1])
        else:
            shifts = min(chroma_options, key=lambda c: c[0] + c[1])
    else:  # grey or RGB into a YUV-only codec: no chroma to lose from grey, all of it from RGB
        full_chroma = (0, 0) if source.kind == "rgb" else (1, 1)
        shifts = full_chroma if full_chroma in chroma_options else chroma_options[0]
    if codec == "ffv1" and kind == "yuv":
        depths = _FFV1_DEPTHS.get(shifts, depths)
    deeper = [d for d in depths if d >= source.depth]
    depth = min(deeper) if deeper else max(depths)
    return _Layout(kind, depth, *shifts)


def encoder_pixel_format(codec: str, source_pixel_format: str, bit_depth: int) -> str:
    """The pixel format ``codec`` encodes a source of ``source_pixel_format`` and depth in.

    Keeps the source's bit depth and chroma resolution where the codec can (x264: 4:2:0, 4:2:2
    and 4:4:4 at 8 or 10 bits; x265 also 12 bits; ProRes 4:2:2 HQ or 4444 at 10 bits; FFV1 any
    planar YUV, grey or RGB up to 16 bits; AV1 (SVT) 4:2:0 at 8 or 10 bits only), otherwise
    the nearest it has; ``downgrade_note`` says what was lost. Alpha is never kept: the engines
    interpolate colour only.
    """
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}")
    source = _layout(source_pixel_format)
    if source is None:  # something exotic: the codec's usual format at the source's depth
        return CODECS[codec][2 if bit_depth > 8 else 1]
    source = replace(source, depth=max(source.depth, bit_depth))
    chosen = _chosen_layout(codec, source)
    if chosen.kind == "rgb" and chosen.depth == 8:
        return "bgr0"
    return _format_name(chosen)


def downgrade_note(codec: str, source_pixel_format: str, chosen: str) -> str | None:
    """What encoding ``source_pixel_format`` as ``chosen`` with ``codec`` does not keep.

    None when everything is kept (grey stored as YUV and a deeper container format lose
    nothing). A short clause for the summary, such as ``"10-bit → 8-bit"``.
    """
    source = _layout(source_pixel_format)
    target = _layout(chosen)
    if source is None or target is None:
        return None
    lost: list[str] = []
    if target.depth < source.depth:
        lost.append(f"{source.depth}-bit → {target.depth}-bit")
    if source.kind == "rgb" and target.kind != "rgb":
        detail = "" if _shifts(target) == (0, 0) else f" {_chroma_name(target)}"
        lost.append(f"RGB → YUV{detail}")
    elif (source.kind == target.kind == "yuv") and (
        target.shift_x > source.shift_x or target.shift_y > source.shift_y
    ):
        lost.append(f"chroma {_chroma_name(source)} → {_chroma_name(target)}")
    notes = [f"{', '.join(lost)} (the most --codec {codec} keeps)"] if lost else []
    if source.alpha:
        notes.append("alpha channel dropped (frames are interpolated in colour only)")
    return "; ".join(notes) or None


def _chroma_name(layout: _Layout) -> str:
    names = {(1, 1): "4:2:0", (1, 0): "4:2:2", (0, 0): "4:4:4", (0, 1): "4:4:0"}
    names |= {(2, 0): "4:1:1", (2, 1): "4:1:0"}
    return names[_shifts(layout)]


def encoder_options(codec: str, pixel_format: str) -> dict[str, str]:
    """Encoder options that follow from the pixel format (ProRes: 4444 for 4:4:4, else 422 HQ)."""
    if codec == "prores":
        return {"profile": "4" if pixel_format.startswith("yuv444") else "3"}
    return {}


# --------------------------------------------------------------------------------------------
# Planes


def _dtype(depth: int) -> type[np.unsignedinteger]:
    return np.uint8 if depth <= 8 else np.uint16


def _read_planes(frame: av.VideoFrame, layout: _Layout) -> list[np.ndarray]:
    """Views of a planar frame's Y, U, V (or G, B, R) planes, cropped to their size."""
    dtype = _dtype(layout.depth)
    count = 1 if layout.kind == "gray" else 3
    planes = []
    for plane in frame.planes[:count]:
        items = plane.line_size // np.dtype(dtype).itemsize
        data = np.frombuffer(memoryview(plane), dtype)[: plane.height * items]
        planes.append(data.reshape(plane.height, items)[:, : plane.width])
    return planes


def _write_frame(
    planes: list[np.ndarray], layout: _Layout, width: int, height: int
) -> av.VideoFrame:
    frame = av.VideoFrame(width, height, _format_name(layout))
    for plane, values in zip(frame.planes, planes, strict=True):
        dtype = _dtype(layout.depth)
        items = plane.line_size // np.dtype(dtype).itemsize
        target = np.frombuffer(memoryview(plane), dtype)[: plane.height * items]
        target.reshape(plane.height, items)[:, : plane.width] = values
    return frame


def _upsample(plane: np.ndarray, shift_x: int, shift_y: int, width: int, height: int) -> np.ndarray:
    """Each chroma sample repeated over the 2^shift pixels it covers (exact inverse of
    ``_downsample``)."""
    if shift_x == 0 and shift_y == 0:
        return plane
    size = (plane.shape[1] << shift_x, plane.shape[0] << shift_y)
    repeated = cv2.resize(plane, size, interpolation=cv2.INTER_NEAREST)
    if size == (width, height):
        return repeated
    return np.ascontiguousarray(repeated[:height, :width])


def _downsample(plane: np.ndarray, shift_x: int, shift_y: int) -> np.ndarray:
    """Mean over each block of 2^shift pixels (edge pixels repeated to fill a partial block);
    float32 planes of 1 to 4 channels."""
    if shift_x == 0 and shift_y == 0:
        return plane
    height, width = plane.shape[:2]
    pad_y, pad_x = -height % (1 << shift_y), -width % (1 << shift_x)
    if pad_x or pad_y:
        plane = cv2.copyMakeBorder(plane, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
    size = ((width + pad_x) >> shift_x, (height + pad_y) >> shift_y)
    return cv2.resize(plane, size, interpolation=cv2.INTER_AREA)  # exact box mean at 2^n


def _codes(depth: int, full: bool) -> tuple[float, float, float, float]:
    """(luma offset, luma scale, chroma offset, chroma scale) of ``depth``-bit code values."""
    if full:
        peak = float((1 << depth) - 1)
        return 0.0, peak, float(1 << (depth - 1)), peak
    unit = float(1 << (depth - 8))
    return 16.0 * unit, 219.0 * unit, 128.0 * unit, 224.0 * unit


def _yuv_to_rgb_matrix(matrix: int) -> np.ndarray:
    """3×3: normalised (Y, Cb, Cr) → (R, G, B)."""
    kr, kb = _MATRIX_WEIGHTS[matrix]
    kg = 1.0 - kr - kb
    return np.array(
        [
            [1.0, 0.0, 2.0 - 2.0 * kr],
            [1.0, -(2.0 - 2.0 * kb) * kb / kg, -(2.0 - 2.0 * kr) * kr / kg],
            [1.0, 2.0 - 2.0 * kb, 0.0],
        ]
    )


def _rgb_to_yuv_matrix(matrix: int) -> np.ndarray:
    """3×3: (R, G, B) → normalised (Y, Cb, Cr)."""
    kr, kb = _MATRIX_WEIGHTS[matrix]
    kg = 1.0 - kr - kb
    return np.array(
        [
            [kr, kg, kb],
            [-kr / (2.0 - 2.0 * kb), -kg / (2.0 - 2.0 * kb), 0.5],
            [0.5, -kg / (2.0 - 2.0 * kr), -kb / (2.0 - 2.0 * kr)],
        ]
    )


def _quantise(values: np.ndarray, top: int, dtype: type) -> np.ndarray:
    """Float samples rounded to the nearest integer (ties to even) and clipped to [0, top]."""
    depth = cv2.CV_8U if dtype is np.uint8 else cv2.CV_16U
    result = cv2.addWeighted(values, 1.0, values, 0.0, 0.0, dtype=depth)  # saturating round
    if top < np.iinfo(dtype).max:
        np.minimum(result, top, out=result)
    return result


def _decode_rgb(frame: av.VideoFrame, layout: _Layout, color: ColorInfo, peak: float) -> np.ndarray:
    """A planar frame → H×W×3 float32 RGB scaled to ``peak`` (not clipped, not rounded)."""
    planes = _read_planes(frame, layout)
    width, height = frame.width, frame.height
    if layout.kind == "rgb":
        green, blue, red = planes
        scale = peak / ((1 << layout.depth) - 1)
        return cv2.merge([red, green, blue]).astype(np.float32) * np.float32(scale)
    y_offset, y_scale, c_offset, c_scale = _codes(layout.depth, color.range == FULL)
    luma = planes[0].astype(np.float32)
    if layout.kind == "gray":
        rgb = (luma - np.float32(y_offset)) * np.float32(peak / y_scale)
        return cv2.merge([rgb, rgb, rgb])
    # Chroma's part of R, G and B at chroma resolution, then repeated and added to luma's.
    to_rgb = _yuv_to_rgb_matrix(color.matrix)[:, 1:] * (peak / c_scale)
    transform = np.concatenate([to_rgb, -to_rgb.sum(axis=1, keepdims=True) * c_offset], axis=1)
    chroma = cv2.merge([planes[1], planes[2]]).astype(np.float32)
    rgb = _upsample(
        cv2.transform(chroma, transform.astype(np.float32)),
        layout.shift_x,
        layout.shift_y,
        width,
        height,
    )
    luma -= np.float32(y_offset)
    luma *= np.float32(peak / y_scale)
    rgb += luma[:, :, None]
    return rgb


def _encode_rgb(
    rgb: np.ndarray, peak: float, layout: _Layout, color: ColorInfo, width: int, height: int
) -> av.VideoFrame:
    """H×W×3 RGB (any numeric type, scaled to ``peak``) → a planar frame, rounded once."""
    dtype = _dtype(layout.depth)
    top = (1 << layout.depth) - 1
    if layout.kind == "rgb":
        scaled = rgb.astype(np.float32) * np.float32(top / peak)
        red, green, blue = cv2.split(scaled)
        planes = [_quantise(plane, top, dtype) for plane in (green, blue, red)]
        return _write_frame(planes, layout, width, height)
    y_offset, y_scale, c_offset, c_scale = _codes(layout.depth, color.range == FULL)
    to_yuv = _rgb_to_yuv_matrix(color.matrix) / peak
    weights = to_yuv * np.array([[y_scale], [c_scale], [c_scale]])
    offsets = np.array([y_offset, c_offset, c_offset])
    transform = np.concatenate([weights, offsets[:, None]], axis=1)
    rgb = rgb.astype(np.float32, copy=False)
    planes = [_transform(rgb, transform[:1], dtype, top)]
    if layout.kind == "yuv" and _shifts(layout) == (0, 0):
        planes.extend(cv2.split(_transform(rgb, transform[1:], dtype, top)))
    elif layout.kind == "yuv":
        # Chroma is linear in RGB: average RGB over each chroma block, then transform.
        small = _downsample(rgb, layout.shift_x, layout.shift_y)
        chroma = cv2.transform(small, transform[1:].astype(np.float32))
        planes.extend(_quantise(np.ascontiguousarray(chroma[:, :, i]), top, dtype) for i in (0, 1))
    return _write_frame(planes, layout, width, height)


def _reformat(frame: av.VideoFrame, **options: Any) -> av.VideoFrame:
    """swscale with a context of its own: ``VideoFrame.reformat`` caches one per frame, so two
    threads converting the same decoded frame (engine and encoder) would share it and crash."""
    return VideoReformatter().reformat(frame, **options)


def _planar(frame: av.VideoFrame) -> tuple[av.VideoFrame, _Layout] | None:
    """The frame in a layout the numpy path handles (semi-planar formats unpacked by swscale,
    which only moves samples), or None."""
    layout = _layout(frame.format.name)
    if layout is None:
        return None
    if layout.planar:
        return frame, layout
    if layout.kind != "yuv":
        return None
    unpacked = replace(layout, planar=True)
    name = _format_name(unpacked)
    moved = _reformat(frame, format=name, interpolation=_ACCURATE)
    if moved.format.name != name:  # pragma: no cover - swscale always gives what is asked
        return None
    return moved, unpacked


# --------------------------------------------------------------------------------------------
# Conversions


def rgb_from_frame(frame: av.VideoFrame, deep: bool) -> np.ndarray:
    """Decoded frame → H×W×3 RGB (uint8, or uint16 on the full 16-bit scale when ``deep``).

    Uses the frame's own matrix and range (``frame_color``), rounds once.
    """
    peak = 65535 if deep else 255
    dtype = np.uint16 if deep else np.uint8
    planar = _planar(frame)
    if planar is None:
        return _swscale_rgb(frame, deep)
    source, layout = planar
    color = frame_color(frame)
    if layout.kind == "rgb" or (layout.depth > 8 and not deep):
        return _quantise(_decode_rgb(source, layout, color, float(peak)), peak, dtype)
    # Integer samples in, integer RGB out: OpenCV sums in float and rounds once.
    planes = _read_planes(source, layout)
    if layout.kind == "gray":
        y_offset, y_scale, _, _ = _codes(layout.depth, color.range == FULL)
        gain = peak / y_scale
        transform = np.array([[gain, -y_offset * gain]] * 3)
        return _transform(planes[0], transform, dtype, peak)
    width, height = frame.width, frame.height
    chroma = [
        _upsample(plane, layout.shift_x, layout.shift_y, width, height) for plane in planes[1:]
    ]
    merged = cv2.merge([planes[0], *chroma])
    transform = _yuv_codes_to_rgb(color.matrix, layout.depth, color.range == FULL, peak)
    return _transform(merged, transform, dtype, peak)


@functools.lru_cache(maxsize=16)
def _yuv_codes_to_rgb(matrix: int, depth: int, full: bool, peak: int) -> np.ndarray:
    """3×4 float32: (Y, Cb, Cr, 1) code values → RGB scaled to ``peak``. Made once per kind of
    input (a small matrix product per frame woke BLAS's threads, which then spun)."""
    y_offset, y_scale, c_offset, c_scale = _codes(depth, full)
    weights = _yuv_to_rgb_matrix(matrix) * peak / np.array([y_scale, c_scale, c_scale])
    offsets = -(weights * np.array([y_offset, c_offset, c_offset])).sum(axis=1)
    transform = np.concatenate([weights, offsets[:, None]], axis=1).astype(np.float32)
    transform.flags.writeable = False
    return transform


def _transform(image: np.ndarray, matrix: np.ndarray, dtype: type, top: int) -> np.ndarray:
    """``matrix`` (outputs × channels + 1) applied to every pixel in float32, then rounded once
    to ``dtype`` and clipped to [0, top]. (OpenCV's own integer transform is fixed-point and
    misses the nearest value by up to 0.13.)"""
    if image.dtype != np.float32:
        image = cv2.addWeighted(image, 1.0, image, 0.0, 0.0, dtype=cv2.CV_32F)
    return _quantise(cv2.transform(image, matrix.astype(np.float32)), top, dtype)


def _swscale_rgb(frame: av.VideoFrame, deep: bool) -> np.ndarray:
    color = frame_color(frame)
    rgb = _reformat(
        frame,
        format="rgb48le" if deep else "rgb24",
        src_colorspace=_SWS_MATRIX.get(color.matrix),
        src_color_range=color.range,
        dst_color_range=FULL,
        interpolation=_ACCURATE,
    )
    return rgb.to_ndarray()


# AVColorSpace -> swscale's name for the same YUV matrix (for formats the numpy path lacks).
_SWS_MATRIX = {1: "itu709", 4: "fcc", 5: "itu601", 6: "smpte170m", 7: "smpte240m", 9: "bt2020"}
_SWS_MATRIX[10] = "bt2020"
_RANGE_NAMES = {0: "UNSPECIFIED", 1: "MPEG", 2: "JPEG"}  # AVColorRange -> swscale's names


def frame_from_rgb(image: np.ndarray, pixel_format: str, color: ColorInfo) -> av.VideoFrame:
    """H×W×3 RGB (uint8 or uint16 full scale) → a frame in ``pixel_format`` tagged ``color``.

    ``color`` should be the output's tags (``output_color``); an unspecified matrix or range is
    resolved the same way as for the source (``resolve_color``).
    """
    height, width = image.shape[:2]
    color = resolve_color(color, pixel_format, width, height)
    peak = 65535.0 if image.dtype == np.uint16 else 255.0
    layout = _layout(pixel_format)
    if layout is not None and layout.planar:
        frame = _encode_rgb(image, peak, layout, color, width, height)
        if frame.format.name != pixel_format:  # yuvj*: same samples, old name
            frame = _rename(frame, pixel_format)
    else:
        source = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(image), format="rgb48le" if image.dtype == np.uint16 else "rgb24"
        )
        frame = _reformat(
            source,
            format=pixel_format,
            src_color_range=FULL,
            dst_colorspace=_SWS_MATRIX.get(color.matrix),
            dst_color_range=color.range,
            interpolation=_ACCURATE,
        )
    _tag(frame, color)
    return frame


def _rename(frame: av.VideoFrame, pixel_format: str) -> av.VideoFrame:
    """The same samples under another name of the same layout (yuv420p ↔ yuvj420p)."""
    renamed = av.VideoFrame(frame.width, frame.height, pixel_format)
    for target, source in zip(renamed.planes, frame.planes, strict=True):
        np.frombuffer(memoryview(target), np.uint8)[:] = np.frombuffer(memoryview(source), np.uint8)
    return renamed


def convert_frame(frame: av.VideoFrame, pixel_format: str, color: ColorInfo) -> av.VideoFrame:
    """A decoded frame → ``pixel_format`` with the tags ``color``, without an RGB round trip.

    The same frame object comes back (re-tagged, its picture type cleared so the encoder
    places keyframes itself) when it already has the samples asked for: same layout, depth,
    range and matrix (``yuvj420p`` counts as ``yuv420p`` tagged full range). Otherwise each
    plane is rescaled for depth and range and its chroma resampled, in float with one
    rounding; only a change of matrix, or between YUV and RGB, goes through (unrounded) RGB.
    """
    target_layout = _layout(pixel_format)
    source_color = frame_color(frame)
    color = resolve_color(color, pixel_format, frame.width, frame.height)
    planar = _planar(frame)
    if target_layout is None or not target_layout.planar or target_layout.alpha or planar is None:
        return _convert_swscale(frame, pixel_format, source_color, color)
    source, layout = planar
    same_samples = (
        replace(layout, full=False, alpha=False) == replace(target_layout, full=False)
        and (layout.kind == "rgb" or source_color.range == color.range)
        and (layout.kind != "yuv" or source_color.matrix == color.matrix)
    )
    if same_samples and source.format.name == pixel_format:
        result = source
    elif same_samples:
        planes = [plane.copy() for plane in _read_planes(source, layout)]
        result = _write_frame(planes, target_layout, frame.width, frame.height)
        if result.format.name != pixel_format:
            result = _rename(result, pixel_format)
    elif layout.kind == target_layout.kind == "yuv" or (
        {layout.kind, target_layout.kind} <= {"yuv", "gray"} and source_color.matrix == color.matrix
    ):
        result = _convert_yuv(source, layout, source_color, target_layout, color)
        if result.format.name != pixel_format:
            result = _rename(result, pixel_format)
    else:
        rgb = _decode_rgb(source, layout, source_color, 1.0)
        result = _encode_rgb(rgb, 1.0, target_layout, color, frame.width, frame.height)
    if result is not frame:
        _copy_timing(frame, result)
    _tag(result, color)
    result.pict_type = av.video.frame.PictureType.NONE
    return result


def _copy_timing(source: av.VideoFrame, target: av.VideoFrame) -> None:
    target.pts = source.pts
    if source.time_base is not None:
        target.time_base = source.time_base


def _convert_yuv(
    frame: av.VideoFrame,
    layout: _Layout,
    source_color: ColorInfo,
    target: _Layout,
    color: ColorInfo,
) -> av.VideoFrame:
    """YUV or grey → YUV or grey: rescale each plane for depth and range, resample chroma."""
    if source_color.matrix != color.matrix and layout.kind == target.kind == "yuv":
        rgb = _decode_rgb(frame, layout, source_color, 1.0)
        return _encode_rgb(rgb, 1.0, target, color, frame.width, frame.height)
    planes = _read_planes(frame, layout)
    width, height = frame.width, frame.height
    y_offset, y_scale, c_offset, c_scale = _codes(layout.depth, source_color.range == FULL)
    to_y_offset, to_y_scale, to_c_offset, to_c_scale = _codes(target.depth, color.range == FULL)
    top = (1 << target.depth) - 1
    dtype = _dtype(target.depth)
    ratio = np.float32(to_y_scale / y_scale)
    luma = (planes[0].astype(np.float32) - np.float32(y_offset)) * ratio + np.float32(to_y_offset)
    result = [_quantise(luma, top, dtype)]
    if target.kind == "yuv":
        chroma_height = -(-height >> target.shift_y)
        chroma_width = -(-width >> target.shift_x)
        for index in (1, 2):
            if layout.kind == "gray":
                result.append(np.full((chroma_height, chroma_width), to_c_offset, dtype))
                continue
            plane = planes[index].astype(np.float32)
            plane = (plane - np.float32(c_offset)) * np.float32(to_c_scale / c_scale)
            plane = _upsample(plane, layout.shift_x, layout.shift_y, width, height)
            plane = _downsample(plane, target.shift_x, target.shift_y) + np.float32(to_c_offset)
            result.append(_quantise(plane, top, dtype))
    return _write_frame(result, target, width, height)


def _convert_swscale(
    frame: av.VideoFrame, pixel_format: str, source: ColorInfo, color: ColorInfo
) -> av.VideoFrame:
    converted = _reformat(
        frame,
        format=pixel_format,
        src_colorspace=_SWS_MATRIX.get(source.matrix),
        src_color_range=source.range,
        dst_colorspace=_SWS_MATRIX.get(color.matrix),
        dst_color_range=color.range,
        interpolation=_ACCURATE,
    )
    if converted is frame:
        return frame
    _copy_timing(frame, converted)
    _tag(converted, color)
    converted.pict_type = av.video.frame.PictureType.NONE
    return converted
