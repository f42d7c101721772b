"""DCGAN: the PyTorch-tutorial architecture, a from-scratch trainer on a face folder, and the
pretrained offline face DCGAN (from gan-face-generate, MIT).

Errors (dcgan.errors): `DCGANError` (a ValueError) with `DataError` (unusable training images) and
`DCGANCheckpointError` (an unusable training checkpoint or weights file). It is deliberately not
stylegan's CheckpointError: see dcgan/errors.py for why."""
from .data import ImageFolder
from .errors import DataError, DCGANCheckpointError, DCGANError
from .model import Discriminator, Generator, init_weights, sample
from .pretrained import load_pretrained
from .train import grid, train

__all__ = ["Generator", "Discriminator", "init_weights", "sample", "load_pretrained", "train", "grid", "DataError",
           "DCGANCheckpointError", "DCGANError", "ImageFolder"]
