"""Training on the CPU: data sources, augmentation, loss, a decreasing loss, exact resumption."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from frameinterp.errors import InvalidInputError, OutputError
from frameinterp.network import SoftsplatNetwork, load_checkpoint
from frameinterp.training import (
    Augmentation,
    SyntheticTriplets,
    TrainConfig,
    TripletDataset,
    laplacian_loss,
    prepare_data,
    train,
    train_step,
)
from frameinterp.training.data import StepSampler, load_sequences, split_positions
from frameinterp.training.loss import l1_loss, laplacian_pyramid

MIDDLEBURY = Path(__file__).parent / "data" / "middlebury" / "RubberWhale"
NO_PHOTOMETRIC = {"brightness": 0.0, "contrast": 0.0, "saturation": 0.0, "gamma": 0.0}


@pytest.fixture(autouse=True)
def without_onednn():  # type: ignore[no-untyped-def]
    """oneDNN compiles a kernel per convolution shape on first use: 15-30 s for this network's
    backward pass on a loaded 2-core machine, against 0.6 s for three steps with the plain
    kernels. Tests train for a few steps only, so they use the plain kernels."""
    enabled = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = enabled


def still() -> np.ndarray:
    return np.ascontiguousarray(cv2.imread(str(MIDDLEBURY / "frame10.png"))[:, :, ::-1])


def write_frames(folder: Path, count: int, size: int = 40) -> list[np.ndarray]:
    """A square moving 2 px right per frame over a real texture, as numbered PNGs."""
    folder.mkdir(parents=True)
    texture = still()[:size, :size]
    frames = []
    for index in range(count):
        frame = np.roll(texture, 2 * index, axis=1)
        cv2.imwrite(str(folder / f"{index:04d}.png"), frame[:, :, ::-1])
        frames.append(frame)
    return frames


def test_folder_triplets_with_stride(tmp_path: Path) -> None:
    frames = write_frames(tmp_path / "clip", 7)
    sequences = load_sequences([tmp_path / "clip"])
    assert [len(s) for s in sequences] == [7]
    for stride, expected in ((1, 5), (2, 3), (3, 1)):
        dataset = TripletDataset(sequences, stride)
        assert len(dataset) == expected
    triplet = TripletDataset(sequences, 2)[0]  # frames 0, 2, 4 (centre crop: whole frame)
    for position, frame in zip((0, 2, 4), triplet, strict=True):
        expected = torch.from_numpy(frames[position]).permute(2, 0, 1).float() / 255
        torch.testing.assert_close(frame, expected)
    with pytest.raises(InvalidInputError, match="no triplets"):
        TripletDataset(sequences, 4)


def test_folder_of_folders(tmp_path: Path) -> None:
    write_frames(tmp_path / "vimeo" / "00001" / "0001", 3)
    write_frames(tmp_path / "vimeo" / "00001" / "0002", 3)
    sequences = load_sequences([tmp_path / "vimeo"])
    assert [len(s) for s in sequences] == [3, 3]
    assert len(TripletDataset(sequences)) == 2


def test_video_triplets(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    frames = write_frames(tmp_path / "png", 9, size=48)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 48, 48, "yuv420p"
        stream.options = {"crf": "0"}
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    sequences = load_sequences([path])
    assert sum(len(s) for s in sequences) == 9
    decoded = sequences[0][4]
    assert isinstance(decoded, np.ndarray) and decoded.shape == (48, 48, 3)
    # Lossless H.264 up to the RGB<->YUV420 round trip: close to the source frame.
    assert np.abs(decoded.astype(int) - frames[4].astype(int)).mean() < 8


def test_held_out_triplets_share_no_frames() -> None:
    sequences = [list(range(20)), list(range(10))]
    training, held_out = split_positions(sequences, 2, 0.25)  # type: ignore[arg-type]
    assert held_out
    for number, middle in held_out:
        cut = int(len(sequences[number]) * 0.75)
        assert middle - 2 >= cut
    for number, middle in training:
        assert middle + 2 < int(len(sequences[number]) * 0.75)


def test_augmentation_keeps_frames_consistent() -> None:
    image = still()[:64, :80]
    sequences = [[image, image, image]]
    dataset = TripletDataset(sequences, 1, Augmentation(crop=32))
    for seed in range(6):
        triplet = dataset[(0, seed)]
        assert triplet.shape == (3, 3, 32, 32)
        # One crop, flip and colour change for all three frames.
        torch.testing.assert_close(triplet[0], triplet[1])
        torch.testing.assert_close(triplet[2], triplet[1])
    torch.testing.assert_close(dataset[(0, 3)], dataset[(0, 3)])  # a pure function of the key


def test_temporal_reversal_swaps_ends() -> None:
    frames = [np.full((8, 8, 3), value, np.uint8) for value in (10, 20, 30)]
    augmentation = Augmentation(crop=8, flips=False, **NO_PHOTOMETRIC)
    dataset = TripletDataset([frames], 1, augmentation)
    orders = {tuple(round(float(v) * 255) for v in dataset[(0, s)][:, 0, 0, 0]) for s in range(16)}
    assert orders == {(10, 20, 30), (30, 20, 10)}


def test_synthetic_triplets_have_layered_motion() -> None:
    dataset = SyntheticTriplets([still()], length=4, crop=64, max_motion=8.0)
    triplet = dataset[(1, 5)]
    assert triplet.shape == (3, 3, 64, 64)
    assert triplet.min() >= 0 and triplet.max() <= 1
    torch.testing.assert_close(triplet, dataset[(1, 5)])
    assert not torch.equal(triplet[0], triplet[2])  # things move
    # The middle frame is the motion's own rendering, not a cross-fade of the ends.
    blend = (triplet[0] + triplet[2]) / 2
    assert (triplet[1] - blend).abs().mean() > 1e-3


def test_laplacian_loss_exact_values() -> None:
    estimate = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert laplacian_loss(estimate, estimate).item() == 0.0
    # A constant offset lives only in the low-pass level (the 5th, weight 2^4).
    torch.testing.assert_close(laplacian_loss(estimate + 0.25, estimate), torch.tensor(16 * 0.25))
    torch.testing.assert_close(l1_loss(estimate + 0.25, estimate), torch.tensor(0.25))
    pyramid = laplacian_pyramid(estimate)
    assert [level.shape[-1] for level in pyramid] == [32, 16, 8, 4, 2]


def test_step_sampler_is_resumable() -> None:
    whole = list(StepSampler(100, 3, 0, 6, seed=1))
    tail = list(StepSampler(100, 3, 4, 6, seed=1))
    assert len(whole) == 18 and tail == whole[12:]


@pytest.mark.slow
def test_loss_decreases_on_fixed_batch() -> None:
    torch.manual_seed(0)
    network = SoftsplatNetwork()
    dataset = SyntheticTriplets([still()], length=2, crop=32, max_motion=4.0)
    batch = torch.stack([dataset[(0, 0)], dataset[(1, 0)]])
    optimizer = torch.optim.Adam(network.parameters(), lr=5e-4)
    losses = [train_step(network, optimizer, batch, laplacian_loss) for _ in range(4)]
    assert losses[-1] < 0.8 * losses[0]


def small_config(output: Path, **changes: object) -> TrainConfig:
    values: dict[str, object] = {
        "output": output,
        "steps": 4,
        "batch_size": 2,
        "learning_rate": 3e-4,
        "device": "cpu",
        "checkpoint_every": 1,
        "validate_every": 2,
    }
    values.update(changes)
    return TrainConfig(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def tiny_data():  # type: ignore[no-untyped-def]
    return prepare_data(
        synthetic_images=[MIDDLEBURY / "frame10.png"],
        synthetic_count=8,
        augmentation=Augmentation(crop=32),
        validation_count=2,
    )


@pytest.mark.slow
def test_checkpoint_round_trip_and_resume(tmp_path: Path, tiny_data) -> None:  # type: ignore[no-untyped-def]
    straight = train(small_config(tmp_path / "straight"), tiny_data.training, tiny_data.held_out)
    assert straight.validation_psnr is not None and straight.validation_psnr > 0

    class Interrupt(Exception):
        pass

    def stop_after_two(progress) -> None:  # type: ignore[no-untyped-def]
        if progress.step == 2:
            raise Interrupt

    interrupted = small_config(tmp_path / "resumed")
    with pytest.raises(Interrupt):
        train(interrupted, tiny_data.training, tiny_data.held_out, on_progress=stop_after_two)
    with pytest.raises(OutputError, match="--resume"):
        train(interrupted, tiny_data.training, tiny_data.held_out)
    resumed = train(
        small_config(tmp_path / "resumed", resume=True), tiny_data.training, tiny_data.held_out
    )
    assert resumed.step == straight.step == 4
    expected = load_checkpoint(straight.weights).state_dict()
    actual = load_checkpoint(resumed.weights).state_dict()
    for name, tensor in expected.items():
        torch.testing.assert_close(actual[name], tensor, rtol=0, atol=0, msg=name)
    saved = torch.load(resumed.checkpoint, weights_only=True)
    assert saved["step"] == 4 and [h["step"] for h in saved["history"]] == [1, 2, 3, 4]
    record = json.loads(resumed.record.read_text())
    assert record["steps"] == 4 and record["validation_psnr"] == pytest.approx(
        resumed.validation_psnr
    )


@pytest.mark.slow
def test_cli_train(tmp_path: Path) -> None:
    from frameinterp.cli import app

    frames = tmp_path / "frames"
    write_frames(frames, 12, size=48)
    result = CliRunner().invoke(
        app,
        [
            "train",
            str(frames),
            "--synthetic",
            str(MIDDLEBURY / "frame10.png"),
            "--synthetic-count",
            "4",
            "--steps",
            "2",
            "--crop",
            "32",
            "--batch-size",
            "1",
            "--validate-every",
            "2",
            "--validation-fraction",
            "0.4",
            "--report-every",
            "1",
            "--device",
            "cpu",
            "-o",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "validation PSNR" in result.output
    assert (tmp_path / "run" / "weights.safetensors").is_file()
    load_checkpoint(tmp_path / "run" / "weights.safetensors")


def test_cli_train_without_data_fails_cleanly(tmp_path: Path) -> None:
    from frameinterp.cli import app

    result = CliRunner().invoke(app, ["train", "-o", str(tmp_path / "run"), "--device", "cpu"])
    assert result.exit_code == 2
    assert "no training data" in result.output


@pytest.mark.slow
def test_time_limit_stops_resumably(tmp_path: Path, tiny_data) -> None:  # type: ignore[no-untyped-def]
    first = train(
        small_config(tmp_path / "run", steps=2, max_seconds=0.0),
        tiny_data.training,
        tiny_data.held_out,
    )
    assert (first.step, first.finished) == (1, False)
    assert torch.load(first.checkpoint, weights_only=True)["step"] == 1
    assert json.loads(first.record.read_text())["finished"] is False
    second = train(
        small_config(tmp_path / "run", steps=2, resume=True), tiny_data.training, tiny_data.held_out
    )
    assert (second.step, second.finished) == (2, True)


def test_synthetic_needs_a_count() -> None:
    with pytest.raises(InvalidInputError, match="synthetic-count"):
        prepare_data(synthetic_images=[MIDDLEBURY / "frame10.png"], synthetic_count=0)


@pytest.mark.slow
def test_cli_train_fine_tunes_from_init_weights(tmp_path: Path) -> None:
    # --init starts from the given weights: with a vanishing learning rate they come back
    # unchanged, whereas a run from random weights would not resemble them at all.
    from frameinterp.cli import app
    from frameinterp.network import save_weights

    torch.manual_seed(5)
    start = SoftsplatNetwork()
    init = tmp_path / "network-lf.safetensors"
    save_weights(start, init)
    arguments = ["train", "--synthetic", str(MIDDLEBURY / "frame10.png")]
    arguments += ["--synthetic-count", "2", "--steps", "1", "--crop", "32", "--batch-size", "1"]
    arguments += ["--learning-rate", "1e-12", "--validation-crop", "32", "--device", "cpu"]
    arguments += ["-o", str(tmp_path / "run")]
    result = CliRunner().invoke(app, [*arguments, "--init", str(init)])
    assert result.exit_code == 0, result.output
    tuned = load_checkpoint(tmp_path / "run" / "weights.safetensors").state_dict()
    for name, tensor in start.state_dict().items():
        torch.testing.assert_close(tuned[name], tensor, rtol=0, atol=1e-6, msg=name)
    record = json.loads((tmp_path / "run" / "training-record.json").read_text())
    assert record["config"]["init_weights"] == str(init)
