"""What this machine offers: library versions, devices, and the backend ``auto`` picks."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field

import torch

from frameinterp.ops.cuda_runtime import cupy_status


@dataclass(frozen=True)
class Environment:
    versions: dict[str, str]
    devices: list[str]
    backend: str
    backend_reason: str
    notes: list[str] = field(default_factory=list)


def _ffmpeg_version() -> str:
    import av

    libraries = av.library_versions
    codec = ".".join(str(part) for part in libraries.get("libavcodec", ()))
    return f"libavcodec {codec} (PyAV {av.__version__})"


def _cupy_version() -> str:
    try:
        import cupy
    except ImportError:
        return "not installed"
    return str(cupy.__version__)


def collect_environment() -> Environment:
    """Versions and devices seen here, and the backend ``auto`` would use for CUDA tensors."""
    import cv2

    versions = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cupy": _cupy_version(),
        "ffmpeg": _ffmpeg_version(),
        "opencv": cv2.__version__,
    }
    devices = [
        f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    ]
    for index in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
        properties = torch.cuda.get_device_properties(index)
        memory = properties.total_memory / 2**30
        devices.append(f"cuda:{index} {properties.name} ({memory:.0f} GiB)")
    cupy_ready, reason = cupy_status()
    if cupy_ready:
        backend, why = "cuda", f"{reason}: CUDA tensors use the CuPy kernels"
    else:
        backend, why = "torch", f"{reason}: every tensor uses the pure-PyTorch path"
    return Environment(versions=versions, devices=devices, backend=backend, backend_reason=why)
