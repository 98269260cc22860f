"""--engine / --weights reach every command that runs an engine, with one-line errors."""

from __future__ import annotations

import cv2
import torch
from typer.testing import CliRunner

from frameinterp.cli import app
from frameinterp.network import SoftsplatNetwork, save_weights

runner = CliRunner()


def small_pair(folder, data_dir):
    """A 64×48 crop of the real RubberWhale pair (keeps the network fast on the CPU)."""
    paths = []
    for name in ("frame10.png", "frame11.png"):
        image = cv2.imread(str(data_dir / "middlebury" / "RubberWhale" / name))
        path = folder / name
        cv2.imwrite(str(path), image[100:148, 200:264])
        paths.append(path)
    return paths


def test_pair_with_softsplat_net_weights(tmp_path, data_dir):
    torch.manual_seed(0)
    weights = tmp_path / "weights.safetensors"
    save_weights(SoftsplatNetwork(), weights)
    first, second = small_pair(tmp_path, data_dir)
    output = tmp_path / "middle.png"
    result = runner.invoke(
        app,
        ["pair", str(first), str(second), "-o", str(output), "--engine", "softsplat-net",
         "--weights", str(weights), "--device", "cpu"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(output)).shape == (48, 64, 3)


def test_exception_softsplat_net_without_weights(tmp_path, data_dir):
    first, second = small_pair(tmp_path, data_dir)
    result = runner.invoke(app, ["pair", str(first), str(second), "--engine", "softsplat-net"])
    assert result.exit_code != 0
    assert "weights" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frame10.png", "frame11.png"]


def test_exception_weights_with_an_engine_that_takes_none(tmp_path, data_dir):
    first, second = small_pair(tmp_path, data_dir)
    for command in (
        ["pair", str(first), str(second)],
        ["benchmark", "middlebury", str(data_dir / "middlebury")],
    ):
        result = runner.invoke(app, [*command, "--weights", str(first)])
        assert result.exit_code == 2, result.output
        assert "uses no weights file" in result.output
