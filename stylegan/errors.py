"""Errors raised when a checkpoint cannot be used."""
from .safe_pickle import UnsafeCheckpointError  # noqa: F401  (re-exported)


class CheckpointError(ValueError):
    """The file is not a usable StyleGAN2 checkpoint (wrong format, truncated, corrupt, mismatched)."""
