"""A host emulation of the small part of CuPy that frameinterp's CUDA runtime uses (test only).

``frameinterp/ops/cuda_runtime.py`` hands NVRTC the text of ``kernels/*.cu`` through
``cupy.RawModule`` and launches its functions with ``(grid, block, args, stream=...)``. This
module stands in for that part of CuPy so that the runtime, ``splat_cuda.py`` and
``correlation.py`` run unchanged on CPU tensors:

- ``RawModule`` compiles the exact source text with g++ and the shim header below:
  ``__global__``/``__device__``/``__forceinline__`` defined away, ``blockIdx``/``threadIdx``/
  ``blockDim``/``gridDim`` as globals that a generated wrapper loops over (one emulated thread
  at a time, blocks and threads in order), ``atomicAdd`` as a plain add, and the two half
  conversions (the kernels' only PTX) done with the host's ``_Float16``.
- A launch checks every argument against the kernel's parsed C parameter list, converting
  Python scalars the way CuPy does (``int`` becomes a 64-bit integer, ``float`` a double):
  a wrong count, size or kind (``int`` vs ``long long``, float vs pointer) is a
  :class:`KernelArgumentError`, the classic silent bug of CuPy launches.
- Compiled libraries are cached by a hash of the source, shim, flags and compiler version.

What it cannot check: races, memory ordering, atomics' non-determinism, timing, occupancy, and
the PTX conversion lines themselves (the NVRTC test compiles those). Device pointers are host
addresses here (``tensor.data_ptr()`` of CPU tensors).

With ``FRAMEINTERP_KERNEL_SANITIZE=1`` the libraries are built with AddressSanitizer and
UndefinedBehaviorSanitizer; the process must then run with libasan preloaded (the sanitizer
test in ``test_kernel_emulation.py`` starts such a process itself).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SANITIZE_VARIABLE = "FRAMEINTERP_KERNEL_SANITIZE"
MARKER = "FRAMEINTERP_KERNEL_ENTRY"

SHIM = rf"""// Host shim for frameinterp's CUDA kernels (tests/kernel_emulation.py).
#include <cmath>
#include <cstring>
#define FRAMEINTERP_HOST_EMULATION 1
#define __global__ {MARKER}
#define __device__
#define __forceinline__ inline
struct frameinterp_dim3 {{ unsigned int x, y, z; }};
static frameinterp_dim3 blockIdx, threadIdx, blockDim, gridDim;
using std::isfinite;
static inline float frameinterp_expf(float value) {{ return std::exp(value); }}
#define __expf frameinterp_expf  // glibc declares its own __expf
static inline float atomicAdd(float* address, float value) {{
    const float old = *address;
    *address = old + value;
    return old;
}}
static inline float half_to_float(unsigned short bits) {{
    _Float16 half;
    std::memcpy(&half, &bits, sizeof bits);
    return (float)half;
}}
static inline unsigned short float_to_half(float value) {{
    const _Float16 half = (_Float16)value;  // round to nearest even, like cvt.rn.f16.f32
    unsigned short bits;
    std::memcpy(&bits, &half, sizeof bits);
    return bits;
}}
#line 1 "kernel.cu"
"""

# C scalar types a kernel may take: (numpy kind, size in bytes, ctypes type).
SCALARS: dict[str, tuple[str, int, Any]] = {
    "bool": ("b", 1, ctypes.c_bool),
    "char": ("i", 1, ctypes.c_int8),
    "signed char": ("i", 1, ctypes.c_int8),
    "unsigned char": ("u", 1, ctypes.c_uint8),
    "short": ("i", 2, ctypes.c_int16),
    "unsigned short": ("u", 2, ctypes.c_uint16),
    "int": ("i", 4, ctypes.c_int32),
    "unsigned int": ("u", 4, ctypes.c_uint32),
    "long long": ("i", 8, ctypes.c_int64),
    "unsigned long long": ("u", 8, ctypes.c_uint64),
    "float": ("f", 4, ctypes.c_float),
    "double": ("f", 8, ctypes.c_double),
}
KIND_NAMES = {"b": "bool", "i": "signed integer", "u": "unsigned integer", "f": "float"}


class KernelArgumentError(TypeError):
    """A launch argument that CuPy would pass with the wrong size or kind."""


class CompileError(RuntimeError):
    """g++ rejected the kernel text (or the shim)."""


@dataclass(frozen=True)
class Parameter:
    """One parameter of an ``extern "C" __global__`` function, from the preprocessed text."""

    ctype: str  # normalised, e.g. "int", "long long", "const float*"
    name: str

    @property
    def is_pointer(self) -> bool:
        return self.ctype.endswith("*")

    def describe(self) -> str:
        if self.is_pointer:
            return f"{self.ctype} (a 64-bit device address)"
        kind, size, _ = SCALARS[self.ctype]
        return f"{self.ctype} ({size}-byte {KIND_NAMES[kind]})"


def parse_kernels(preprocessed: str) -> dict[str, list[Parameter]]:
    """Every ``extern "C" __global__`` function of the preprocessed text and its parameters."""
    kernels: dict[str, list[Parameter]] = {}
    pattern = re.compile(rf'extern\s+"C"\s+{MARKER}\s+void\s+(\w+)\s*\(([^)]*)\)')
    for match in pattern.finditer(preprocessed):
        parameters = []
        for text in match.group(2).split(","):
            text = " ".join(text.replace("*", " * ").split())
            declaration = re.fullmatch(r"(.+?)\s*(\w+)", text)
            if declaration is None:
                raise CompileError(f"cannot parse parameter {text!r} of {match.group(1)}")
            ctype = declaration.group(1).replace(" *", "*").strip()
            if not ctype.endswith("*"):
                ctype = ctype.removeprefix("const ")  # a const scalar is passed like any other
                if ctype not in SCALARS:
                    raise CompileError(f"{match.group(1)}: unsupported parameter type {ctype!r}")
            parameters.append(Parameter(ctype, declaration.group(2)))
        kernels[match.group(1)] = parameters
    return kernels


def wrapper_source(kernels: dict[str, list[Parameter]]) -> str:
    """C entry points that run one launch: every block, every thread, in order."""
    lines = []
    for name, parameters in kernels.items():
        call_arguments = ", ".join(
            f"*reinterpret_cast<{p.ctype}*>(arguments[{i}])" for i, p in enumerate(parameters)
        )
        lines.append(
            f"""
extern "C" void frameinterp_launch_{name}(const unsigned int* grid, const unsigned int* block,
                                          void** arguments) {{
    gridDim = {{grid[0], grid[1], grid[2]}};
    blockDim = {{block[0], block[1], block[2]}};
    for (unsigned int bz = 0; bz < grid[2]; ++bz)
    for (unsigned int by = 0; by < grid[1]; ++by)
    for (unsigned int bx = 0; bx < grid[0]; ++bx)
    for (unsigned int tz = 0; tz < block[2]; ++tz)
    for (unsigned int ty = 0; ty < block[1]; ++ty)
    for (unsigned int tx = 0; tx < block[0]; ++tx) {{
        blockIdx = {{bx, by, bz}};
        threadIdx = {{tx, ty, tz}};
        {name}({call_arguments});
    }}
}}"""
        )
    return "\n".join(lines) + "\n"


def sanitizing() -> bool:
    return os.environ.get(SANITIZE_VARIABLE, "") not in ("", "0")


def gxx_flags(options: Sequence[str]) -> list[str]:
    """g++ flags for NVRTC ``options`` (only ``--std=`` carries over) and the sanitizer switch."""
    flags = ["-O2", "-fPIC", "-shared", "-Wall", "-Wno-unused-function", "-Werror"]
    for option in options:
        if option.startswith(("--std=", "-std=")):
            flags.append("-std=" + option.split("=", 1)[1])
    if sanitizing():
        flags = ["-O1", "-g", "-fno-omit-frame-pointer", *flags[1:]]
        flags += ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    return flags


class Compiler:
    """Builds one shared library per distinct (source, flags), cached on disk and in memory."""

    def __init__(self, cache_dir: Path, gxx: str = "g++") -> None:
        self.cache_dir = cache_dir
        self.gxx = gxx
        self.version = subprocess.run(
            [gxx, "--version"], capture_output=True, text=True, check=True
        ).stdout
        self.compilations = 0  # libraries actually built in this process (the cache's test)
        self._loaded: dict[str, tuple[ctypes.CDLL, dict[str, list[Parameter]]]] = {}
        self._lock = threading.Lock()

    def build(
        self, code: str, options: Sequence[str]
    ) -> tuple[ctypes.CDLL, dict[str, list[Parameter]]]:
        flags = gxx_flags(options)
        key = hashlib.sha256("\0".join([SHIM, code, *flags, self.version]).encode()).hexdigest()
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = self._build(key, code, flags)
            return self._loaded[key]

    def _build(
        self, key: str, code: str, flags: list[str]
    ) -> tuple[ctypes.CDLL, dict[str, list[Parameter]]]:
        library = self.cache_dir / f"{key[:24]}.so"
        signatures = self.cache_dir / f"{key[:24]}.json"
        if not (library.exists() and signatures.exists()):
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=self.cache_dir) as folder:
                work = Path(folder)
                standard = [f for f in flags if f.startswith("-std=")]
                preprocessed = preprocess(code, self.gxx, standard)
                kernels = parse_kernels(preprocessed)
                if not kernels:
                    raise CompileError('no extern "C" __global__ function in the kernel text')
                (work / "kernel.ii").write_text(
                    preprocessed.replace(MARKER, "") + wrapper_source(kernels)
                )
                source, target = str(work / "kernel.ii"), str(work / "k.so")
                _run([self.gxx, *flags, "-x", "c++", source, "-o", target])
                self.compilations += 1
                (work / "k.json").write_text(
                    json.dumps({n: [[p.ctype, p.name] for p in ps] for n, ps in kernels.items()})
                )
                os.replace(work / "k.so", library)  # atomic: parallel test runs never see half
                os.replace(work / "k.json", signatures)
        loaded = json.loads(signatures.read_text())
        kernels = {n: [Parameter(c, p) for c, p in ps] for n, ps in loaded.items()}
        return ctypes.CDLL(str(library)), kernels


def _run(command: list[str], text_in: str | None = None) -> str:
    result = subprocess.run(command, input=text_in, capture_output=True, text=True)
    if result.returncode != 0:
        raise CompileError(f"{' '.join(command[:2])} failed:\n{result.stderr[-4000:]}")
    return result.stdout


def preprocess(code: str, gxx: str = "g++", standard: Sequence[str] = ("-std=c++14",)) -> str:
    """The kernel text after g++'s preprocessor, behind the shim (``__global__`` is MARKER)."""
    return _run([gxx, "-E", "-x", "c++", *standard, "-"], SHIM + code)


def _as_cupy_scalar(value: Any) -> tuple[str, int] | None:
    """(kind, size) that CuPy would pass for ``value``; None if it is no scalar."""
    if isinstance(value, (bool, np.bool_)):
        return "b", 1
    if isinstance(value, int):
        return "i", 8  # CuPy passes a Python int as a 64-bit integer
    if isinstance(value, float):
        return "f", 8
    if isinstance(value, np.generic) and value.dtype.kind in "iuf":
        return value.dtype.kind, value.dtype.itemsize
    return None


@dataclass
class Launch:
    """One recorded launch, for tests that need to know what the runtime asked for."""

    name: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    arguments: tuple[Any, ...]


class EmulatedKernel:
    """``cupy.RawKernel`` stand-in: checks the arguments, then runs every emulated thread."""

    def __init__(self, module: EmulatedModule, name: str, parameters: list[Parameter]) -> None:
        self.module = module
        self.name = name
        self.parameters = parameters

    def __call__(
        self,
        grid: Sequence[int],
        block: Sequence[int],
        args: Sequence[Any],
        *,
        stream: Any = None,
        shared_mem: int = 0,
    ) -> None:
        state = self.module.state
        if not isinstance(stream, ExternalStream):
            raise KernelArgumentError(
                f"{self.name}: launch on PyTorch's stream (cupy.cuda.ExternalStream), "
                f"got stream={stream!r}"
            )
        if state.device_depth == 0:
            raise KernelArgumentError(f"{self.name}: launched outside `with cupy.cuda.Device()`")
        grid3, block3 = _dim3("grid", grid, self.name), _dim3("block", block, self.name)
        if block3[0] * block3[1] * block3[2] > 1024:
            raise KernelArgumentError(f"{self.name}: {block3} is over 1024 threads per block")
        if len(args) != len(self.parameters):
            raise KernelArgumentError(
                f"{self.name} takes {len(self.parameters)} arguments, got {len(args)}"
            )
        holders = [
            self._convert(i, p, a)
            for i, (p, a) in enumerate(zip(self.parameters, args, strict=True))
        ]
        pointers = (ctypes.c_void_p * len(holders))(*[ctypes.addressof(h) for h in holders])
        state.launches.append(Launch(self.name, grid3, block3, tuple(args)))
        entry = getattr(self.module.library, f"frameinterp_launch_{self.name}")
        entry((ctypes.c_uint * 3)(*grid3), (ctypes.c_uint * 3)(*block3), pointers)

    def _convert(self, index: int, parameter: Parameter, value: Any) -> Any:
        got = _as_cupy_scalar(value)
        where = f"{self.name} argument {index} ({parameter.name})"
        if got is None:
            raise KernelArgumentError(
                f"{where} is {parameter.describe()}, got {type(value).__name__}; "
                "pass numpy scalars (np.int32, np.int64, np.float32) or np.uint64 addresses"
            )
        kind, size = got
        label = f"{type(value).__module__}.{type(value).__name__}"
        if parameter.is_pointer:
            if (kind, size) != ("u", 8):
                raise KernelArgumentError(
                    f"{where} is {parameter.describe()}, got {label} ({size}-byte "
                    f"{KIND_NAMES[kind]}); pass pointer(tensor)"
                )
            if int(value) == 0:
                raise KernelArgumentError(f"{where} is a null pointer")
            return ctypes.c_uint64(int(value))
        expected_kind, expected_size, ctype = SCALARS[parameter.ctype]
        if (kind, size) != (expected_kind, expected_size):
            raise KernelArgumentError(
                f"{where} is {parameter.describe()}, got {label} ({size}-byte {KIND_NAMES[kind]})"
            )
        return ctype(value.item() if isinstance(value, np.generic) else value)


def _dim3(what: str, value: Sequence[int] | int, name: str) -> tuple[int, int, int]:
    values = (value,) if isinstance(value, int) else tuple(value)
    if not 1 <= len(values) <= 3 or any(int(v) < 1 for v in values):
        raise KernelArgumentError(f"{name}: {what} must be 1 to 3 positive sizes, got {value!r}")
    padded = [int(v) for v in values] + [1] * (3 - len(values))
    return padded[0], padded[1], padded[2]


@dataclass
class EmulationState:
    """What one installed emulation saw: launches, and an optional source mutation."""

    compiler: Compiler
    launches: list[Launch] = field(default_factory=list)
    mutate: Callable[[str], str] | None = None
    sources: list[str] = field(default_factory=list)
    device_depth: int = 0


class EmulatedModule:
    """``cupy.RawModule`` stand-in (only ``code=`` and ``options=``)."""

    def __init__(
        self, state: EmulationState, code: str, options: Sequence[str] = (), **unused: Any
    ) -> None:
        if unused:
            raise TypeError(f"the emulated RawModule takes only code and options, got {unused}")
        self.state = state
        self.code = state.mutate(code) if state.mutate is not None else code
        self.options = tuple(options)
        self._built: tuple[ctypes.CDLL, dict[str, list[Parameter]]] | None = None
        state.sources.append(code)

    def compile(self) -> None:
        if self._built is None:
            self._built = self.state.compiler.build(self.code, self.options)

    @property
    def library(self) -> ctypes.CDLL:
        self.compile()
        assert self._built is not None
        return self._built[0]

    def get_function(self, name: str) -> EmulatedKernel:
        self.compile()
        assert self._built is not None
        kernels = self._built[1]
        if name not in kernels:
            raise AttributeError(f"no kernel {name!r} in the module; it has {sorted(kernels)}")
        return EmulatedKernel(self, name, kernels[name])


class ExternalStream:
    def __init__(self, pointer: int) -> None:
        self.ptr = pointer


def fake_cupy(state: EmulationState) -> types.ModuleType:
    """A module object that answers the ``cupy`` names the runtime uses."""

    class Device:
        def __init__(self, index: int = 0) -> None:
            if not isinstance(index, int) or index < 0:
                raise KernelArgumentError(f"cupy.cuda.Device needs a device index, got {index!r}")

        def __enter__(self) -> Device:
            state.device_depth += 1
            return self

        def __exit__(self, *exc: object) -> None:
            state.device_depth -= 1

    cupy = types.ModuleType("cupy")
    cupy.__version__ = "emulated"  # type: ignore[attr-defined]
    cupy.RawModule = lambda code, options=(), **kw: EmulatedModule(state, code, options, **kw)  # type: ignore[attr-defined]
    cupy.cuda = types.SimpleNamespace(  # type: ignore[attr-defined]
        Device=Device,
        ExternalStream=ExternalStream,
        runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
    )
    return cupy


def find_gxx() -> str | None:
    return shutil.which("g++")
