"""Interpolation engines behind one ``Interpolator`` interface, created by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import torch

from frameinterp.engines.base import Interpolator, PreparingInterpolator
from frameinterp.errors import InvalidInputError
from frameinterp.tiling import tile_side_for_budget

__all__ = [
    "ENGINES",
    "Interpolator",
    "PreparingInterpolator",
    "create_interpolator",
    "engine_options",
    "resolve_device",
]


def _blend(device: torch.device, **options: Any) -> Interpolator:
    from frameinterp.engines.blend import BlendInterpolator

    return BlendInterpolator(device)


def _classic_options() -> tuple[str, ...]:
    from frameinterp.engines.classic import ClassicOptions

    return (*(option.name for option in fields(ClassicOptions)), "memory_budget")


def _classic(device: torch.device, **options: Any) -> Interpolator:
    from frameinterp.engines.classic import ClassicInterpolator, ClassicOptions

    budget = options.pop("memory_budget", None)
    chosen = {key: value for key, value in options.items() if value is not None}
    if budget is None and device.type == "cuda":
        budget = torch.cuda.mem_get_info(device)[0] // 2  # leave room for the rest of the job
    if budget is not None and "tile_size" not in chosen:
        chosen["tile_size"] = min(
            ClassicOptions.tile_size, tile_side_for_budget(budget, CLASSIC_BYTES_PER_PIXEL)
        )
    return ClassicInterpolator(device, ClassicOptions(**chosen))


def _softsplat_net_options() -> tuple[str, ...]:
    from frameinterp.engines.softsplat_net import SoftsplatNetInterpolator

    parameters = inspect.signature(SoftsplatNetInterpolator.__init__).parameters
    return tuple(name for name in parameters if name not in ("self", "device"))


def _softsplat_net(device: torch.device, **options: Any) -> Interpolator:
    from frameinterp.engines.softsplat_net import SoftsplatNetInterpolator

    chosen = {key: value for key, value in options.items() if value is not None}
    return SoftsplatNetInterpolator(device, **chosen)


ENGINES_WITH_WEIGHTS = ("softsplat-net",)

# Working set of the classic engine's full-resolution step per output pixel (float32 grids,
# sampled fields, both warped frames and the blend): about 25 values, rounded up.
CLASSIC_BYTES_PER_PIXEL = 128

# name -> factory(device, **options). Engines import lazily so that `frameinterp info` stays fast.
ENGINES: dict[str, Callable[..., Interpolator]] = {
    "blend": _blend,
    "classic": _classic,
    "softsplat-net": _softsplat_net,
}

# name -> the options its factory takes (``weights`` is known to all; see create_interpolator).
_ENGINE_OPTIONS: dict[str, Callable[[], tuple[str, ...]]] = {
    "blend": tuple,
    "classic": _classic_options,
    "softsplat-net": _softsplat_net_options,
}


def engine_options(engine: str) -> tuple[str, ...]:
    """The option names ``create_interpolator(engine, **options)`` accepts for ``engine``."""
    if engine not in ENGINES:
        raise InvalidInputError(
            f"unknown engine {engine!r}; expected one of: {', '.join(sorted(ENGINES))}"
        )
    return _ENGINE_OPTIONS[engine]()


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` means the first CUDA device when one is usable, else the CPU."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidInputError(
            f"--device {device} was asked for, but PyTorch sees no CUDA device; "
            "use --device cpu or install a CUDA build of PyTorch"
        )
    try:
        return torch.device(device)
    except RuntimeError:
        raise InvalidInputError(
            f"unknown device {device!r}; expected auto, cpu or cuda[:N]"
        ) from None


def create_interpolator(
    engine: str = "classic", device: str | torch.device = "auto", **options: Any
) -> Interpolator:
    """Build the engine called ``engine`` on ``device`` (``auto``, ``cpu``, ``cuda[:N]``).

    Options, by engine (an option another engine takes, or a misspelt one, is an error that
    names the known ones; an option given as ``None`` means its default):

    - ``classic``: the fields of ``ClassicOptions`` (``alpha``, ``consistency``,
      ``visibility_prior``, ``tile_size``, ``sampler``, ``flow``), and ``memory_budget``: bytes
      the full-resolution synthesis step may use; it picks ``tile_size`` when that is not given
      (about 128 bytes per pixel of a tile). Default: on CUDA half the device's free memory, on
      the CPU no limit (tiles of ``ClassicOptions.tile_size``).
    - ``softsplat-net``: ``weights`` (a checkpoint file; required unless ``network`` is given),
      ``network``, ``tile_size``, ``tile_overlap``, ``flow_max_size``, ``precision``.
    - ``blend``: none.
    """
    known = engine_options(engine)
    weights = options.pop("weights", None)
    if weights is not None:
        if engine not in ENGINES_WITH_WEIGHTS:
            raise InvalidInputError(
                f"engine {engine!r} uses no weights file; pass --weights only with "
                f"--engine {' or '.join(ENGINES_WITH_WEIGHTS)}"
            )
        options["weights"] = weights
    unknown = sorted(set(options) - set(known))
    if unknown:
        listing = f"its options are: {', '.join(known)}" if known else "it takes no options"
        raise InvalidInputError(
            f"engine {engine!r} has no option {', '.join(map(repr, unknown))}; {listing}"
        )
    return ENGINES[engine](resolve_device(device), **options)
