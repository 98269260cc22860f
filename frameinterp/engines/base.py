"""The contract between the pipeline and every interpolation engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class Interpolator(Protocol):
    """Turns two frames and a list of times into the frames in between.

    Frames are float tensors of shape (3, H, W) with values in [0, 1], on ``device``.
    ``times`` are in the open interval (0, 1): 0 is ``frame0``, 1 is ``frame1``.
    Work shared by all times of one pair (optical flow) is done once per call.
    The returned frames have the inputs' shape, dtype and device, one per time, in order.
    """

    name: str
    device: torch.device

    def interpolate(
        self, frame0: torch.Tensor, frame1: torch.Tensor, times: Sequence[float]
    ) -> list[torch.Tensor]: ...


@runtime_checkable
class PreparingInterpolator(Interpolator, Protocol):
    """An engine whose per-pair work can run ahead of the rest, in worker threads.

    ``interpolate(a, b, times)`` equals ``render(prepare(a, b), a, b, times)``. ``prepare`` does
    the work shared by every time of a pair (optical flow); it must be safe to call from
    several threads at once, so a pipeline can prepare the next pairs while the device renders
    the current one.
    """

    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor) -> object: ...

    def render(
        self, prepared: Any, frame0: torch.Tensor, frame1: torch.Tensor, times: Sequence[float]
    ) -> list[torch.Tensor]: ...
