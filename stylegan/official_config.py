"""Official StyleGAN2 constructor arguments <-> our GeneratorConfig.

An official network records how it was built (`init_kwargs`): the stylegan2-ada-pytorch layout
nests `mapping_kwargs` and `synthesis_kwargs`; the stylegan3 repository passes the synthesis
arguments as keywords of the generator; StyleGAN-Human adds `square` (False: width = height / 2).
Precision and memory-layout switches (fp16 stages, channels-last) say nothing about the
network's function and are dropped; anything else we do not implement is an error, never
silently ignored.
"""
from .config import GeneratorConfig
from .errors import CheckpointError

PRECISION_ONLY = ("num_fp16_res", "use_fp16", "fp16_channels_last", "fused_modconv_default", "channels_last")
OFFICIAL_FIR = [1.0, 3.0, 3.0, 1.0]


def _take(d, key, default, allowed=None, source=""):
    v = d.pop(key, default)
    if allowed is not None and v not in allowed:
        raise CheckpointError(f"{source}: unsupported generator option {key}={v!r} (supported: {allowed})")
    return v


def config_from_official(kwargs, const_shape=None, source="checkpoint"):
    """GeneratorConfig from official init kwargs. const_shape: shape of the 4 px constant, which
    decides the aspect when the kwargs do not (StyleGAN-Human records may lack `square`)."""
    kw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in dict(kwargs).items()}
    mapping = dict(kw.pop("mapping_kwargs", None) or {})
    synth = dict(kw.pop("synthesis_kwargs", None) or {})
    try:
        sizes = {k: int(kw.pop(k)) for k in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")}
    except KeyError as e:
        raise CheckpointError(f"{source}: generator arguments lack {e}") from None
    square = kw.pop("square", synth.pop("square", None))
    _take(kw, "padding", False, (False,), source)  # DragGAN pads human images to squares outside the network
    synth.update(kw)  # stylegan3-repo layout
    for k in PRECISION_ONLY:
        synth.pop(k, None)
    mapping.pop("num_ws", None)  # always derived from the synthesis network
    _take(mapping, "activation", "lrelu", ("lrelu",), source)
    _take(synth, "activation", "lrelu", ("lrelu",), source)
    _take(synth, "kernel_size", 3, (3,), source)
    res = sizes["img_resolution"]
    fields = dict(
        z_dim=sizes["z_dim"], c_dim=sizes["c_dim"], w_dim=sizes["w_dim"], resolution=res,
        img_channels=sizes["img_channels"], mapping_layers=mapping.pop("num_layers", 8),
        mapping_width=mapping.pop("layer_features", None), embed_dim=mapping.pop("embed_features", None),
        mapping_lr=mapping.pop("lr_multiplier", 0.01), w_avg_beta=mapping.pop("w_avg_beta", 0.995),
        channel_base=synth.pop("channel_base", 32768), channel_max=synth.pop("channel_max", 512),
        channels=synth.pop("channels", None), architecture=synth.pop("architecture", "skip"),
        conv_clamp=synth.pop("conv_clamp", None), use_noise=synth.pop("use_noise", True),
        fir=list(synth.pop("resample_filter", OFFICIAL_FIR)))
    leftover = sorted(mapping) + sorted(synth)
    if leftover:
        raise CheckpointError(f"{source}: unsupported generator options {leftover}")
    fields["width"] = _width(res, square, const_shape, source)
    try:
        return GeneratorConfig(**fields)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{source}: unsupported generator configuration ({e})") from None


def _width(res, square, const_shape, source):
    if const_shape is not None:
        h, w = (int(n) for n in tuple(const_shape)[-2:])
        if h != 4 or w < 1:
            raise CheckpointError(f"{source}: the 4 px constant has shape {list(const_shape)}, expected [C, 4, W]")
        width = res * w // 4
        if square is not None and (width == res) != bool(square):
            raise CheckpointError(f"{source}: square={square} but the 4 px constant is {h}x{w}")
        return width
    return res if square in (None, True) else res // 2


def official_kwargs(cfg):
    """Constructor arguments an official (or StyleGAN-Human) generator of this shape would record."""
    mapping = dict(num_layers=cfg.mapping_layers, lr_multiplier=cfg.mapping_lr, w_avg_beta=cfg.w_avg_beta)
    if cfg.mapping_width is not None:
        mapping["layer_features"] = cfg.mapping_width
    if cfg.embed_dim is not None:
        mapping["embed_features"] = cfg.embed_dim
    synth = dict(channel_base=cfg.channel_base, channel_max=cfg.channel_max, architecture=cfg.architecture,
                 conv_clamp=cfg.conv_clamp, resample_filter=list(cfg.fir), use_noise=cfg.use_noise)
    if cfg.channels != [min(cfg.channel_base // r, cfg.channel_max) for r in cfg.resolutions]:
        synth["channels"] = {str(r): c for r, c in zip(cfg.resolutions, cfg.channels)}  # our v1 extension
    kw = dict(z_dim=cfg.z_dim, c_dim=cfg.c_dim, w_dim=cfg.w_dim, img_resolution=cfg.resolution,
              img_channels=cfg.img_channels, mapping_kwargs=mapping, synthesis_kwargs=synth)
    if cfg.width != cfg.resolution:
        if cfg.width * 2 != cfg.resolution:
            raise ValueError("the official layouts only know square and height = 2 x width generators")
        kw["square"] = False
    return kw
