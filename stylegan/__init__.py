"""Pure-PyTorch StyleGAN2: our generator (`Generator`, `GeneratorConfig`), a safe loader for
official pickles, and our safetensors format. `stylegan.load(path)` is the entry point.

The bottom layer: it imports no other package of the lab. What the layers above share about
generator images and seeds lives here once: `imageops` (to_uint8, psnr) and `seeds` (seed_z).

Errors (stylegan.errors): `CheckpointError` (a ValueError) for any unusable checkpoint, with
`UnsafeCheckpointError` for a pickle that names a forbidden global; `PrecisionError` (a ValueError)
for a precision the device cannot run; plain ValueErrors for bad arguments to networks and helpers."""
from .config import GeneratorConfig
from .device import pick_device
from .errors import CheckpointError, PrecisionError, UnsafeCheckpointError
from .io import load, load_pickle, read_metadata, save
from .networks import Generator

__all__ = ["Generator", "GeneratorConfig", "load", "load_pickle", "save", "read_metadata", "pick_device",
           "CheckpointError", "UnsafeCheckpointError", "PrecisionError"]
