"""Official StyleGAN2 checkpoints -> our Generator, through one name-mapping table.

Sources: stylegan2-ada-pytorch and stylegan3-repo persistence records (read by `safe_pickle`),
StyleGAN-Human's rectangular records (the same names around a 4x2 constant), legacy TensorFlow
networks, and version 1 of our safetensors format (official names + official constructor
arguments). `NAME_TABLE` is the only place official tensor names appear; `official_state_dict`
runs it backwards (the tests write official-format files with it; `benchmarks/official_parity.py`
checks the table against the official code itself).
"""
import numpy as np
import torch

from .config import GeneratorConfig
from .errors import CheckpointError
from .layers import undrawn
from .networks import Generator
from .official_config import config_from_official
from .ops import fir_2d

# kind -> (ours, official PyTorch, TensorFlow, TF layout). Fields: {i} mapping layer, {s} our stage index,
# {r} stage height in px, {L}/{l}/{T} a synthesis layer's name in ours / official / TF, {n} its W+ row.
# TF layouts: T transpose; conv [kh,kw,in,out] -> [out,in,kh,kw]; flip mirrors the kernel (TF ran the
# up-sampling conv as a transposed conv); plus1: TF stores the style bias minus 1; unbatch: [1, ...] -> [...];
# plane: [1, 1, H, W] -> [H, W]. ours None: a constant the official code stores and we do not (its FIR copies).
NAME_TABLE = {
    "w_avg":        ("mapping.w_mean",                     "mapping.w_avg",                     "dlatent_avg",                          ""),
    "label_weight": ("mapping.label.weight",               "mapping.embed.weight",              "mapping/LabelEmbed/weight",            "T"),
    "label_bias":   ("mapping.label.bias",                 "mapping.embed.bias",                "mapping/LabelEmbed/bias",              ""),
    "fc_weight":    ("mapping.layers.{i}.weight",          "mapping.fc{i}.weight",              "mapping/Dense{i}/weight",              "T"),
    "fc_bias":      ("mapping.layers.{i}.bias",            "mapping.fc{i}.bias",                "mapping/Dense{i}/bias",                ""),
    "const":        ("synthesis.const",                    "synthesis.b4.const",                "synthesis/4x4/Const/const",            "unbatch"),
    "style_weight": ("synthesis.stages.{s}.{L}.style.weight", "synthesis.b{r}.{l}.affine.weight", "synthesis/{r}x{r}/{T}/mod_weight",     "T"),
    "style_bias":   ("synthesis.stages.{s}.{L}.style.bias",  "synthesis.b{r}.{l}.affine.bias",   "synthesis/{r}x{r}/{T}/mod_bias",       "plus1"),
    "weight":       ("synthesis.stages.{s}.{L}.weight",    "synthesis.b{r}.{l}.weight",         "synthesis/{r}x{r}/{T}/weight",         "conv"),
    "bias":         ("synthesis.stages.{s}.{L}.bias",      "synthesis.b{r}.{l}.bias",           "synthesis/{r}x{r}/{T}/bias",           ""),
    "noise_scale":  ("synthesis.stages.{s}.{L}.noise_scale", "synthesis.b{r}.{l}.noise_strength", "synthesis/{r}x{r}/{T}/noise_strength", ""),
    "noise":        ("synthesis.stages.{s}.{L}.noise",     "synthesis.b{r}.{l}.noise_const",    "synthesis/noise{n}",                   "plane"),
    "skip":         ("synthesis.stages.{s}.skip.weight",   "synthesis.b{r}.skip.weight",        "synthesis/{r}x{r}/Skip/weight",        "conv flip"),
    "fir_stage":    (None,                                 "synthesis.b{r}.resample_filter",    None,                                   ""),
    "fir_layer":    (None,                                 "synthesis.b{r}.{l}.resample_filter", None,                                  ""),
    "fir_skip":     (None,                                 "synthesis.b{r}.skip.resample_filter", None,                                 ""),
}
LAYER_NAMES = {"up": ("conv0", "Conv0_up"), "conv": ("conv1", "Conv1"), "rgb": ("torgb", "ToRGB")}  # TF 4x4: "Conv"
STYLEGAN3_PREFIX = "synthesis.input."  # alias-free generators start from Fourier features, not a constant


def _slots(G):
    """(kind, fields) for every tensor of G, and for every FIR constant of the official layout."""
    yield "w_avg", {}
    if G.c_dim:
        yield from (("label_weight", {}), ("label_bias", {}))
    for i in range(len(G.mapping.layers)):
        yield from (("fc_weight", {"i": i}), ("fc_bias", {"i": i}))
    yield "const", {}
    syn = G.synthesis
    for s, (r, stage) in enumerate(zip(syn.block_resolutions, syn.stages)):
        yield "fir_stage", {"r": r}
        row = syn.first_row(s)
        for L in ("up", "conv", "rgb"):
            layer = getattr(stage, L, None)
            if layer is None:
                continue
            l, T = LAYER_NAMES[L]
            f = dict(s=s, r=r, L=L, l=l, T="Conv" if r == 4 and L == "conv" else T, n=row)
            yield from ((k, f) for k in ("style_weight", "style_bias", "weight", "bias"))
            if L != "rgb":
                if layer.use_noise:
                    yield from (("noise_scale", f), ("noise", f))
                yield "fir_layer", f
                row += 1
        if stage.skip is not None:
            yield from (("skip", {"s": s, "r": r}), ("fir_skip", {"r": r}))


def name_rows(G):
    """[(ours, official, tensorflow, tf_layout)] for G; ours is None for official FIR constants."""
    rows = []
    for kind, f in _slots(G):
        ours, off, tf, layout = NAME_TABLE[kind]
        if kind == "weight" and f["L"] == "up":
            layout += " flip"
        rows.append((*(None if t is None else t.format(**f) for t in (ours, off, tf)), layout))
    return rows


def _mismatch(source, missing, unexpected):
    parts = [f"first missing {missing[0]!r} ({len(missing)} missing)" if missing else "",
             f"first unexpected {unexpected[0]!r} ({len(unexpected)} unexpected)" if unexpected else ""]
    return CheckpointError(f"{source}: tensors do not map onto a StyleGAN2 generator of this configuration: "
                           + ", ".join(p for p in parts if p))


def build(config, state, source="checkpoint"):
    """Generator(config) holding `state` (our names), in eval mode without gradients."""
    try:
        with undrawn():   # every tensor is assigned from `state` below: no random init, no second copy
            G = Generator(config)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{source}: unsupported generator configuration ({e})") from None
    own = G.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise _mismatch(source, missing, unexpected)
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise CheckpointError(f"{source}: {k} has shape {list(state[k].shape)}, "
                                  f"the configuration needs {list(v.shape)}")
    G.load_state_dict({k: v.float().contiguous() for k, v in state.items()}, strict=True, assign=True)
    return G.eval().requires_grad_(False)


def from_official(state, kwargs, source="checkpoint"):
    """Our Generator from an official state dict (official names) and its constructor arguments."""
    if any(k.startswith(STYLEGAN3_PREFIX) for k in state):
        raise CheckpointError(f"{source}: this is a StyleGAN3 (alias-free) generator; only StyleGAN2 is supported")
    const = state.get(NAME_TABLE["const"][1])
    cfg = config_from_official(kwargs, None if const is None else const.shape, source)
    with undrawn():   # only for its structure: which names exist
        rows = name_rows(Generator(cfg))
    fir = fir_2d(cfg.fir)
    ours = {}
    for our_name, off_name, _, _ in rows:
        if off_name in state and our_name is None:
            if not torch.allclose(state[off_name].float(), fir, atol=1e-6):
                raise CheckpointError(f"{source}: {off_name} is not the FIR filter of the stated resample_filter")
        elif off_name in state:
            ours[our_name] = state[off_name]
    known = {off for _, off, _, _ in rows}
    missing = [off for our_name, off, _, _ in rows if our_name is not None and off not in state]
    unexpected = [k for k in state if k not in known]
    if missing or unexpected:
        raise _mismatch(source, missing, unexpected)
    return build(cfg, ours, source)


def official_state_dict(G):
    """G's tensors under the official names, FIR constants included (the inverse of from_official)."""
    own, fir = G.state_dict(), fir_2d(G.config.fir)
    return {off: (fir.clone() if ours is None else own[ours].detach().clone()) for ours, off, _, _ in name_rows(G)}


def _tf_layout(a, layout):
    for op in layout.split():
        a = {"T": lambda x: x.T, "conv": lambda x: x.transpose(3, 2, 0, 1), "flip": lambda x: x[:, :, ::-1, ::-1],
             "plus1": lambda x: x + 1, "unbatch": lambda x: x[0], "plane": lambda x: x[0, 0]}[op](a)
    return a


def from_tf_params(params, cfg, source="checkpoint"):
    """Our Generator from TensorFlow variables (flattened names) and the config they imply."""
    with undrawn():   # only for its structure
        rows = name_rows(Generator(cfg))
    ours = {}
    for our_name, _, tf_name, layout in rows:
        if our_name is None:
            continue
        if tf_name not in params:
            raise CheckpointError(f"{source}: TensorFlow network is missing variable {tf_name!r}")
        ours[our_name] = torch.from_numpy(np.array(_tf_layout(params[tf_name], layout), dtype=np.float32))
    return build(cfg, ours, source)


def _tf(kind, **f):
    return NAME_TABLE[kind][2].format(**f)


def tf_config(params, static_kwargs=None, source="checkpoint"):
    """The GeneratorConfig a TensorFlow StyleGAN2 (config-e/f, skip or resnet) implies, read off
    the shapes of its variables."""
    try:
        res = 4
        while _tf("weight", r=res * 2, T=LAYER_NAMES["conv"][1]) in params:
            res *= 2
        conv = lambda r: params[_tf("weight", r=r, T="Conv" if r == 4 else LAYER_NAMES["conv"][1])]
        n_map = 0
        while _tf("fc_weight", i=n_map) in params:
            n_map += 1
        label = params.get(_tf("label_weight"))
        dense0 = params[_tf("fc_weight", i=0)]
        w_dim = params[_tf("w_avg")].shape[0]
        const = params[_tf("const")]
        cfg = dict(z_dim=dense0.shape[0] - (0 if label is None else label.shape[1]),
                   c_dim=0 if label is None else label.shape[0], w_dim=w_dim,
                   embed_dim=None if label is None else label.shape[1],
                   resolution=res, width=res * const.shape[-1] // 4,
                   img_channels=params[_tf("weight", r=res, T=LAYER_NAMES["rgb"][1])].shape[3],
                   mapping_layers=n_map, mapping_width=dense0.shape[1] if n_map > 1 else None,
                   mapping_lr=float((static_kwargs or {}).get("mapping_lrmul", 0.01)),
                   channels=[conv(2 ** k).shape[3] for k in range(2, res.bit_length())],
                   architecture="resnet" if _tf("skip", r=8) in params else "skip")
    except KeyError as e:
        raise CheckpointError(f"{source}: TensorFlow network is missing variable {e}") from None
    try:
        return GeneratorConfig(**{k: (int(v) if hasattr(v, "__index__") else v) for k, v in cfg.items()})
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{source}: unsupported TensorFlow generator ({e})") from None
