"""Motion correction at the output time: it finds a known sub-pixel motion on real texture,
leaves aligned and one-sided pixels alone, and the classic engine uses it where its preset says."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from frameinterp.align import Alignment, align_motion
from frameinterp.engines.classic import ClassicInterpolator, ClassicOptions
from frameinterp.errors import InvalidInputError

DATA = Path(__file__).parent / "data" / "middlebury" / "RubberWhale"
DAVIS = Path(__file__).parent / "data" / "davis-pair"


def _texture() -> np.ndarray:
    """RubberWhale's frame 10 as float32 grey, 4× larger than the test frames."""
    grey = cv2.imread(str(DATA / "frame10.png"), cv2.IMREAD_GRAYSCALE)
    return grey[:384, :512].astype(np.float32) / 255.0


def _moved(texture: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``texture`` moved by (dx, dy) pixels, then area-averaged by 4: an exact translation by
    (dx, dy) / 4 pixels with the same blur in every frame."""
    moved = np.roll(texture, shift=(dy, dx), axis=(0, 1))
    return cv2.resize(moved, (texture.shape[1] // 4, texture.shape[0] // 4), cv2.INTER_AREA)


@pytest.fixture(scope="module")
def translated() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames 0 and 1 of a real texture moving by (2.5, -1.25) px, and that velocity."""
    texture = _texture()
    frame0, frame1 = _moved(texture, 0, 0), _moved(texture, 10, -5)
    return frame0, frame1, np.array([2.5, -1.25], dtype=np.float32)


def _interior(field: np.ndarray, margin: int = 12) -> np.ndarray:
    return field[margin:-margin, margin:-margin]


def test_finds_the_true_motion_from_a_wrong_start(translated) -> None:
    frame0, frame1, truth = translated
    start = np.broadcast_to(truth + np.float32([0.9, -0.7]), (*frame0.shape, 2))
    share = np.full(frame0.shape, 0.5, dtype=np.float32)
    aligned = align_motion(frame0, frame1, start, share, 0.5, Alignment(gate=0.0))
    before = np.abs(_interior(start - truth))
    after = np.abs(_interior(aligned - truth))
    assert before.mean() > 0.7
    # Two Gauss-Newton steps (the presets' number) from 0.8 px off: most of the way there.
    assert after.mean() < 0.5 * before.mean()
    assert np.median(after) < 0.35 * np.median(before)


def test_each_step_moves_at_most_clamp_pixels(translated) -> None:
    frame0, frame1, truth = translated
    start = np.broadcast_to(truth + np.float32([3.0, 0.0]), (*frame0.shape, 2))
    share = np.full(frame0.shape, 0.5, dtype=np.float32)
    one = align_motion(frame0, frame1, start, share, 0.5, Alignment(steps=1, gate=0.0))
    step = np.hypot(*np.moveaxis(one - start, 2, 0))
    assert step.max() <= 1.0 + 1e-5
    assert np.median(step) > 0.5  # it did move


def test_aligned_and_one_sided_pixels_are_left_alone(translated) -> None:
    frame0, frame1, truth = translated
    exact = np.ascontiguousarray(np.broadcast_to(truth, (*frame0.shape, 2)))
    share = np.full(frame0.shape, 0.5, dtype=np.float32)
    # Already aligned: the disagreement is far below the gate, nothing moves (bit for bit;
    # the border, where the rolled texture wraps round, does disagree).
    kept = align_motion(frame0, frame1, exact, share, 0.5, Alignment())
    assert np.array_equal(_interior(kept), _interior(exact))
    # Seen by one frame only (share 0 or 1): nothing to agree with, nothing moves.
    wrong = exact + np.float32(1.5)
    for one_sided in (np.zeros_like(share), np.ones_like(share)):
        moved = align_motion(frame0, frame1, wrong, one_sided, 0.5, Alignment(gate=0.0))
        assert np.array_equal(moved, wrong)


def test_no_steps_and_bad_constants() -> None:
    grey = np.zeros((8, 8), np.float32)
    motion = np.ones((8, 8, 2), np.float32)
    result = align_motion(grey, grey, motion, grey, 0.5, Alignment(steps=0))
    assert np.array_equal(result, motion) and result is not motion
    with pytest.raises(InvalidInputError, match="window"):
        Alignment(window=4)
    with pytest.raises(InvalidInputError, match="steps"):
        Alignment(steps=-1)
    with pytest.raises(InvalidInputError, match="do not match"):
        align_motion(grey, grey, np.ones((4, 4, 2), np.float32), grey, 0.5, Alignment())


def test_the_engine_aligns_where_its_preset_says_and_both_samplers_agree() -> None:
    """The DAVIS dancer (large, non-rigid motion): some pixels are corrected, most are not."""
    rgb = [
        cv2.imread(str(DAVIS / name), cv2.IMREAD_COLOR)[:, :, ::-1].copy()
        for name in ("one.png", "two.png")
    ]
    frames = [torch.from_numpy(f).permute(2, 0, 1).float() / 255.0 for f in rgb]
    aligned = ClassicInterpolator("cpu", ClassicOptions())
    plain = ClassicInterpolator("cpu", ClassicOptions(alignment=Alignment(steps=0)))
    assert ClassicOptions().resolved_alignment.steps == 2
    assert ClassicOptions(quality="fast").resolved_alignment.steps == 0
    with_alignment = aligned.interpolate(*frames, [0.5])[0]
    without = plain.interpolate(*frames, [0.5])[0]
    changed = (with_alignment - without).abs().amax(0) > 1 / 255
    assert 0 < float(changed.float().mean()) < 0.2  # some pixels, not the whole frame
    # The torch path (any device) aligns the same way: where alignment changed the frame, its
    # result follows the aligned one, not the plain one.
    portable = ClassicInterpolator("cpu", ClassicOptions(sampler="torch"))
    result = portable.interpolate(*frames, [0.5])[0]
    assert float((result - with_alignment).abs().mean()) < 1e-3
    to_aligned = (result - with_alignment).abs().amax(0)[changed].mean()
    to_plain = (result - without).abs().amax(0)[changed].mean()
    assert float(to_aligned) < 0.5 * float(to_plain)
