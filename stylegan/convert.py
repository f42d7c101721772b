"""Turn inert pickle records into our Generator: official PyTorch persistence records
(stylegan2-ada-pytorch, and StyleGAN2 from the stylegan3 repository) by parameter name, and
legacy TensorFlow StyleGAN2 networks (config-f) by a name and layout mapping.
"""
import re

import numpy as np
import torch

from .errors import CheckpointError
from .networks import Generator
from .safe_pickle import PersistentRecord, TFNetworkRecord


def _plain(x):
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    return x


def _flatten_record(record, prefix=""):
    """Parameters and buffers of a persistence record tree, by dotted name."""
    state = record.state
    skip = set(state.get("_non_persistent_buffers_set") or ())
    out = {}
    for group in ("_parameters", "_buffers"):
        for name, t in (state.get(group) or {}).items():
            if t is not None and name not in skip:
                if not isinstance(t, torch.Tensor):
                    raise CheckpointError(f"{prefix}{name} is not a tensor")
                out[prefix + name] = t
    for name, child in (state.get("_modules") or {}).items():
        if isinstance(child, PersistentRecord):
            out.update(_flatten_record(child, f"{prefix}{name}."))
        elif child is not None:
            raise CheckpointError(f"unexpected sub-module type at {prefix}{name}: {type(child).__name__}")
    return out


def _build(kwargs, state_dict, source, constant_filters=False):
    """Our Generator with `state_dict` loaded. constant_filters: formats that do not store the FIR
    filters (TensorFlow) take the generator's own, built from the same kwargs."""
    try:
        G = Generator(**kwargs)  # on the CPU: see io._load_safetensors
    except TypeError as e:
        raise CheckpointError(f"{source}: unsupported generator options ({e})") from None
    if constant_filters:
        state_dict = {**{k: v for k, v in G.state_dict().items() if k.endswith("resample_filter")}, **state_dict}
    missing = sorted(set(G.state_dict()) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(G.state_dict()))
    if missing or unexpected:
        raise CheckpointError(f"{source}: weights do not match a StyleGAN2 generator "
                              f"(missing {missing[:5]}, unexpected {unexpected[:5]})")
    try:
        G.load_state_dict({k: v.float().contiguous() for k, v in state_dict.items()}, strict=True, assign=True)
    except RuntimeError as e:
        raise CheckpointError(f"{source}: {e}") from None
    return G.eval().requires_grad_(False)


def from_persistent(record, source="checkpoint"):
    if record.class_name != "Generator":
        raise CheckpointError(f"{source}: expected a Generator record, found {record.class_name!r}")
    state_dict = _flatten_record(record)
    if any(k.startswith("synthesis.input.") for k in state_dict):
        raise CheckpointError(f"{source}: this is a StyleGAN3 (alias-free) generator; only StyleGAN2 is supported")
    kwargs = _plain(dict(record.state.get("_init_kwargs") or {}))
    args = tuple(record.state.get("_init_args") or ())
    for name, value in zip(("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels"), args):
        kwargs[name] = value
    return _build(kwargs, state_dict, source)


def _tf_params(net, prefix=""):
    params = {prefix + name: np.asarray(value) for name, value in net.state.get("variables", [])}
    for name, comp in (net.state.get("components") or {}).items():
        params.update(_tf_params(comp, f"{prefix}{name}/"))
    return params


def _tf_layer(tf, our_prefix, tf_prefix, flip=False):
    """One modulated conv layer: weights [kh,kw,in,out] -> [out,in,kh,kw]; TF keeps style bias - 1."""
    w = tf[f"{tf_prefix}/weight"]
    if flip:  # TF did the up-sampling conv as a transposed conv: flip the kernel spatially
        w = w[::-1, ::-1]
    return {
        f"{our_prefix}.weight": w.transpose(3, 2, 0, 1),
        f"{our_prefix}.bias": tf[f"{tf_prefix}/bias"],
        f"{our_prefix}.affine.weight": tf[f"{tf_prefix}/mod_weight"].T,
        f"{our_prefix}.affine.bias": tf[f"{tf_prefix}/mod_bias"] + 1,
    }


def from_tf(net, source="checkpoint"):
    """Legacy TensorFlow StyleGAN2 (Gs) -> Generator, inferring sizes from the variables."""
    tf = _tf_params(net)
    kw = dict(net.state.get("static_kwargs") or {})
    try:
        resolutions = sorted(int(m.group(1)) for k in tf if (m := re.fullmatch(r"synthesis/(\d+)x\1/Conv1/weight", k))
                             ) + [4]
        resolutions = sorted(set(resolutions))
        img_res = max(resolutions)
        if any(k.startswith("synthesis/") and "ToRGB_lod" in k for k in tf):
            raise CheckpointError(f"{source}: TensorFlow 'orig' (lod) generators are not supported")
        arch = "resnet" if any(re.fullmatch(r"synthesis/\d+x\d+/Skip/weight", k) for k in tf) else "skip"
        channels = {r: tf[f"synthesis/{r}x{r}/Conv{'' if r == 4 else '1'}/weight"].shape[3] for r in resolutions}
        n_map = len([k for k in tf if re.fullmatch(r"mapping/Dense\d+/weight", k)])
        c_dim = tf["mapping/LabelEmbed/weight"].shape[0] if "mapping/LabelEmbed/weight" in tf else 0
        w_dim = tf["dlatent_avg"].shape[0]
        z_dim = tf["mapping/Dense0/weight"].shape[0] - (w_dim if c_dim else 0)
        kwargs = dict(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=img_res,
                      img_channels=tf[f"synthesis/{img_res}x{img_res}/ToRGB/weight"].shape[3],
                      mapping_kwargs=dict(num_layers=n_map, layer_features=tf["mapping/Dense0/weight"].shape[1],
                                          lr_multiplier=kw.get("mapping_lrmul", 0.01)),
                      synthesis_kwargs=dict(channels=channels, architecture=arch))
        sd = {"mapping.w_avg": tf["dlatent_avg"]}
        if c_dim:
            sd["mapping.embed.weight"] = tf["mapping/LabelEmbed/weight"].T
            sd["mapping.embed.bias"] = tf["mapping/LabelEmbed/bias"]
        for i in range(n_map):
            sd[f"mapping.fc{i}.weight"] = tf[f"mapping/Dense{i}/weight"].T
            sd[f"mapping.fc{i}.bias"] = tf[f"mapping/Dense{i}/bias"]
        for r in resolutions:
            b, t = f"synthesis.b{r}", f"synthesis/{r}x{r}"
            log2 = int(np.log2(r))
            convs = [("conv1", "Conv", 0)] if r == 4 else [("conv0", "Conv0_up", 2 * log2 - 5), ("conv1", "Conv1", 2 * log2 - 4)]
            for ours, theirs, noise_idx in convs:
                sd.update(_tf_layer(tf, f"{b}.{ours}", f"{t}/{theirs}", flip=theirs == "Conv0_up"))
                sd[f"{b}.{ours}.noise_strength"] = tf[f"{t}/{theirs}/noise_strength"]
                sd[f"{b}.{ours}.noise_const"] = tf[f"synthesis/noise{noise_idx}"][0, 0]
            sd.update(_tf_layer(tf, f"{b}.torgb", f"{t}/ToRGB"))
            if r == 4:
                sd[f"{b}.const"] = tf[f"{t}/Const/const"][0]
            if arch == "resnet" and r > 4:
                sd[f"{b}.skip.weight"] = tf[f"{t}/Skip/weight"][::-1, ::-1].transpose(3, 2, 0, 1)
    except KeyError as e:
        raise CheckpointError(f"{source}: TensorFlow network is missing variable {e}") from None
    return _build(kwargs, {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in sd.items()},
                  source, constant_filters=True)  # FIR filters are constants, not stored by TF


def generator_from_pickle_data(data, source="checkpoint"):
    """The generator (G_ema when present) from whatever an official pickle held."""
    if isinstance(data, tuple) and len(data) == 3 and all(isinstance(n, TFNetworkRecord) for n in data):
        return from_tf(data[2], source)  # (G, D, Gs): Gs is the moving average used for sampling
    if isinstance(data, PersistentRecord):
        return from_persistent(data, source)
    if isinstance(data, dict):
        for key in ("G_ema", "G"):
            if isinstance(data.get(key), PersistentRecord):
                return from_persistent(data[key], source)
    raise CheckpointError(f"{source}: no StyleGAN2 generator found (expected a dict with 'G_ema' or a "
                          f"TensorFlow (G, D, Gs) tuple, got {type(data).__name__})")
