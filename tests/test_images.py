"""Image I/O: bit depth, grey and alpha kept through a round trip; atomic, checked writes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from frameinterp.errors import InputNotFoundError, OutputError, UnsupportedMediaError
from frameinterp.files import write_atomically
from frameinterp.images import load_image, read_pixels, read_rgb, save_image

DATA = Path(__file__).parent / "data" / "middlebury" / "RubberWhale"


@pytest.fixture(scope="module")
def bgr() -> np.ndarray:
    return cv2.imread(str(DATA / "frame10.png"), cv2.IMREAD_COLOR)[:64, :96].copy()


def test_smoke_png_round_trip(tmp_path: Path, bgr: np.ndarray) -> None:
    cv2.imwrite(str(tmp_path / "in.png"), bgr)
    picture = load_image(tmp_path / "in.png")
    assert (picture.bit_depth, picture.grey, picture.alpha) == (8, False, None)
    assert picture.colour.shape == (3, 64, 96)
    # RGB order: channel 0 is OpenCV's last (red).
    assert torch.equal(picture.colour[0], torch.from_numpy(bgr[:, :, 2]).float() / 255)
    save_image(tmp_path / "out.png", picture.colour)
    assert np.array_equal(cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED), bgr)


def test_sixteen_bit_is_preserved(tmp_path: Path, bgr: np.ndarray) -> None:
    deep = bgr.astype(np.uint16) * 257 + np.arange(96, dtype=np.uint16)[None, :, None]
    for suffix in (".png", ".tif"):
        cv2.imwrite(str(tmp_path / f"in{suffix}"), deep)
        picture = load_image(tmp_path / f"in{suffix}")
        assert picture.bit_depth == 16
        save_image(tmp_path / f"out{suffix}", picture.colour, bit_depth=16)
        written = cv2.imread(str(tmp_path / f"out{suffix}"), cv2.IMREAD_UNCHANGED)
        assert written.dtype == np.uint16
        assert np.array_equal(written, deep)


def test_grey_stays_grey(tmp_path: Path, bgr: np.ndarray) -> None:
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    picture = load_image(tmp_path / "grey.png")
    assert picture.grey and picture.colour.shape == (3, 64, 96)
    assert torch.equal(picture.colour[0], picture.colour[2])
    save_image(tmp_path / "out.png", picture.colour, grey=True)
    written = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    assert written.ndim == 2 and np.array_equal(written, grey)


def test_alpha_is_kept(tmp_path: Path, bgr: np.ndarray) -> None:
    alpha = np.tile(np.linspace(0, 255, 96).astype(np.uint8), (64, 1))
    cv2.imwrite(str(tmp_path / "rgba.png"), np.dstack([bgr, alpha]))
    picture = load_image(tmp_path / "rgba.png")
    assert picture.alpha is not None and picture.alpha.shape == (1, 64, 96)
    save_image(tmp_path / "out.png", picture.colour, picture.alpha)
    written = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(written, np.dstack([bgr, alpha]))
    # JPEG has no alpha: the colour is written, the alpha dropped.
    save_image(tmp_path / "out.jpg", picture.colour, picture.alpha)
    assert cv2.imread(str(tmp_path / "out.jpg"), cv2.IMREAD_UNCHANGED).shape == (64, 96, 3)


@pytest.mark.parametrize(("suffix", "tolerance"), [(".jpg", 12.0), (".webp", 0.0)])
def test_lossy_and_lossless_formats(
    tmp_path: Path, bgr: np.ndarray, suffix: str, tolerance: float
) -> None:
    picture = load_image(DATA / "frame10.png")
    save_image(tmp_path / f"out{suffix}", picture.colour[:, :64, :96], bit_depth=16)
    again = load_image(tmp_path / f"out{suffix}")
    assert again.bit_depth == 8  # JPEG and WebP hold 8 bits
    difference = (again.colour - picture.colour[:, :64, :96]).abs() * 255
    assert float(difference.mean()) <= max(tolerance / 4, 1e-6)
    assert float(difference.max()) <= max(tolerance * 8, 1e-6)


def test_exception(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="not found"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(UnsupportedMediaError, match="cannot read"):
        load_image(tmp_path / "notes.png")
    with pytest.raises(UnsupportedMediaError, match="folder"):
        load_image(tmp_path)
    colour = torch.zeros(3, 4, 4)
    with pytest.raises(OutputError, match="unknown image type"):
        save_image(tmp_path / "out.gif", colour)
    with pytest.raises(OutputError, match="does not exist"):
        save_image(tmp_path / "missing" / "out.png", colour)


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"previous")

    def broken_replace(source: str, destination: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("frameinterp.images.os.replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        write_atomically(target, b"new data")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.png"]
    assert target.read_bytes() == b"previous"


@pytest.mark.parametrize("damage", ["truncated", "flipped byte"])
def test_exception_damaged_png_is_one_line_of_ours(
    tmp_path: Path, bgr: np.ndarray, damage: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """libpng prints its own complaint to stderr; a damaged PNG must never reach it."""
    data = bytearray(cv2.imencode(".png", bgr)[1].tobytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with pytest.raises(UnsupportedMediaError, match="PNG file is damaged"):
        load_image(tmp_path / "bad.png")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_read_rgb_one_reader_for_every_layout(tmp_path: Path, bgr: np.ndarray) -> None:
    """Grey is repeated, alpha dropped, BGR turned to RGB; 16-bit rounds to 8 on request."""
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    assert np.array_equal(read_rgb(tmp_path / "grey.png"), np.repeat(grey[:, :, None], 3, 2))
    bgra = np.dstack([bgr, np.full(bgr.shape[:2], 7, np.uint8)])
    cv2.imwrite(str(tmp_path / "rgba.png"), bgra)
    assert read_pixels(tmp_path / "rgba.png")[0, 0].tolist() == [*bgr[0, 0, ::-1].tolist(), 7]
    assert np.array_equal(read_rgb(tmp_path / "rgba.png"), bgr[:, :, ::-1])
    deep = np.array([[[0, 128, 129], [385, 65407, 65535]]], np.uint16)  # BGR order on disk
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    assert read_rgb(tmp_path / "deep.png").dtype == np.uint16
    # Rounded, not truncated: 128/257 → 0, 129/257 → 1, 385/257 → 1 (1.498), 65407/257 → 255.
    assert read_rgb(tmp_path / "deep.png", np.uint8).tolist() == [[[1, 0, 0], [255, 255, 1]]]


def test_bmp_round_trip(tmp_path: Path, bgr: np.ndarray) -> None:
    picture = load_image(DATA / "frame10.png")
    save_image(tmp_path / "out.bmp", picture.colour)
    assert torch.equal(load_image(tmp_path / "out.bmp").colour, picture.colour)
