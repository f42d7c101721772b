"""DCGAN: the PyTorch-tutorial architecture, a from-scratch trainer on a face folder, and the
pretrained offline face DCGAN (from gan-face-generate, MIT)."""
from .data import DataError, ImageFolder
from .model import Discriminator, Generator, init_weights, sample
from .pretrained import load_pretrained
from .train import CheckpointError, grid, train

__all__ = ["Generator", "Discriminator", "init_weights", "sample", "load_pretrained", "train", "grid", "DataError",
           "CheckpointError", "ImageFolder"]
