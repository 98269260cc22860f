"""Frame upload/download: exact round trips for 8- and 16-bit pixels, on the CPU and on CUDA."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from frameinterp.transfer import FrameTransfer

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_round_trip_is_exact(device, dtype):
    rng = np.random.default_rng(0)
    image = rng.integers(0, np.iinfo(dtype).max + 1, size=(37, 53, 3), dtype=dtype)
    transfer = FrameTransfer(device)
    for _ in range(5):  # more frames than the staging ring holds
        tensor = transfer.upload(image)
        assert tensor.shape == (3, 37, 53) and tensor.dtype == torch.float32
        assert tensor.device.type == device
        assert float(tensor.min()) >= 0.0 and float(tensor.max()) <= 1.0
        back = transfer.download(tensor, dtype)
        assert back.dtype == dtype
        np.testing.assert_array_equal(back, image)


def test_values_are_scaled_and_clipped():
    transfer = FrameTransfer("cpu")
    image = np.array([[[0, 128, 255]]], dtype=np.uint8)
    np.testing.assert_allclose(transfer.upload(image)[:, 0, 0].numpy(), [0, 128 / 255, 1])
    frame = torch.tensor([-0.5, 0.5, 1.5]).view(3, 1, 1)
    np.testing.assert_array_equal(transfer.download(frame)[0, 0], [0, 128, 255])
    np.testing.assert_array_equal(transfer.download(frame, np.uint16)[0, 0], [0, 32768, 65535])


def test_upload_gives_contiguous_planes():
    image = np.zeros((5, 7, 3), dtype=np.uint8)
    assert FrameTransfer("cpu").upload(image).is_contiguous()
