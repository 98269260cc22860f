"""Still images in and out (PNG, JPEG, TIFF, WebP, BMP) through OpenCV, bit depth preserved.

How the formats map onto the engines' (3, H, W) float frames in [0, 1]:

- 8-bit and 16-bit images are scaled by 255 and 65535; ``save_image`` writes the bit depth it
  is given (16-bit only to PNG and TIFF: JPEG, WebP and BMP hold 8 bits, so 16-bit data written
  there is rounded to 8 bits).
- Greyscale images are repeated into three equal channels (the engines work on colour and
  keep equal channels equal) and written back as one channel.
- An alpha channel is kept apart from the colour: the colour is interpolated by the engine
  (straight, not premultiplied) and the alpha is cross-faded in time, ``(1-t)·α0 + t·α1``.
  That keeps opaque content exactly opaque; a moving soft edge gets a soft, ghosted alpha.

Writes are atomic: the encoded bytes go to a hidden temporary file in the target folder, which
is renamed over the target only once complete, so a failed run never leaves half a file.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from frameinterp.errors import InputNotFoundError, OutputError, UnsupportedMediaError
from frameinterp.files import write_atomically
from frameinterp.transfer import image_from_tensor, image_to_tensor, to_uint8

__all__ = [
    "IMAGE_SUFFIXES",
    "Picture",
    "load_image",
    "read_pixels",
    "read_rgb",
    "save_image",
    "save_pixels",
]

# The one list of image suffixes: what OpenCV (opencv-python-headless) both reads and writes.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")
_SIXTEEN_BIT_SUFFIXES = (".png", ".tif", ".tiff")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Picture:
    """A decoded image: colour (3×H×W float in [0, 1]), optional alpha (1×H×W), and its format."""

    colour: torch.Tensor
    alpha: torch.Tensor | None
    bit_depth: int  # 8 or 16
    grey: bool

    @property
    def height(self) -> int:
        return int(self.colour.shape[1])

    @property
    def width(self) -> int:
        return int(self.colour.shape[2])


def _damaged_png(data: bytes) -> str | None:
    """Why a PNG file is damaged (truncated, a chunk that fails its CRC), or None if whole.

    Checked before OpenCV sees the bytes, because libpng prints its own complaint to stderr for
    a damaged file; this way a damaged file gets exactly one line, ours. It costs one CRC pass.
    """
    position = len(_PNG_SIGNATURE)
    while position + 12 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if end > len(data):
            return f"it is cut short inside its {kind.decode('latin-1')!r} chunk"
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[position + 4 : end - 4]) != crc:
            return f"its {kind.decode('latin-1')!r} chunk fails its checksum"
        if kind == b"IEND":
            return None
        position = end
    return "it is cut short (no end chunk)"


def read_pixels(path: str | os.PathLike[str]) -> np.ndarray:
    """An image file's own samples: H×W×C uint8 or uint16, channels in RGB(A) order.

    C is 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA). The one image reader of the package:
    a missing file, a folder, a damaged or unreadable file, or samples that are not 8- or
    16-bit integers raise a one-line ``FrameInterpError``.
    """
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(f"image not found: {path}")
    if path.is_dir():
        raise UnsupportedMediaError(f"expected an image file, got a folder: {path}")
    data = path.read_bytes()
    if data.startswith(_PNG_SIGNATURE):
        damage = _damaged_png(data)
        if damage is not None:
            raise UnsupportedMediaError(f"cannot read {path}: the PNG file is damaged ({damage})")
    encoded = np.frombuffer(data, dtype=np.uint8)
    pixels = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED) if encoded.size else None
    if pixels is None:
        raise UnsupportedMediaError(
            f"cannot read {path} as an image; expected PNG, JPEG, TIFF, WebP or BMP"
        )
    if pixels.dtype not in (np.uint8, np.uint16):
        raise UnsupportedMediaError(
            f"{path} holds {pixels.dtype} samples; expected 8-bit or 16-bit integers"
        )
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    channels = pixels.shape[2]
    if channels not in (1, 2, 3, 4):
        raise UnsupportedMediaError(f"{path} has {channels} channels; expected 1, 2, 3 or 4")
    if channels >= 3:  # OpenCV's BGR(A) → RGB(A)
        pixels = pixels[:, :, [2, 1, 0, 3][:channels]]
    return np.ascontiguousarray(pixels)


def read_rgb(path: str | os.PathLike[str], dtype: np.dtype | type | None = None) -> np.ndarray:
    """An image file as H×W×3 RGB: grey repeated into three channels, alpha dropped.

    ``dtype=None`` keeps the file's depth (uint8 or uint16); ``np.uint8`` rounds 16-bit
    samples to 8 bits (``frameinterp.transfer.to_uint8``).
    """
    pixels = read_pixels(path)
    rgb = np.repeat(pixels[:, :, :1], 3, axis=2) if pixels.shape[2] <= 2 else pixels[:, :, :3]
    if dtype is not None and np.dtype(dtype) == np.uint8:
        rgb = to_uint8(rgb)
    return np.ascontiguousarray(rgb)


def load_image(path: str | os.PathLike[str]) -> Picture:
    """Read an image file into a ``Picture`` (see the module notes for grey and alpha)."""
    pixels = read_pixels(path)
    bit_depth = 16 if pixels.dtype == np.uint16 else 8
    grey = pixels.shape[2] <= 2
    planes = image_to_tensor(pixels)
    colour = planes[:1].expand(3, -1, -1).contiguous() if grey else planes[:3]
    alpha = planes[-1:].clone() if pixels.shape[2] in (2, 4) else None
    if alpha is not None and not grey:
        colour = colour.clone()  # let the 4-plane buffer go
    return Picture(colour, alpha, bit_depth, grey)


def _quantise(plane: torch.Tensor, bit_depth: int) -> np.ndarray:
    """One H×W plane in [0, 1] → clipped, scaled, rounded 8/16-bit samples."""
    return image_from_tensor(plane[None], np.uint16 if bit_depth == 16 else np.uint8)[:, :, 0]


def check_image_suffix(path: Path) -> str:
    """``path``'s suffix, lower-case, if it names an image type we write; else ``OutputError``."""
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise OutputError(
            f"cannot write {path}: unknown image type {suffix or '(none)'}; "
            f"use one of {', '.join(IMAGE_SUFFIXES)}"
        )
    return suffix


def _encode(path: Path, planes: list[np.ndarray]) -> bytes:
    """Planes in RGB(A) or grey(+alpha) order, 8- or 16-bit → the file's bytes."""
    suffix = check_image_suffix(path)
    if suffix not in _SIXTEEN_BIT_SUFFIXES:
        planes = [to_uint8(plane) for plane in planes]
    if len(planes) in (2, 4) and suffix in (".jpg", ".jpeg"):  # JPEG has no alpha
        planes = planes[:-1]
    if len(planes) == 2:  # OpenCV writes no grey + alpha: store equal colour channels and alpha
        planes = [planes[0]] * 3 + planes[1:]
    if len(planes) >= 3:
        planes = [planes[2], planes[1], planes[0], *planes[3:]]  # RGB(A) → OpenCV's BGR(A)
    pixels = planes[0] if len(planes) == 1 else cv2.merge(planes)
    parameters = [cv2.IMWRITE_JPEG_QUALITY, 95] if suffix in (".jpg", ".jpeg") else []
    if suffix == ".webp":
        parameters = [cv2.IMWRITE_WEBP_QUALITY, 101]  # above 100 means lossless
    ok, encoded = cv2.imencode(suffix, pixels, parameters)
    if not ok:
        raise OutputError(f"OpenCV could not encode {path.name} as {suffix}")
    return encoded.tobytes()


def save_pixels(path: str | os.PathLike[str], pixels: np.ndarray) -> Path:
    """Write H×W×C (or H×W) uint8/uint16 pixels, laid out as ``read_pixels`` returns them.

    The file type follows the suffix; 16-bit pixels are rounded to 8 bits for types that hold
    only 8 (JPEG, WebP, BMP), and JPEG drops alpha. Written atomically.
    """
    path = Path(path)
    if pixels.dtype not in (np.uint8, np.uint16):
        raise OutputError(f"pixels must be uint8 or uint16 to be written, got {pixels.dtype}")
    planes = [pixels] if pixels.ndim == 2 else [pixels[:, :, c] for c in range(pixels.shape[2])]
    write_atomically(path, _encode(path, planes))
    return path


def save_image(
    path: str | os.PathLike[str],
    colour: torch.Tensor,
    alpha: torch.Tensor | None = None,
    bit_depth: int = 8,
    grey: bool = False,
) -> Path:
    """Write a 3×H×W colour frame in [0, 1] (plus optional 1×H×W alpha) to ``path``, atomically.

    The file type follows the suffix; values are clipped to [0, 1] and rounded.
    """
    path = Path(path)
    if bit_depth not in (8, 16):
        raise OutputError(f"bit depth must be 8 or 16, got {bit_depth}")
    if path.suffix.lower() not in _SIXTEEN_BIT_SUFFIXES:
        bit_depth = 8
    # Plane by plane, so a 4K frame needs one float plane of scratch, not three.
    colours = [colour.mean(0)] if grey else [colour[channel] for channel in range(3)]
    planes = [_quantise(plane, bit_depth) for plane in colours]
    if alpha is not None:
        planes.append(_quantise(alpha[0], bit_depth))
    write_atomically(path, _encode(path, planes))
    return path
