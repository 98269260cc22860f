"""Interpolate between two still images: the library behind ``frameinterp pair``."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from frameinterp.engines import Interpolator, create_interpolator, resolve_device
from frameinterp.errors import InvalidInputError, OutputError
from frameinterp.files import check_output_path
from frameinterp.frames import check_times, interpolate_frames
from frameinterp.images import check_image_suffix, read_pixels, save_pixels

if TYPE_CHECKING:
    from frameinterp.progress_bar import JobProgress

__all__ = ["evenly_spaced_times", "interpolate_pair", "plan_outputs"]

_DEFAULT_SUFFIX = ".png"


def evenly_spaced_times(count: int) -> list[float]:
    """``count`` times that split (0, 1) into equal steps: 1 → [0.5], 3 → [0.25, 0.5, 0.75]."""
    if count < 1:
        raise InvalidInputError(f"--count must be 1 or more, got {count}")
    return [index / (count + 1) for index in range(1, count + 1)]


def plan_outputs(
    first: Path, second: Path, count: int, output: str | os.PathLike[str] | None
) -> list[Path]:
    """Where the ``count`` frames go; never onto one of the inputs.

    No ``output``: next to ``first``, named ``<first>_<second>_interp[_NN].<suffix of first>``.
    ``output`` an existing folder: those names inside it. Otherwise ``output`` is the file for
    a single frame, or the pattern ``<stem>_NN<suffix>`` for several.
    """
    stem = f"{first.stem}_{second.stem}_interp"
    if output is None:
        folder, suffix = first.parent, first.suffix
    elif Path(output).is_dir():
        folder, suffix = Path(output), first.suffix
    else:
        target = Path(output)
        if (not target.suffix and not target.exists()) or str(output).endswith(os.sep):
            raise OutputError(
                f"output folder {target} does not exist; create it first, or name an image "
                f"file such as {target}{_DEFAULT_SUFFIX}"
            )
        check_image_suffix(target)
        if count == 1:
            return [_not_an_input(target, first, second)]
        folder, stem, suffix = target.parent, target.stem, target.suffix
    try:
        check_image_suffix(Path(f"x{suffix}"))
    except OutputError:
        suffix = _DEFAULT_SUFFIX
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


def interpolate_pair(
    first: str | os.PathLike[str],
    second: str | os.PathLike[str],
    times: float | Sequence[float] | None = None,
    *,
    count: int | None = None,
    output: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    engine: str = "classic",
    device: str | torch.device = "auto",
    weights: str | Path | None = None,
    quality: str | None = None,
    interpolator: Interpolator | None = None,
    progress: bool = False,
    on_progress: Callable[[JobProgress], None] | None = None,
) -> list[Path]:
    """Write the frames between two images at ``times`` (default 0.5) or ``count`` even steps.

    Outputs keep the bit depth of the inputs (16-bit if either is), are grey if both inputs are,
    and carry alpha if either does (see ``frameinterp.frames``). Every problem is checked
    before any work: missing or unreadable files, different sizes, times outside (0, 1),
    a missing or unwritable output folder, an output that exists (unless ``overwrite``).
    ``quality`` picks the classic engine's preset (``fast``, ``balanced``, ``best``).
    Returns the written paths, in time order.
    """
    if times is not None and count is not None:
        raise InvalidInputError("give either times or a count, not both")
    if count is not None:
        chosen = evenly_spaced_times(count)
    else:
        chosen = check_times(0.5 if times is None or times == [] else times)
    first_path, second_path = Path(first), Path(second)
    first_pixels = read_pixels(first_path)
    second_pixels = read_pixels(second_path)
    if first_pixels.shape[:2] != second_pixels.shape[:2]:
        raise InvalidInputError(
            f"the images differ in size: {first_path.name} is "
            f"{first_pixels.shape[1]}×{first_pixels.shape[0]}, {second_path.name} is "
            f"{second_pixels.shape[1]}×{second_pixels.shape[0]}; resize one to match"
        )
    targets = plan_outputs(first_path, second_path, len(chosen), output)
    for target in targets:
        check_output_path(target, [first_path, second_path], overwrite)
    if interpolator is None:
        options = {} if quality is None else {"quality": quality}
        interpolator = create_interpolator(
            engine, resolve_device(device), weights=weights, **options
        )
    frames = interpolate_frames(
        first_pixels,
        second_pixels,
        chosen,
        interpolator=interpolator,
        progress=progress,
        on_progress=on_progress,
    )
    written: list[Path] = []
    try:
        for target, frame in zip(targets, frames, strict=True):
            written.append(save_pixels(target, frame))
    except BaseException:
        for path in written:  # all or nothing: a failed run leaves no partial set behind
            path.unlink(missing_ok=True)
        raise
    return written
