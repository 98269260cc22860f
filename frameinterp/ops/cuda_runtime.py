"""CuPy plumbing shared by CUDA ops: find kernel sources, compile once, launch on torch's stream.

CuPy is optional. Nothing here imports it at module load, so the CPU path never pays for it.
"""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frameinterp.errors import BackendUnavailableError

INSTALL_HINT = "install the CUDA extra: pip install 'frameinterp[cuda12]' (or [cuda13])"
THREADS_PER_BLOCK = 512
MAX_BLOCKS = 65535 * 8  # grid-stride loops cover the rest


def _kernel_folder() -> Any:
    """The installed ``frameinterp.kernels`` package data; in a source checkout run without
    installing (``python -m pytest`` from the repository), the top-level ``kernels/`` folder."""
    try:
        return importlib.resources.files("frameinterp.kernels")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "kernels"


def kernel_source(filename: str) -> str:
    """Text of ``kernels/<filename>`` from the installed package data, local includes inlined.

    NVRTC gets one self-contained source: each ``#include "x.cuh"`` line is replaced by that
    file's text (once per file), so no include path has to exist at run time.
    """
    folder = _kernel_folder()
    inlined: set[str] = set()

    def expand(name: str) -> str:
        lines = []
        for line in folder.joinpath(name).read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith('#include "') and stripped.endswith('"'):
                included = stripped[len('#include "') : -1]
                if included not in inlined:
                    inlined.add(included)
                    lines.append(expand(included))
            elif stripped != "#pragma once":
                lines.append(line)
        return "\n".join(lines)

    return expand(filename) + "\n"


@functools.cache
def cupy_status() -> tuple[bool, str]:
    """Whether CuPy can launch kernels here, and a short reason either way."""
    if not torch.cuda.is_available():
        return False, "PyTorch sees no CUDA device"
    try:
        import cupy
    except ImportError:
        return False, f"CuPy is not installed ({INSTALL_HINT})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CuPy raises its own runtime errors when the driver is unusable
        return False, f"CuPy cannot reach the GPU: {error}"
    if count == 0:
        return False, "CuPy sees no CUDA device"
    return True, f"CuPy {cupy.__version__} sees {count} CUDA device(s)"


def require_cupy(tensor: torch.Tensor) -> None:
    """Raise a clear error when the CUDA backend cannot run for ``tensor``."""
    if not tensor.is_cuda:
        raise BackendUnavailableError(
            f"backend 'cuda' needs tensors on a CUDA device, got a tensor on {tensor.device}; "
            "move it with .cuda() or use backend='torch'"
        )
    available, reason = cupy_status()
    if not available:
        raise BackendUnavailableError(f"backend 'cuda' cannot run: {reason}; {INSTALL_HINT}")


@functools.cache
def _module(filename: str, device_index: int) -> Any:
    """One compiled module per source file and device: shapes are arguments, never recompiled."""
    import cupy

    with cupy.cuda.Device(device_index):
        return cupy.RawModule(code=kernel_source(filename), options=("--std=c++14",))


def kernel(filename: str, function: str, device: torch.device) -> Any:
    """The compiled kernel ``function`` from ``kernels/<filename>`` for ``device``."""
    index = device.index if device.index is not None else torch.cuda.current_device()
    return _module(filename, index).get_function(function)


def launch(function: Any, total: int, arguments: tuple[Any, ...], device: torch.device) -> None:
    """Launch a grid-stride kernel over ``total`` items on PyTorch's current stream."""
    if total == 0:
        return
    import cupy

    blocks = min((total + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK, MAX_BLOCKS)
    stream = cupy.cuda.ExternalStream(torch.cuda.current_stream(device).cuda_stream)
    with cupy.cuda.Device(device.index if device.index is not None else 0):
        function((blocks,), (THREADS_PER_BLOCK,), (np.int64(total), *arguments), stream=stream)


def pointer(tensor: torch.Tensor) -> np.uint64:
    """Raw device address of a contiguous tensor, as a kernel argument."""
    return np.uint64(tensor.data_ptr())
