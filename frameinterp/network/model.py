"""The complete learned interpolator: normalisation, padding, flow estimation and synthesis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from frameinterp.errors import InvalidInputError
from frameinterp.network.flow import FlowEstimator
from frameinterp.network.synthesis import Synthesis, _as_time
from frameinterp.tiling import Crop, pad_to_multiple

PARAMETER_COUNT = 7_668_852  # the published checkpoint's size; tests hold us to it
_STD_FLOOR = 1e-6  # a flat grey pair has zero spread; avoid dividing by it


@dataclass(frozen=True)
class Normalisation:
    """Per-sample mean and standard deviation shared by both frames of a pair."""

    mean: torch.Tensor  # N×1×1×1
    std: torch.Tensor  # N×1×1×1

    @staticmethod
    def of(frame_one: torch.Tensor, frame_two: torch.Tensor) -> Normalisation:
        both = torch.stack([frame_one, frame_two], 1).flatten(1)
        mean = both.mean(1).view(-1, 1, 1, 1)
        std = both.std(1).clamp_min(_STD_FLOOR).view(-1, 1, 1, 1)
        return Normalisation(mean, std)

    def apply(self, image: torch.Tensor) -> torch.Tensor:
        return (image - self.mean) / self.std

    def invert(self, image: torch.Tensor) -> torch.Tensor:
        return image * self.std + self.mean


class SoftsplatNetwork(nn.Module):
    """Softmax-splatting interpolation network (Niklaus & Liu, CVPR 2020), 7,668,852 parameters.

    Shape:
        frame_one, frame_two: N×3×H×W in [0, 1] (any size; padded to even internally).
        ``forward`` returns one N×3×H×W frame per time (not clamped: training sees raw values).

    Example:
        >>> network = SoftsplatNetwork().eval()
        >>> with torch.no_grad():
        ...     middle = network(torch.rand(1, 3, 32, 48), torch.rand(1, 3, 32, 48), [0.5])[0]
        >>> tuple(middle.shape)
        (1, 3, 32, 48)
    """

    def __init__(self) -> None:
        super().__init__()
        self.flow = FlowEstimator()
        self.synthesis = Synthesis()

    def forward(
        self,
        frame_one: torch.Tensor,
        frame_two: torch.Tensor,
        times: Sequence[float] | torch.Tensor,
    ) -> list[torch.Tensor]:
        _check_frames(frame_one, frame_two)
        normalisation = Normalisation.of(frame_one, frame_two)
        one, crop = pad_to_multiple(normalisation.apply(frame_one), 2)
        two, _ = pad_to_multiple(normalisation.apply(frame_two), 2)
        flow_forward, flow_backward = self.flow(one, two)
        context = self.synthesis.prepare(one, two, flow_forward, flow_backward)
        return [
            normalisation.invert(crop(self.synthesis.render(context, _as_time(t, one))))
            for t in times
        ]


def pad_even(image: torch.Tensor) -> tuple[torch.Tensor, Crop]:
    """Replicate-pad to even height and width, as the network expects."""
    return pad_to_multiple(image, 2)


def _check_frames(frame_one: torch.Tensor, frame_two: torch.Tensor) -> None:
    if frame_one.dim() != 4 or frame_one.shape[1] != 3 or frame_one.shape != frame_two.shape:
        raise InvalidInputError(
            "the network expects two N×3×H×W frames of the same shape, got "
            f"{tuple(frame_one.shape)} and {tuple(frame_two.shape)}"
        )
    if min(frame_one.shape[-2:]) < 2:
        raise InvalidInputError(f"frames must be at least 2×2 pixels, got {tuple(frame_one.shape)}")
