"""Training triplets (frame before, middle frame, frame after) and their augmentation.

Sources:
- video files, decoded with PyAV through ``frameinterp.video`` and split at scene cuts;
- folders of frames (sorted by name), or folders of such folders (e.g. the Vimeo-90k layout);
- synthetic triplets from still images: layers moving with known linear motion, rendered at
  t = 0, 0.5 and 1, so training has exact ground truth without any footage.

From a sequence, every triplet ``k - stride, k, k + stride`` is used. Items are addressed by
``(index, seed)``: the augmentation is a pure function of both, so data loading is reproducible
across restarts and worker processes (resumed training sees exactly the batches it would have).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from frameinterp.errors import InputNotFoundError, InvalidInputError, UnsupportedMediaError
from frameinterp.images import IMAGE_SUFFIXES, read_rgb
from frameinterp.transfer import image_to_tensor, to_uint8

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mts", ".ts", ".y4m")

Frame = np.ndarray | Path  # H×W×3 uint8 RGB in memory, or an image file read on demand
Key = tuple[int, int]  # (item index, augmentation seed)


def _load(frame: Frame) -> np.ndarray:
    return read_rgb(frame, np.uint8) if isinstance(frame, Path) else frame


def video_sequences(
    path: Path, max_frames: int | None = None, scale: float = 1.0
) -> list[list[Frame]]:
    """Decode a video into memory as uint8 RGB, split into sequences at scene cuts."""
    from frameinterp.decode import VideoReader, probe
    from frameinterp.timing import DEFAULT_SCENE_THRESHOLD

    info = probe(path)
    sequences: list[list[Frame]] = [[]]
    with VideoReader(info, measure=True) as reader:
        for decoded in reader:
            image = decoded.image
            image = to_uint8(image)  # high bit depth: rounded to the nearest 8-bit level
            if scale != 1.0:
                size = (
                    max(1, round(image.shape[1] * scale)),
                    max(1, round(image.shape[0] * scale)),
                )
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            cut = (
                decoded.measure is not None and decoded.measure.cut_score > DEFAULT_SCENE_THRESHOLD
            )
            if cut and sequences[-1]:
                sequences.append([])
            sequences[-1].append(np.ascontiguousarray(image))
            if max_frames is not None and sum(map(len, sequences)) >= max_frames:
                break
    return [sequence for sequence in sequences if sequence]


def folder_sequences(folder: Path) -> list[list[Frame]]:
    """Every folder under ``folder`` (itself included) that holds images is one sequence."""
    sequences: list[list[Frame]] = []
    for directory in sorted({folder, *(p for p in folder.rglob("*") if p.is_dir())}):
        images = sorted(
            p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if images:
            sequences.append(list(images))
    return sequences


def load_sequences(
    sources: Sequence[str | Path], max_frames: int | None = None, video_scale: float = 1.0
) -> list[list[Frame]]:
    """Sequences from video files and frame folders, in the order given."""
    sequences: list[list[Frame]] = []
    for source in map(Path, sources):
        if not source.exists():
            raise InputNotFoundError(f"training source {source} does not exist")
        if source.is_dir():
            found = folder_sequences(source)
            if not found:
                raise UnsupportedMediaError(
                    f"{source} holds no images ({', '.join(IMAGE_SUFFIXES)}) in it or below it"
                )
            sequences.extend(found)
        elif source.suffix.lower() in VIDEO_SUFFIXES:
            sequences.extend(video_sequences(source, max_frames, video_scale))
        else:
            raise UnsupportedMediaError(
                f"{source} is neither a folder of frames nor a video file "
                f"({', '.join(VIDEO_SUFFIXES)})"
            )
    return sequences


def triplet_positions(
    sequences: Sequence[Sequence[Frame]], stride: int = 1
) -> list[tuple[int, int]]:
    """(sequence, middle index) of every triplet ``k - stride, k, k + stride``."""
    if stride < 1:
        raise InvalidInputError(f"triplet stride must be 1 or more, got {stride}")
    return [
        (number, middle)
        for number, sequence in enumerate(sequences)
        for middle in range(stride, len(sequence) - stride)
    ]


@dataclass(frozen=True)
class Augmentation:
    """Random crop, flips, temporal reversal and photometric jitter, identical on all 3 frames."""

    crop: int = 256
    flips: bool = True
    reverse: bool = True
    brightness: float = 0.1  # multiply by 1 ± this
    contrast: float = 0.1  # scale around the mean by 1 ± this
    saturation: float = 0.1
    gamma: float = 0.1  # exponent in 1 ± this

    def __call__(self, frames: list[np.ndarray], rng: np.random.Generator) -> torch.Tensor:
        height, width = frames[0].shape[:2]
        crop_h, crop_w = min(self.crop, height), min(self.crop, width)
        top = int(rng.integers(0, height - crop_h + 1))
        left = int(rng.integers(0, width - crop_w + 1))
        stack = np.stack([f[top : top + crop_h, left : left + crop_w] for f in frames])
        triplet = torch.stack([image_to_tensor(frame) for frame in stack])
        if (crop_h, crop_w) != (self.crop, self.crop):
            triplet = torch.nn.functional.interpolate(
                triplet, size=(self.crop, self.crop), mode="bilinear", align_corners=False
            )
        if self.flips and rng.random() < 0.5:
            triplet = triplet.flip(3)
        if self.flips and rng.random() < 0.5:
            triplet = triplet.flip(2)
        if self.reverse and rng.random() < 0.5:
            triplet = triplet.flip(0)  # play backwards: the middle frame stays the middle
        return photometric(triplet, rng, self)


def photometric(
    triplet: torch.Tensor, rng: np.random.Generator, jitter: Augmentation
) -> torch.Tensor:
    """Brightness, contrast, saturation and gamma changes shared by the three frames."""

    def factor(amount: float) -> float:
        return float(rng.uniform(1.0 - amount, 1.0 + amount)) if amount > 0 else 1.0

    triplet = triplet * factor(jitter.brightness)
    mean = triplet.mean(dim=(1, 2, 3), keepdim=True).mean(0, keepdim=True)
    triplet = (triplet - mean) * factor(jitter.contrast) + mean
    grey = triplet.mean(dim=1, keepdim=True)
    triplet = (triplet - grey) * factor(jitter.saturation) + grey
    return triplet.clamp(0.0, 1.0).pow(factor(jitter.gamma)).contiguous()


def center_crop(frames: list[np.ndarray], size: int | None) -> torch.Tensor:
    """Deterministic crop for validation (the whole frame when ``size`` is None)."""
    stack = np.stack(frames)
    if size is not None:
        height, width = stack.shape[1:3]
        top, left = max(0, (height - size) // 2), max(0, (width - size) // 2)
        stack = stack[:, top : top + size, left : left + size]
    return torch.stack([image_to_tensor(frame) for frame in stack])


class TripletDataset(Dataset[torch.Tensor]):
    """Triplets from frame sequences: ``dataset[(index, seed)]`` is a 3×3×crop×crop tensor.

    With ``augmentation=None`` items are centre crops (``dataset[index]`` works too), for
    validation.
    """

    def __init__(
        self,
        sequences: Sequence[Sequence[Frame]],
        stride: int = 1,
        augmentation: Augmentation | None = None,
        positions: Sequence[tuple[int, int]] | None = None,
        validation_crop: int | None = None,
    ) -> None:
        self.sequences = sequences
        self.stride = stride
        self.augmentation = augmentation
        self.positions = list(
            positions if positions is not None else triplet_positions(sequences, stride)
        )
        self.validation_crop = validation_crop
        if not self.positions:
            raise InvalidInputError(
                f"no triplets: every sequence needs at least {2 * stride + 1} frames "
                f"(stride {stride}); got sequences of {[len(s) for s in sequences]} frames"
            )

    def __len__(self) -> int:
        return len(self.positions)

    def frames(self, index: int) -> list[np.ndarray]:
        number, middle = self.positions[index]
        sequence = self.sequences[number]
        return [_load(sequence[middle + offset]) for offset in (-self.stride, 0, self.stride)]

    def __getitem__(self, key: int | Key) -> torch.Tensor:
        index, seed = (key, 0) if isinstance(key, int) else key
        frames = self.frames(index)
        if self.augmentation is None:
            return center_crop(frames, self.validation_crop)
        return self.augmentation(frames, np.random.default_rng([seed, index]))


def split_positions(
    sequences: Sequence[Sequence[Frame]], stride: int, validation_fraction: float
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Training and held-out triplets: the last ``validation_fraction`` of every sequence is
    held out, and no training triplet shares a frame with a held-out one."""
    if not 0.0 <= validation_fraction < 1.0:
        raise InvalidInputError(f"validation fraction must be in [0, 1), got {validation_fraction}")
    training, held_out = [], []
    for number, middle in triplet_positions(sequences, stride):
        cut = math.floor(len(sequences[number]) * (1.0 - validation_fraction))
        if validation_fraction > 0 and middle - stride >= cut:
            held_out.append((number, middle))
        elif middle + stride < cut or validation_fraction == 0:
            training.append((number, middle))
    return training, held_out


@dataclass(frozen=True)
class _Layer:
    image: torch.Tensor  # 3×H×W in [0, 1]
    velocity: np.ndarray  # pixels per unit time, (x, y)
    zoom: float  # relative scale change per unit time


class SyntheticTriplets(Dataset[torch.Tensor]):
    """Triplets with exact ground truth: a background and a masked foreground layer, each
    moving with its own constant velocity (and slight zoom), rendered at t = 0, 0.5 and 1.

    Every frame is resampled from the still image with the same bilinear renderer, so the middle
    frame is exactly what the motion predicts, occlusions included.
    """

    def __init__(
        self,
        images: Sequence[np.ndarray | Path],
        length: int,
        crop: int = 256,
        max_motion: float = 24.0,
    ) -> None:
        if not images:
            raise InvalidInputError("synthetic triplets need at least one still image")
        self.images = list(images)
        self.length = length
        self.crop = crop
        self.max_motion = max_motion

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: int | Key) -> torch.Tensor:
        index, seed = (key, 0) if isinstance(key, int) else key
        rng = np.random.default_rng([seed, index, 7])
        background = self._image(rng)
        foreground = self._image(rng)
        size = self.crop
        yy, xx = torch.meshgrid(
            torch.arange(size, dtype=torch.float32),
            torch.arange(size, dtype=torch.float32),
            indexing="ij",
        )
        centre = torch.tensor(rng.uniform(0.25, 0.75, 2) * size, dtype=torch.float32)
        radii = torch.tensor(rng.uniform(0.12, 0.3, 2) * size, dtype=torch.float32)
        angle = float(rng.uniform(0, math.pi))
        layers = [
            _Layer(
                source,
                rng.uniform(-self.max_motion, self.max_motion, 2),
                float(rng.uniform(-0.05, 0.05)),
            )
            for source in (background, foreground)
        ]
        frames = []
        for time in (0.0, 0.5, 1.0):
            back, front = (
                _render(layer.image, size, layer.velocity * time, 1 + layer.zoom * time)
                for layer in layers
            )
            # The foreground mask moves with the foreground layer's motion.
            shift = layers[1].velocity * time
            scale = 1 + layers[1].zoom * time
            u = (xx - size / 2) / scale + size / 2 - float(shift[0]) - centre[0]
            v = (yy - size / 2) / scale + size / 2 - float(shift[1]) - centre[1]
            along = u * math.cos(angle) + v * math.sin(angle)
            across = -u * math.sin(angle) + v * math.cos(angle)
            distance = (along / radii[0]) ** 2 + (across / radii[1]) ** 2
            mask = (1.0 - distance).mul(8.0).clamp(0.0, 1.0)  # soft edge, about a pixel wide
            frames.append(front * mask + back * (1 - mask))
        return torch.stack(frames).clamp(0.0, 1.0)

    def _image(self, rng: np.random.Generator) -> torch.Tensor:
        image = _load(self.images[int(rng.integers(len(self.images)))])
        return image_to_tensor(image)


def _render(image: torch.Tensor, size: int, shift: np.ndarray, scale: float) -> torch.Tensor:
    """The size×size window at the image's centre, zoomed by ``scale`` and moved by ``shift``."""
    _, height, width = image.shape
    coordinates = torch.arange(size, dtype=torch.float32) - size / 2
    xs = coordinates / scale + width / 2 - float(shift[0])
    ys = coordinates / scale + height / 2 - float(shift[1])
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1)
    grid = grid / torch.tensor([(width - 1) / 2, (height - 1) / 2]) - 1
    sampled = torch.nn.functional.grid_sample(
        image[None], grid[None], mode="bilinear", padding_mode="reflection", align_corners=True
    )
    return sampled[0]


def dataset_length(dataset: Dataset[torch.Tensor]) -> int:
    """``len`` of a map-style dataset (typed: torch's Dataset does not declare ``__len__``)."""
    return len(cast(Sized, dataset))


class MixedTriplets(Dataset[torch.Tensor]):
    """Several triplet datasets behind one index range."""

    def __init__(self, parts: Sequence[Dataset[torch.Tensor]]) -> None:
        self.parts = [part for part in parts if dataset_length(part) > 0]
        self.offsets: np.ndarray = np.cumsum([0] + [dataset_length(p) for p in self.parts])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, key: int | Key) -> torch.Tensor:
        index, seed = (key, 0) if isinstance(key, int) else key
        part = int(np.searchsorted(self.offsets, index, side="right")) - 1
        return self.parts[part][(index - int(self.offsets[part]), seed)]


class StepSampler(Sampler[Key]):
    """``(index, seed)`` keys for steps ``start .. steps-1``, a pure function of the step.

    A resumed run continues with exactly the keys the uninterrupted run would have used.
    """

    def __init__(self, length: int, batch_size: int, start: int, steps: int, seed: int) -> None:
        self.length = length
        self.batch_size = batch_size
        self.start = start
        self.steps = steps
        self.seed = seed

    def __len__(self) -> int:
        return max(0, self.steps - self.start) * self.batch_size

    def __iter__(self) -> Iterator[Key]:
        for step in range(self.start, self.steps):
            rng = np.random.default_rng([self.seed, step])
            for index in rng.integers(0, self.length, self.batch_size):
                yield int(index), int(rng.integers(0, 2**31))


@dataclass
class TrainingData:
    """The datasets of one run and a description of them for the training record."""

    training: Dataset[torch.Tensor]
    held_out: Dataset[torch.Tensor] | None
    description: dict[str, object]


def prepare_data(
    sources: Sequence[str | Path] = (),
    synthetic_images: Sequence[str | Path] = (),
    synthetic_count: int = 0,
    stride: int = 1,
    augmentation: Augmentation | None = None,
    validation_fraction: float = 0.1,
    validation_count: int = 16,
    validation_crop: int | None = 256,
    max_video_frames: int | None = None,
    video_scale: float = 1.0,
) -> TrainingData:
    """Triplets from ``sources`` (videos, frame folders) plus synthetic ones from stills.

    Held-out triplets (the tail of every sequence, at most ``validation_count`` evenly spaced)
    are never trained on. With only synthetic data, held-out triplets are synthetic ones with
    seeds the training sampler does not use.
    """
    augmentation = augmentation or Augmentation()
    if synthetic_images and synthetic_count <= 0:
        raise InvalidInputError(
            "still images for synthetic triplets were given but no count: pass a synthetic "
            "count of 1 or more (--synthetic-count N)"
        )
    parts: list[Dataset[torch.Tensor]] = []
    held_out: Dataset[torch.Tensor] | None = None
    description: dict[str, object] = {
        "sources": [str(s) for s in sources],
        "stride": stride,
        "crop": augmentation.crop,
    }
    if sources:
        sequences = load_sequences(sources, max_video_frames, video_scale)
        training, validation = split_positions(sequences, stride, validation_fraction)
        if not training:
            raise InvalidInputError(
                "no training triplets left after holding out validation frames; add footage, "
                "lower the stride or the validation fraction"
            )
        parts.append(TripletDataset(sequences, stride, augmentation, training))
        if validation:
            step = max(1, len(validation) // max(1, validation_count))
            chosen = validation[::step][:validation_count]
            held_out = TripletDataset(sequences, stride, None, chosen, validation_crop)
        description.update(
            sequences=len(sequences),
            frames=sum(len(s) for s in sequences),
            training_triplets=len(training),
            held_out_triplets=len(validation),
        )
    if synthetic_count > 0:
        stills: list[np.ndarray | Path] = []
        for item in map(Path, synthetic_images):
            if item.is_dir():
                stills.extend(
                    sorted(p for p in item.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
                )
            elif item.is_file():
                stills.append(item)
            else:
                raise InputNotFoundError(f"still image or folder {item} does not exist")
        if not stills:
            raise InvalidInputError("synthetic triplets need still images (--synthetic PATH)")
        parts.append(SyntheticTriplets(stills, synthetic_count, augmentation.crop))
        description.update(synthetic_images=len(stills), synthetic_triplets=synthetic_count)
        if held_out is None:
            held_out = _FixedSeeds(
                SyntheticTriplets(stills, validation_count, augmentation.crop), seed=2**31
            )
    if not parts:
        raise InvalidInputError(
            "no training data: give video files or frame folders, or still images with "
            "--synthetic and a synthetic count"
        )
    return TrainingData(MixedTriplets(parts), held_out, description)


class _FixedSeeds(Dataset[torch.Tensor]):
    """Plain-index access to a keyed dataset with one seed (held-out synthetic triplets)."""

    def __init__(self, dataset: SyntheticTriplets, seed: int) -> None:
        self.dataset = dataset
        self.seed = seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.dataset[(index, self.seed)]
