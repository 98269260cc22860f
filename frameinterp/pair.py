"""Interpolate between two still images: the library behind ``frameinterp pair``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from frameinterp.engines import Interpolator, create_interpolator
from frameinterp.errors import InvalidInputError, OutputError
from frameinterp.files import check_output_folder
from frameinterp.images import IMAGE_SUFFIXES, Picture, load_image, save_image

__all__ = ["evenly_spaced_times", "interpolate_pair", "plan_outputs"]


def evenly_spaced_times(count: int) -> list[float]:
    """``count`` times that split (0, 1) into equal steps: 1 → [0.5], 3 → [0.25, 0.5, 0.75]."""
    if count < 1:
        raise InvalidInputError(f"--count must be 1 or more, got {count}")
    return [index / (count + 1) for index in range(1, count + 1)]


def _check_times(times: Sequence[float]) -> list[float]:
    checked = []
    for t in times:
        if not 0.0 < float(t) < 1.0:
            raise InvalidInputError(
                f"time {t} is outside (0, 1); 0 is the first image and 1 the second, "
                "so ask for a time strictly between them, e.g. --time 0.5"
            )
        checked.append(float(t))
    if not checked:
        raise InvalidInputError("no time given; use --time T or --count N")
    return checked


def plan_outputs(
    first: Path, second: Path, count: int, output: str | os.PathLike[str] | None
) -> list[Path]:
    """Where the ``count`` frames go; never onto one of the inputs.

    No ``output``: next to ``first``, named ``<first>_<second>_interp[_NN].<suffix of first>``.
    ``output`` an existing folder: those names inside it. Otherwise ``output`` is the file for
    a single frame, or the pattern ``<stem>_NN<suffix>`` for several.
    """
    if output is None:
        folder, stem, suffix = first.parent, f"{first.stem}_{second.stem}_interp", first.suffix
    elif Path(output).is_dir():
        folder, stem, suffix = Path(output), f"{first.stem}_{second.stem}_interp", first.suffix
    else:
        target = Path(output)
        folder, stem, suffix = target.parent, target.stem, target.suffix
        if suffix.lower() not in IMAGE_SUFFIXES:
            raise OutputError(
                f"cannot write {target}: unknown image type {suffix or '(none)'}; "
                f"use one of {', '.join(IMAGE_SUFFIXES)}"
            )
        if count == 1:
            return [_not_an_input(target, first, second)]
    if suffix.lower() not in IMAGE_SUFFIXES:
        suffix = ".png"
    if count == 1:  # (a single named file returned above)
        return [_not_an_input(folder / f"{stem}{suffix}", first, second)]
    digits = max(2, len(str(count)))
    return [
        _not_an_input(folder / f"{stem}_{index:0{digits}d}{suffix}", first, second)
        for index in range(1, count + 1)
    ]


def _not_an_input(path: Path, first: Path, second: Path) -> Path:
    for source in (first, second):
        if path.resolve() == source.resolve():
            raise OutputError(f"refusing to overwrite the input {source}; choose another -o")
    return path


def _check_pair(first: Picture, second: Picture, first_path: Path, second_path: Path) -> None:
    if (first.width, first.height) != (second.width, second.height):
        raise InvalidInputError(
            f"the images differ in size: {first_path.name} is {first.width}×{first.height}, "
            f"{second_path.name} is {second.width}×{second.height}; resize one to match"
        )


def interpolate_pair(
    first: str | os.PathLike[str],
    second: str | os.PathLike[str],
    times: Sequence[float] | None = None,
    count: int | None = None,
    output: str | os.PathLike[str] | None = None,
    engine: str = "classic",
    device: str | torch.device = "auto",
    weights: str | Path | None = None,
    interpolator: Interpolator | None = None,
) -> list[Path]:
    """Write the frames between two images at ``times`` (default 0.5) or ``count`` even steps.

    Outputs keep the bit depth of the inputs (16-bit if either is), are grey if both inputs are,
    and carry alpha if either does (see ``frameinterp.images``). Every problem is checked
    before any work: missing or unreadable files, different sizes, times outside (0, 1),
    a missing or unwritable output folder. Returns the written paths, in time order.
    """
    if times and count is not None:
        raise InvalidInputError("give either times or a count, not both")
    chosen = evenly_spaced_times(count) if count is not None else _check_times(times or [0.5])
    first_path, second_path = Path(first), Path(second)
    first_picture = load_image(first_path)
    second_picture = load_image(second_path)
    _check_pair(first_picture, second_picture, first_path, second_path)
    targets = plan_outputs(first_path, second_path, len(chosen), output)
    for target in targets:
        check_output_folder(target)
    engine_instance = interpolator or create_interpolator(engine, device, weights=weights)
    frame0 = first_picture.colour.to(engine_instance.device)
    frame1 = second_picture.colour.to(engine_instance.device)
    with torch.inference_mode():
        frames = engine_instance.interpolate(frame0, frame1, chosen)
    bit_depth = max(first_picture.bit_depth, second_picture.bit_depth)
    grey = first_picture.grey and second_picture.grey
    written: list[Path] = []
    try:
        for target, t, frame in zip(targets, chosen, frames, strict=True):
            alpha = _alpha_at(first_picture, second_picture, t)
            written.append(save_image(target, frame.cpu(), alpha, bit_depth, grey))
    except BaseException:
        for path in written:  # all or nothing: a failed run leaves no partial set behind
            path.unlink(missing_ok=True)
        raise
    return written


def _alpha_at(first: Picture, second: Picture, t: float) -> torch.Tensor | None:
    """Alpha cross-faded in time; a picture without alpha counts as opaque."""
    if first.alpha is None and second.alpha is None:
        return None
    opaque = torch.ones(1, first.height, first.width)
    alpha0 = first.alpha if first.alpha is not None else opaque
    alpha1 = second.alpha if second.alpha is not None else opaque
    return torch.lerp(alpha0, alpha1, t)
