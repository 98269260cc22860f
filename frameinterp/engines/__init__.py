"""Interpolation engines behind one ``Interpolator`` interface, created by name."""

from __future__ import annotations

from collections.abc import Callable
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
    "resolve_device",
]


def _blend(device: torch.device, **options: Any) -> Interpolator:
    from frameinterp.engines.blend import BlendInterpolator

    return BlendInterpolator(device)


def _classic(device: torch.device, **options: Any) -> Interpolator:
    from dataclasses import fields

    from frameinterp.engines.classic import ClassicInterpolator, ClassicOptions

    known = {option.name for option in fields(ClassicOptions)}
    chosen = {key: value for key, value in options.items() if key in known and value is not None}
    budget = options.get("memory_budget")
    if budget is None and device.type == "cuda":
        budget = torch.cuda.mem_get_info(device)[0] // 2  # leave room for the rest of the job
    if budget is not None and "tile_size" not in chosen:
        chosen["tile_size"] = min(
            ClassicOptions.tile_size, tile_side_for_budget(budget, CLASSIC_BYTES_PER_PIXEL)
        )
    return ClassicInterpolator(device, ClassicOptions(**chosen))


def _softsplat_net(device: torch.device, **options: Any) -> Interpolator:
    from frameinterp.engines.softsplat_net import SoftsplatNetInterpolator

    known = ("weights", "network", "tile_size", "tile_overlap", "flow_max_size", "precision")
    return SoftsplatNetInterpolator(
        device, **{key: options[key] for key in known if options.get(key) is not None}
    )


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
    """Build the engine called ``engine`` on ``device`` (``auto``, ``cpu``, ``cuda``)."""
    if engine not in ENGINES:
        raise InvalidInputError(
            f"unknown engine {engine!r}; expected one of: {', '.join(sorted(ENGINES))}"
        )
    if options.get("weights") is not None and engine not in ENGINES_WITH_WEIGHTS:
        raise InvalidInputError(
            f"engine {engine!r} uses no weights file; pass --weights only with "
            f"--engine {' or '.join(ENGINES_WITH_WEIGHTS)}"
        )
    return ENGINES[engine](resolve_device(device), **options)
