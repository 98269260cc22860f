"""The paper's comparison of summation, average, linear and softmax splatting on one frame pair.

Warps the first frame towards the second by ``t * flow`` for t from 0 to 1 and lays the four
modes out as a labelled grid: summation brightens where pixels collide and leaves holes dark,
average blends foreground and background, linear and softmax weighting keep the foreground.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import torch

from frameinterp.errors import InvalidInputError, OutputError
from frameinterp.files import check_output_folder, write_atomically
from frameinterp.flo import read_flo
from frameinterp.images import IMAGE_SUFFIXES, load_image
from frameinterp.ops import backwarp, softsplat
from frameinterp.transfer import image_from_tensor

MODES = ("sum", "avg", "linear", "soft")
LABELS = {"sum": "summation", "avg": "average", "linear": "linear", "soft": "softmax"}


def importance_metric(one: torch.Tensor, two: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Brightness-constancy error ``|one − backwarp(two, flow)|``, averaged over channels."""
    return (one - backwarp(two, flow)).abs().mean(dim=1, keepdim=True)


def splat_modes(
    one: torch.Tensor, two: torch.Tensor, flow: torch.Tensor, times: list[float]
) -> dict[str, list[torch.Tensor]]:
    """Frame one warped to every time in ``times`` with each of the four modes."""
    metric = importance_metric(one, two, flow)
    weights = {
        "sum": None,
        "avg": None,
        "linear": (0.3 - metric).clamp(0.001, 1.0),
        "soft": (-20.0 * metric).clamp(-20.0, 20.0),
    }
    return {
        mode: [softsplat(one, flow * t, weights[mode], mode=mode) for t in times] for mode in MODES
    }


def _to_image(tensor: torch.Tensor) -> np.ndarray:
    rgb = image_from_tensor(tensor[0], np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])  # OpenCV writes BGR


def _label(image: np.ndarray, text: str) -> np.ndarray:
    """White text on a dark box, readable on any background."""
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.5
    (width, height), baseline = cv2.getTextSize(text, font, scale, 1)
    cv2.rectangle(image, (0, 0), (width + 8, height + baseline + 8), (0, 0, 0), cv2.FILLED)
    cv2.putText(image, text, (4, height + 4), font, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return image


def compose_grid(
    results: dict[str, list[torch.Tensor]], times: list[float], width: int
) -> np.ndarray:
    """Rows are modes, columns are times; each cell scaled to ``width`` and labelled."""
    rows = []
    for mode, frames in results.items():
        cells = []
        for t, frame in zip(times, frames, strict=True):
            image = _to_image(frame)
            height = round(image.shape[0] * width / image.shape[1])
            cell = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
            cells.append(_label(cell, f"{LABELS[mode]} t={t:.1f}"))
        rows.append(np.concatenate(cells, axis=1))
    return np.concatenate(rows, axis=0)


def load_pair(folder: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``one.png``, ``two.png`` and ``flow.flo`` from ``folder`` as 1×C×H×W tensors."""
    one, two = (load_image(folder / name).colour[None] for name in ("one.png", "two.png"))
    flow = torch.from_numpy(read_flo(folder / "flow.flo")).permute(2, 0, 1).unsqueeze(0)
    return one, two, flow


def render_splat_demo(
    folder: str | os.PathLike[str],
    output: str | os.PathLike[str],
    steps: int = 11,
    width: int = 320,
    video: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the labelled grid of the four splatting modes for the pair in ``folder``.

    With ``video``, also write a short clip (10 fps): the four modes side by side, t running
    from 0 to 1, one frame per step.
    """
    output = Path(output)
    if output.suffix.lower() not in IMAGE_SUFFIXES:
        raise InvalidInputError(
            f"the demo writes an image ({', '.join(IMAGE_SUFFIXES)}), not {output.name}"
        )
    check_output_folder(output)
    if video is not None:
        check_output_folder(Path(video))
    one, two, flow = load_pair(Path(folder))
    times = [float(t) for t in np.linspace(0.0, 1.0, steps)]
    with torch.inference_mode():
        results = splat_modes(one, two, flow, times)
    grid = compose_grid(results, times, width)
    ok, encoded = cv2.imencode(output.suffix.lower(), grid)
    if not ok:
        raise OutputError(f"OpenCV could not encode {output.name}")
    if video is not None:
        _write_clip(Path(video), results, times, width)
    return write_atomically(output, encoded.tobytes())


def _write_clip(
    path: Path, results: dict[str, list[torch.Tensor]], times: list[float], width: int
) -> None:
    """The modes side by side, one frame per time, as H.264 (temporary name, then rename)."""
    from frameinterp.encode import VideoWriter

    frames = []
    for step, t in enumerate(times):
        cells = compose_grid(
            {mode: [frames_[step]] for mode, frames_ in results.items()}, [t], width
        )
        frames.append(np.concatenate(np.split(cells, len(results), axis=0), axis=1))
    height, clip_width = (side - side % 2 for side in frames[0].shape[:2])  # 4:2:0 needs even
    writer = VideoWriter.for_frames(path, width=clip_width, height=height, rate=Fraction(10))
    try:
        for step, bgr in enumerate(frames):
            writer.write(np.ascontiguousarray(bgr[:height, :clip_width, ::-1]), Fraction(step, 10))
        writer.commit()
    finally:
        writer.abort()
