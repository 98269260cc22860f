"""Sampling host arrays at given positions with OpenCV: the one remap the CPU paths share.

Positions are h×w×2 float32 arrays of (x, y) pixel coordinates (pixel ``i`` centred at ``i``);
edges are repeated. The flow estimate, the classic engine's synthesis and the motion
correction at the output time all sample through here.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

__all__ = ["fixed_point", "pixel_grid", "sample", "warp"]

_REPLICATE = cv2.BORDER_REPLICATE


@functools.lru_cache(maxsize=8)
def pixel_grid(height: int, width: int, x0: int = 0, y0: int = 0) -> np.ndarray:
    """height×width×2 float32 pixel coordinates (x, y) of a region starting at (x0, y0);
    cached (read-only), since every frame of a video samples the same regions."""
    grid = np.empty((height, width, 2), dtype=np.float32)
    grid[:, :, 0] = np.arange(x0, x0 + width, dtype=np.float32)[None, :]
    grid[:, :, 1] = np.arange(y0, y0 + height, dtype=np.float32)[:, None]
    grid.flags.writeable = False
    return grid


def sample(
    image: np.ndarray,
    positions: np.ndarray,
    fixed: np.ndarray | None = None,
    interpolation: int = cv2.INTER_LINEAR,
) -> np.ndarray:
    """``image`` sampled at ``positions`` (h×w×2 float32), or at the fixed-point maps
    ``positions``, ``fixed`` that ``fixed_point`` made from them."""
    return cv2.remap(image, positions, fixed, interpolation, borderMode=_REPLICATE)  # type: ignore[arg-type]


def fixed_point(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """h×w×2 float32 positions → OpenCV's fixed-point maps (1/32 pixel), for repeated use."""
    return cv2.convertMaps(positions, None, cv2.CV_16SC2)  # type: ignore[call-overload]


def warp(image: np.ndarray, flow: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """``image`` sampled at ``p + flow(p)`` for every pixel ``p`` (flow: h×w×2 float32)."""
    height, width = flow.shape[:2]
    return sample(image, cv2.add(flow, pixel_grid(height, width)), interpolation=interpolation)
