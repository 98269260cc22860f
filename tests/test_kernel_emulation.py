"""Every CUDA kernel runs on the CPU, through the unchanged launch code, against the PyTorch path.

``kernel_emulation.py`` stands in for CuPy: it compiles the exact text the runtime hands to NVRTC
with g++ and runs each launch one emulated thread at a time, rejecting arguments of the wrong C
type. Each comparison runs twice: with the runtime's launch configuration, and with a tiny grid
(3 blocks of 32 threads) so that every grid-stride loop takes many turns. This checks the
kernels' logic and the launch arguments, not races or timing (see README, "GPU").
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from kernel_emulation import (
    SANITIZE_VARIABLE,
    Compiler,
    EmulationState,
    KernelArgumentError,
    fake_cupy,
    find_gxx,
)

from frameinterp.ops import cuda_runtime, splat_cuda, splat_torch
from frameinterp.ops.correlation import correlation
from frameinterp.ops.softsplat import softsplat

SOFTSPLAT_MODULE = importlib.import_module("frameinterp.ops.softsplat")
CPU = torch.device("cpu")
MODES = ("sum", "avg", "linear", "soft")
# Measured maxima are far below these (README, "GPU"); float16 is bounded by its rounding.
FORWARD = {torch.float32: {"rtol": 1e-5, "atol": 1e-6}, torch.float16: {"rtol": 2e-3, "atol": 1e-3}}
GRADIENT = {
    torch.float32: {"rtol": 1e-4, "atol": 1e-5},
    torch.float16: {"rtol": 1e-2, "atol": 1e-2},
}


@pytest.fixture(scope="session")
def kernel_compiler(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Compiler:
    gxx = find_gxx()
    if gxx is None:
        pytest.skip("g++ is not on PATH: the kernel emulation compiles the CUDA sources with it")
    cache = getattr(pytestconfig, "cache", None)
    folder = cache.mkdir("kernel-emulation") if cache else tmp_path_factory.mktemp("kernels")
    return Compiler(Path(folder), gxx)


def install(
    compiler: Compiler, monkeypatch: pytest.MonkeyPatch, tiny_grid: bool = False
) -> EmulationState:
    """Make the runtime's ``import cupy`` and its torch.cuda look-ups land on the emulation."""
    state = EmulationState(compiler)
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy(state))
    stream = types.SimpleNamespace(cuda_stream=0)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: stream)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    # The emulation runs CPU tensors where the runtime insists on CUDA ones.
    monkeypatch.setattr(SOFTSPLAT_MODULE, "require_cupy", lambda tensor: None)
    if tiny_grid:
        monkeypatch.setattr(cuda_runtime, "THREADS_PER_BLOCK", 32)
        monkeypatch.setattr(cuda_runtime, "MAX_BLOCKS", 3)
    cuda_runtime.clear_compiled()
    return state


@pytest.fixture(params=["default-grid", "tiny-grid"])
def emulated(
    request: pytest.FixtureRequest, kernel_compiler: Compiler, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmulationState]:
    state = install(kernel_compiler, monkeypatch, tiny_grid=request.param == "tiny-grid")
    yield state
    cuda_runtime.clear_compiled()
    if request.param == "tiny-grid" and state.launches:
        strided = [
            launch
            for launch in state.launches
            if launch.grid[0] * launch.block[0] < int(launch.arguments[0])
        ]
        assert strided, "the tiny grid should make every grid-stride loop take several turns"


@pytest.fixture
def emulated_default(
    kernel_compiler: Compiler, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmulationState]:
    state = install(kernel_compiler, monkeypatch)
    yield state
    cuda_runtime.clear_compiled()


def non_contiguous(tensor: torch.Tensor) -> torch.Tensor:
    """The same values in a transposed memory layout, so launchers must call .contiguous()."""
    result = tensor.transpose(-1, -2).contiguous().transpose(-1, -2)
    assert not result.is_contiguous()
    return result


def splat_inputs(
    dtype: torch.dtype = torch.float32, batch: int = 2, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Image, float32 flow and metric with the awkward cases placed on purpose."""
    height, width = 11, 14
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, height, width, generator=generator)
    flow = torch.randn(batch, 2, height, width, generator=generator) * 3
    flow[:, 0, 0, :4] = torch.tensor([1e6, -1e6, 3e38, -3e38])  # far out of the frame
    flow[:, 1, 1, :2] = torch.tensor([1e9, -1e9])
    flow[:, :, 2, 2] = torch.tensor([-2.5, 0.25])  # left corners outside, right ones inside
    flow[:, :, 3, 3] = torch.tensor([width - 3.5, height - 3.5])  # bottom-right corner, partly
    flow[:, :, 4, 4] = torch.tensor([-4.0, -5.0])  # exactly on the top-left pixel
    flow[:, :, 5] = torch.tensor([0.5, 0.5]).view(1, 2, 1)  # a row of collisions
    metric = torch.randn(batch, 1, height, width, generator=generator) * 4
    return image.to(dtype), flow, metric


# ------------------------------------------------------------------------ comparisons
def check_splat_sum(dtype: torch.dtype) -> None:
    image, flow, _ = splat_inputs(dtype)
    image, flow = non_contiguous(image), non_contiguous(flow)
    grad_output = torch.randn(image.shape, generator=torch.Generator().manual_seed(1))
    actual = splat_cuda.splat_forward(image, flow)
    expected = splat_torch.splat_forward(image.float(), flow)
    torch.testing.assert_close(actual, expected, **FORWARD[torch.float32])
    grad_values, grad_flow = splat_cuda.splat_backward(image, flow, non_contiguous(grad_output))
    expected_values, expected_flow = splat_torch.splat_backward(image.float(), flow, grad_output)
    torch.testing.assert_close(grad_values, expected_values, **GRADIENT[torch.float32])
    torch.testing.assert_close(grad_flow, expected_flow, **GRADIENT[torch.float32])


def check_mode(mode: str, dtype: torch.dtype, batch: int = 2) -> None:
    image, flow, metric = splat_inputs(dtype, batch)
    weight = non_contiguous(metric) if mode in ("linear", "soft") else None
    if mode == "linear":
        weight = weight.abs() + 0.1  # type: ignore[union-attr]
    actual = softsplat(non_contiguous(image), flow, weight, mode=mode, backend="cuda")
    expected = softsplat(image, flow, weight, mode=mode, backend="torch")
    assert actual.dtype == dtype
    torch.testing.assert_close(actual, expected, **FORWARD[dtype])


def check_correlation(dtype: torch.dtype, radius: int = 3) -> None:
    generator = torch.Generator().manual_seed(2)
    one = torch.randn(2, 5, 7, 9, generator=generator).to(dtype)
    two = torch.randn(2, 5, 7, 9, generator=generator).to(dtype)
    grad = torch.randn(2, (2 * radius + 1) ** 2, 7, 9, generator=generator)
    results = {}
    for backend in ("cuda", "torch"):
        leaves = [
            (non_contiguous(t) if backend == "cuda" else t.float()).requires_grad_()
            for t in (one, two)
        ]
        volume = correlation(*leaves, radius=radius, backend=backend)
        volume.backward(grad.to(volume.dtype))
        results[backend] = (volume, leaves[0].grad, leaves[1].grad)
    for actual, expected in zip(results["cuda"], results["torch"], strict=True):
        assert actual is not None and expected is not None
        assert actual.dtype == dtype
        torch.testing.assert_close(actual, expected.to(dtype), **FORWARD[dtype])


# ------------------------------------------------------------------------------ tests
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["f32", "f16"])
def test_splat_sum_forward_and_backward_match_torch(
    emulated: EmulationState, dtype: torch.dtype
) -> None:
    check_splat_sum(dtype)
    names = {launch.name for launch in emulated.launches}
    suffix = "f32" if dtype == torch.float32 else "f16"
    assert names == {
        f"splat_forward_{suffix}",
        "splat_backward_values",
        f"splat_backward_flow_{suffix}",
    }


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["f32", "f16"])
@pytest.mark.parametrize("mode", MODES)
def test_inference_modes_match_torch(
    emulated: EmulationState, mode: str, dtype: torch.dtype
) -> None:
    check_mode(mode, dtype)
    fused = any(launch.name.startswith("splat_weighted") for launch in emulated.launches)
    assert fused == (mode != "sum")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["f32", "f16"])
@pytest.mark.parametrize("mode", MODES)
def test_training_modes_match_torch_gradients(
    emulated: EmulationState, mode: str, dtype: torch.dtype
) -> None:
    """With gradients the unfused path runs: sum splat of weighted values, then backward."""
    image, flow, metric = splat_inputs(dtype, batch=3)
    grad = torch.randn(image.shape, generator=torch.Generator().manual_seed(3)).to(dtype)
    gradients = {}
    for backend in ("cuda", "torch"):
        leaves = [image.clone().requires_grad_(), flow.clone().requires_grad_()]
        weight = metric.clone().requires_grad_() if mode in ("linear", "soft") else None
        if mode == "linear":
            assert weight is not None
            leaves.append(weight)
            weight = weight.abs() + 0.1
        elif weight is not None:
            leaves.append(weight)
        output = softsplat(leaves[0], leaves[1], weight, mode=mode, backend=backend)
        output.backward(grad)
        gradients[backend] = [output.detach()] + [leaf.grad for leaf in leaves]
    assert not any(launch.name.startswith("splat_weighted") for launch in emulated.launches)
    for actual, expected in zip(gradients["cuda"], gradients["torch"], strict=True):
        torch.testing.assert_close(actual, expected, **GRADIENT[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["f32", "f16"])
def test_correlation_forward_and_backward_match_torch(
    emulated: EmulationState, dtype: torch.dtype
) -> None:
    check_correlation(dtype)
    assert {launch.name.rsplit("_", 1)[0] for launch in emulated.launches} == {
        "correlation_forward",
        "correlation_backward_one",
        "correlation_backward_two",
    }


def test_correlation_radius_larger_than_the_frame(emulated_default: EmulationState) -> None:
    generator = torch.Generator().manual_seed(4)
    one, two = torch.randn(2, 1, 4, 3, 2, generator=generator)
    actual = correlation(one, two, radius=4, backend="cuda")
    torch.testing.assert_close(actual, correlation(one, two, radius=4, backend="torch"))


def test_non_finite_flow_drops_the_source(emulated: EmulationState) -> None:
    """NaN or infinite flow never reaches the public API, but the kernels must not scatter it."""
    image, flow, _ = splat_inputs()
    bad = torch.zeros_like(flow[:, :1], dtype=torch.bool)
    bad[:, :, 6, 1:5] = True
    flow = flow.clone()
    flow[:, 0, 6, 1:5] = torch.tensor([float("nan"), float("inf"), -float("inf"), 1.0])
    flow[:, 1, 6, 4] = float("nan")
    actual = splat_cuda.splat_forward(image, flow)
    expected = splat_torch.splat_forward(image * ~bad, torch.where(bad, 0.0, flow))
    torch.testing.assert_close(actual, expected, **FORWARD[torch.float32])
    grad_values, grad_flow = splat_cuda.splat_backward(image, flow, torch.ones_like(image))
    assert grad_values.isfinite().all() and grad_flow.isfinite().all()
    assert grad_values.masked_select(bad).eq(0).all()


def test_infinite_metrics_match_torch(emulated_default: EmulationState) -> None:
    image, flow, metric = splat_inputs()
    metric[:, :, 7, :6] = -float("inf")  # weight 0: contributes nothing
    actual = softsplat(image, flow, metric, mode="soft", backend="cuda")
    torch.testing.assert_close(actual, softsplat(image, flow, metric, mode="soft", backend="torch"))
    metric[1, :, 8, 8] = float("inf")  # NaN where it lands, in both backends
    actual = softsplat(image, flow, metric, mode="soft", backend="cuda")
    expected = softsplat(image, flow, metric, mode="soft", backend="torch")
    assert expected.isnan().any()
    torch.testing.assert_close(actual, expected, equal_nan=True)


@pytest.mark.parametrize("mode", ["sum", "avg", "soft"])
def test_float16_images_keep_float32_flow(emulated_default: EmulationState, mode: str) -> None:
    """A float16 image must land where the float32 one does, even 300 px away (review fix)."""
    image = torch.rand(1, 3, 4, 400, generator=torch.Generator().manual_seed(5))
    flow = torch.zeros(1, 2, 4, 400)
    flow[:, 0] = 300.3  # float16 would round it to 300.25 and move every weight by 0.05
    metric = torch.zeros(1, 1, 4, 400) if mode == "soft" else None
    for requires_grad in (False, True):  # the fused path, then the autograd one
        half = image.half().requires_grad_(requires_grad)
        actual = softsplat(half, flow, metric, mode=mode, backend="cuda")
        expected = softsplat(image.half(), flow, metric, mode=mode, backend="torch")
        torch.testing.assert_close(actual, expected, **FORWARD[torch.float16])


def test_batch_items_do_not_mix(emulated_default: EmulationState) -> None:
    image, flow, metric = splat_inputs(batch=3)
    together = softsplat(image, flow, metric, mode="soft", backend="cuda")
    for item in range(3):
        alone = softsplat(
            image[item : item + 1], flow[item : item + 1], metric[item : item + 1], backend="cuda"
        )
        torch.testing.assert_close(together[item : item + 1], alone, **FORWARD[torch.float32])


# -------------------------------------------------------------- the harness itself
def test_launch_arguments_are_type_checked(emulated_default: EmulationState) -> None:
    """The emulation rejects what CuPy would silently pass with the wrong size or kind."""
    values, flow, output = torch.rand(1, 1, 2, 2), torch.zeros(1, 2, 2, 2), torch.zeros(1, 1, 2, 2)
    function = cuda_runtime.kernel("softsplat.cu", "splat_forward_f32", CPU)
    address = cuda_runtime.pointer
    good = (np.int32(1), np.int32(2), np.int32(2), address(values), address(flow), address(output))
    cuda_runtime.launch(function, 4, good, CPU)
    wrong = {
        "int": (np.int64(1), *good[1:]),  # long long where an int is expected
        "python int": (1, *good[1:]),  # CuPy passes a Python int as 64 bits
        "float for pointer": (*good[:3], np.float32(0), *good[4:]),
        "int32 for pointer": (*good[:3], np.int32(8), *good[4:]),
        "tensor": (*good[:3], values, *good[4:]),
        "count": good[:-1],
    }
    for case, arguments in wrong.items():
        with pytest.raises(KernelArgumentError):
            cuda_runtime.launch(function, 4, arguments, CPU)
            pytest.fail(f"{case} was accepted")
    with pytest.raises(KernelArgumentError, match="ExternalStream"):
        function((1,), (4,), (np.int64(4), *good))


def replace(text: str, old: str, new: str) -> str:
    assert old in text, f"mutation target {old!r} is not in the kernel text any more"
    return text.replace(old, new)


MUTATIONS: dict[str, tuple[Callable[[str], str], Callable[[], None]]] = {
    "corner row offset": (
        lambda code: replace(code, "y0 + (corner >> 1)", "y0 + (corner & 1)"),
        lambda: check_splat_sum(torch.float32),
    ),
    "corner weight in the fused kernel": (
        lambda code: replace(code, "weight * landing.weight(corner)", "weight"),
        lambda: check_mode("avg", torch.float32),
    ),
    "correlation dx and dy": (
        lambda code: replace(
            replace(code, "y + d / diameter - radius", "y + d % diameter - radius"),
            "x + d % diameter - radius",
            "x + d / diameter - radius",
        ),
        lambda: check_correlation(torch.float32),
    ),
    "flow gradient sign": (
        lambda code: replace(code, "grad_x += landing.weight_dx", "grad_x -= landing.weight_dx"),
        lambda: check_splat_sum(torch.float32),
    ),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_a_mutated_kernel_fails_the_comparison(
    emulated_default: EmulationState, mutation: str
) -> None:
    emulated_default.mutate, check = MUTATIONS[mutation]
    with pytest.raises(AssertionError, match="not close"):
        check()


def test_threads_compile_each_module_once(emulated_default: EmulationState) -> None:
    """The runtime's cache lock: eight threads asking at once cause one compilation."""

    def slow_compile(code: str) -> str:
        time.sleep(0.05)  # widen the window in which an unlocked cache would compile again
        return code

    emulated_default.mutate = slow_compile
    threads = [
        threading.Thread(
            target=cuda_runtime.kernel, args=("softsplat.cu", "splat_forward_f32", CPU)
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(emulated_default.sources) == 1


def test_compiled_libraries_are_cached_by_source(kernel_compiler: Compiler) -> None:
    code = cuda_runtime.kernel_source("correlation.cu")
    kernel_compiler.build(code, ("--std=c++14",))
    again = Compiler(kernel_compiler.cache_dir)
    again.build(code, ("--std=c++14",))
    assert again.compilations == 0


def test_gpu_check_script_runs_on_the_emulation(
    emulated_default: EmulationState, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """bench/gpu_check.py cannot run here; its logic runs on tiny inputs, timings faked."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
    try:
        import gpu_check
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(gpu_check, "DEVICE", "cpu")
    monkeypatch.setattr(gpu_check, "SIZES", {"4K": (6, 9)})
    monkeypatch.setattr(gpu_check, "time_ms", lambda function, repeats=20: (function(), 1.0)[1])
    monkeypatch.setattr(gpu_check, "copy_bandwidth_gbs", lambda: 1000.0)
    monkeypatch.setattr(gpu_check, "cupy_status", lambda: (True, "emulated"))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda: "emulated")
    for task in ("check", "floor"):
        report = tmp_path / f"{task}.md"
        monkeypatch.setattr(sys, "argv", ["gpu_check.py", task, "--output", str(report)])
        assert gpu_check.main() == 0
        rows = [line for line in report.read_text().splitlines() if line.startswith("| 4K")]
        rows += [line for line in report.read_text().splitlines() if line.startswith("| float")]
        assert len(rows) == 8 and "FAIL" not in report.read_text()


# ------------------------------------------------------------------ sanitizers (opt-in)
OFF_BY_ONE = """
import sys, torch
sys.path.insert(0, {tests!r})
from test_kernel_emulation import install, splat_inputs
from kernel_emulation import Compiler
from pathlib import Path
import pytest
patch = pytest.MonkeyPatch()
state = install(Compiler(Path({cache!r})), patch)
state.mutate = lambda code: code.replace("y(corner) < height", "y(corner) <= height")
from frameinterp.ops import splat_cuda
image, flow, _ = splat_inputs()
flow[:, 1] = 10.5  # everything lands on the last row and the row below it
splat_cuda.splat_forward(image, flow)
print("no report")
"""


@pytest.mark.skipif(
    os.environ.get(SANITIZE_VARIABLE) != "1",
    reason=f"set {SANITIZE_VARIABLE}=1 to run the kernels under ASan and UBSan (about 40 s)",
)
def test_kernels_under_address_and_undefined_behaviour_sanitizers(tmp_path: Path) -> None:
    """The whole emulation suite passes under ASan + UBSan, and an off-by-one is reported."""
    gxx = find_gxx()
    assert gxx is not None
    libasan = subprocess.run(
        [gxx, "-print-file-name=libasan.so"], capture_output=True, text=True, check=True
    ).stdout.strip()
    environment = {
        **os.environ,
        SANITIZE_VARIABLE: "inner",  # build with sanitizers, but do not start this test again
        "LD_PRELOAD": libasan,
        "ASAN_OPTIONS": "detect_leaks=0:halt_on_error=1",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    suite = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            __file__,
            "-k",
            "not sanitizers and not mutated",
            "--basetemp",
            str(tmp_path / "suite"),
        ],
        capture_output=True,
        text=True,
        env=environment,
    )
    assert suite.returncode == 0, suite.stdout[-3000:] + suite.stderr[-3000:]
    assert "ERROR: AddressSanitizer" not in suite.stderr
    script = OFF_BY_ONE.format(tests=str(Path(__file__).parent), cache=str(tmp_path / "cache"))
    mutated = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment
    )
    assert mutated.returncode != 0, mutated.stdout
    assert "heap-buffer-overflow" in mutated.stderr, mutated.stderr[-3000:]
