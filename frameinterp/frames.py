"""The frames between two in-memory images: ``interpolate_frames`` for NumPy arrays and tensors.

The shortest path from Python: two arrays in, a list of arrays out, one per time::

    import frameinterp
    middle, = frameinterp.interpolate_frames(first, second, 0.5)

Layouts follow ``frameinterp pair`` (which is built on this function):

- NumPy: H×W×C (or H×W) ``uint8`` or ``uint16`` pixels, C = 1 (grey), 2 (grey + alpha),
  3 (RGB) or 4 (RGBA). Results are ``uint16`` if either input is, grey if both are, and carry
  alpha if either does (a missing alpha counts as opaque).
- Torch: float tensors in [0, 1], C×H×W for one pair or N×C×H×W for N pairs (same channel
  rules), returned on the inputs' device and dtype, clipped to [0, 1].

The engine interpolates colour only; alpha is cross-faded in time, ``(1-t)·α0 + t·α1``, and grey
frames are interpolated as three equal channels and averaged back to one.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import torch

from frameinterp.engines import (
    Interpolator,
    PreparingInterpolator,
    create_interpolator,
    resolve_device,
)
from frameinterp.errors import InvalidInputError
from frameinterp.progress_bar import ProgressBar
from frameinterp.transfer import PIXEL_DTYPES, image_from_tensor, image_to_tensor

if TYPE_CHECKING:
    from frameinterp.progress_bar import JobProgress

__all__ = ["check_times", "interpolate_frames"]


def check_times(times: float | Sequence[float]) -> list[float]:
    """``times`` as a list of floats, each strictly inside (0, 1)."""
    listed: list[float] = (
        [float(times)] if np.ndim(times) == 0 else [float(t) for t in times]  # type: ignore[arg-type, union-attr]
    )
    checked = []
    for t in listed:
        if not 0.0 < float(t) < 1.0:
            raise InvalidInputError(
                f"time {t} is outside (0, 1); 0 is the first image and 1 the second, "
                "so ask for a time strictly between them, e.g. 0.5"
            )
        checked.append(float(t))
    if not checked:
        raise InvalidInputError("no time given; ask for at least one time in (0, 1), e.g. 0.5")
    return checked


def _split(planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """C×H×W planes → (3×H×W colour, 1×H×W alpha or None); grey is repeated into colour."""
    channels = planes.shape[0]
    colour = planes[:1].expand(3, -1, -1) if channels <= 2 else planes[:3]
    alpha = planes[-1:] if channels in (2, 4) else None
    return colour, alpha


def _merge(colour: torch.Tensor, alpha: torch.Tensor | None, grey: bool) -> torch.Tensor:
    shown = colour.mean(0, keepdim=True) if grey else colour
    return shown if alpha is None else torch.cat([shown, alpha.to(shown)])


def _alpha_at(
    alpha0: torch.Tensor | None, alpha1: torch.Tensor | None, t: float, like: torch.Tensor
) -> torch.Tensor | None:
    """Alpha cross-faded in time; a frame without alpha counts as opaque."""
    if alpha0 is None and alpha1 is None:
        return None
    opaque = torch.ones_like(like[:1])
    return torch.lerp(
        (alpha0 if alpha0 is not None else opaque).to(opaque),
        (alpha1 if alpha1 is not None else opaque).to(opaque),
        t,
    )


def _channels(shape: Sequence[int], what: str) -> int:
    channels = shape[-1] if what == "array" else shape[-3]
    if channels not in (1, 2, 3, 4):
        layout = "H×W×C" if what == "array" else "C×H×W"
        raise InvalidInputError(
            f"expected {layout} with C = 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA), "
            f"got shape {tuple(shape)}"
        )
    return int(channels)


class _Run:
    """One engine and one progress count across all the pairs of a call."""

    def __init__(
        self, interpolator: Interpolator, total: int, report: Callable[[JobProgress], None]
    ) -> None:
        self.interpolator = interpolator
        self.total = total
        self.done = 0
        self.report = report
        self.started = clock.perf_counter()

    def colours(
        self, colour0: torch.Tensor, colour1: torch.Tensor, times: list[float]
    ) -> list[torch.Tensor]:
        """The engine's frames for one pair; one progress step per frame where it can."""
        from frameinterp.progress_bar import JobProgress

        engine = self.interpolator
        frame0 = colour0.to(engine.device, torch.float32).contiguous()
        frame1 = colour1.to(engine.device, torch.float32).contiguous()
        results: list[torch.Tensor] = []
        with torch.inference_mode():
            if isinstance(engine, PreparingInterpolator):
                prepared = engine.prepare(frame0, frame1)
                groups = [[t] for t in times]
            else:
                prepared, groups = None, [times]
            for group in groups:
                if isinstance(engine, PreparingInterpolator):
                    results += engine.render(prepared, frame0, frame1, group)
                else:
                    results += engine.interpolate(frame0, frame1, group)
                self.done += len(group)
                self.report(JobProgress(self.done, self.total, clock.perf_counter() - self.started))
        return results


def _pair_from_arrays(
    run: _Run, first: np.ndarray, second: np.ndarray, times: list[float]
) -> list[np.ndarray]:
    for array in (first, second):
        if not isinstance(array, np.ndarray) or array.dtype not in PIXEL_DTYPES:
            raise InvalidInputError(
                "expected two NumPy arrays of uint8 or uint16 pixels (or two float tensors), "
                f"got {type(array).__name__} {getattr(array, 'dtype', '')}".rstrip()
            )
        if array.ndim not in (2, 3):
            raise InvalidInputError(f"expected an H×W×C or H×W array, got shape {array.shape}")
        if array.ndim == 3:
            _channels(array.shape, "array")
    if first.shape[:2] != second.shape[:2]:
        raise InvalidInputError(
            f"the frames differ in size: {first.shape[1]}×{first.shape[0]} and "
            f"{second.shape[1]}×{second.shape[0]}; resize one to match"
        )
    deep = np.uint16 in (first.dtype, second.dtype)
    planes0, planes1 = image_to_tensor(first), image_to_tensor(second)
    grey = planes0.shape[0] <= 2 and planes1.shape[0] <= 2
    (colour0, alpha0), (colour1, alpha1) = _split(planes0), _split(planes1)
    frames = run.colours(colour0, colour1, times)
    results = []
    for t, frame in zip(times, frames, strict=True):
        colour = frame.float().cpu()
        merged = _merge(colour, _alpha_at(alpha0, alpha1, t, colour), grey)
        image = image_from_tensor(merged, np.uint16 if deep else np.uint8)
        results.append(image[:, :, 0] if first.ndim == second.ndim == 2 and grey else image)
    return results


def _pairs_from_tensors(
    run: _Run, first: torch.Tensor, second: torch.Tensor, times: list[float]
) -> list[torch.Tensor]:
    for tensor in (first, second):
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            raise InvalidInputError(
                "expected two float tensors in [0, 1] (or two uint8/uint16 NumPy arrays), "
                f"got {type(tensor).__name__} {getattr(tensor, 'dtype', '')}".rstrip()
            )
        if tensor.ndim not in (3, 4):
            raise InvalidInputError(
                f"expected a C×H×W or N×C×H×W tensor, got shape {tuple(tensor.shape)}"
            )
        _channels(tensor.shape, "tensor")
    if (
        first.ndim != second.ndim
        or first.shape[-2:] != second.shape[-2:]
        or (first.ndim == 4 and first.shape[0] != second.shape[0])
    ):
        raise InvalidInputError(
            f"the frames differ in shape: {tuple(first.shape)} and {tuple(second.shape)}"
        )
    batch0 = first if first.ndim == 4 else first[None]
    batch1 = second if second.ndim == 4 else second[None]
    grey = batch0.shape[1] <= 2 and batch1.shape[1] <= 2
    per_time: list[list[torch.Tensor]] = [[] for _ in times]
    for planes0, planes1 in zip(batch0, batch1, strict=True):
        (colour0, alpha0), (colour1, alpha1) = _split(planes0), _split(planes1)
        frames = run.colours(colour0, colour1, times)
        for index, (t, frame) in enumerate(zip(times, frames, strict=True)):
            colour = frame.to(first.device, first.dtype).clamp(0.0, 1.0)
            per_time[index].append(_merge(colour, _alpha_at(alpha0, alpha1, t, colour), grey))
    if first.ndim == 3:
        return [frames[0] for frames in per_time]
    return [torch.stack(frames) for frames in per_time]


@overload
def interpolate_frames(
    first: np.ndarray,
    second: np.ndarray,
    times: float | Sequence[float] = 0.5,
    *,
    engine: str = "classic",
    device: str | torch.device = "auto",
    interpolator: Interpolator | None = None,
    progress: bool = False,
    on_progress: Callable[[JobProgress], None] | None = None,
    **options: Any,
) -> list[np.ndarray]: ...


@overload
def interpolate_frames(
    first: torch.Tensor,
    second: torch.Tensor,
    times: float | Sequence[float] = 0.5,
    *,
    engine: str = "classic",
    device: str | torch.device = "auto",
    interpolator: Interpolator | None = None,
    progress: bool = False,
    on_progress: Callable[[JobProgress], None] | None = None,
    **options: Any,
) -> list[torch.Tensor]: ...


def interpolate_frames(
    first: np.ndarray | torch.Tensor,
    second: np.ndarray | torch.Tensor,
    times: float | Sequence[float] = 0.5,
    *,
    engine: str = "classic",
    device: str | torch.device = "auto",
    interpolator: Interpolator | None = None,
    progress: bool = False,
    on_progress: Callable[[JobProgress], None] | None = None,
    **options: Any,
) -> list[np.ndarray] | list[torch.Tensor]:
    """The frames between ``first`` and ``second`` at ``times`` in (0, 1), one per time.

    Args:
        first, second: two NumPy pixel arrays or two float tensors (see the module notes for
            layouts, bit depth, grey and alpha).
        times: one time or several, each strictly between 0 (``first``) and 1 (``second``).
        engine: ``classic`` (training-free, the default), ``softsplat-net`` (needs
            ``weights=PATH``) or ``blend``.
        device: ``auto`` (the tensors' own device, else the first CUDA device, else the CPU),
            ``cpu``, ``cuda``, ``cuda:N`` or a ``torch.device``.
        interpolator: an engine from ``create_interpolator`` to reuse across calls (then
            ``engine``, ``device`` and ``options`` are not used).
        progress: draw a ``tqdm.auto`` bar (Jupyter or terminal), one step per output frame.
        on_progress: called with a ``JobProgress`` (``done``, ``total``, ``elapsed``) per step.
        options: engine options, as for ``create_interpolator`` (an unknown one is an error).

    Returns:
        A list with one frame per time, in the inputs' kind (NumPy or torch) and layout.

    Example:
        >>> import numpy as np, frameinterp
        >>> a = np.zeros((64, 64, 3), np.uint8); b = np.full((64, 64, 3), 200, np.uint8)
        >>> [middle] = frameinterp.interpolate_frames(a, b, 0.5, engine="blend")
        >>> int(middle[0, 0, 0])
        100
    """
    chosen = check_times(times)
    if isinstance(first, torch.Tensor) != isinstance(second, torch.Tensor):
        raise InvalidInputError("give two tensors or two NumPy arrays, not one of each")
    if interpolator is None:
        if isinstance(first, torch.Tensor) and device == "auto" and first.device.type != "cpu":
            device = first.device
        interpolator = create_interpolator(engine, resolve_device(device), **options)
    pairs = first.shape[0] if isinstance(first, torch.Tensor) and first.ndim == 4 else 1
    total = pairs * len(chosen)
    with ProgressBar(progress, f"{interpolator.name} frames", on_progress, total=total) as bar:
        run = _Run(interpolator, total, bar)
        if isinstance(first, torch.Tensor) and isinstance(second, torch.Tensor):
            return _pairs_from_tensors(run, first, second, chosen)
        if isinstance(first, np.ndarray) and isinstance(second, np.ndarray):
            return _pair_from_arrays(run, first, second, chosen)
        raise InvalidInputError(
            "expected two NumPy arrays of uint8 or uint16 pixels or two float tensors, got "
            f"{type(first).__name__} and {type(second).__name__}"
        )
