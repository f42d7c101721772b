"""Errors raised when a checkpoint cannot be used. An unsafe pickle is one kind of unusable
checkpoint, so callers that catch `CheckpointError` also refuse unsafe files."""
import pickle


class CheckpointError(ValueError):
    """The file is not a usable StyleGAN2 checkpoint (wrong format, truncated, corrupt, mismatched,
    unsafe, or asking for a network beyond the sanity limits)."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """The pickle names a global outside the allow-list; nothing from it was executed."""
