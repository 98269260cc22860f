"""Synthesis: splat both frames' feature pyramids to time t and fuse them with a GridNet.

1. An encoder turns each frame into features at full, half and quarter resolution.
2. An importance metric Z per pixel (from the frame and its brightness-constancy error) decides
   which source wins where several land on the same pixel: softmax splatting weights exp(-Z).
3. Both frames' features (with Z as an extra channel) are softmax-splatted to time t at each
   level and projected to 32, 64 and 96 channels.
4. A 3-row, 6-column GridNet fuses the three levels into the output frame.

Where the published network has a convention of its own, we follow it so that its weights give
its results: the level-0 encoding is [image, features] (35 channels) and the metric compares
whole encodings; each level's flow and metric are resized from the previous level's; and the
softmax splatting is normalised as the published code does it (``splat_published``).
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
METRIC_LIMIT = 20.0  # the splatting weight is exp(clip(-Z, -20, 20)): finite in float32
SPLAT_EPSILON = 1e-7  # the published normalisation: Σ w·x / (Σ w + 1e-7)


def splat_published(values: torch.Tensor, flow: torch.Tensor, metric: torch.Tensor) -> torch.Tensor:
    """Softmax splatting exactly as the published network normalises it.

    ``Σ exp(metric)·values / (Σ exp(metric) + 1e-7)``, with no shift of the metric. The
    general operator (``frameinterp.ops.softsplat(mode="soft")``) instead subtracts the
    metric's maximum and divides exactly (0 where nothing lands): mathematically the pure
    softmax, and free of float16 overflow. The two differ only where the summed weight is
    comparable to 1e-7, but the published weights were trained with this one, so the network
    uses it. Computed in float32 (exp(20) overflows float16); returns float32.
    """
    weight = metric.float().exp()
    splatted = softsplat(torch.cat([values.float() * weight, weight], 1), flow.float(), mode="sum")
    return splatted[:, :-1] / (splatted[:, -1:] + SPLAT_EPSILON)


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
        features[0] = torch.cat([image, features[0]], 1)  # image first: 3 + 32 channels
        return features


class ImportanceMetric(nn.Module):
    """Z for each pixel of a frame: low where the frame agrees with the other frame warped back.

    Inputs: the frame (the first 3 channels of its level-0 encoding, into 12 channels) and the
    brightness-constancy error between the whole level-0 encodings (all 35 channels, the other
    frame's backward-warped with zeros outside), averaged over channels (into 4 channels);
    fused by a small 4-row, 2-column GridNet into one channel.
    """

    def __init__(self) -> None:
        super().__init__()
        self.image_features = conv3x3(3, 12)
        self.error_features = conv3x3(1, 4)
        self.grid = GridNet(METRIC_ROWS, columns=2, down_columns=1)
        self.output = ProjectionBlock(METRIC_ROWS[0], METRIC_ROWS[0], 1)

    def forward(
        self, encoding: torch.Tensor, other_encoding: torch.Tensor, flow: torch.Tensor
    ) -> torch.Tensor:
        warped = backwarp(other_encoding, flow, padding_mode="zeros").to(encoding.dtype)
        error = (encoding - warped).abs().mean(1, keepdim=True)
        features = torch.cat([self.image_features(encoding[:, :3]), self.error_features(error)], 1)
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
        swapped = torch.cat([features[0][batch:], features[0][:batch]], 0)
        metric = self.metric(features[0], swapped, torch.cat([flow_forward, flow_backward], 0))
        return PairContext(
            features_one=[level[:batch] for level in features],
            features_two=[level[batch:] for level in features],
            metric_one=metric[:batch],
            metric_two=metric[batch:],
            flow_forward=flow_forward,
            flow_backward=flow_backward,
        )

    def render(self, context: PairContext, time: torch.Tensor) -> torch.Tensor:
        """The frame at ``time`` (an N×1×1×1 tensor in [0, 1]).

        Level 0 splats with the full-resolution flow and metric; each further level resizes
        the previous level's (as the published network does), not the full-resolution ones.
        """
        features = (context.features_one, context.features_two)
        flows = [context.flow_forward * time, context.flow_backward * (1 - time)]
        metrics = [context.metric_one * 2.0 * time, context.metric_two * 2.0 * (1 - time)]
        merged: list[torch.Tensor | None] = []
        for level, merge in enumerate(self.merge):
            size = (int(features[0][level].shape[-2]), int(features[0][level].shape[-1]))
            if level > 0:
                flows = [resize_flow(flow, size) for flow in flows]
                metrics = [resize_to(metric, size) for metric in metrics]
            splatted = [
                splat_published(
                    torch.cat([side[level], metric], 1),
                    flow,
                    (-metric).clamp(-METRIC_LIMIT, METRIC_LIMIT),
                )
                for side, flow, metric in zip(features, flows, metrics, strict=True)
            ]
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
