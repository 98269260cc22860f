"""--engine / --weights reach every command that runs an engine, with one-line errors."""

from __future__ import annotations

import cv2
import pytest
import torch
from typer.testing import CliRunner

from frameinterp.cli import app
from frameinterp.errors import InvalidInputError
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


def test_exception_unknown_option_names_the_known_ones():
    import pytest

    from frameinterp import InvalidInputError, create_interpolator

    with pytest.raises(InvalidInputError, match=r"'classic' has no option 'alpah'; its options "
                       r"are: alpha, consistency, .*memory_budget"):  # fmt: skip
        create_interpolator("classic", "cpu", alpah=99)
    with pytest.raises(InvalidInputError, match="'blend' has no option 'alpha'; it takes no"):
        create_interpolator("blend", "cpu", alpha=1)
    with pytest.raises(InvalidInputError, match="'softsplat-net' has no option 'sampler'"):
        create_interpolator("softsplat-net", "cpu", sampler="torch")


def test_classic_options_reach_the_engine():
    from frameinterp import create_interpolator
    from frameinterp.engines import CLASSIC_BYTES_PER_PIXEL

    engine = create_interpolator("classic", "cpu", alpha=3.0, weights=None)
    assert engine.options.alpha == 3.0
    # memory_budget picks the tile side: 128 bytes per pixel of a 100×100 tile.
    budget = CLASSIC_BYTES_PER_PIXEL * 100 * 100
    tight = create_interpolator("classic", "cpu", memory_budget=budget)
    assert tight.options.tile_size <= 100
    assert (
        create_interpolator("classic", "cpu", memory_budget=budget, tile_size=512).options.tile_size
        == 512
    )


def test_public_names_are_exactly_the_exports():
    """dir() lists the public API only, every name resolves, and the package is typed."""
    import importlib.resources
    import inspect

    import frameinterp

    assert dir(frameinterp) == sorted(frameinterp.__all__)
    for name in frameinterp.__all__:
        assert getattr(frameinterp, name) is not None, name
    assert issubclass(frameinterp.InvalidInputError, frameinterp.FrameInterpError)
    assert importlib.resources.files("frameinterp").joinpath("py.typed").is_file()
    # Options after the inputs are keyword-only, and devices may be torch.device objects.
    for function in (frameinterp.interpolate_pair, frameinterp.interpolate_frames):
        parameters = inspect.signature(function).parameters
        assert parameters["engine"].kind is inspect.Parameter.KEYWORD_ONLY
        assert "torch.device" in str(parameters["device"].annotation)
        assert {"progress", "on_progress"} <= set(parameters)


def test_quality_setting_matches_the_classic_presets() -> None:
    from frameinterp.engines.classic import QUALITY_FLOW
    from frameinterp.settings import QUALITY_PRESETS, ConversionSettings

    assert set(QUALITY_PRESETS) == set(QUALITY_FLOW)
    assert ConversionSettings(quality="fast").engine_options() == {
        "weights": None,
        "quality": "fast",
    }
    with pytest.raises(InvalidInputError, match="unknown --quality"):
        ConversionSettings(quality="ultra")
    with pytest.raises(InvalidInputError, match="classic engine"):
        ConversionSettings(engine="blend", quality="fast")
