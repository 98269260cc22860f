"""Frame upload/download: exact round trips for 8- and 16-bit pixels, on the CPU and on CUDA."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from frameinterp.errors import InvalidInputError
from frameinterp.transfer import (
    FrameTransfer,
    image_from_tensor,
    image_to_tensor,
    to_pixels,
    to_uint8,
)

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


def test_cpu_upload_keeps_channel_last_memory_and_download_reads_it_without_a_copy():
    """OpenCV engines sample H×W×3 memory in one call per frame: the CPU upload is a (3, H, W)
    view of it, and a channel-last result converts back with the same numbers as planes."""
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    tensor = FrameTransfer("cpu").upload(image)
    assert tensor.shape == (3, 5, 7) and tensor.permute(1, 2, 0).is_contiguous()
    noisy = tensor + torch.from_numpy(rng.normal(0, 0.01, size=(3, 5, 7)).astype(np.float32))
    planes = noisy.contiguous()
    channel_last = noisy.permute(1, 2, 0).contiguous().permute(2, 0, 1)
    for dtype in (np.uint8, np.uint16):
        expected = to_pixels(planes, np.dtype(dtype)).numpy().astype(dtype)
        np.testing.assert_array_equal(FrameTransfer("cpu").download(channel_last, dtype), expected)
        np.testing.assert_array_equal(image_from_tensor(planes, dtype), expected)


def test_sixteen_to_eight_bit_is_rounded_the_same_way_everywhere():
    """Every 16-bit value: to_uint8 = round(v / 257) = the float path's rounding; never >> 8."""
    values = np.arange(65536, dtype=np.uint16).reshape(256, 256, 1)
    rounded = to_uint8(values)
    np.testing.assert_array_equal(rounded, np.round(values / 257.0).astype(np.uint8))
    np.testing.assert_array_equal(image_from_tensor(image_to_tensor(values), np.uint8), rounded)
    assert to_uint8(np.array([255, 65280], np.uint16)).tolist() == [1, 254]  # >> 8: [0, 255]
    eight = np.arange(256, dtype=np.uint8)
    assert to_uint8(eight) is eight


def test_image_tensor_round_trip_any_channels():
    rng = np.random.default_rng(1)
    for shape in [(5, 7), (5, 7, 1), (5, 7, 2), (5, 7, 4)]:
        for dtype in (np.uint8, np.uint16):
            image = rng.integers(0, np.iinfo(dtype).max + 1, size=shape, dtype=dtype)
            planes = image_to_tensor(image)
            assert planes.shape == (shape[2] if len(shape) == 3 else 1, 5, 7)
            back = image_from_tensor(planes, dtype)
            np.testing.assert_array_equal(back.reshape(image.shape), image)


def test_exception():
    with pytest.raises(InvalidInputError, match="uint8 or uint16"):
        image_to_tensor(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(InvalidInputError, match="uint8 or uint16"):
        image_from_tensor(torch.zeros(3, 2, 2), np.int16)
