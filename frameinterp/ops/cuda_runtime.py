"""CuPy plumbing shared by CUDA ops: find kernel sources, compile once, launch on torch's stream.

CuPy is optional. Nothing here imports it at module load, so the CPU path never pays for it.
"""

from __future__ import annotations

import functools
import importlib.resources
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frameinterp.errors import BackendUnavailableError

INSTALL_HINT = "install the CUDA extra: pip install 'frameinterp[cuda12]' (or [cuda13])"
THREADS_PER_BLOCK = 512
MAX_BLOCKS = 65535 * 8  # grid-stride loops cover the rest


def _kernel_folder() -> Any:
    """The ``kernels/`` folder of the source checkout this code runs from, if it runs from one;
    otherwise the installed ``frameinterp.kernels`` package data.

    The checkout comes first because an editable install elsewhere (another clone or worktree)
    would otherwise hand this code that clone's kernels.
    """
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "kernels" / "common.cuh").is_file():
        return checkout / "kernels"
    try:
        return importlib.resources.files("frameinterp.kernels")
    except ModuleNotFoundError:
        return checkout / "kernels"


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


_compiled: dict[tuple[str, int], Any] = {}
_compile_lock = threading.Lock()


def _module(filename: str, device_index: int) -> Any:
    """One compiled module per source file and device: shapes are arguments, never recompiled.

    The lock makes threads that ask at the same time (the pipeline's preparation threads) wait
    for one compilation instead of each running NVRTC; ``compile()`` runs it inside the lock,
    since CuPy would otherwise compile lazily on the first ``get_function``.
    """
    key = (filename, device_index)
    with _compile_lock:
        if key not in _compiled:
            import cupy

            with cupy.cuda.Device(device_index):
                module = cupy.RawModule(code=kernel_source(filename), options=("--std=c++14",))
                module.compile()
            _compiled[key] = module
        return _compiled[key]


def clear_compiled() -> None:
    """Forget every compiled module (tests that swap the compiler use this)."""
    with _compile_lock:
        _compiled.clear()


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
