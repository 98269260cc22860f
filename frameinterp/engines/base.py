"""The contract between the pipeline and every interpolation engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

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
