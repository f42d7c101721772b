"""Writers of checkpoints in the official formats, for tests (no official code involved).

- `write_official_pickle(path, G)`: stylegan2-ada-pytorch persistence records: a dict with
  G / D / G_ema / training_set_kwargs / augment_pipe, each network a
  `torch_utils.persistence._reconstruct_persistent_obj(meta)` call whose meta holds the
  class name, a module source string and the module state (init kwargs, parameters,
  buffers, sub-modules), tensors pickled the way torch pickles them.
- `write_tf_pickle(path, G)`: a legacy TensorFlow StyleGAN2 (G, D, Gs) tuple of
  `dnnlib.tflib.network.Network` states holding numpy variables under the TF names.
- `write_malicious_pickle(path, marker, kind)`: pickles that would run code if trusted.
"""
import collections
import contextlib
import json
import os
import pickle
import sys
import types

import numpy as np
import torch

from stylegan.convert import official_state_dict
from stylegan.official_config import official_kwargs

MODULE_SRC = "import os\nos.system('touch {marker}')  # a real pickle embeds its network source here\n"


@contextlib.contextmanager
def _fake_modules(**attrs_by_module):
    """Make pickle able to name globals of modules that do not exist here."""
    saved = {}
    names = {}
    for modname in attrs_by_module:  # parents first: pickle imports "a.b" through "a"
        parts = modname.split(".")
        for i in range(1, len(parts) + 1):
            names.setdefault(".".join(parts[:i]), {})
        names[modname] = attrs_by_module[modname]
    try:
        for modname, attrs in names.items():
            saved[modname] = sys.modules.get(modname)
            mod = types.ModuleType(modname)
            if "." in modname:
                parent, child = modname.rsplit(".", 1)
                setattr(sys.modules[parent], child, mod)
            for name, obj in attrs.items():
                obj.__module__ = modname
                obj.__qualname__ = name
                setattr(mod, name, obj)
            sys.modules[modname] = mod
        yield
    finally:
        for modname, old in saved.items():
            if old is None:
                sys.modules.pop(modname, None)
            else:
                sys.modules[modname] = old


def _reconstruct_persistent_obj(meta):  # name and module are rewritten by _fake_modules
    raise AssertionError("never called while writing")


class EasyDict(dict):
    pass


BUFFERS = ("w_avg", "noise_const", "resample_filter")  # the official buffers; every other tensor is a parameter


class _Persistent:
    """One module of the official tree as a persistence record (children added by dotted names)."""

    def __init__(self, class_name, init_kwargs=None, marker="/nonexistent"):
        self.marker = marker
        self.meta = dict(type="class", version=6, module_src=MODULE_SRC.format(marker=marker),
                         class_name=class_name, state=None)
        self.meta["state"] = {
            "training": False, "_parameters": collections.OrderedDict(), "_buffers": collections.OrderedDict(),
            "_non_persistent_buffers_set": set(), "_backward_hooks": collections.OrderedDict(),
            "_forward_hooks": collections.OrderedDict(), "_forward_pre_hooks": collections.OrderedDict(),
            "_modules": collections.OrderedDict(), "_init_args": (),
            "_init_kwargs": EasyDict(init_kwargs or {}),
        }

    def add(self, dotted, tensor):
        *path, leaf = dotted.split(".")
        node = self
        for name in path:
            node = node.meta["state"]["_modules"].setdefault(name, _Persistent("Module", marker=self.marker))
        node.meta["state"]["_buffers" if leaf in BUFFERS else "_parameters"][leaf] = tensor

    def __reduce__(self):
        return (_reconstruct_persistent_obj, (self.meta,))


def official_record(G, marker="/nonexistent", **extra_kwargs):
    """G as the official code would pickle it: official names (from our converter's table run
    backwards, so this mirrors our reader; benchmarks/official_parity.py checks the table against
    the official code) and official constructor arguments."""
    kwargs = {k: (EasyDict(v) if isinstance(v, dict) else v) for k, v in official_kwargs(G.config).items()}
    kwargs.update(extra_kwargs)
    rec = _Persistent("Generator", kwargs, marker)
    for name, t in official_state_dict(G).items():
        rec.add(name, t)
    return rec


def write_official_pickle(path, G, marker="/nonexistent", **extra_kwargs):
    G_ema = official_record(G, marker, **extra_kwargs)
    D = _Persistent("Discriminator", {}, marker)
    D.add("b4.fc.weight", torch.zeros(1, 4))
    data = dict(G=G_ema, D=D, G_ema=G_ema, augment_pipe=None,
                training_set_kwargs=EasyDict(path="~/datasets/ffhq.zip", resolution=G.img_resolution))
    with _fake_modules(**{"torch_utils.persistence": {"_reconstruct_persistent_obj": _reconstruct_persistent_obj},
                          "dnnlib.util": {"EasyDict": EasyDict}}):
        with open(path, "wb") as f:
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)


def write_v1_safetensors(path, G):
    """Our safetensors format version 1 (official names + official constructor arguments)."""
    from safetensors.torch import save_file
    meta = {"format": "latentlab.stylegan2", "version": "1", "init_kwargs": json.dumps(official_kwargs(G.config))}
    save_file({k: v.contiguous() for k, v in official_state_dict(G).items()}, str(path), metadata=meta)


class Network:
    def __init__(self, state):
        self.state = state

    def __getstate__(self):
        return self.state

    def __setstate__(self, state):
        self.state = state


def _tf_layer(sd, ours, flip=False):
    w = sd[f"{ours}.weight"].numpy().transpose(2, 3, 1, 0)  # [out,in,kh,kw] -> [kh,kw,in,out]
    if flip:
        w = w[::-1, ::-1]
    return {"weight": np.ascontiguousarray(w), "bias": sd[f"{ours}.bias"].numpy(),
            "mod_weight": sd[f"{ours}.affine.weight"].numpy().T.copy(),
            "mod_bias": sd[f"{ours}.affine.bias"].numpy() - 1}


def write_tf_pickle(path, G):
    """G must be skip architecture without conv_clamp (as TF config-f). Written from the official
    PyTorch names with its own TF naming (independent of the converter's TF column)."""
    sd = official_state_dict(G)
    mapping_vars = [(f"Dense{i}/{p}", (sd[f"mapping.fc{i}.weight"].numpy().T.copy() if p == "weight"
                                       else sd[f"mapping.fc{i}.bias"].numpy()))
                    for i in range(G.config.mapping_layers) for p in ("weight", "bias")]
    synth_vars = []
    for r in G.config.resolutions:
        b = f"synthesis.b{r}"
        log2 = int(np.log2(r))
        convs = ([("conv1", "Conv", 0)] if r == 4 else
                 [("conv0", "Conv0_up", 2 * log2 - 5), ("conv1", "Conv1", 2 * log2 - 4)])
        if r == 4:
            synth_vars.append(("4x4/Const/const", sd[f"{b}.const"].numpy()[None]))
        for ours, theirs, noise_idx in convs:
            for p, v in _tf_layer(sd, f"{b}.{ours}", flip=theirs == "Conv0_up").items():
                synth_vars.append((f"{r}x{r}/{theirs}/{p}", v))
            synth_vars.append((f"{r}x{r}/{theirs}/noise_strength", sd[f"{b}.{ours}.noise_strength"].numpy()))
            synth_vars.append((f"noise{noise_idx}", sd[f"{b}.{ours}.noise_const"].numpy()[None, None]))
        for p, v in _tf_layer(sd, f"{b}.torgb").items():
            synth_vars.append((f"{r}x{r}/ToRGB/{p}", v))
    def net(name, variables, components=None, **static):
        return Network(dict(version=4, name=name, static_kwargs=static, components=components or {},
                            build_module_src="raise SystemExit('never run')", build_func_name="G_main",
                            variables=variables))
    mapping = net("G_mapping", mapping_vars, mapping_lrmul=G.config.mapping_lr)
    synthesis = net("G_synthesis", synth_vars)
    Gs = net("G", [("dlatent_avg", sd["mapping.w_avg"].numpy()), ("lod", np.float32(0))],
             dict(mapping=mapping, synthesis=synthesis))
    D = net("D", [("Output/weight", np.zeros((4, 1), np.float32))])
    with _fake_modules(**{"dnnlib.tflib.network": {"Network": Network}}):
        with open(path, "wb") as f:
            pickle.dump((Gs, D, Gs), f, protocol=4)


class _Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def write_malicious_pickle(path, marker, kind="os.system"):
    """A pickle that creates `marker` when loaded by a trusting unpickler."""
    import builtins
    import subprocess
    payload = {
        "os.system": _Evil(os.system, f"touch {marker}"),
        "eval": _Evil(builtins.eval, f"open({str(marker)!r}, 'w').close()"),
        "exec": _Evil(builtins.exec, f"open({str(marker)!r}, 'w').close()"),
        "subprocess": _Evil(subprocess.check_call, ["touch", str(marker)]),
    }[kind]
    with open(path, "wb") as f:
        pickle.dump({"G_ema": payload}, f, protocol=pickle.HIGHEST_PROTOCOL)
