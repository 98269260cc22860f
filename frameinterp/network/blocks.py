"""Building blocks shared by the synthesis network: residual conv blocks and a GridNet.

A GridNet is a grid of feature maps: rows are resolutions (row 0 full, each further row half the
previous), columns are processing stages. Lateral edges keep the resolution, downsampling edges
go one row down (first half of the columns), upsampling edges one row up (second half). Every
node sums what arrives on its edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    """3×3 convolution that keeps the size (or halves it, rounding up, with stride 2)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=bias)


def resize_to(tensor: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize to an exact size (odd sizes make ×2 upsampling miss by a pixel)."""
    if tuple(tensor.shape[-2:]) == size:
        return tensor
    return nn.functional.interpolate(tensor, size=size, mode="bilinear", align_corners=False)


class PreActivationBlock(nn.Module):
    """PReLU → conv → PReLU → conv; with ``residual`` the input is added back (same shape).

    With ``stride=2`` the first convolution halves the resolution (a GridNet downsampling edge).
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, residual: bool = False
    ) -> None:
        super().__init__()
        self.activation_in = nn.PReLU(in_channels, init=0.25)
        self.conv_in = conv3x3(in_channels, out_channels, stride)
        self.activation_out = nn.PReLU(out_channels, init=0.25)
        self.conv_out = conv3x3(out_channels, out_channels)
        self.residual = residual

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        output = self.conv_out(self.activation_out(self.conv_in(self.activation_in(features))))
        return features + output if self.residual else output


class UpsamplingBlock(nn.Module):
    """Bilinear ×2 upsampling, a :class:`PreActivationBlock`, then a crop to the target size.

    At an odd target size ×2 overshoots by one row or column; the published network drops that
    last row or column *after* the convolutions (which therefore see it), so we do the same
    rather than resizing straight to the target size.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.block = PreActivationBlock(in_channels, out_channels)

    def forward(self, features: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        doubled = nn.functional.interpolate(
            features, scale_factor=2.0, mode="bilinear", align_corners=False
        )
        return self.block(doubled)[..., : size[0], : size[1]]


class ProjectionBlock(nn.Module):
    """conv → PReLU → conv plus a 1×1 shortcut: changes the channel count, keeps the size."""

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv_in = conv3x3(in_channels, hidden_channels)
        self.activation = nn.PReLU(hidden_channels, init=0.25)
        self.conv_out = conv3x3(hidden_channels, out_channels)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.shortcut(features) + self.conv_out(self.activation(self.conv_in(features)))


class GridNet(nn.Module):
    """Rows of ``channels`` (full, half, quarter ... resolution) and ``columns`` stages.

    Columns ``0 .. down_columns-1`` carry downsampling edges (row r → r+1), the remaining
    columns upsampling edges (row r+1 → r); lateral residual edges join column c to c+1.
    ``forward`` takes one input per row for column 0 (``None`` where a row has no input; row
    0 must have one) and returns row 0 of the last column.
    """

    def __init__(self, channels: Sequence[int], columns: int, down_columns: int) -> None:
        super().__init__()
        if not 0 < down_columns < columns + 1:
            raise ValueError(f"down_columns must be in 1..{columns}, got {down_columns}")
        self.channels = tuple(channels)
        self.columns = columns
        self.down_columns = down_columns
        rows = len(self.channels)
        # lateral[row][column]: column -> column + 1
        self.lateral = nn.ModuleList(
            nn.ModuleList(
                PreActivationBlock(width, width, residual=True) for _ in range(columns - 1)
            )
            for width in self.channels
        )
        # down[row][column]: row -> row + 1 within a downsampling column
        self.down = nn.ModuleList(
            nn.ModuleList(
                PreActivationBlock(self.channels[row], self.channels[row + 1], stride=2)
                for _ in range(down_columns)
            )
            for row in range(rows - 1)
        )
        # up[row][k]: row + 1 -> row within upsampling column down_columns + k
        self.up = nn.ModuleList(
            nn.ModuleList(
                UpsamplingBlock(self.channels[row + 1], self.channels[row])
                for _ in range(columns - down_columns)
            )
            for row in range(rows - 1)
        )

    def forward(self, inputs: Sequence[torch.Tensor | None]) -> torch.Tensor:
        rows = len(self.channels)
        first = inputs[0]
        if len(inputs) != rows or first is None:
            raise ValueError(f"GridNet needs {rows} row inputs with row 0 set")
        state: list[torch.Tensor] = [first]
        for row in range(1, rows):
            arriving = _edge(self.down, row - 1, 0)(state[row - 1])
            given = inputs[row]
            state.append(arriving if given is None else given + arriving)
        for column in range(1, self.columns):
            lateral = [_edge(self.lateral, row, column - 1) for row in range(rows)]
            if column < self.down_columns:
                state[0] = lateral[0](state[0])
                for row in range(1, rows):
                    state[row] = lateral[row](state[row]) + _edge(self.down, row - 1, column)(
                        state[row - 1]
                    )
            else:
                up_index = column - self.down_columns
                state[rows - 1] = lateral[rows - 1](state[rows - 1])
                for row in range(rows - 2, -1, -1):
                    own = lateral[row](state[row])
                    up_block = _edge(self.up, row, up_index)
                    state[row] = own + up_block(
                        state[row + 1], (int(own.shape[-2]), int(own.shape[-1]))
                    )
        return state[0]


def _edge(edges: nn.ModuleList, row: int, column: int) -> nn.Module:
    """The edge module at ``edges[row][column]`` (a typed lookup into nested ModuleLists)."""
    return cast(nn.ModuleList, edges[row])[column]
