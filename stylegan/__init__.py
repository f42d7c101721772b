"""Pure-PyTorch StyleGAN2: our generator (`Generator`, `GeneratorConfig`), a safe loader for
official pickles, and our safetensors format. `stylegan.load(path)` is the entry point."""
from .config import GeneratorConfig
from .device import pick_device
from .errors import CheckpointError, UnsafeCheckpointError
from .io import load, load_pickle, read_metadata, save
from .networks import Generator

__all__ = ["Generator", "GeneratorConfig", "load", "load_pickle", "save", "read_metadata", "pick_device",
           "CheckpointError", "UnsafeCheckpointError"]
