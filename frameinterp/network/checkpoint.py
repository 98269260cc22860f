"""Weights files: strict loading of the published layout, saving in the same layout.

Published checkpoints name tensors after the authors' modules (``netFlow.netExtractor.netFirst.0
.weight``; older files spell ``net`` as ``module``). ``published_names()`` maps every one of those
names onto this package's descriptive modules, explicitly, block by block. Loading is strict: a
missing, unexpected or mis-shaped tensor is a ``CheckpointError`` naming it.

Files are data, never code: pickles are read with ``torch.load(weights_only=True)``, which
refuses any object other than tensors and plain containers; ``.safetensors`` files are read with
the safetensors library. Our own weights are written in the published layout (safetensors), so
one loader serves both.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from frameinterp.errors import CheckpointError, InputNotFoundError
from frameinterp.files import write_atomically
from frameinterp.network.flow import PYRAMID_CHANNELS
from frameinterp.network.model import SoftsplatNetwork

__all__ = [
    "load_checkpoint",
    "load_state_file",
    "published_names",
    "published_state_dict",
    "save_weights",
]

# Published names count pyramid levels from the finest (half resolution) in words.
_FLOW_LEVEL_WORDS = ("First", "Second", "Third", "Fourth", "Fifth", "Sixth")
_ENCODER_LEVEL_WORDS = ("One", "Two", "Thr")

# Position inside the published nn.Sequential containers -> our attribute names.
_PYRAMID_LEVEL = {"0": "downsample", "2": "refine"}  # 1 and 3 are LeakyReLU
_DECODER = {str(2 * i): f"convs.{i}" for i in range(6)}  # odd positions are LeakyReLU
_ENCODER_LEVEL = {"0": "conv_in", "1": "activation_in", "2": "conv_out", "3": "activation_out"}
_PRE_ACTIVATION = {"0": "activation_in", "1": "conv_in", "2": "activation_out", "3": "conv_out"}
# Upsampling edges start with a parameter-free nn.Upsample at position 0.
_UPSAMPLING = {"1": "activation_in", "2": "conv_in", "3": "activation_out", "4": "conv_out"}
_PROJECTION = {"0": "conv_in", "1": "activation", "2": "conv_out"}


def _grid_edges(
    published: str, ours: str, rows: int, columns: int, down_columns: int
) -> dict[str, str]:
    """GridNet edges ``'RxC - R'xC''`` (source row x column, then target) onto our GridNet."""
    names: dict[str, str] = {}

    def add(edge: str, target: str, positions: Mapping[str, str]) -> None:
        for position, attribute in positions.items():
            names[f"{published}.{edge}.netMain.{position}.weight"] = f"{target}.{attribute}.weight"

    for row in range(rows):
        for column in range(columns - 1):
            add(
                f"{row}x{column} - {row}x{column + 1}",
                f"{ours}.lateral.{row}.{column}",
                _PRE_ACTIVATION,
            )
    for row in range(rows - 1):
        for column in range(down_columns):
            add(
                f"{row}x{column} - {row + 1}x{column}",
                f"{ours}.down.{row}.{column}",
                _PRE_ACTIVATION,
            )
        for index, column in enumerate(range(down_columns, columns)):
            add(
                f"{row + 1}x{column} - {row}x{column}",
                f"{ours}.up.{row}.{index}.block",
                _UPSAMPLING,
            )
    return names


def _projection(published: str, ours: str) -> dict[str, str]:
    names = {
        f"{published}.netMain.{position}.weight": f"{ours}.{attribute}.weight"
        for position, attribute in _PROJECTION.items()
    }
    names[f"{published}.netShortcut.weight"] = f"{ours}.shortcut.weight"
    return names


def published_names() -> dict[str, str]:
    """Every published tensor name (``net`` spelling) -> our ``state_dict`` name."""
    names: dict[str, str] = {}
    for level, word in enumerate(_FLOW_LEVEL_WORDS):
        for position, attribute in _PYRAMID_LEVEL.items():
            for kind in ("weight", "bias"):
                names[f"netFlow.netExtractor.net{word}.{position}.{kind}"] = (
                    f"flow.pyramid.levels.{level}.{attribute}.{kind}"
                )
        for position, attribute in _DECODER.items():
            for kind in ("weight", "bias"):
                names[f"netFlow.net{word}.netMain.{position}.{kind}"] = (
                    f"flow.decoders.{level}.{attribute}.{kind}"
                )
    for level, word in enumerate(_ENCODER_LEVEL_WORDS):
        for position, attribute in _ENCODER_LEVEL.items():
            names[f"netSynthesis.netEncode.net{word}.{position}.weight"] = (
                f"synthesis.encoder.levels.{level}.{attribute}.weight"
            )
    names["netSynthesis.netSoftmetric.netInput.weight"] = "synthesis.metric.image_features.weight"
    names["netSynthesis.netSoftmetric.netError.weight"] = "synthesis.metric.error_features.weight"
    names.update(_grid_edges("netSynthesis.netSoftmetric", "synthesis.metric.grid", 4, 2, 1))
    names.update(_projection("netSynthesis.netSoftmetric.netOutput", "synthesis.metric.output"))
    for level, word in enumerate(_ENCODER_LEVEL_WORDS):
        names.update(_projection(f"netSynthesis.netWarp.net{word}", f"synthesis.merge.{level}"))
    names.update(_grid_edges("netSynthesis", "synthesis.grid", 3, 6, 3))
    names.update(_projection("netSynthesis.netOutput", "synthesis.output"))
    if len(_FLOW_LEVEL_WORDS) != len(PYRAMID_CHANNELS):  # keeps the tables honest
        raise RuntimeError("flow level names and pyramid levels disagree")
    return names


_MODULE_SPELLING = re.compile(r"(^|\.)module(?=[A-Z])")


def _canonical(name: str) -> str:
    """``moduleFlow.moduleExtractor...`` -> ``netFlow.netExtractor...``."""
    return _MODULE_SPELLING.sub(r"\1net", name)


_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's format since PyTorch 1.6
_PICKLE_PROTOCOL = b"\x80"  # legacy torch.save files and plain pickles start with this


def _looks_like_safetensors(head: bytes) -> bool:
    """An 8-byte little-endian header length, then the JSON header."""
    return len(head) > 8 and head[8:9] == b"{"


def _what_it_is(head: bytes) -> str:
    """A short description of a file that is not a checkpoint, from its first bytes."""
    if not head:
        return "an empty file"
    if head.startswith(b"\x89PNG"):
        return "a PNG image"
    if head.startswith(b"\xff\xd8\xff"):
        return "a JPEG image"
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return "an HTML page (a failed download?)"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "neither a zip archive nor a pickle"
    return "a text file"


def load_state_file(path: str | Path) -> dict[str, Any]:
    """Read a ``.safetensors`` file or a tensor-only pickle, never executing code from it."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(
            f"weights file {path} does not exist; pass the path of a checkpoint"
        )
    with path.open("rb") as file:
        head = file.read(64)
    if path.suffix == ".safetensors" or _looks_like_safetensors(head):
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return dict(load_file(str(path), device="cpu"))
        except (SafetensorError, OSError, ValueError) as error:
            raise CheckpointError(f"{path} is not a readable safetensors file: {error}") from None
    if not head.startswith((_ZIP_MAGIC, _PICKLE_PROTOCOL)):
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint or a .safetensors file: it is "
            f"{_what_it_is(head)}; pass the weights file itself (for example network-lf.pytorch)"
        )
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # PyTorch's message advises turning weights_only off; we never do, so we do not quote it.
        found = re.search(r"GLOBAL ([\w.]+)", str(error))
        what = "pickled content other than tensors"
        if found:
            what = f"the Python object {found.group(1)}"
        raise CheckpointError(
            f"{path} is not plain tensor data: it holds {what}, and code or objects are never "
            "loaded from a weights file; use a state dict of tensors or a .safetensors file"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError) as error:
        kind = "zip archive" if head.startswith(_ZIP_MAGIC) else "pickle"
        raise CheckpointError(
            f"{path} is a {kind} but not a readable PyTorch checkpoint (damaged or partly "
            f"downloaded?): {type(error).__name__}"
        ) from None
    if not isinstance(content, dict):
        raise CheckpointError(
            f"{path} holds a {type(content).__name__}; expected a dict of tensor names to tensors"
        )
    return content


def _model_tensors(content: Mapping[str, Any], source: str) -> Mapping[str, Any]:
    """The tensors of the network: a bare state dict, or the ``model`` entry of our checkpoints."""
    if "model" in content and isinstance(content["model"], Mapping):
        return content["model"]
    return content


def to_local_state_dict(
    tensors: Mapping[str, Any], network: SoftsplatNetwork, source: str = "checkpoint"
) -> dict[str, torch.Tensor]:
    """Rename published tensors to ours, refusing anything missing, extra or mis-shaped."""
    mapping = published_names()
    expected = network.state_dict()
    local: dict[str, torch.Tensor] = {}
    for name, tensor in tensors.items():
        canonical = _canonical(str(name))
        if canonical not in mapping:
            raise CheckpointError(
                f"{source} has an unexpected tensor {name!r} that the softsplat network does not "
                "have; is this the published 'lf' checkpoint (netFlow./netSynthesis. names)?"
            )
        target = mapping[canonical]
        if target in local:
            raise CheckpointError(f"{source} holds tensor {name!r} twice (net and module spelling)")
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{source}: {name!r} is a {type(tensor).__name__}, not a tensor")
        if tuple(tensor.shape) != tuple(expected[target].shape):
            raise CheckpointError(
                f"{source}: tensor {name!r} has shape {tuple(tensor.shape)}, expected "
                f"{tuple(expected[target].shape)}"
            )
        if not tensor.is_floating_point():
            raise CheckpointError(
                f"{source}: tensor {name!r} has dtype {tensor.dtype}, expected float"
            )
        local[target] = tensor
    reverse = {ours: published for published, ours in mapping.items()}
    missing = [reverse[name] for name in expected if name not in local]
    if missing:
        shown = ", ".join(repr(name) for name in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise CheckpointError(f"{source} is missing tensor(s) {shown}{more}")
    return local


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> SoftsplatNetwork:
    """A :class:`SoftsplatNetwork` (in eval mode) with the weights of ``path``.

    Accepts the published layout with ``net`` or ``module`` prefixes, as ``.safetensors`` or a
    tensor-only PyTorch pickle, and the checkpoints ``frameinterp train`` writes.
    """
    tensors = _model_tensors(load_state_file(path), str(path))
    network = SoftsplatNetwork()
    network.load_state_dict(to_local_state_dict(tensors, network, str(path)), strict=True)
    return network.to(device).eval()


def published_state_dict(network: SoftsplatNetwork) -> dict[str, torch.Tensor]:
    """The network's weights under the published names (``net`` spelling)."""
    state = network.state_dict()
    return {published: state[ours] for published, ours in published_names().items()}


def save_weights(
    network: SoftsplatNetwork, path: str | Path, metadata: dict[str, str] | None = None
) -> None:
    """Write the weights as ``.safetensors`` in the published layout, atomically."""
    from safetensors.torch import save

    tensors = {
        name: tensor.detach().cpu().contiguous()
        for name, tensor in published_state_dict(network).items()
    }
    write_atomically(path, save(tensors, metadata=metadata))
