"""Strict loading of the published checkpoint layout; checkpoints are data, never code."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from frameinterp.errors import CheckpointError, InputNotFoundError
from frameinterp.network import PARAMETER_COUNT, SoftsplatNetwork, load_checkpoint, save_weights
from frameinterp.network.checkpoint import published_names

KEYS = Path(__file__).parent / "data" / "lf-checkpoint" / "lf-checkpoint-keys.tsv"


def published_layout() -> dict[str, tuple[int, ...]]:
    """Names and shapes of the published 'lf' checkpoint, from the reference list."""
    layout = {}
    for line in KEYS.read_text().splitlines():
        name, shape = line.split("\t")
        layout[name] = tuple(ast.literal_eval(shape))
    return layout


def fake_checkpoint(prefix: str = "net") -> dict[str, torch.Tensor]:
    """Random tensors with the published names and shapes (``net`` or ``module`` spelling)."""
    generator = torch.Generator().manual_seed(0)
    tensors = {}
    for name, shape in published_layout().items():
        spelled = name.replace("net", prefix, 1) if prefix != "net" else name
        tensors[spelled] = torch.randn(shape, generator=generator) * 0.01
    return tensors


def test_layout_matches_network() -> None:
    layout = published_layout()
    network = SoftsplatNetwork()
    assert len(layout) == 278
    assert sum(p.numel() for p in network.parameters()) == PARAMETER_COUNT == 7_668_852
    state = network.state_dict()
    mapping = published_names()
    assert set(mapping) == set(layout)
    assert sorted(mapping.values()) == sorted(state)
    for name, shape in layout.items():
        assert tuple(state[mapping[name]].shape) == shape, name


@pytest.mark.parametrize("prefix", ["net", "module"])
def test_published_layout_loads(tmp_path: Path, prefix: str) -> None:
    tensors = fake_checkpoint(prefix)
    path = tmp_path / "network-lf.pytorch"
    torch.save(tensors, path)
    network = load_checkpoint(path)
    state = network.state_dict()
    mapping = published_names()
    for name, tensor in fake_checkpoint("net").items():
        torch.testing.assert_close(state[mapping[name]], tensor, rtol=0, atol=0)
    assert not network.training


def test_every_component_spelled_module_loads(tmp_path: Path) -> None:
    # Older files spell every level "module..." (moduleFlow.moduleExtractor.moduleFirst...).
    tensors = {name.replace("net", "module"): t for name, t in fake_checkpoint().items()}
    path = tmp_path / "old.pt"
    torch.save(tensors, path)
    load_checkpoint(path)


def test_wrong_shape_is_refused(tmp_path: Path) -> None:
    tensors = fake_checkpoint()
    name = "netSynthesis.netWarp.netTwo.netMain.0.weight"
    tensors[name] = torch.zeros(64, 129, 3, 3)
    path = tmp_path / "bad.pt"
    torch.save(tensors, path)
    with pytest.raises(
        CheckpointError, match=r"netWarp\.netTwo\.netMain\.0\.weight.*\(64, 129, 3, 3\)"
    ):
        load_checkpoint(path)


def test_missing_tensor_is_refused(tmp_path: Path) -> None:
    tensors = fake_checkpoint("module")
    del tensors["moduleFlow.netThird.netMain.4.bias"]
    path = tmp_path / "missing.pt"
    torch.save(tensors, path)
    with pytest.raises(CheckpointError, match=r"missing.*netFlow\.netThird\.netMain\.4\.bias"):
        load_checkpoint(path)


def test_extra_tensor_is_refused(tmp_path: Path) -> None:
    tensors = fake_checkpoint()
    tensors["netSynthesis.netRefine.weight"] = torch.zeros(3)
    path = tmp_path / "extra.pt"
    torch.save(tensors, path)
    with pytest.raises(
        CheckpointError, match=r"unexpected tensor 'netSynthesis\.netRefine\.weight'"
    ):
        load_checkpoint(path)


class RunsCode:
    """Unpickling this object would run a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_pickle_with_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    tensors: dict[str, object] = dict(fake_checkpoint())
    tensors["payload"] = RunsCode(marker)
    path = tmp_path / "malicious.pt"
    torch.save(tensors, path)
    with pytest.raises(CheckpointError, match="not plain tensor data"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "described"),
    [
        (b"", "an empty file"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "a PNG image"),
        (b"<!DOCTYPE html><html><body>Not found</body></html>", "an HTML page"),
        (b"netFlow.netFirst.weight 1 2 3\n", "a text file"),
    ],
    ids=["empty", "png", "html", "text"],
)
def test_not_a_checkpoint_says_what_it_is(tmp_path: Path, content: bytes, described: str) -> None:
    path = tmp_path / "network-lf.pytorch"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(path)
    message = str(raised.value)
    assert "is not a PyTorch checkpoint or a .safetensors file" in message
    assert described in message
    assert "weights_only" not in message and "trust" not in message


def test_objects_are_refused_without_advice_to_unlock_them(tmp_path: Path) -> None:
    # PyTorch's own message advises weights_only=False; ours names the object and stops there.
    path = tmp_path / "objects.pt"
    torch.save({"netFlow.netFirst.weight": np.zeros(3)}, path)
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(path)
    message = str(raised.value)
    assert "not plain tensor data" in message and "numpy" in message
    assert "weights_only" not in message and "trust" not in message


def test_damaged_archive_is_refused(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "damaged.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a checkpoint")
    with pytest.raises(CheckpointError, match="zip archive but not a readable PyTorch checkpoint"):
        load_checkpoint(path)


def test_safetensors_is_recognised_by_content(tmp_path: Path) -> None:
    # A .safetensors file saved under the published name still loads (read as safetensors).
    torch.manual_seed(3)
    path = tmp_path / "network-lf.pytorch"
    save_weights(SoftsplatNetwork(), path)
    load_checkpoint(path)


def test_safetensors_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(1)
    network = SoftsplatNetwork().eval()
    path = tmp_path / "ours.safetensors"
    save_weights(network, path, metadata={"steps": "0"})
    loaded = load_checkpoint(path)
    frames = torch.rand(2, 1, 3, 24, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = network(frames[0], frames[1], [0.5])[0]
        actual = loaded(frames[0], frames[1], [0.5])[0]
    torch.testing.assert_close(actual, expected, rtol=0, atol=0)


def test_training_checkpoint_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "train.pt"
    torch.save({"model": fake_checkpoint(), "step": 3}, path)
    load_checkpoint(path)


def test_exception(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError):
        load_checkpoint(tmp_path / "absent.pt")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file at all")
    with pytest.raises(CheckpointError, match="safetensors"):
        load_checkpoint(garbage)
    listed = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], listed)
    with pytest.raises(CheckpointError, match="expected a dict"):
        load_checkpoint(listed)
