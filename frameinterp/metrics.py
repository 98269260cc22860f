"""PSNR and SSIM on 8-bit RGB, the convention of the Middlebury benchmark and the paper's script.

Both follow scikit-image's definitions (``peak_signal_noise_ratio`` with ``data_range=255``;
``structural_similarity`` with ``channel_axis=2``, ``data_range=255``, a 7×7 uniform window and
sample covariance) so that numbers are comparable with published tables, but need only numpy:
scikit-image is a test dependency, not a runtime one.
"""

from __future__ import annotations

import numpy as np
import torch

from frameinterp.errors import InvalidInputError
from frameinterp.transfer import image_from_tensor

__all__ = ["PSNR_CAP", "mean_psnr", "psnr", "ssim", "to_uint8_rgb"]

_SSIM_WINDOW = 7
_SSIM_K1 = 0.01
_SSIM_K2 = 0.03
_DATA_RANGE = 255.0

# Identical frames have infinite PSNR; means cap each frame's value here so they stay finite.
PSNR_CAP = 100.0


def to_uint8_rgb(frame: torch.Tensor) -> np.ndarray:
    """Turn a (3, H, W) float frame in [0, 1] into an H×W×3 uint8 array: clip, ×255, round.

    This is the quantisation the benchmark convention asks for before measuring, so an engine
    gains nothing from values outside [0, 1] or from sub-level precision.
    """
    if frame.ndim != 3 or frame.shape[0] != 3:
        raise InvalidInputError(
            f"expected a frame tensor of shape (3, H, W), got {tuple(frame.shape)}"
        )
    return image_from_tensor(frame, np.uint8)


def _check_pair(estimate: np.ndarray, truth: np.ndarray) -> None:
    if estimate.shape != truth.shape:
        raise InvalidInputError(
            f"estimate and truth must have the same shape, got {estimate.shape} and {truth.shape}"
        )
    if estimate.ndim != 3 or estimate.shape[2] != 3:
        raise InvalidInputError(f"expected H×W×3 RGB arrays, got shape {estimate.shape}")


def psnr(estimate: np.ndarray, truth: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for 8-bit images (peak 255); ``inf`` when identical."""
    _check_pair(estimate, truth)
    difference = estimate.astype(np.float64) - truth.astype(np.float64)
    mse = float(np.mean(difference * difference))
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(_DATA_RANGE * _DATA_RANGE / mse))


def mean_psnr(estimates: torch.Tensor, truths: torch.Tensor) -> float:
    """Mean over frames of each frame's ``psnr`` (capped at ``PSNR_CAP``), for float tensors.

    ``estimates`` and ``truths`` are (3, H, W) frames or (N, 3, H, W) batches in [0, 1]; each
    frame is quantised with ``to_uint8_rgb`` first, as the benchmark does. Averaging decibels
    per frame (not pooling the squared errors) is how ``evaluate`` and published tables report
    a mean, so a trainer's validation score and ``frameinterp evaluate`` agree.
    """
    if estimates.ndim == 3:
        estimates, truths = estimates[None], truths[None]
    if estimates.shape != truths.shape or estimates.ndim != 4 or estimates.shape[0] == 0:
        raise InvalidInputError(
            "expected two (N, 3, H, W) batches of the same shape, got "
            f"{tuple(estimates.shape)} and {tuple(truths.shape)}"
        )
    scores = [
        min(psnr(to_uint8_rgb(estimate), to_uint8_rgb(truth)), PSNR_CAP)
        for estimate, truth in zip(estimates, truths, strict=True)
    ]
    return float(np.mean(scores))


def _window_means(image: np.ndarray, size: int) -> np.ndarray:
    """Mean over every full ``size``×``size`` window (a 'valid' box filter via summed areas).

    scikit-image filters with reflected borders and then discards a border of ``size // 2``,
    which leaves exactly the windows that lie fully inside the image: the ones computed here.
    """
    summed = np.zeros((image.shape[0] + 1, image.shape[1] + 1), dtype=np.float64)
    summed[1:, 1:] = image.cumsum(axis=0).cumsum(axis=1)
    window_sums = (
        summed[size:, size:]
        - summed[:-size, size:]
        - summed[size:, :-size]
        + summed[:-size, :-size]
    )
    return window_sums / float(size * size)


def _ssim_channel(estimate: np.ndarray, truth: np.ndarray) -> float:
    size = _SSIM_WINDOW
    count = size * size
    covariance_norm = count / (count - 1.0)  # sample covariance, as scikit-image's default
    mean_x = _window_means(estimate, size)
    mean_y = _window_means(truth, size)
    # float64 keeps E[x²] - E[x]² exact enough for 8-bit data (sums stay far below 2**52).
    var_x = covariance_norm * (_window_means(estimate * estimate, size) - mean_x * mean_x)
    var_y = covariance_norm * (_window_means(truth * truth, size) - mean_y * mean_y)
    cov_xy = covariance_norm * (_window_means(estimate * truth, size) - mean_x * mean_y)
    c1 = (_SSIM_K1 * _DATA_RANGE) ** 2
    c2 = (_SSIM_K2 * _DATA_RANGE) ** 2
    numerator = (2.0 * mean_x * mean_y + c1) * (2.0 * cov_xy + c2)
    denominator = (mean_x * mean_x + mean_y * mean_y + c1) * (var_x + var_y + c2)
    return float(np.mean(numerator / denominator))


def ssim(estimate: np.ndarray, truth: np.ndarray) -> float:
    """Mean structural similarity over the three channels (scikit-image's definition)."""
    _check_pair(estimate, truth)
    if min(estimate.shape[0], estimate.shape[1]) < _SSIM_WINDOW:
        raise InvalidInputError(
            f"SSIM needs images of at least {_SSIM_WINDOW}×{_SSIM_WINDOW} pixels, "
            f"got {estimate.shape[1]}×{estimate.shape[0]}"
        )
    scores = [
        _ssim_channel(
            estimate[:, :, channel].astype(np.float64), truth[:, :, channel].astype(np.float64)
        )
        for channel in range(3)
    ]
    return float(np.mean(scores))
