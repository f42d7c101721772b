"""A restricted unpickler for the official StyleGAN2 pickles that executes nothing.

Official stylegan2-ada-pytorch / stylegan3 pickles store each network as a persistence
record: the network's class name, the source code of its module, and its state
(`_init_kwargs`, `_parameters`, `_buffers`, `_modules`). Unpickling them with `pickle`
would import and run that embedded source. Here every global the pickle names is looked up
in an allow-list of what is needed to rebuild tensors, arrays and plain containers; a
persistence record becomes an inert `PersistentRecord` (its source is kept as a string and
never executed), a legacy TensorFlow network becomes an inert `TFNetworkRecord`, and
anything else (os.system, builtins.eval, subprocess, importlib, unknown classes) raises
`UnsafeCheckpointError` naming it before it can be called.
"""
import collections
import io
import pickle

import numpy as np
import torch

from .errors import UnsafeCheckpointError  # noqa: F401  (raised here, defined with CheckpointError)


class PersistentRecord:
    """An official persistence record, rebuilt as data: class name, module source, state."""

    def __init__(self, meta):
        if not isinstance(meta, dict):
            raise pickle.UnpicklingError("malformed persistence record")
        self.class_name = meta.get("class_name")
        self.module_src = meta.get("module_src", "")  # kept only to recognise the network family
        self.state = dict(meta.get("state") or {})

    def __repr__(self):
        return f"PersistentRecord({self.class_name})"


class TFNetworkRecord:
    """A legacy TensorFlow `dnnlib.tflib.network.Network`, kept as its pickled state."""

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise pickle.UnpicklingError("malformed TensorFlow network state")
        self.state = state


class EasyDictRecord(dict):
    """dnnlib.EasyDict as a plain dict (attribute access is never needed here)."""


def _load_storage_from_bytes(b):
    # Tensors inside a plain pickle carry their storage as a nested torch.save stream;
    # read it with torch's own weights-only unpickler.
    return torch.load(io.BytesIO(b), weights_only=True, map_location="cpu")


def _rebuild_from_type_v2(func, new_type, args, state):
    if func not in (torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter):
        raise UnsafeCheckpointError(f"tensor rebuild through {func!r} is not allowed")
    if new_type not in (torch.Tensor, torch.nn.Parameter):
        raise UnsafeCheckpointError(f"tensor subclass {new_type!r} is not allowed")
    return func(*args)


_RECORD_CLASSES = (TFNetworkRecord, EasyDictRecord)


def _safe_reconstructor(cls, base, state):
    # copyreg._reconstructor(cls, object, None) is how protocol-0/1 pickles create instances.
    if cls not in _RECORD_CLASSES or base not in (object, dict):
        raise UnsafeCheckpointError(f"copyreg._reconstructor for {cls!r} is not allowed")
    return base.__new__(cls) if base is object else cls()


def _np_scalar(dtype, data=None):
    return np.frombuffer(data, dtype=dtype)[0] if data is not None else dtype.type(0)


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "slice"): slice,
    ("builtins", "complex"): complex,
    ("copyreg", "_reconstructor"): _safe_reconstructor,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): torch._utils._rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
    ("torch", "Tensor"): torch.Tensor,
    ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): PersistentRecord,
    ("dnnlib", "EasyDict"): EasyDictRecord,
    ("dnnlib.util", "EasyDict"): EasyDictRecord,
    ("dnnlib.tflib.network", "Network"): TFNetworkRecord,
}
try:
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct as _np_reconstruct
for _mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_mod, "_reconstruct")] = _np_reconstruct
    _ALLOWED[(_mod, "scalar")] = _np_scalar
_ALLOWED[("numpy", "ndarray")] = np.ndarray
_ALLOWED[("numpy", "dtype")] = np.dtype


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        fn = _ALLOWED.get((module, name))
        if fn is None:
            raise UnsafeCheckpointError(
                f"refusing to load: the pickle references {module}.{name}, which is not a tensor, array or "
                f"plain container (nothing was executed)")
        return fn

    def persistent_load(self, pid):
        raise UnsafeCheckpointError(f"refusing persistent id {pid!r} in a plain pickle")


def safe_load(f):
    """Unpickle a file object with the allow-list above."""
    return RestrictedUnpickler(f).load()
