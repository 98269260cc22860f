"""`frameinterp info` and `frameinterp splat-demo` through Typer's runner, on the DAVIS pair."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from typer.testing import CliRunner

from frameinterp.cli import app
from frameinterp.splat_demo import load_pair, splat_modes

runner = CliRunner()


def test_info_names_versions_and_backend():
    """Every row carries this machine's real value, not just its label."""
    import platform

    import av

    import frameinterp

    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    pairs = []
    for line in result.output.splitlines():
        if line.strip() and not line.startswith("    "):  # not a wrapped continuation
            label = "backend (auto)" if line.strip().startswith("backend") else line.split()[0]
            pairs.append((label, line.strip().removeprefix(label).strip()))
    rows = dict(pairs)
    devices = [value for label, value in pairs if label == "device"]
    assert rows["frameinterp"] == frameinterp.__version__
    assert rows["python"] == platform.python_version()
    assert rows["torch"] == torch.__version__
    assert rows["opencv"] == cv2.__version__
    libavcodec = ".".join(map(str, av.library_versions["libavcodec"]))
    assert rows["ffmpeg"] == f"libavcodec {libavcodec} (PyAV {av.__version__})"
    try:
        import cupy
    except ImportError:
        assert rows["cupy"] == "not installed"
    else:
        assert rows["cupy"] == cupy.__version__
    assert devices[0].startswith("cpu (") and f"{torch.get_num_threads()} threads" in devices[0]
    if torch.cuda.is_available():
        assert devices[1].startswith(f"cuda:0 {torch.cuda.get_device_name(0)} (")
    else:
        assert devices == devices[:1]
        assert rows["backend (auto)"].startswith("torch: PyTorch sees no CUDA device")


def test_splat_demo_writes_labelled_grid(tmp_path, data_dir):
    output = tmp_path / "grid.png"
    result = runner.invoke(
        app,
        [
            "splat-demo",
            str(data_dir / "davis-pair"),
            "-o",
            str(output),
            "--steps",
            "3",
            "--width",
            "128",
        ],
    )
    assert result.exit_code == 0, result.output
    grid = cv2.imread(str(output))
    one = cv2.imread(str(data_dir / "davis-pair" / "one.png"))
    cell_height = round(one.shape[0] * 128 / one.shape[1])
    assert grid.shape == (4 * cell_height, 3 * 128, 3)  # four modes × three times
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png"]


def test_modes_differ_as_in_the_paper(data_dir):
    """Summation brightens collisions; softmax stays within the source's range; t=0 is identity."""
    one, two, flow = load_pair(data_dir / "davis-pair")
    one, two, flow = (torch.nn.functional.avg_pool2d(x, 2) for x in (one, two, flow))
    flow = flow / 2
    results = splat_modes(one, two, flow, [0.0, 1.0])
    for mode in ("avg", "linear", "soft"):
        torch.testing.assert_close(results[mode][0], one)
    assert results["sum"][1].max() > 1.2  # overlapping sources add up
    assert results["soft"][1].max() <= 1.0 + 1e-6
    # moving the car forward: soft keeps it sharper than avg (less blending with background)
    gradient = lambda image: np.abs(np.diff(image[0].mean(0).numpy(), axis=1)).mean()  # noqa: E731
    assert gradient(results["soft"][1]) > gradient(results["avg"][1])


def test_exception_missing_pair(tmp_path):
    result = runner.invoke(app, ["splat-demo", str(tmp_path), "-o", str(tmp_path / "g.png")])
    assert result.exit_code != 0
    assert "one.png" in result.output and "Traceback" not in result.output


def test_exception_output_folder_missing(tmp_path, data_dir):
    result = runner.invoke(
        app, ["splat-demo", str(data_dir / "davis-pair"), "-o", str(tmp_path / "no" / "g.png")]
    )
    assert result.exit_code == 4
    assert "does not exist" in result.output


def test_library_entry_points_are_importable_lazily():
    import subprocess
    import sys

    code = (
        "import sys, frameinterp; assert 'av' not in sys.modules; "
        "from frameinterp import interpolate_video, interpolate_pair, create_interpolator; "
        "assert callable(interpolate_video) and callable(interpolate_pair); "
        "assert 'av' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_version_and_command_order():
    import frameinterp

    result = runner.invoke(app, ["--version"])
    assert (
        result.exit_code == 0 and result.output.strip() == f"frameinterp {frameinterp.__version__}"
    )
    listing = runner.invoke(app, ["--help"]).output
    assert listing.index("slowmo") < listing.index("pair") < listing.index("info")


def test_splat_demo_video_has_one_frame_per_time(tmp_path, data_dir):
    import av

    grid, clip = tmp_path / "grid.png", tmp_path / "modes.mp4"
    result = runner.invoke(
        app,
        ["splat-demo", str(data_dir / "davis-pair"), "-o", str(grid), "--video", str(clip),
         "--steps", "4", "--width", "96"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
    assert len(frames) == 4
    assert stream.width == 4 * 96  # the four modes side by side
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png", "modes.mp4"]
