"""The benchmark's PSNR/SSIM must give scikit-image's numbers on real frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from frameinterp.errors import InvalidInputError
from frameinterp.metrics import PSNR_CAP, mean_psnr, psnr, ssim, to_uint8_rgb

skimage_metrics = pytest.importorskip("skimage.metrics")

DATA = Path(__file__).parent / "data" / "middlebury" / "RubberWhale"


def _rgb(name: str) -> np.ndarray:
    return np.ascontiguousarray(cv2.imread(str(DATA / name), cv2.IMREAD_COLOR)[:, :, ::-1])


@pytest.fixture(scope="module")
def real_pair() -> tuple[np.ndarray, np.ndarray]:
    # frame10 as a (poor) estimate of the ground-truth middle frame: a real, non-trivial error.
    return _rgb("frame10.png"), _rgb("frame10i11.png")


def test_psnr_matches_scikit_image(real_pair: tuple[np.ndarray, np.ndarray]) -> None:
    estimate, truth = real_pair
    expected = skimage_metrics.peak_signal_noise_ratio(truth, estimate, data_range=255)
    assert psnr(estimate, truth) == pytest.approx(expected, abs=1e-9)


def test_ssim_matches_scikit_image(real_pair: tuple[np.ndarray, np.ndarray]) -> None:
    estimate, truth = real_pair
    expected = skimage_metrics.structural_similarity(
        estimate, truth, channel_axis=2, data_range=255
    )
    assert ssim(estimate, truth) == pytest.approx(expected, abs=1e-9)


def test_ssim_matches_scikit_image_on_odd_crop(real_pair: tuple[np.ndarray, np.ndarray]) -> None:
    estimate, truth = (image[13:64, 7:100] for image in real_pair)
    expected = skimage_metrics.structural_similarity(
        estimate, truth, channel_axis=2, data_range=255
    )
    assert ssim(estimate, truth) == pytest.approx(expected, abs=1e-9)


def test_identical_images(real_pair: tuple[np.ndarray, np.ndarray]) -> None:
    truth = real_pair[1]
    assert psnr(truth, truth) == float("inf")
    assert ssim(truth, truth) == pytest.approx(1.0)


def test_to_uint8_rgb_clips_scales_and_rounds() -> None:
    frame = torch.tensor([-0.5, 0.0, 0.5 / 255, 1.5 / 255, 0.5, 1.0, 2.0]).reshape(1, 1, 7)
    frame = frame.expand(3, 1, 7)
    converted = to_uint8_rgb(frame)
    assert converted.dtype == np.uint8
    assert converted.shape == (1, 7, 3)
    # Half-way values round to even, like numpy and torch (0.5 -> 0, 1.5 -> 2, 127.5 -> 128).
    assert converted[0, :, 0].tolist() == [0, 0, 0, 2, 128, 255, 255]


def test_to_uint8_rgb_round_trips_real_frame(real_pair: tuple[np.ndarray, np.ndarray]) -> None:
    truth = real_pair[1]
    tensor = torch.from_numpy(truth).permute(2, 0, 1).float() / 255.0
    assert np.array_equal(to_uint8_rgb(tensor), truth)


def test_exception() -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(InvalidInputError, match="same shape"):
        psnr(image, np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(InvalidInputError, match="RGB"):
        ssim(image[:, :, 0], image[:, :, 0])
    with pytest.raises(InvalidInputError, match="at least 7"):
        ssim(image[:5, :5], image[:5, :5])
    with pytest.raises(InvalidInputError, match=r"\(3, H, W\)"):
        to_uint8_rgb(torch.zeros(4, 2, 2))


def test_mean_psnr_averages_per_frame_decibels(real_pair: tuple[np.ndarray, np.ndarray]) -> None:
    """The trainer's and evaluate's mean: per-frame PSNR (capped), then the mean of those."""
    first, second = real_pair
    tensors = [torch.from_numpy(image).permute(2, 0, 1).float() / 255.0 for image in real_pair]
    estimates = torch.stack([tensors[0], tensors[1]])
    truths = torch.stack([tensors[1], tensors[1]])  # the second frame is exact: capped at 100
    expected = (psnr(first, second) + PSNR_CAP) / 2
    assert mean_psnr(estimates, truths) == pytest.approx(expected, abs=1e-9)
    assert mean_psnr(tensors[0], tensors[1]) == pytest.approx(psnr(first, second), abs=1e-9)
    with pytest.raises(InvalidInputError, match="same shape"):
        mean_psnr(estimates, truths[:1])
