"""Frame blending: the baseline every engine must beat, and a fast stand-in for tests."""

from __future__ import annotations

from collections.abc import Sequence

import torch


class BlendInterpolator:
    """Cross-fades the two frames: ``(1 - t) * frame0 + t * frame1``."""

    name = "blend"

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)

    def interpolate(
        self, frame0: torch.Tensor, frame1: torch.Tensor, times: Sequence[float]
    ) -> list[torch.Tensor]:
        return [torch.lerp(frame0, frame1, float(t)) for t in times]
