"""Files shipped inside the package: the sample clip and the sample frame pair.

Installed, they are package data of ``frameinterp.samples`` (pyproject maps the repository's
top-level ``samples/`` folder there); in a source checkout they are that folder. Either way the
commands that default to them work from any current folder.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from frameinterp.errors import InputNotFoundError

SAMPLE_CLIP = "cup.mp4"
SAMPLE_PAIR = "davis-pair"


def sample_path(name: str) -> Path:
    """The path of the bundled sample ``name`` (``cup.mp4``, ``davis-pair``)."""
    try:
        folder = Path(str(importlib.resources.files("frameinterp.samples")))
    except ModuleNotFoundError:  # a source checkout used without installing
        folder = Path(__file__).resolve().parents[1] / "samples"
    path = folder / name
    if not path.exists():
        raise InputNotFoundError(
            f"the bundled sample {name} is missing from {folder}; reinstall frameinterp, "
            "or pass your own file"
        )
    return path
