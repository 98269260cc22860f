"""Still images in and out (PNG, JPEG, TIFF, WebP) through OpenCV, bit depth preserved.

How the formats map onto the engines' (3, H, W) float frames in [0, 1]:

- 8-bit and 16-bit images are scaled by 255 and 65535; ``save_image`` writes the bit depth it
  is given (16-bit only to PNG and TIFF: JPEG and WebP hold 8 bits, so 16-bit data written
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
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from frameinterp.errors import InputNotFoundError, OutputError, UnsupportedMediaError
from frameinterp.files import write_atomically

__all__ = ["IMAGE_SUFFIXES", "Picture", "load_image", "save_image"]

# Suffixes cv2 can both read and write in opencv-python-headless.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")
_SIXTEEN_BIT_SUFFIXES = (".png", ".tif", ".tiff")


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


def load_image(path: str | os.PathLike[str]) -> Picture:
    """Read an image file into a ``Picture`` (see the module notes for grey and alpha)."""
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(f"image not found: {path}")
    if path.is_dir():
        raise UnsupportedMediaError(f"expected an image file, got a folder: {path}")
    data = np.fromfile(path, dtype=np.uint8)
    pixels = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if pixels is None:
        raise UnsupportedMediaError(
            f"cannot read {path} as an image; expected PNG, JPEG, TIFF or WebP"
        )
    if pixels.dtype == np.uint8:
        bit_depth, peak = 8, 255.0
    elif pixels.dtype == np.uint16:
        bit_depth, peak = 16, 65535.0
    else:
        raise UnsupportedMediaError(
            f"{path} holds {pixels.dtype} samples; expected 8-bit or 16-bit integers"
        )
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    # Reorder while still 8/16-bit and scale in place: one float copy of the image, not three.
    samples = torch.from_numpy(pixels if pixels.ndim == 3 else pixels[:, :, None])
    channels = samples.shape[2]
    if channels not in (1, 2, 3, 4):
        raise UnsupportedMediaError(f"{path} has {channels} channels; expected 1, 2, 3 or 4")
    if channels <= 2:  # grey, or grey + alpha
        order = [0, 0, 0] + ([1] if channels == 2 else [])
    else:
        order = [2, 1, 0] + ([3] if channels == 4 else [])  # BGR(A) → RGB(A)
    planes = samples.permute(2, 0, 1)[order].to(torch.float32).div_(peak)
    colour = planes[:3]
    alpha = planes[3:4].clone() if planes.shape[0] == 4 else None
    if alpha is not None:
        colour = colour.clone()  # let the 4-plane buffer go
    if channels <= 2:
        return Picture(colour, alpha, bit_depth, grey=True)
    return Picture(colour, alpha, bit_depth, grey=False)


def _quantise(plane: torch.Tensor, bit_depth: int) -> np.ndarray:
    """One H×W plane in [0, 1] → clipped, scaled, rounded 8/16-bit samples (one float copy)."""
    peak = 65535.0 if bit_depth == 16 else 255.0
    scaled = plane.detach().to("cpu", torch.float32, copy=True).clamp_(0.0, 1.0)
    rounded = scaled.mul_(peak).round_().numpy()
    return rounded.astype(np.uint16 if bit_depth == 16 else np.uint8)


def _encode(
    path: Path, colour: torch.Tensor, alpha: torch.Tensor | None, bit_depth: int, grey: bool
) -> bytes:
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise OutputError(
            f"cannot write {path}: unknown image type {suffix or '(none)'}; "
            f"use one of {', '.join(IMAGE_SUFFIXES)}"
        )
    if suffix not in _SIXTEEN_BIT_SUFFIXES:
        bit_depth = 8
    # Plane by plane, so a 4K frame needs one float plane of scratch, not three.
    if grey:
        planes = [_quantise(colour.mean(0), bit_depth)]
    else:
        planes = [_quantise(colour[channel], bit_depth) for channel in (2, 1, 0)]  # BGR
    if alpha is not None and suffix not in (".jpg", ".jpeg"):  # JPEG has no alpha
        if grey:  # OpenCV writes no grey + alpha: store equal colour channels and the alpha
            planes = planes * 3
        planes.append(_quantise(alpha[0], bit_depth))
    pixels = planes[0] if len(planes) == 1 else cv2.merge(planes)
    parameters = [cv2.IMWRITE_JPEG_QUALITY, 95] if suffix in (".jpg", ".jpeg") else []
    if suffix == ".webp":
        parameters = [cv2.IMWRITE_WEBP_QUALITY, 101]  # above 100 means lossless
    ok, encoded = cv2.imencode(suffix, pixels, parameters)
    if not ok:
        raise OutputError(f"OpenCV could not encode {path.name} as {suffix}")
    return encoded.tobytes()


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
    write_atomically(path, _encode(path, colour, alpha, bit_depth, grey))
    return path
