"""`frameinterp.interpolate_frames`: NumPy arrays and tensors in, the frames between out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import frameinterp
from frameinterp.errors import InvalidInputError
from frameinterp.images import read_rgb
from frameinterp.metrics import psnr
from frameinterp.transfer import image_from_tensor, image_to_tensor

DATA = Path(__file__).parent / "data" / "middlebury" / "RubberWhale"


@pytest.fixture(scope="module")
def real() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The real RubberWhale pair and its true middle frame (RGB, uint8)."""
    first, second, truth = (
        read_rgb(DATA / name) for name in ("frame10.png", "frame11.png", "frame10i11.png")
    )
    return first, second, truth


def test_smoke_real_pair_beats_blending(real: tuple[np.ndarray, ...]) -> None:
    first, second, truth = real
    [middle] = frameinterp.interpolate_frames(first, second, 0.5, device="cpu")
    assert middle.dtype == np.uint8 and middle.shape == first.shape
    blended = frameinterp.interpolate_frames(first, second, [0.5], engine="blend")[0]
    assert psnr(middle, truth) > psnr(blended, truth) + 2.0


def test_tensors_match_arrays(real: tuple[np.ndarray, ...]) -> None:
    """C×H×W and N×C×H×W tensors go through the same engine as arrays: the same pixels."""
    first, second = (image[100:196, 200:328].copy() for image in real[:2])
    engine = frameinterp.create_interpolator("classic", "cpu")
    arrays = frameinterp.interpolate_frames(first, second, [0.25, 0.75], interpolator=engine)
    one, two = image_to_tensor(first), image_to_tensor(second)
    tensors = frameinterp.interpolate_frames(one, two, [0.25, 0.75], interpolator=engine)
    batched = frameinterp.interpolate_frames(
        torch.stack([one, two]), torch.stack([two, one]), [0.25, 0.75], interpolator=engine
    )
    for index in range(2):
        assert tensors[index].shape == (3, 96, 128) and tensors[index].dtype == torch.float32
        assert float(tensors[index].min()) >= 0.0 and float(tensors[index].max()) <= 1.0
        assert np.array_equal(image_from_tensor(tensors[index]), arrays[index])
        assert batched[index].shape == (2, 3, 96, 128)
        assert torch.equal(batched[index][0], tensors[index])
    # The second pair runs backwards in time: its frame at 0.25 is the first pair's at 0.75.
    backwards = image_from_tensor(batched[0][1]).astype(int)
    assert np.abs(backwards - arrays[1].astype(int)).mean() < 1.0


def test_formats_follow_the_inputs() -> None:
    """Blending shows the exact rules: depth, grey and alpha, as `pair` applies them."""
    grey8 = np.full((4, 6), 100, np.uint8)
    grey16 = np.full((4, 6), 60000, np.uint16)
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[..., 3] = 50
    [middle] = frameinterp.interpolate_frames(grey8, grey8 + 100, 0.5, engine="blend")
    assert middle.shape == (4, 6) and middle.dtype == np.uint8 and int(middle[0, 0]) == 150
    [deep] = frameinterp.interpolate_frames(grey8, grey16, 0.5, engine="blend")
    assert deep.dtype == np.uint16 and int(deep[0, 0]) == (100 * 257 + 60000) // 2
    [mixed] = frameinterp.interpolate_frames(grey8[:, :, None], rgba, 0.25, engine="blend")
    assert mixed.shape == (4, 6, 4)  # colour because one input is, alpha because one has it
    assert mixed[0, 0].tolist() == [75, 75, 75, round(0.75 * 255 + 0.25 * 50)]


def test_progress_reports_every_frame(
    real: tuple[np.ndarray, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = (image[100:196, 200:328].copy() for image in real[:2])
    reports: list[tuple[int, int]] = []
    frameinterp.interpolate_frames(
        first,
        second,
        [0.25, 0.5, 0.75],
        device="cpu",
        progress=True,
        on_progress=lambda report: reports.append((report.done, report.total)),
    )
    assert reports == [(1, 3), (2, 3), (3, 3)]  # classic prepares once, renders per time
    assert "3/3" in capsys.readouterr().err  # the tqdm bar


@pytest.mark.parametrize(
    ("first", "second", "options", "message"),
    [
        (np.zeros((4, 4, 3), np.uint8), torch.zeros(3, 4, 4), {}, "not one of each"),
        (np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 3), np.float32), {}, "uint8 or uint16"),
        (np.zeros((4, 4, 5), np.uint8), np.zeros((4, 4, 5), np.uint8), {}, "C = 1"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8), {}, "differ in size"),
        (torch.zeros(3, 4, 4, dtype=torch.uint8), torch.zeros(3, 4, 4), {}, "float tensors"),
        (torch.zeros(3, 4, 4), torch.zeros(2, 3, 4, 4), {}, "differ in shape"),
        (
            np.zeros((4, 4), np.uint8),
            np.zeros((4, 4), np.uint8),
            {"alpah": 9},
            "no option 'alpah'; its options are: alpha, ",
        ),
    ],
)
def test_exception(first: object, second: object, options: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        frameinterp.interpolate_frames(first, second, 0.5, device="cpu", **options)  # type: ignore[call-overload]


@pytest.mark.parametrize("times", [0.0, 1.0, [0.5, 1.5], []])
def test_exception_times(times: object) -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(InvalidInputError, match=r"\(0, 1\)"):
        frameinterp.interpolate_frames(image, image, times, engine="blend")  # type: ignore[call-overload]
