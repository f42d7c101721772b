"""The errors of `stylegan`, one tree rooted in ValueError:

    CheckpointError(ValueError)     a file that is not a usable StyleGAN2 checkpoint
      UnsafeCheckpointError         (also a pickle.UnpicklingError) a pickle naming a global outside
                                    the allow-list; nothing from it was executed
    PrecisionError(ValueError)      a precision this device cannot run, or not a precision at all

An unsafe pickle is one kind of unusable checkpoint, so callers that catch `CheckpointError` also
refuse unsafe files. A bad argument to a network or a helper (a tensor of the wrong shape, a
config field, a seed) is a plain ValueError naming it, as torch's own are."""
import pickle


class CheckpointError(ValueError):
    """The file is not a usable StyleGAN2 checkpoint (wrong format, truncated, corrupt, mismatched,
    unsafe, or asking for a network beyond the sanity limits)."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """The pickle names a global outside the allow-list; nothing from it was executed."""


class PrecisionError(ValueError):
    """A precision this device cannot run (or a name that is not a precision)."""
