"""Middlebury ``.flo`` optical-flow files: float32 tag 202021.25, int32 width, height, H×W×2."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from frameinterp.errors import InputNotFoundError, InvalidInputError, UnsupportedMediaError
from frameinterp.files import write_atomically

TAG = np.float32(202021.25)
MAX_SIDE = 100_000  # a larger header is a corrupt file, not a real flow field


def read_flo(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a ``.flo`` file into an H×W×2 float32 array (x then y displacement in pixels)."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"flow file not found: {path}")
    data = path.read_bytes()
    if len(data) < 12:
        raise UnsupportedMediaError(f"{path} is too short to be a .flo file ({len(data)} bytes)")
    tag = np.frombuffer(data, dtype="<f4", count=1)[0]
    if tag != TAG:
        raise UnsupportedMediaError(
            f"{path} is not a .flo file: header tag is {tag!r}, expected 202021.25"
        )
    width, height = (int(v) for v in np.frombuffer(data, dtype="<i4", count=2, offset=4))
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise UnsupportedMediaError(f"{path} has an invalid size {width}×{height} in its header")
    expected = 12 + width * height * 2 * 4
    if len(data) < expected:
        raise UnsupportedMediaError(
            f"{path} is truncated: {len(data)} bytes, expected {expected} for {width}×{height}"
        )
    flow = np.frombuffer(data, dtype="<f4", count=width * height * 2, offset=12)
    return flow.reshape(height, width, 2).astype(np.float32)


def write_flo(path: str | os.PathLike[str], flow: np.ndarray) -> None:
    """Write an H×W×2 array as a ``.flo`` file (atomically: temp name, then rename)."""
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise InvalidInputError(f"flow must be H×W×2, got shape {flow.shape}")
    height, width, _ = flow.shape
    header = TAG.astype("<f4").tobytes() + np.array([width, height], dtype="<i4").tobytes()
    write_atomically(path, header + np.ascontiguousarray(flow, dtype="<f4").tobytes())
