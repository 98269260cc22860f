"""Kernels compile with nvcc, and a built (non-editable) wheel ships and finds them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from frameinterp.ops.cuda_runtime import kernel_source

ROOT = Path(__file__).resolve().parents[1]
KERNELS = sorted((ROOT / "kernels").glob("*.cu"))


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not on PATH")
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("source", KERNELS, ids=[k.name for k in KERNELS])
def test_kernel_compiles(source, arch, tmp_path):
    """Compile exactly the text NVRTC gets at run time (includes inlined), in a bare folder.

    A second opinion beside tests/test_nvrtc.py (which needs no toolkit): nvcc's front end and
    host compiler pass, with every warning an error."""
    inlined = tmp_path / source.name
    inlined.write_text(kernel_source(source.name))
    result = subprocess.run(
        [
            "nvcc",
            f"-arch={arch}",
            "--std=c++14",
            "--Werror",
            "all-warnings",
            "-c",
            str(inlined),
            "-o",
            str(tmp_path / "k.o"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_kernel_source_inlines_local_includes():
    text = kernel_source("softsplat.cu")
    assert "#include" not in text and "#pragma once" not in text
    assert text.count("__device__ __forceinline__ float load_float(const float*") == 1


def test_kernel_sources_exist():
    assert {k.name for k in KERNELS} >= {"softsplat.cu"}


@pytest.mark.slow
def test_wheel_ships_kernels(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("frameinterp-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for kernel in KERNELS:
        assert f"frameinterp/kernels/{kernel.name}" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # Import from the unpacked wheel only (no source tree on the path).
    code = (
        "import frameinterp, sys; from frameinterp.ops.cuda_runtime import kernel_source; "
        "assert frameinterp.__file__.startswith(sys.argv[1]), frameinterp.__file__; "
        "print(len(kernel_source('softsplat.cu')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(site)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(site)},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(kernel_source("softsplat.cu"))


def test_every_subpackage_is_listed_for_the_wheel():
    """A package missing from pyproject's list would be absent from the installed wheel."""
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "frameinterp").rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
