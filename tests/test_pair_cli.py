"""`frameinterp pair` end to end on a real Middlebury pair: outputs, formats, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from frameinterp.cli import app
from frameinterp.metrics import psnr
from frameinterp.pair import evenly_spaced_times, interpolate_pair, plan_outputs

DATA = Path(__file__).parent / "data" / "middlebury" / "RubberWhale"
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    for name in ("frame10.png", "frame11.png"):
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path / "frame10.png", tmp_path / "frame11.png"


@pytest.fixture
def crops(tmp_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Small real crops for the format tests (BGR, as OpenCV reads them)."""
    first = cv2.imread(str(DATA / "frame10.png"))[100:196, 200:328]
    second = cv2.imread(str(DATA / "frame11.png"))[100:196, 200:328]
    return first, second


def test_smoke_real_pair_default_output(pair: tuple[Path, Path]) -> None:
    code, out, err = invoke("pair", str(pair[0]), str(pair[1]), "--device", "cpu")
    assert code == 0, err
    output = pair[0].parent / "frame10_frame11_interp.png"
    assert out.strip() == str(output)
    middle = cv2.imread(str(output))
    truth = cv2.imread(str(DATA / "frame10i11.png"))
    first, second = cv2.imread(str(pair[0])), cv2.imread(str(pair[1]))
    blended = ((first.astype(np.float32) + second) / 2).round().astype(np.uint8)
    assert psnr(middle, truth) > psnr(blended, truth) + 2.0


def test_count_and_times(pair: tuple[Path, Path], tmp_path: Path) -> None:
    code, out, err = invoke(
        "pair", str(pair[0]), str(pair[1]), "--count", "3", "-o", str(tmp_path / "mid.png")
    )
    assert code == 0, err
    names = [Path(line).name for line in out.split()]
    assert names == ["mid_01.png", "mid_02.png", "mid_03.png"]
    code, out, err = invoke(
        "pair", str(pair[0]), str(pair[1]), "-t", "0.25", "-t", "0.75", "-o", str(tmp_path)
    )
    assert code == 0, err
    quarter = cv2.imread(str(tmp_path / "frame10_frame11_interp_01.png"))
    # The frame at 0.25 from this call is the frame at 0.25 from the --count call.
    assert np.array_equal(quarter, cv2.imread(str(tmp_path / "mid_01.png")))


def test_formats_follow_the_inputs(tmp_path: Path, crops: tuple[np.ndarray, np.ndarray]) -> None:
    first, second = crops
    cases = {
        "deep": [image.astype(np.uint16) * 257 for image in crops],
        "grey": [cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) for image in crops],
        "rgba": [np.dstack([image, np.full(image.shape[:2], 200, np.uint8)]) for image in crops],
    }
    for name, images in cases.items():
        paths = [tmp_path / f"{name}_{index}.png" for index in range(2)]
        for path, image in zip(paths, images, strict=True):
            cv2.imwrite(str(path), image)
        output = tmp_path / f"{name}_out.png"
        assert interpolate_pair(*paths, output=output, device="cpu") == [output]
        written = cv2.imread(str(output), cv2.IMREAD_UNCHANGED)
        assert written.dtype == images[0].dtype, name
        assert written.shape == images[0].shape, name
    assert np.all(cv2.imread(str(tmp_path / "rgba_out.png"), cv2.IMREAD_UNCHANGED)[..., 3] == 200)
    # TIFF and JPEG inputs, WebP output.
    cv2.imwrite(str(tmp_path / "a.tif"), first)
    cv2.imwrite(str(tmp_path / "b.jpg"), second)
    code, _, err = invoke(
        "pair", str(tmp_path / "a.tif"), str(tmp_path / "b.jpg"), "-o", str(tmp_path / "m.webp")
    )
    assert code == 0, err
    assert cv2.imread(str(tmp_path / "m.webp")).shape == first.shape


def test_errors_are_one_line_and_write_nothing(
    pair: tuple[Path, Path], tmp_path: Path, crops: tuple[np.ndarray, np.ndarray]
) -> None:
    cv2.imwrite(str(tmp_path / "small.png"), crops[0])
    (tmp_path / "notes.png").write_text("hello")
    first, second = (str(path) for path in pair)
    cases = [
        ((first, str(tmp_path / "missing.png")), 2, "not found"),
        ((first, str(tmp_path / "notes.png")), 3, "cannot read"),
        ((first, str(tmp_path / "small.png")), 2, "differ in size"),
        ((first, second, "--time", "1.5"), 2, "outside (0, 1)"),
        ((first, second, "--time", "0"), 2, "outside (0, 1)"),
        ((first, second, "-o", str(tmp_path / "nowhere" / "x.png")), 4, "does not exist"),
        ((first, second, "-o", second), 4, "refusing to overwrite the input"),
        ((first, second, "-o", str(tmp_path / "x.gif")), 4, "unknown image type"),
        ((first, second, "--engine", "magic"), 2, "unknown engine"),
    ]
    before = sorted(path.name for path in tmp_path.iterdir())
    for arguments, exit_code, message in cases:
        code, out, err = invoke("pair", *arguments)
        assert code == exit_code, (arguments, err)
        assert message in err, (arguments, err)
        assert err.startswith("error:") and len(err.strip().splitlines()) == 1, err
        assert out == ""
    assert sorted(path.name for path in tmp_path.iterdir()) == before


def test_plan_outputs_and_times(tmp_path: Path) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.jpg"
    assert plan_outputs(first, second, 1, None) == [tmp_path / "a_b_interp.png"]
    assert plan_outputs(first, second, 2, tmp_path / "o.tif") == [
        tmp_path / "o_01.tif",
        tmp_path / "o_02.tif",
    ]
    assert plan_outputs(first, second, 100, None)[-1].name == "a_b_interp_100.png"
    assert evenly_spaced_times(3) == [0.25, 0.5, 0.75]


def test_existing_output_needs_overwrite(pair: tuple[Path, Path], tmp_path: Path) -> None:
    """The rule every command shares: an existing output is replaced only with --overwrite."""
    first, second = (str(path) for path in pair)
    target = tmp_path / "middle.png"
    target.write_bytes(b"keep me")
    code, out, err = invoke("pair", first, second, "-o", str(target), "--engine", "blend")
    assert code == 4 and "already exists; pass --overwrite" in err, err
    assert len(err.strip().splitlines()) == 1 and target.read_bytes() == b"keep me"
    code, out, err = invoke(
        "pair", first, second, "-o", str(target), "--engine", "blend", "--overwrite"
    )
    assert code == 0, err
    assert out.strip() == str(target)
    assert cv2.imread(str(target)).shape == cv2.imread(first).shape


def test_exception_messages_name_the_real_problem(
    pair: tuple[Path, Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    first, second = (str(path) for path in pair)
    code, out, err = invoke("pair", first, second, "-o", str(tmp_path / "out") + "/")
    assert code == 4 and "output folder" in err and "does not exist" in err, err
    assert "unknown image type" not in err
    # A damaged PNG: our one line, and nothing from libpng on the process's real stderr.
    damaged = tmp_path / "damaged.png"
    data = bytearray(Path(second).read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    capfd.readouterr()
    code, out, err = invoke("pair", first, str(damaged))
    assert code == 3 and "PNG file is damaged" in err and len(err.strip().splitlines()) == 1
    assert capfd.readouterr().err == "" and out == ""


def test_an_unexpected_error_is_one_line_unless_the_traceback_is_asked_for(
    pair: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (here: the engine raising a plain RuntimeError) is one line naming the exception,
    exit code 70, and no output; FRAMEINTERP_TRACEBACK=1 lets the exception through."""
    import frameinterp.cli.pair_commands as pair_commands

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the engine fell over")

    monkeypatch.setattr(pair_commands, "interpolate_pair", broken)
    output = tmp_path / "out.png"
    code, _, stderr = invoke("pair", str(pair[0]), str(pair[1]), "-o", str(output))
    assert code == 70
    lines = stderr.strip().splitlines()
    assert len(" ".join(lines)) < 300 and "Traceback" not in stderr
    assert "RuntimeError: the engine fell over" in stderr and "FRAMEINTERP_TRACEBACK=1" in stderr
    assert not output.exists()
    monkeypatch.setenv("FRAMEINTERP_TRACEBACK", "1")
    result = runner.invoke(app, ["pair", str(pair[0]), str(pair[1]), "-o", str(output)])
    assert isinstance(result.exception, RuntimeError)
