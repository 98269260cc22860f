"""Kernels compile with nvcc; a built (non-editable) wheel ships kernels, samples and types."""

from __future__ import annotations

import json
import os
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


@pytest.fixture(scope="module")
def unpacked_wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Build the wheel once and unpack it: (folder to put on PYTHONPATH, names in the wheel)."""
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(folder)],
        check=True,
    )  # fmt: skip
    (wheel,) = folder.glob("frameinterp-*.whl")
    # Kept small: the code, the kernels and the two samples (about 2.8 MB when measured).
    assert wheel.stat().st_size < 4_000_000
    site = folder / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
        return site, archive.namelist()


def run_installed(site: Path, cwd: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Python with only the unpacked wheel ahead of the environment's packages."""
    return subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(site)),
        cwd=cwd,
        timeout=300,
    )


@pytest.mark.slow
def test_wheel_ships_kernels(unpacked_wheel, tmp_path):
    site, names = unpacked_wheel
    for kernel in KERNELS:
        assert f"frameinterp/kernels/{kernel.name}" in names
    assert "frameinterp/py.typed" in names
    # Import from the unpacked wheel only (no source tree on the path).
    code = (
        "import frameinterp, sys; from frameinterp.ops.cuda_runtime import kernel_source; "
        "assert frameinterp.__file__.startswith(sys.argv[1]), frameinterp.__file__; "
        "print(len(kernel_source('softsplat.cu')))"
    )
    result = run_installed(site, tmp_path, "-c", code, str(site))
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(kernel_source("softsplat.cu"))


@pytest.mark.slow
def test_version_is_written_once(unpacked_wheel, tmp_path):
    """The wheel's metadata takes its version from frameinterp.__version__: they agree."""
    site, _ = unpacked_wheel
    code = (
        "import importlib.metadata, frameinterp; "
        "print(importlib.metadata.version('frameinterp'), frameinterp.__version__)"
    )
    result = run_installed(site, tmp_path, "-c", code)
    assert result.returncode == 0, result.stderr
    metadata, attribute = result.stdout.split()
    assert metadata == attribute
    import tomllib  # Python 3.11+; the tests run there

    assert "version" not in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.mark.slow
def test_commands_find_their_samples_from_any_folder(unpacked_wheel, tmp_path):
    """`splat-demo` and `benchmark speed` default to samples shipped inside the wheel."""
    site, names = unpacked_wheel
    for sample in ("cup.mp4", "davis-pair/one.png", "davis-pair/two.png", "davis-pair/flow.flo"):
        assert f"frameinterp/samples/{sample}" in names
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    demo = run_installed(site, elsewhere, "-m", "frameinterp", "splat-demo", "--steps", "2")
    assert demo.returncode == 0, demo.stderr
    assert (elsewhere / "splat-modes.png").is_file()
    speed = run_installed(
        site, elsewhere, "-m", "frameinterp", "benchmark", "speed", "--size", "480p",
        "--frames", "3", "--engine", "blend", "--device", "cpu", "--json",
    )  # fmt: skip
    assert speed.returncode == 0, speed.stderr
    report = json.loads(speed.stdout)
    assert (report["size"], report["input_frames"]) == ("854x480", 3)  # made from cup.mp4
    assert sorted(path.name for path in elsewhere.iterdir()) == ["splat-modes.png"]


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
