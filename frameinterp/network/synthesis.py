"""Synthesis: splat both frames' feature pyramids to time t and fuse them with a GridNet.

1. An encoder turns each frame into features at full, half and quarter resolution.
2. An importance metric Z per pixel (from the frame and its brightness-constancy error) decides
   which source wins where several land on the same pixel: softmax splatting weights exp(-Z).
3. Both frames' features (with Z as an extra channel) are softmax-splatted to time t at each
   level and projected to 32, 64 and 96 channels.
4. A 3-row, 6-column GridNet fuses the three levels into the output frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from frameinterp.network.blocks import GridNet, ProjectionBlock, conv3x3, resize_to
from frameinterp.network.flow import resize_flow
from frameinterp.ops.backwarp import backwarp
from frameinterp.ops.softsplat import softsplat

ENCODER_CHANNELS = (32, 64, 96)
METRIC_ROWS = (16, 32, 64, 96)
METRIC_LIMIT = 20.0  # exp(±20) stays finite in float16 after softsplat's max subtraction


class EncoderLevel(nn.Module):
    """conv → PReLU → conv → PReLU; the first conv has stride 2 except at full resolution."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv_in = conv3x3(in_channels, out_channels, stride)
        self.activation_in = nn.PReLU(out_channels, init=0.25)
        self.conv_out = conv3x3(out_channels, out_channels)
        self.activation_out = nn.PReLU(out_channels, init=0.25)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        features = self.activation_in(self.conv_in(features))
        return self.activation_out(self.conv_out(features))


class Encoder(nn.Module):
    """Features at three resolutions; the full-resolution ones carry the input RGB as well."""

    def __init__(self) -> None:
        super().__init__()
        inputs = (3, *ENCODER_CHANNELS[:-1])
        strides = (1, 2, 2)
        self.levels = nn.ModuleList(
            EncoderLevel(i, o, s) for i, o, s in zip(inputs, ENCODER_CHANNELS, strides, strict=True)
        )

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        features = []
        current = image
        for level in self.levels:
            current = level(current)
            features.append(current)
        features[0] = torch.cat([features[0], image], 1)
        return features


class ImportanceMetric(nn.Module):
    """Z for each pixel of a frame: low where the frame agrees with the other frame warped back.

    Inputs: the frame (RGB, into 12 channels) and the channel-mean brightness-constancy error
    (into 4 channels), fused by a small 4-row, 2-column GridNet into one channel.
    """

    def __init__(self) -> None:
        super().__init__()
        self.image_features = conv3x3(3, 12)
        self.error_features = conv3x3(1, 4)
        self.grid = GridNet(METRIC_ROWS, columns=2, down_columns=1)
        self.output = ProjectionBlock(METRIC_ROWS[0], METRIC_ROWS[0], 1)

    def forward(self, image: torch.Tensor, other: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        error = (image - backwarp(other, flow)).abs().mean(1, keepdim=True)
        features = torch.cat([self.image_features(image), self.error_features(error)], 1)
        inputs: list[torch.Tensor | None] = [features, None, None, None]
        return self.output(self.grid(inputs))


@dataclass
class PairContext:
    """Everything synthesis computes once per frame pair and reuses for every time t."""

    features_one: list[torch.Tensor]
    features_two: list[torch.Tensor]
    metric_one: torch.Tensor
    metric_two: torch.Tensor
    flow_forward: torch.Tensor
    flow_backward: torch.Tensor


class Synthesis(nn.Module):
    """Frame at time t from two normalised frames and their flows."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = Encoder()
        self.metric = ImportanceMetric()
        splatted = [2 * (ENCODER_CHANNELS[0] + 3 + 1)] + [2 * (c + 1) for c in ENCODER_CHANNELS[1:]]
        self.merge = nn.ModuleList(
            ProjectionBlock(i, o, o) for i, o in zip(splatted, ENCODER_CHANNELS, strict=True)
        )
        self.grid = GridNet(ENCODER_CHANNELS, columns=6, down_columns=3)
        self.output = ProjectionBlock(ENCODER_CHANNELS[0], ENCODER_CHANNELS[0], 3)

    def prepare(
        self,
        frame_one: torch.Tensor,
        frame_two: torch.Tensor,
        flow_forward: torch.Tensor,
        flow_backward: torch.Tensor,
    ) -> PairContext:
        """Encoder features and importance metrics of both frames (independent of t)."""
        batch = frame_one.shape[0]
        features = self.encoder(torch.cat([frame_one, frame_two], 0))
        metric = self.metric(
            torch.cat([frame_one, frame_two], 0),
            torch.cat([frame_two, frame_one], 0),
            torch.cat([flow_forward, flow_backward], 0),
        )
        return PairContext(
            features_one=[level[:batch] for level in features],
            features_two=[level[batch:] for level in features],
            metric_one=metric[:batch],
            metric_two=metric[batch:],
            flow_forward=flow_forward,
            flow_backward=flow_backward,
        )

    def render(self, context: PairContext, time: torch.Tensor) -> torch.Tensor:
        """The frame at ``time`` (a float or N×1×1×1 tensor in [0, 1])."""
        sides = (
            (context.features_one, context.flow_forward * time, context.metric_one * (2 * time)),
            (
                context.features_two,
                context.flow_backward * (1 - time),
                context.metric_two * (2 * (1 - time)),
            ),
        )
        merged: list[torch.Tensor | None] = []
        for level, merge in enumerate(self.merge):
            splatted = []
            for features, flow, metric in sides:
                size = (int(features[level].shape[-2]), int(features[level].shape[-1]))
                level_flow = resize_flow(flow, size)
                level_metric = resize_to(metric, size)
                splatted.append(
                    softsplat(
                        torch.cat([features[level], level_metric], 1),
                        level_flow,
                        (-level_metric).clamp(-METRIC_LIMIT, METRIC_LIMIT),
                        mode="soft",
                    )
                )
            merged.append(merge(torch.cat(splatted, 1)))
        return self.output(self.grid(merged))

    def forward(
        self,
        frame_one: torch.Tensor,
        frame_two: torch.Tensor,
        flow_forward: torch.Tensor,
        flow_backward: torch.Tensor,
        times: Sequence[float] | torch.Tensor,
    ) -> list[torch.Tensor]:
        context = self.prepare(frame_one, frame_two, flow_forward, flow_backward)
        return [self.render(context, _as_time(t, frame_one)) for t in times]


def _as_time(value: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A time as an N×1×1×1 tensor matching ``like``'s batch, dtype and device."""
    time = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    return time.reshape(-1, 1, 1, 1).expand(like.shape[0], 1, 1, 1)
