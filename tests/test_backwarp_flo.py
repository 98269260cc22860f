"""backwarp against exact shifts and gradcheck; .flo reading/writing on the real DAVIS flow."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from frameinterp.errors import InputNotFoundError, InvalidInputError, UnsupportedMediaError
from frameinterp.flo import read_flo, write_flo
from frameinterp.ops import Backwarp, backwarp, softsplat


def test_integer_shift_matches_slicing():
    image = torch.rand(2, 3, 9, 11)
    flow = torch.zeros(2, 2, 9, 11)
    flow[:, 0], flow[:, 1] = 2.0, -1.0  # output(x, y) = image(x + 2, y - 1)
    out = backwarp(image, flow)
    torch.testing.assert_close(out[..., 1:, :-2], image[..., :-1, 2:])


def test_half_pixel_shift_is_bilinear_average():
    image = torch.rand(1, 1, 4, 6, dtype=torch.float64)
    flow = torch.zeros(1, 2, 4, 6, dtype=torch.float64)
    flow[:, 0] = 0.5
    out = backwarp(image, flow)
    torch.testing.assert_close(out[..., :-1], (image[..., :-1] + image[..., 1:]) / 2)


def test_backwarp_inverts_splatting_of_a_smooth_shift():
    image = torch.rand(1, 3, 12, 12, dtype=torch.float64)
    flow = torch.full((1, 2, 12, 12), 1.0, dtype=torch.float64)
    moved = softsplat(image, flow, mode="avg")
    torch.testing.assert_close(backwarp(moved, flow)[..., :-1, :-1], image[..., :-1, :-1])


def test_gradcheck():
    image = torch.rand(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    flow = (torch.rand(1, 2, 5, 6, dtype=torch.float64) * 2 - 1).requires_grad_()
    assert torch.autograd.gradcheck(backwarp, (image, flow))


def test_module_twin():
    image, flow = torch.rand(1, 3, 5, 5), torch.rand(1, 2, 5, 5)
    torch.testing.assert_close(Backwarp("zeros")(image, flow), backwarp(image, flow, "zeros"))


def test_exception():
    with pytest.raises(InvalidInputError, match="N×2×H×W"):
        backwarp(torch.rand(1, 3, 5, 5), torch.rand(1, 2, 5, 4))
    with pytest.raises(InvalidInputError, match="padding_mode"):
        backwarp(torch.rand(1, 3, 5, 5), torch.rand(1, 2, 5, 5), "reflect")


def test_read_real_flow(data_dir):
    flow = read_flo(data_dir / "davis-pair" / "flow.flo")
    assert flow.dtype == np.float32 and flow.ndim == 3 and flow.shape[2] == 2
    assert np.isfinite(flow).all() and np.abs(flow).max() > 1.0  # a real, moving scene


def test_round_trip(tmp_path):
    flow = np.random.default_rng(0).normal(size=(7, 5, 2)).astype(np.float32)
    write_flo(tmp_path / "a.flo", flow)
    np.testing.assert_array_equal(read_flo(tmp_path / "a.flo"), flow)
    assert [p.name for p in tmp_path.iterdir()] == ["a.flo"]


def test_exception_bad_files(tmp_path, data_dir):
    with pytest.raises(InputNotFoundError):
        read_flo(tmp_path / "missing.flo")
    wrong_tag = tmp_path / "tag.flo"
    wrong_tag.write_bytes(np.array([1.0, 0, 0], dtype="<f4").tobytes())
    with pytest.raises(UnsupportedMediaError, match="tag"):
        read_flo(wrong_tag)
    truncated = tmp_path / "short.flo"
    truncated.write_bytes((data_dir / "davis-pair" / "flow.flo").read_bytes()[:1000])
    with pytest.raises(UnsupportedMediaError, match="truncated"):
        read_flo(truncated)
    with pytest.raises(InvalidInputError):
        write_flo(tmp_path / "x.flo", np.zeros((3, 3, 3), np.float32))
