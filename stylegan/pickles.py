"""What an official pickle holds, turned into our Generator.

`safe_pickle` rebuilds a pickle as inert records; this module finds the generator among them
(G_ema before G in a training snapshot, Gs in a TensorFlow (G, D, Gs) tuple), collects its
tensors by dotted name and its constructor arguments, and hands them to `convert`.
"""
import numpy as np
import torch

from .convert import from_official, from_tf_params, tf_config
from .errors import CheckpointError
from .safe_pickle import PersistentRecord, TFNetworkRecord

POSITIONAL = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")  # stylegan2-ada order


def _plain(x):
    """EasyDict records and tuples as plain dicts and lists (JSON-able constructor arguments)."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def record_tensors(record, prefix=""):
    """Parameters and persistent buffers of a persistence record and its sub-modules, by dotted name."""
    state = record.state
    transient = set(state.get("_non_persistent_buffers_set") or ())
    found = {}
    for kind in ("_parameters", "_buffers"):
        for name, t in (state.get(kind) or {}).items():
            if t is None or name in transient:
                continue
            if not isinstance(t, torch.Tensor):
                raise CheckpointError(f"{prefix}{name} is not a tensor")
            found[prefix + name] = t
    for name, child in (state.get("_modules") or {}).items():
        if isinstance(child, PersistentRecord):
            found.update(record_tensors(child, f"{prefix}{name}."))
        elif child is not None:
            raise CheckpointError(f"unexpected sub-module type at {prefix}{name}: {type(child).__name__}")
    return found


def from_record(record, source="checkpoint"):
    if record.class_name != "Generator":
        raise CheckpointError(f"{source}: expected a Generator record, found {record.class_name!r}")
    kwargs = _plain(dict(record.state.get("_init_kwargs") or {}))
    kwargs.update(zip(POSITIONAL, record.state.get("_init_args") or ()))
    return from_official(record_tensors(record), kwargs, source)


def tf_variables(net, prefix=""):
    """TensorFlow variables of a network and its components, named component/variable."""
    found = {prefix + name: np.asarray(value) for name, value in net.state.get("variables", [])}
    for name, comp in (net.state.get("components") or {}).items():
        found.update(tf_variables(comp, f"{prefix}{name}/"))
    return found


def from_tf(net, source="checkpoint"):
    params = tf_variables(net)
    return from_tf_params(params, tf_config(params, net.state.get("static_kwargs"), source), source)


def generator_from_pickle_data(data, source="checkpoint"):
    """The generator (the moving average G_ema / Gs when present) from an unpickled official file."""
    tf_nets = [n for n in data if isinstance(n, TFNetworkRecord)] if isinstance(data, tuple) else []
    if len(tf_nets) == 3 == len(data):  # (G, D, Gs): Gs is the moving average
        return from_tf(tf_nets[2], source)
    if isinstance(data, PersistentRecord):
        return from_record(data, source)
    if isinstance(data, dict):
        for key in ("G_ema", "G"):
            if isinstance(data.get(key), PersistentRecord):
                return from_record(data[key], source)
    raise CheckpointError(f"{source}: no StyleGAN2 generator found (expected a dict with 'G_ema' or a "
                          f"TensorFlow (G, D, Gs) tuple, got {type(data).__name__})")
