"""``train(...)``: fit the network on triplets, with resumable checkpoints and validation PSNR.

A run lives in one output folder:
- ``checkpoint.pt``: model (published layout), optimiser, gradient scaler, step and history;
  plain tensors and numbers only, written atomically, read back with ``weights_only=True``;
- ``weights.safetensors``: the final weights, with the training record in its metadata;
- ``training-record.json``: configuration, data, steps, time and validation results.
Re-running with ``resume=True`` continues from the checkpoint with the same batches the
uninterrupted run would have used (the sampler is a pure function of the step).
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from frameinterp.errors import CheckpointError, InvalidInputError, OutputError
from frameinterp.files import write_atomically
from frameinterp.metrics import mean_psnr
from frameinterp.network.checkpoint import (
    load_checkpoint,
    load_state_file,
    published_state_dict,
    save_weights,
    to_local_state_dict,
)
from frameinterp.network.model import SoftsplatNetwork
from frameinterp.training.data import StepSampler, dataset_length
from frameinterp.training.loss import LOSSES, loss_function

CHECKPOINT_NAME = "checkpoint.pt"
WEIGHTS_NAME = "weights.safetensors"
RECORD_NAME = "training-record.json"
FORMAT = "frameinterp-train-1"


@dataclass
class TrainConfig:
    """What to train and how; every field is recorded with the results."""

    output: Path
    steps: int = 100_000
    batch_size: int = 8
    learning_rate: float = 1e-4
    final_learning_rate: float = 1e-6  # cosine decay towards this by the last step
    weight_decay: float = 0.0
    loss: str = "laplacian"
    device: str = "auto"
    mixed_precision: bool = True  # float16 autocast + gradient scaling, CUDA only
    checkpoint_every: int = 500
    validate_every: int = 500
    seed: int = 0
    workers: int = 0
    init_weights: Path | None = None  # start from these weights instead of random ones
    resume: bool = False
    max_seconds: float | None = None  # stop (checkpointed) after this long in one call
    notes: dict[str, Any] = field(default_factory=dict)  # data description for the record

    def check(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise InvalidInputError(
                f"steps and batch size must be 1 or more, got {self.steps} and {self.batch_size}"
            )
        if self.loss not in LOSSES:
            raise InvalidInputError(f"unknown loss {self.loss!r}; expected one of {LOSSES}")
        if self.learning_rate <= 0 or self.final_learning_rate < 0:
            raise InvalidInputError("learning rates must be positive")
        if self.checkpoint_every < 1 or self.validate_every < 1:
            raise InvalidInputError("checkpoint and validation intervals must be 1 or more steps")

    def record(self) -> dict[str, Any]:
        values = asdict(self)
        values["output"] = str(self.output)
        values["init_weights"] = str(self.init_weights) if self.init_weights else None
        return values


@dataclass(frozen=True)
class Progress:
    """One report: the step just finished, its loss, and validation PSNR when measured."""

    step: int
    steps: int
    loss: float
    learning_rate: float
    seconds: float
    validation_psnr: float | None = None


@dataclass(frozen=True)
class TrainResult:
    step: int
    loss: float
    validation_psnr: float | None
    seconds: float
    checkpoint: Path
    weights: Path
    record: Path
    finished: bool = True  # False when max_seconds stopped the run early


def learning_rate_at(config: TrainConfig, step: int) -> float:
    """Cosine decay from ``learning_rate`` to ``final_learning_rate`` (stateless: resumable)."""
    progress = min(1.0, step / max(1, config.steps))
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return config.final_learning_rate + (config.learning_rate - config.final_learning_rate) * cosine


@torch.no_grad()
def validate(
    network: SoftsplatNetwork, held_out: Dataset[torch.Tensor], device: torch.device
) -> float:
    """Mean PSNR of the middle frame over the held-out triplets (one at a time: sizes vary)."""
    was_training = network.training
    network.eval()
    scores = []
    for index in range(dataset_length(held_out)):
        triplet = held_out[index].to(device)
        (middle,) = network(triplet[0:1], triplet[2:3], [0.5])
        scores.append(mean_psnr(middle, triplet[1:2]))
    network.train(was_training)
    return sum(scores) / max(1, len(scores))


def train_step(
    network: SoftsplatNetwork,
    optimizer: torch.optim.Optimizer,
    batch: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    scaler: torch.amp.GradScaler | None = None,
) -> float:
    """One optimisation step on a B×3×3×H×W batch of triplets; returns the loss."""
    network.train()
    optimizer.zero_grad(set_to_none=True)
    use_autocast = scaler is not None and batch.is_cuda
    with torch.autocast(device_type=batch.device.type, dtype=torch.float16, enabled=use_autocast):
        (middle,) = network(batch[:, 0], batch[:, 2], [0.5])
    loss = loss_fn(middle.float(), batch[:, 1])
    if not torch.isfinite(loss):
        raise InvalidInputError(
            f"training loss became {loss.item()}; lower the learning rate (--learning-rate)"
        )
    if scaler is not None and use_autocast:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_atomically(path, buffer.getvalue())


def _load_training_checkpoint(path: Path) -> dict[str, Any]:
    state = load_state_file(path)
    if state.get("format") != FORMAT or not {"model", "optimizer", "step"} <= set(state):
        raise CheckpointError(
            f"{path} is not a frameinterp training checkpoint (format {FORMAT}); "
            "to start from plain weights use init_weights / --init-weights"
        )
    return state


def train(
    config: TrainConfig,
    training_set: Dataset[torch.Tensor],
    held_out: Dataset[torch.Tensor] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> TrainResult:
    """Train the network on ``training_set`` (items B×3×3×H×W after batching) per ``config``."""
    from frameinterp.engines import resolve_device

    config.check()
    device = resolve_device(config.device)
    output = Path(config.output)
    output.mkdir(parents=True, exist_ok=True)
    checkpoint_path = output / CHECKPOINT_NAME
    if checkpoint_path.exists() and not config.resume:
        raise OutputError(
            f"{checkpoint_path} already exists; pass resume=True (--resume) to continue that "
            "run, or choose another output folder"
        )
    torch.manual_seed(config.seed)
    network = SoftsplatNetwork()
    if config.init_weights is not None:
        network.load_state_dict(load_checkpoint(config.init_weights).state_dict())
    network.to(device)
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    use_amp = config.mixed_precision and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    step = 0
    history: list[dict[str, Any]] = []
    elapsed = 0.0
    if config.resume and checkpoint_path.exists():
        state = _load_training_checkpoint(checkpoint_path)
        network.load_state_dict(to_local_state_dict(state["model"], network, str(checkpoint_path)))
        optimizer.load_state_dict(state["optimizer"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        step = int(state["step"])
        history = list(state.get("history", []))
        elapsed = float(state.get("seconds", 0.0))
    loss_fn = loss_function(config.loss)

    def save() -> None:
        _save_checkpoint(
            checkpoint_path,
            {
                "format": FORMAT,
                "model": published_state_dict(network),
                "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else {},
                "step": step,
                "history": history,
                "seconds": elapsed,
                "config": json.dumps(config.record()),
            },
        )

    sampler = StepSampler(
        dataset_length(training_set), config.batch_size, step, config.steps, config.seed
    )
    loader = DataLoader(
        training_set,
        batch_size=config.batch_size,
        sampler=sampler,
        num_workers=config.workers,
        pin_memory=device.type == "cuda",
        persistent_workers=False,
    )
    loss = history[-1]["loss"] if history else float("nan")
    validation_psnr = next(
        (entry["validation_psnr"] for entry in reversed(history) if entry.get("validation_psnr")),
        None,
    )
    started = time.perf_counter()
    call_started = started
    saved_step = step
    for batch in loader:
        learning_rate = learning_rate_at(config, step)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate
        loss = train_step(network, optimizer, batch.to(device, non_blocking=True), loss_fn, scaler)
        step += 1
        now = time.perf_counter()
        elapsed += now - started
        started = now
        measured = None
        if (
            held_out is not None
            and dataset_length(held_out) > 0
            and (step % config.validate_every == 0 or step == config.steps)
        ):
            measured = validate(network, held_out, device)
            validation_psnr = measured
            started = time.perf_counter()  # validation time is not training time
        history.append(
            {
                "step": step,
                "loss": loss,
                "learning_rate": learning_rate,
                "validation_psnr": measured,
            }
        )
        out_of_time = (
            config.max_seconds is not None
            and time.perf_counter() - call_started > config.max_seconds
        )
        if step % config.checkpoint_every == 0 or step == config.steps or out_of_time:
            save()
            saved_step = step
        if on_progress is not None:
            on_progress(Progress(step, config.steps, loss, learning_rate, elapsed, measured))
        if out_of_time:
            break
    if saved_step != step or not checkpoint_path.exists():
        save()
    record = {
        "format": FORMAT,
        "steps": step,
        "finished": step >= config.steps,
        "seconds": round(elapsed, 1),
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "final_loss": loss,
        "validation_psnr": validation_psnr,
        "config": config.record(),
        "history_every_100": [
            entry for entry in history if entry["step"] % 100 == 0 or entry["validation_psnr"]
        ],
    }
    weights_path = output / WEIGHTS_NAME
    save_weights(
        network.cpu(),
        weights_path,
        metadata={"frameinterp_training_record": json.dumps(record)},
    )
    network.to(device)
    record_path = output / RECORD_NAME
    write_atomically(record_path, (json.dumps(record, indent=2) + "\n").encode())
    return TrainResult(
        step,
        loss,
        validation_psnr,
        elapsed,
        checkpoint_path,
        weights_path,
        record_path,
        finished=step >= config.steps,
    )
