"""PWC-style optical flow estimator: a six-level feature pyramid and coarse-to-fine decoders.

Each decoder compares frame one's features with frame two's features (backward-warped by the
flow from the coarser level) through an 81-channel cost volume and predicts the flow at its
level. The finest level is half the input resolution; its flow is upsampled to full size.

Two conventions of the published network are kept exactly, so that its weights give its
results: the cost volume enters each decoder raw (no activation), and a resized flow field has
*both* components scaled by the width ratio (``resize_flow``), even where the aspect ratio
changes slightly (sides that are not multiples of 64).
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from frameinterp.network.blocks import resize_to
from frameinterp.ops.backwarp import backwarp
from frameinterp.ops.correlation import correlation

PYRAMID_CHANNELS = (16, 32, 64, 96, 128, 192)  # finest (half resolution) to coarsest
DECODER_CHANNELS = (128, 128, 96, 64, 32, 2)
SEARCH_RADIUS = 4
VOLUME_CHANNELS = (2 * SEARCH_RADIUS + 1) ** 2
NEGATIVE_SLOPE = 0.1


def resize_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a flow field (bilinear) and scale both components by the width ratio.

    This is the published network's convention: it is what its weights were trained with, so
    the network uses it everywhere it resizes a flow field.
    """
    width = int(flow.shape[-1])
    if tuple(flow.shape[-2:]) == size:
        return flow
    return resize_to(flow, size) * (size[1] / width)


def resize_flow_per_axis(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a flow field and scale each component by its own axis's ratio (exact geometry)."""
    height, width = flow.shape[-2:]
    if (height, width) == size:
        return flow
    resized = resize_to(flow, size)
    scale = torch.tensor(
        [size[1] / width, size[0] / height], dtype=flow.dtype, device=flow.device
    ).view(1, 2, 1, 1)
    return resized * scale


class PyramidLevel(nn.Module):
    """Halve the resolution (stride-2 conv), refine (conv); LeakyReLU after each."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.downsample = nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1)
        self.refine = nn.Conv2d(out_channels, out_channels, 3, padding=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        features = nn.functional.leaky_relu(self.downsample(features), NEGATIVE_SLOPE)
        return nn.functional.leaky_relu(self.refine(features), NEGATIVE_SLOPE)


class FeaturePyramid(nn.Module):
    """Six levels of features, from half resolution (16 channels) to 1/64 (192 channels)."""

    def __init__(self) -> None:
        super().__init__()
        inputs = (3, *PYRAMID_CHANNELS[:-1])
        self.levels = nn.ModuleList(
            PyramidLevel(i, o) for i, o in zip(inputs, PYRAMID_CHANNELS, strict=True)
        )

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for level in self.levels:
            image = level(image)
            features.append(image)
        return features


class FlowDecoder(nn.Module):
    """Predicts the flow at one pyramid level from features, cost volume and the coarser flow."""

    def __init__(self, feature_channels: int, coarsest: bool) -> None:
        super().__init__()
        in_channels = feature_channels + VOLUME_CHANNELS + (0 if coarsest else 2)
        widths = (in_channels, *DECODER_CHANNELS)
        self.convs = nn.ModuleList(
            nn.Conv2d(i, o, 3, padding=1) for i, o in itertools.pairwise(widths)
        )

    def forward(
        self, features_one: torch.Tensor, features_two: torch.Tensor, coarser: torch.Tensor | None
    ) -> torch.Tensor:
        if coarser is None:
            volume = correlation(features_one, features_two, SEARCH_RADIUS)
            inputs = [features_one, volume]
        else:
            flow = resize_flow(coarser, (int(features_one.shape[-2]), int(features_one.shape[-1])))
            # Under autocast grid_sample runs in float32; the cost volume wants one dtype.
            warped = backwarp(features_two, flow, padding_mode="zeros").to(features_one.dtype)
            volume = correlation(features_one, warped, SEARCH_RADIUS)
            inputs = [features_one, volume, flow]
        output = torch.cat(inputs, 1)
        for index, conv in enumerate(self.convs):
            output = conv(output)
            if index < len(self.convs) - 1:
                output = nn.functional.leaky_relu(output, NEGATIVE_SLOPE)
        return output


class FlowEstimator(nn.Module):
    """Bidirectional flow between two (normalised) frames with one set of weights.

    Shape:
        frame_one, frame_two: N×3×H×W → forward flow (one→two), backward flow (two→one),
        each N×2×H×W in pixels (x then y).
    """

    def __init__(self) -> None:
        super().__init__()
        self.pyramid = FeaturePyramid()
        # decoders[level]: level 0 is the finest (half resolution), 5 the coarsest.
        self.decoders = nn.ModuleList(
            FlowDecoder(channels, coarsest=level == len(PYRAMID_CHANNELS) - 1)
            for level, channels in enumerate(PYRAMID_CHANNELS)
        )

    def one_way(
        self, pyramid_one: list[torch.Tensor], pyramid_two: list[torch.Tensor]
    ) -> torch.Tensor:
        """Flow from the frame of ``pyramid_one`` to that of ``pyramid_two``, at half size."""
        flow: torch.Tensor | None = None
        for level in reversed(range(len(self.decoders))):
            flow = self.decoders[level](pyramid_one[level], pyramid_two[level], flow)
        assert flow is not None  # six decoders always run
        return flow

    def forward(
        self, frame_one: torch.Tensor, frame_two: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        size = (int(frame_one.shape[-2]), int(frame_one.shape[-1]))
        batch = frame_one.shape[0]
        # Both directions in one batch: [one; two] against [two; one].
        pyramid = self.pyramid(torch.cat([frame_one, frame_two], 0))
        swapped = [torch.cat([level[batch:], level[:batch]], 0) for level in pyramid]
        flows = resize_flow(self.one_way(pyramid, swapped), size)
        return flows[:batch], flows[batch:]
