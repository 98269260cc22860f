"""Training the softmax-splatting network on triplets (``frameinterp train``)."""

from frameinterp.training.data import (
    Augmentation,
    SyntheticTriplets,
    TrainingData,
    TripletDataset,
    prepare_data,
)
from frameinterp.training.loss import l1_loss, laplacian_loss
from frameinterp.training.trainer import Progress, TrainConfig, TrainResult, train, train_step

__all__ = [
    "Augmentation",
    "Progress",
    "SyntheticTriplets",
    "TrainConfig",
    "TrainResult",
    "TrainingData",
    "TripletDataset",
    "l1_loss",
    "laplacian_loss",
    "prepare_data",
    "train",
    "train_step",
]
