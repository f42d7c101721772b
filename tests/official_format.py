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
import os
import pickle
import sys
import types

import numpy as np
import torch

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


class _Persistent:
    def __init__(self, module, init_kwargs=None, marker="/nonexistent"):
        self.meta = dict(type="class", version=6, module_src=MODULE_SRC.format(marker=marker),
                         class_name=type(module).__name__, state=None)
        params = collections.OrderedDict((k, v) for k, v in module._parameters.items())
        buffers = collections.OrderedDict((k, v) for k, v in module._buffers.items())
        children = collections.OrderedDict((k, _Persistent(m, marker=marker)) for k, m in module._modules.items())
        self.meta["state"] = {
            "training": False, "_parameters": params, "_buffers": buffers,
            "_non_persistent_buffers_set": set(), "_backward_hooks": collections.OrderedDict(),
            "_forward_hooks": collections.OrderedDict(), "_forward_pre_hooks": collections.OrderedDict(),
            "_modules": children, "_init_args": (),
            "_init_kwargs": EasyDict(init_kwargs or {}),
        }

    def __reduce__(self):
        return (_reconstruct_persistent_obj, (self.meta,))


def write_official_pickle(path, G, marker="/nonexistent"):
    kwargs = dict(G.init_kwargs)
    kwargs["mapping_kwargs"] = EasyDict(kwargs["mapping_kwargs"])
    kwargs["synthesis_kwargs"] = EasyDict(kwargs["synthesis_kwargs"])
    G_ema = _Persistent(G, kwargs, marker)
    D = _Persistent(torch.nn.Linear(4, 1), {}, marker)
    D.meta["class_name"] = "Discriminator"
    data = dict(G=G_ema, D=D, G_ema=G_ema, augment_pipe=None,
                training_set_kwargs=EasyDict(path="~/datasets/ffhq.zip", resolution=G.img_resolution))
    with _fake_modules(**{"torch_utils.persistence": {"_reconstruct_persistent_obj": _reconstruct_persistent_obj},
                          "dnnlib.util": {"EasyDict": EasyDict}}):
        with open(path, "wb") as f:
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)


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
    """G must be skip architecture without conv_clamp (as TF config-f)."""
    sd = {k: v.detach().cpu() for k, v in G.state_dict().items()}
    mapping_vars = [(f"Dense{i}/{p}", (sd[f"mapping.fc{i}.weight"].numpy().T.copy() if p == "weight"
                                       else sd[f"mapping.fc{i}.bias"].numpy()))
                    for i in range(G.mapping.num_layers) for p in ("weight", "bias")]
    synth_vars = []
    for r in G.synthesis.block_resolutions:
        b = f"synthesis.b{r}"
        log2 = int(np.log2(r))
        convs = [("conv1", "Conv", 0)] if r == 4 else [("conv0", "Conv0_up", 2 * log2 - 5), ("conv1", "Conv1", 2 * log2 - 4)]
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
    mapping = net("G_mapping", mapping_vars, mapping_lrmul=G.mapping.fc0.bias_gain)
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
