"""The learned softmax-splatting network (flow estimator + synthesis) and its weights files."""

from frameinterp.network.checkpoint import load_checkpoint, published_names, save_weights
from frameinterp.network.flow import FlowEstimator
from frameinterp.network.model import PARAMETER_COUNT, Normalisation, SoftsplatNetwork, Tiling
from frameinterp.network.synthesis import Synthesis

__all__ = [
    "PARAMETER_COUNT",
    "FlowEstimator",
    "Normalisation",
    "SoftsplatNetwork",
    "Synthesis",
    "Tiling",
    "load_checkpoint",
    "published_names",
    "save_weights",
]
