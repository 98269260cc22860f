"""Shared fixtures; the ``cuda`` marker skips tests when no usable GPU and CuPy are present."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def _cuda_ready() -> tuple[bool, str]:
    from frameinterp.ops.cuda_runtime import cupy_status

    return cupy_status()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ready, reason = _cuda_ready()
    if ready:
        return
    skip = pytest.mark.skip(reason=f"needs CUDA + CuPy: {reason}")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def data_dir() -> Path:
    return DATA
