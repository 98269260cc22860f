"""Flow estimation: accuracy on known motion, the block-matching fallback, determinism."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from frameinterp.errors import InvalidInputError
from frameinterp.flow import (
    FlowOptions,
    block_match,
    downscale,
    estimate_flows,
    flow_scale,
    pyramid,
)

DATA = Path(__file__).parent / "data" / "middlebury" / "RubberWhale"


@pytest.fixture(scope="module")
def texture() -> torch.Tensor:
    rgb = cv2.imread(str(DATA / "frame10.png"), cv2.IMREAD_COLOR)[:, :, ::-1].copy()
    return torch.from_numpy(rgb).permute(2, 0, 1).float() / 255.0


def _translated(texture: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Shift by (dx, dy) at full size, then halve: a (dx/2, dy/2) sub-pixel translation."""
    return F.avg_pool2d(torch.roll(texture, shifts=(dy, dx), dims=(1, 2))[None], 2)


def test_smoke_known_translation(texture: torch.Tensor) -> None:
    image0 = _translated(texture, 0, 0)
    image1 = _translated(texture, 7, -3)  # (3.5, -1.5) pixels
    forward, backward = estimate_flows(image0, image1)
    assert forward.shape == backward.shape == (1, 2, *image0.shape[-2:])
    assert forward.dtype == torch.float32
    inner = (slice(None), slice(None), slice(12, -12), slice(12, -12))
    expected = torch.tensor([3.5, -1.5]).view(1, 2, 1, 1)
    assert float((forward[inner] - expected).abs().median()) < 0.1
    assert float((backward[inner] + expected).abs().median()) < 0.1


def test_block_match_catches_small_fast_object(texture: torch.Tensor) -> None:
    """A 12×12 textured patch jumping 18 px (1.5× its size) over a static background.

    The search reaches ±match_radius · 2**match_levels = ±20 px at the flow's scale."""
    background = _translated(texture, 0, 0)[0].permute(1, 2, 0).numpy().copy()
    patch = np.ascontiguousarray(background[100:112, 200:212][::-1, ::-1])
    image0, image1 = background.copy(), background.copy()
    image0[60:72, 40:52] = patch
    image1[60 + 6 : 72 + 6, 40 + 18 : 52 + 18] = patch
    motion = np.array([18.0, 6.0], dtype=np.float32)
    options = FlowOptions()
    candidate = block_match(
        pyramid(image0, options.match_levels), pyramid(image1, options.match_levels), options
    )
    # An integer, coarse-to-fine candidate: right to within its 2-pixel step at this level.
    assert np.abs(np.median(candidate[62:70, 42:50].reshape(-1, 2), axis=0) - motion).max() <= 2
    forward, _ = estimate_flows(
        torch.from_numpy(image0).permute(2, 0, 1)[None],
        torch.from_numpy(image1).permute(2, 0, 1)[None],
    )
    on_patch = forward[0, :, 62:70, 42:50].reshape(2, -1).median(dim=1).values
    assert float((on_patch - torch.from_numpy(motion)).abs().max()) <= 2


def test_deterministic_across_thread_counts(texture: torch.Tensor) -> None:
    image0 = _translated(texture, 0, 0)
    image1 = _translated(texture, 5, 2)
    previous = cv2.getNumThreads()
    try:
        results = []
        for threads in (1, 2, 4):
            cv2.setNumThreads(threads)
            results.append(estimate_flows(image0, image1))
    finally:
        cv2.setNumThreads(previous)
    for forward, backward in results[1:]:
        assert torch.equal(forward, results[0][0])
        assert torch.equal(backward, results[0][1])


@pytest.mark.parametrize(
    ("height", "width", "expected"),
    [(480, 640, 2), (240, 320, 1), (512, 512, 1), (720, 1280, 4), (2160, 3840, 8), (1, 513, 2)],
)
def test_flow_scale(height: int, width: int, expected: int) -> None:
    assert flow_scale(height, width) == expected


def test_downscale_is_area_average() -> None:
    image = torch.arange(2 * 6 * 8, dtype=torch.float32).reshape(1, 2, 6, 8)
    assert torch.allclose(downscale(image, 2), F.interpolate(image, size=(3, 4), mode="area"))
    odd = torch.rand(1, 3, 7, 9)
    assert downscale(odd, 2).shape == (1, 3, 4, 5)
    assert downscale(odd, 1) is odd


def test_exception() -> None:
    with pytest.raises(InvalidInputError, match="same size"):
        estimate_flows(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 33))
    with pytest.raises(InvalidInputError, match="same size"):
        estimate_flows(torch.rand(3, 32, 32), torch.rand(3, 32, 32))
    with pytest.raises(InvalidInputError, match="at least 16"):
        flow_scale(100, 100, max_side=8)


def test_pool_or_not_gives_the_same_flow(texture: torch.Tensor) -> None:
    from concurrent.futures import ThreadPoolExecutor

    image0 = _translated(texture, 0, 0)
    image1 = _translated(texture, 5, 2)
    alone = estimate_flows(image0, image1)
    with ThreadPoolExecutor(2) as pool:
        pooled = estimate_flows(image0, image1, pool=pool)
    for ours, theirs in zip(alone, pooled, strict=True):
        assert torch.equal(ours, theirs)


def test_static_margin_keeps_a_still_noisy_wall_still(texture: torch.Tensor) -> None:
    """A static flat wall with camera noise: zero motion explains it (up to the noise), so with
    a static margin the flow there is exactly zero, while real motion is still found."""
    rng = np.random.default_rng(1)
    wall = np.full((96, 128, 3), 0.5, dtype=np.float32)
    moving = texture[:, :48, :48].permute(1, 2, 0).numpy()
    image0, image1 = wall.copy(), wall.copy()
    image0[24:72, 8:56] = moving
    image1[24:72, 14:62] = moving  # 6 px to the right
    image0 += rng.normal(0, 0.01, image0.shape).astype(np.float32)
    image1 += rng.normal(0, 0.01, image1.shape).astype(np.float32)
    from frameinterp.flow import estimate_flows_rgb

    drifting, _ = estimate_flows_rgb(image0, image1, FlowOptions())
    assert np.abs(drifting[:, 80:]).max() > 1.0  # without it the noise moves the wall
    forward, _ = estimate_flows_rgb(image0, image1, FlowOptions(static_margin=0.03))
    assert np.abs(forward[:, 80:]).max() == 0.0  # the wall right of the object
    assert np.abs(np.median(forward[32:64, 16:48].reshape(-1, 2), axis=0) - [6, 0]).max() < 0.5


def test_per_pixel_pick_takes_the_chosen_candidate() -> None:
    """The masked-copy pick gives exactly what indexing the stacked candidates gives, for
    flows (h×w×2) and error maps (h×w), on a choice with every index present."""
    from frameinterp.flow import _argmin, _pick

    rng = np.random.default_rng(3)
    flows = [rng.standard_normal((37, 53, 2)).astype(np.float32) for _ in range(3)]
    costs = [rng.random((37, 53), dtype=np.float32) for _ in range(3)]
    choice = _argmin(costs)
    assert set(np.unique(choice)) == {0, 1, 2}
    rows, columns = np.indices(choice.shape)
    assert np.array_equal(_pick(choice, flows), np.stack(flows)[choice, rows, columns])
    assert np.array_equal(_pick(choice, costs), np.stack(costs).min(axis=0))


def _real_flow() -> np.ndarray:
    """RubberWhale's forward flow (frame 10 → 11, full size) as the engine estimates it."""
    from frameinterp.flow import estimate_flows_rgb

    rgb0, rgb1 = (
        cv2.imread(str(DATA / name), cv2.IMREAD_COLOR)[:, :, ::-1].astype(np.float32) / 255.0
        for name in ("frame10.png", "frame11.png")
    )
    forward, _ = estimate_flows_rgb(np.ascontiguousarray(rgb0), np.ascontiguousarray(rgb1))
    return forward


def test_filter_flow_is_the_componentwise_median() -> None:
    """``filter_flow`` equals a numpy median over each component's 5×5 (and 3×3) window with
    edges repeated, on real flow; size 0 hands the flow back untouched."""
    from frameinterp.flow import filter_flow

    flow = _real_flow()[100:160, 200:280]
    for size in (3, 5):
        half = size // 2
        padded = np.pad(flow, ((half, half), (half, half), (0, 0)), mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size), axis=(0, 1))
        expected = np.median(windows.reshape(*flow.shape, -1), axis=-1)
        assert np.array_equal(filter_flow(flow, FlowOptions(median_size=size)), expected)
    assert filter_flow(flow, FlowOptions()) is flow
    with pytest.raises(InvalidInputError, match="median_size"):
        FlowOptions(median_size=7)


def test_filter_flow_removes_an_outlier_blob_and_keeps_the_rest() -> None:
    """A 2×2 blob of spurious 20 px motion injected into RubberWhale's real flow is gone after
    the 5×5 median (it takes the surrounding motion), while elsewhere the flow moves by under
    0.05 px at the median pixel: the filter cleans, it does not smooth."""
    from frameinterp.flow import filter_flow

    flow = _real_flow()
    spoiled = flow.copy()
    spoiled[200:202, 300:302] += np.float32(20.0)
    filtered = filter_flow(spoiled, FlowOptions(median_size=5))
    around = np.median(flow[195:207, 295:307].reshape(-1, 2), axis=0)
    assert np.abs(filtered[200:202, 300:302] - around).max() < 0.5
    assert float(np.median(np.abs(filtered - flow))) < 0.05


def test_estimate_applies_the_median_to_the_chosen_flow() -> None:
    """With ``median_size`` the estimate's flows are exactly the unfiltered estimate's flows
    through ``filter_flow`` (the median comes after the choice between candidates, where it
    removes isolated picks), and the balanced preset uses it."""
    from frameinterp.engines.classic import QUALITY_FLOW
    from frameinterp.flow import estimate_flows_and_errors, filter_flow

    rgb0, rgb1 = (
        np.ascontiguousarray(
            cv2.imread(str(DATA / name), cv2.IMREAD_COLOR)[:, :, ::-1].astype(np.float32) / 255.0
        )
        for name in ("frame10.png", "frame11.png")
    )
    filtered = FlowOptions(median_size=5)
    plain = estimate_flows_and_errors(rgb0, rgb1, FlowOptions())
    cleaned = estimate_flows_and_errors(rgb0, rgb1, filtered)
    for index in range(2):
        assert np.array_equal(cleaned[index], filter_flow(plain[index], filtered))
        assert not np.array_equal(cleaned[index], plain[index])
    assert QUALITY_FLOW["balanced"].median_size == 5
