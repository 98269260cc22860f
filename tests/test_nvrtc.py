"""The kernels compile with NVIDIA's own NVRTC, on any machine: no GPU, no CUDA toolkit.

NVRTC (``libnvrtc``) is what CuPy compiles with at run time. It comes as a wheel
(``nvidia-cuda-nvrtc``, part of the ``test`` extra) and is loaded here with ctypes from the
wheel's ``lib`` folder. Each source is compiled exactly as ``cuda_runtime`` hands it over
(``kernel_source`` text, ``--std=c++14``), to PTX for compute_75 (Turing, the oldest GPU
CUDA 13 builds for) and compute_90 (Hopper), and to cubin for sm_75 and sm_90 so ptxas runs.
Treated as errors: any line NVRTC logs (warnings included), a register spill or local memory
(ptxas warnings), and double-precision instructions in the PTX (slow on every consumer GPU).
The kernels each entry point exports must be exactly the ones the host emulation runs.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import re
from pathlib import Path

import pytest
from kernel_emulation import find_gxx, parse_kernels, preprocess

from frameinterp.ops.cuda_runtime import kernel_source

KERNELS = sorted(p.name for p in (Path(__file__).parents[1] / "kernels").glob("*.cu"))
OPTIONS = ("--std=c++14",)  # what cuda_runtime passes to cupy.RawModule
PTXAS = ("--ptxas-options=--warn-on-spills", "--ptxas-options=--warn-on-local-memory-usage")
ARCHITECTURES = ["compute_75", "compute_90", "sm_75", "sm_90"]


def find_nvrtc() -> Path | None:
    """``libnvrtc.so.*`` from the installed ``nvidia-cuda-nvrtc`` wheel (CUDA 13 or 12)."""
    for distribution in ("nvidia-cuda-nvrtc", "nvidia-cuda-nvrtc-cu12"):
        try:
            files = importlib.metadata.files(distribution) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for file in files:
            if re.fullmatch(r"libnvrtc\.so\.\d+", file.name):
                return Path(str(file.locate()))
    return None


@pytest.fixture(scope="module")
def nvrtc() -> ctypes.CDLL:
    path = find_nvrtc()
    if path is None:
        pytest.skip("NVRTC wheel not installed: pip install 'frameinterp[test]'")
    library = ctypes.CDLL(str(path))
    library.nvrtcGetErrorString.restype = ctypes.c_char_p
    return library


def check(library: ctypes.CDLL, result: int) -> None:
    if result != 0:
        raise RuntimeError(library.nvrtcGetErrorString(result).decode())


def compile_source(
    library: ctypes.CDLL, code: str, options: tuple[str, ...]
) -> tuple[int, str, bytes]:
    """(nvrtcResult, log, PTX or cubin) for one compilation."""
    program = ctypes.c_void_p()
    check(
        library,
        library.nvrtcCreateProgram(
            ctypes.byref(program), code.encode(), b"kernel.cu", 0, None, None
        ),
    )
    try:
        encoded = [option.encode() for option in options]
        result = library.nvrtcCompileProgram(
            program, len(encoded), (ctypes.c_char_p * len(encoded))(*encoded)
        )
        size = ctypes.c_size_t()
        check(library, library.nvrtcGetProgramLogSize(program, ctypes.byref(size)))
        log = ctypes.create_string_buffer(size.value)
        check(library, library.nvrtcGetProgramLog(program, log))
        output = b""
        if result == 0:
            kind = "CUBIN" if any("=sm_" in option for option in options) else "PTX"
            get_size = getattr(library, f"nvrtcGet{kind}Size")
            get = getattr(library, f"nvrtcGet{kind}")
            check(library, get_size(program, ctypes.byref(size)))
            buffer = ctypes.create_string_buffer(size.value)
            check(library, get(program, buffer))
            output = buffer.raw
        return result, log.value.decode(errors="replace").strip(), output
    finally:
        library.nvrtcDestroyProgram(ctypes.byref(program))


def test_nvrtc_version(nvrtc: ctypes.CDLL) -> None:
    major, minor = ctypes.c_int(), ctypes.c_int()
    check(nvrtc, nvrtc.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)))
    assert major.value >= 12


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("source", KERNELS)
def test_kernel_compiles_cleanly(nvrtc: ctypes.CDLL, source: str, architecture: str) -> None:
    code = kernel_source(source)
    options = (*OPTIONS, f"--gpu-architecture={architecture}")
    if architecture.startswith("sm_"):
        options = (*options, *PTXAS)
    result, log, output = compile_source(nvrtc, code, options)
    assert result == 0, log
    assert log == "", f"NVRTC logged (treated as an error):\n{log}"
    if architecture.startswith("compute_"):
        ptx = output.decode(errors="replace")
        entries = set(re.findall(r"\.entry\s+(\w+)", ptx))
        assert entries, "no kernel in the PTX"
        if find_gxx() is not None:  # the host emulation must see the same entry points
            assert entries == set(parse_kernels(preprocess(code)))
        assert ".f64" not in ptx, "double-precision arithmetic in a kernel"


def test_a_broken_kernel_is_reported(nvrtc: ctypes.CDLL) -> None:
    """The harness can fail: a type error and an unused variable both surface."""
    code = kernel_source("softsplat.cu").replace("const float value =", "const float* value =")
    result, log, _ = compile_source(nvrtc, code, (*OPTIONS, "--gpu-architecture=compute_75"))
    assert result != 0 and "error" in log
    code = kernel_source("softsplat.cu").replace(
        "Landing landing;", "Landing landing;\n        int unused = 1;", 1
    )
    result, log, _ = compile_source(nvrtc, code, (*OPTIONS, "--gpu-architecture=compute_75"))
    assert "warning" in log
