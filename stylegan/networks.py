"""The StyleGAN2 generator (Karras et al., "Analyzing and Improving the Image Quality of
StyleGAN", CVPR 2020), written from the paper for inference, editing and distillation.

    z --MappingNetwork--> w (one per W+ row) --SynthesisNetwork--> image

The synthesis network is a constant followed by one `Stage` per resolution (4, 8, ... px);
a stage up-samples with a styled convolution, refines with a second one and, depending on the
architecture, adds its RGB to the up-sampled image of the stages below. W+ row k feeds the
k-th styled convolution; a stage's to-RGB reads the row after its convolutions.

Names and sizes are ours (`GeneratorConfig`); official checkpoints are translated by
`stylegan.convert`.
"""
import math
from contextlib import contextmanager, nullcontext

import torch
from torch import nn

from .config import GeneratorConfig
from .layers import NOISE_MODES, learnable, ScaledLinear, ShortcutUp, ModConv, RGBHead
from .ops import fir_2d, unit_rms, upsample2x
from .warp import WarpField
from . import allocator
from . import windows as win


OUTSIDE_WINDOWS = 0.0   # what `features_near` leaves outside its windows (a test sets NaN: nothing reads there)
TILED_FROM = 256        # `tiled` / `render` run the top stages in strips from this image height up
TILE_ROWS = 64          # ... of this many image rows, the stages above a quarter of the image
FEATURE_TILES = dict(rows=256, depth=4)   # a pass to the feature block: 256-row strips above a quarter of the block
STRIPS_BELOW_MB = 12    # the whole map below a render's strips, when larger, is itself put together from strips


def _require_finite(name, t):
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or Inf values")


class MappingNetwork(nn.Module):
    """z (+ class label) -> w: an MLP on the unit-RMS latent; keeps a running mean of w, the
    centre of the truncation trick."""

    def __init__(self, cfg, num_ws):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = cfg.z_dim, cfg.c_dim, cfg.w_dim, num_ws
        self.beta = cfg.w_avg_beta
        hidden = cfg.mapping_width or cfg.w_dim
        embed = (cfg.embed_dim or cfg.w_dim) if cfg.c_dim else 0
        if cfg.c_dim:
            self.label = ScaledLinear(cfg.c_dim, embed)
        sizes = [cfg.z_dim + embed] + [hidden] * (cfg.mapping_layers - 1) + [cfg.w_dim]
        self.layers = nn.ModuleList(ScaledLinear(a, b, lr_mul=cfg.mapping_lr, lrelu=True)
                                    for a, b in zip(sizes[:-1], sizes[1:]))
        self.register_buffer("w_mean", torch.zeros(cfg.w_dim))

    @property
    def w_avg(self):
        """Running mean of w (the truncation centre)."""
        return self.w_mean

    def _inputs(self, z, c):
        parts = []
        if self.z_dim:
            if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != self.z_dim:
                raise ValueError(f"z must have shape [N, {self.z_dim}], got {list(z.shape) if z is not None else None}")
            _require_finite("z", z)
            parts.append(unit_rms(z.float()))
        if self.c_dim:
            if not isinstance(c, torch.Tensor) or c.ndim != 2 or c.shape[1] != self.c_dim:
                raise ValueError(f"this model is conditional: c must have shape [N, {self.c_dim}]")
            parts.append(unit_rms(self.label(c.float())))
        return torch.cat(parts, 1) if len(parts) > 1 else parts[0]

    def forward(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, update_w_avg=False):
        """ws [N, num_ws, w_dim]; rows below `truncation_cutoff` (default all) pulled towards
        w_avg by psi. update_w_avg: track the running mean (training only)."""
        with torch.autocast(self.w_mean.device.type, enabled=False):  # small; w stays exact
            w = self._inputs(z, c)
            for layer in self.layers:
                w = layer(w)
        if update_w_avg:
            self.w_mean.copy_(torch.lerp(w.detach().mean(0), self.w_mean, self.beta))
        ws = w[:, None, :].expand(-1, self.num_ws, -1)
        if truncation_psi != 1:
            k = self.num_ws if truncation_cutoff is None else int(truncation_cutoff)
            ws = torch.cat([torch.lerp(self.w_mean, ws[:, :k], truncation_psi), ws[:, k:]], 1)
        return ws.contiguous()


class Stage(nn.Module):
    """One resolution: [2x up-sampling styled conv,] styled conv, [to-RGB], [resnet shortcut]."""

    def __init__(self, cfg, res, c_in, c_out, last):
        super().__init__()
        shape, clamp = cfg.stage_shape(res), cfg.conv_clamp
        self.resnet = cfg.architecture == "resnet" and c_in > 0
        conv = lambda a, up: ModConv(a, c_out, cfg.w_dim, shape, up=up, use_noise=cfg.use_noise, clamp=clamp)
        self.up = conv(c_in, True) if c_in else None
        self.conv = conv(c_out, False)
        if last or cfg.architecture == "skip":
            self.rgb = RGBHead(c_out, cfg.img_channels, cfg.w_dim, clamp=clamp)
        self.skip = ShortcutUp(c_in, c_out) if self.resnet else None
        self.n_conv = 1 if self.up is None else 2

    def forward(self, x, ws, fir, noise_mode):
        """Features of this stage from those of the previous one; ws: this stage's W+ rows."""
        if self.up is None:
            return self.conv(x, ws[:, 0], fir, noise_mode)
        if self.resnet:  # both branches scaled by sqrt(1/2) so their sum keeps unit variance
            shortcut = self.skip(x, fir, gain=math.sqrt(0.5))
            x = self.up(x, ws[:, 0], fir, noise_mode)
            return shortcut + self.conv(x, ws[:, 1], fir, noise_mode, gain=math.sqrt(0.5))
        return self.conv(self.up(x, ws[:, 0], fir, noise_mode), ws[:, 1], fir, noise_mode)

    def add_rgb(self, x, img, ws, fir):
        """The image so far, up-sampled to this stage, plus this stage's RGB (if it has one)."""
        if img is not None:
            with torch.autocast(img.device.type, enabled=False):  # 3 channels: keep the image in fp32
                img = upsample2x(img, fir)
        if hasattr(self, "rgb"):
            rgb = self.rgb(x, ws[:, self.n_conv])
            img = rgb if img is None else img + rgb
        return img


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, img_channels, H, W] (values around [-1, 1])."""

    def __init__(self, cfg):
        super().__init__()
        self.block_resolutions = cfg.resolutions
        self.channels = dict(zip(cfg.resolutions, cfg.channels))
        self.w_dim, self.num_ws, self.img_shape = cfg.w_dim, cfg.num_ws, cfg.img_shape
        self.img_channels = cfg.img_channels
        self._stage_shape = cfg.stage_shape   # (height, width) of the stage at a resolution
        self.warp_res = cfg.warp_res
        self.warp = None if cfg.warp_res is None else WarpField(cfg.w_dim, cfg.warp_grid, cfg.warp_gain)
        self.const = learnable(cfg.channels[0], *cfg.stage_shape(4))
        c_in = [0] + cfg.channels[:-1]
        self.stages = nn.ModuleList(Stage(cfg, r, a, b, last=r == cfg.resolution)
                                    for r, a, b in zip(cfg.resolutions, c_in, cfg.channels))
        self.register_buffer("fir", fir_2d(cfg.fir), persistent=False)

    def stage(self, res):
        return self.stages[self.block_resolutions.index(res)]

    @staticmethod
    def first_row(i):
        """W+ row of the first convolution of stage i (4 px is stage 0)."""
        return max(2 * i - 1, 0)

    def run(self, ws, noise_mode="const", upto=None, keep=(), image=True, images=(), start=None):
        """The synthesis loop: (image or None, {res: stage output for res in keep}); stops after
        the stage at `upto` px (none of the stages above it run), where the image is the one
        accumulated so far (skip architecture: the sum of the RGB of the stages up to it).
        image="detached": that image is computed without gradients (a preview beside a pass that
        needs them for the features only). images: resolutions whose accumulated image is kept too,
        as {("image", res): image}. With a warp pathway, ws may carry
        the deformation code as one more row ([N, num_ws + 1, w_dim], stylegan.warp). start: (res, x, img), the
        output of the stage at res px for these ws and the image accumulated up to it (an earlier pass's): only
        the stages above res run, from there."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        rows = (self.num_ws,) if self.warp is None else (self.num_ws, self.num_ws + 1)
        if not isinstance(ws, torch.Tensor) or ws.ndim != 3 or ws.shape[1] not in rows or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [N, {' or '.join(map(str, rows))}, {self.w_dim}], got "
                             f"{list(ws.shape) if isinstance(ws, torch.Tensor) else type(ws).__name__}")
        _require_finite("ws", ws)
        code = ws[:, self.num_ws] if ws.shape[1] > self.num_ws else None
        for r in (upto, *keep, *images, *(() if start is None else start[:1])):
            if r is not None and r not in self.block_resolutions:
                raise ValueError(f"no synthesis block at {r}px; blocks: {self.block_resolutions}")
        if start is None:
            first, x, img = 0, self.const[None].expand(ws.shape[0], -1, -1, -1), None
        else:
            first, x, img = self.block_resolutions.index(start[0]) + 1, start[1], start[2]
        feats = {start[0]: x} if start is not None and start[0] in keep else {}
        if start is not None and upto is not None and upto <= start[0]:
            if upto < start[0]:
                raise ValueError(f"upto {upto}px is below the start's stage ({start[0]}px)")
            return img, feats
        on_image = torch.no_grad if image == "detached" else nullcontext
        for i in range(first, len(self.stages)):
            res, stage, rows = self.block_resolutions[i], self.stages[i], ws[:, self.first_row(i):]
            x = stage(x, rows, self.fir, noise_mode)
            if image:
                with on_image():
                    img = stage.add_rgb(x, img, rows, self.fir)
            if code is not None and res == self.warp_res:
                u = self.warp.field(code, *x.shape[-2:])
                x = self.warp.apply(x, u)
                if img is not None:
                    with on_image():
                        img = self.warp.apply(img, u)
            if res in keep:
                feats[res] = x
            if res in images and img is not None:
                feats[("image", res)] = img
            if res == upto:
                break
        return img, feats

    def forward(self, ws, noise_mode="const", feature_res=None):
        """The image; with feature_res, (image, output of the stage at feature_res px)."""
        img, feats = self.run(ws, noise_mode, keep=() if feature_res is None else (feature_res,))
        return img if feature_res is None else (img, feats[feature_res])

    def features(self, ws, res, noise_mode="const"):
        """Output of the stage at `res` px; the stages above it and the RGB path never run
        (what drag optimisation needs)."""
        return self.run(ws, noise_mode, upto=res, keep=(res,), image=False)[1][res]

    def features_and_preview(self, ws, res, noise_mode="const"):
        """(output of the stage at `res` px, the image accumulated up to that stage, no gradients):
        with the skip architecture every stage adds its RGB to the up-sampled image of the stages
        below, so the image at `res` is the final image less the detail of the stages above it, a
        low-resolution preview for the price of the to-RGB heads. None without a skip image."""
        img, feats = self.run(ws, noise_mode, upto=res, keep=(res,), image="detached" if self.skip_images else False)
        return feats[res], img

    def stage_shape(self, i):
        """(height, width) of the maps of stage i (4 px is stage 0): GeneratorConfig.stage_shape."""
        return self._stage_shape(self.block_resolutions[i])

    def features_near(self, ws, res, boxes, noise_mode="const"):
        """Output of the stage at `res` px computed only inside `boxes` (stylegan.windows.Box of that
        stage's map) and zero elsewhere, or None when windows would not pay (stylegan.windows.plan): run
        `features` then. Inside the boxes the values are those of `features` (the same sums, possibly
        added in another order). The stages below the windowed ones run whole, once."""
        planned = win.plan(self, res, boxes, warp=self._has_code(ws))
        if planned is None:
            return None
        first, chains = planned
        x, _ = self._below(ws, first, noise_mode, image=False)
        top = self.block_resolutions.index(res)
        out = x.new_full((x.shape[0], self.channels[res], *self.stage_shape(top)), OUTSIDE_WINDOWS)
        for chain, y, _, _ in self._windows(ws, x, None, first, top, chains, noise_mode, image=False):
            out[(..., *chain.outs[-1].slices())] = y
        return out

    def image_near(self, ws, boxes, noise_mode="const", res=None):
        """The image accumulated at the stage at `res` px (default: the last, the image itself; below it only
        with skip images) computed only inside `boxes` (stylegan.windows.Box of that image) and OUTSIDE_WINDOWS
        elsewhere, or None when windows would not pay: run the whole image then. Inside the boxes the values
        are the whole image's (the same sums, possibly added in another order)."""
        top = len(self.stages) - 1 if res is None else self.block_resolutions.index(res)
        if top < len(self.stages) - 1 and not self.skip_images:
            raise ValueError(f"no image at {res}px: this synthesis adds its RGB at the last stage only")
        planned = win.plan(self, self.block_resolutions[top], boxes, warp=self._has_code(ws))
        if planned is None:
            return None
        first, chains = planned
        x, img = self._below(ws, first, noise_mode, image=True)
        out = x.new_full((x.shape[0], self.img_channels, *self.stage_shape(top)), OUTSIDE_WINDOWS, dtype=torch.float32)
        for chain, _, im, _ in self._windows(ws, x, img, first, top, chains, noise_mode, image=True):
            out[(..., *chain.outs[-1].slices())] = im
        return out

    def render(self, ws, noise_mode="const", feature_res=None, rows=TILE_ROWS, depth=4):
        """The image (and, with feature_res, the output of that stage) without gradients, as `forward`, in
        strips from TILED_FROM px (`tiled`)."""
        img, feats = self.tiled(ws, self.block_resolutions[-1], noise_mode, feature_res, True, rows, depth)
        return img if feature_res is None else (img, feats)

    def render_kept(self, ws, feature_res, noise_mode="const", rows=TILE_ROWS, depth=4):
        """(image, output of the stage at feature_res, the image accumulated at feature_res or None) without
        gradients, one pass as `render`: the image, and what a drag starting from it reads first (its F0 and the
        partial image its live previews are matched to; dragcore.startpass). The partial image is None when the
        strips would have to put it together (a feature stage above res / depth) or there is no skip image. From
        TILED_FROM px, freed memory goes back to the system before and after (stylegan.allocator.trim)."""
        self._trim()
        img, feats, partial = self._tiled(ws, self.block_resolutions[-1], noise_mode, feature_res, True, rows, depth,
                                          partial=self.skip_images)
        self._trim()
        return img, feats, partial

    def render_above(self, ws, res, x, img, noise_mode="const", rows=TILE_ROWS, depth=4):
        """The image without gradients from x, the output of the stage at `res` px for `ws`, and img, the image the
        stages up to it accumulated (skip architecture): only the stages above `res` run, as `render` runs them
        (whole up to the image's res / depth, in strips above from TILED_FROM px). What a pass that stopped at the
        feature block leaves for the final image (dragcore.session: a drag's last step on arrival). None where it
        does not apply (no skip image, a warp pathway above `res`): render the whole image then."""
        top = len(self.stages) - 1
        if not self.skip_images or img is None or (self._has_code(ws) and self.warp_res > res):
            return None
        tiles_from = max(self.block_resolutions[-1] // depth, res)
        with torch.no_grad():
            planned = self._strip_plan(ws, top, rows, tiles_from) if tiles_from < self.block_resolutions[-1] else None
            below = self.block_resolutions[top if planned is None else planned[0] - 1]
            img, feats = self.run(ws, noise_mode, upto=below, keep=(below,), start=(res, x, img))   # whole maps
            if planned is None:
                return img
            return self._put_together(ws, feats[below], img, *planned, top, noise_mode, True)[0]

    def tiled(self, ws, res, noise_mode="const", keep=None, image=True, rows=TILE_ROWS, depth=4):
        """(the image the stages up to `res` px accumulated or None (image False), the output of the stage at
        `keep` px or None) without gradients. From TILED_FROM px image height the stages above res / depth run in
        strips of the map at `res` (`rows` image rows each, stylegan.windows.strips), the kept stage put
        together from the strips' windows, so that no stage above res / depth is held whole: the same values, a
        fraction of the memory. The whole map below the strips, when over STRIPS_BELOW_MB and it is the kept stage's
        (or none is kept), is itself put together from strips (FEATURE_TILES). Below TILED_FROM px (or where windows do
        not apply) the whole maps, as `run`."""
        img, kept, _ = self._tiled(ws, res, noise_mode, keep, image, rows, depth)
        return img, kept

    def _trim(self):
        """Before and after a render in strips: what earlier passes freed goes back to the system (stylegan.allocator).
        Not around the feature passes of live previews: they run beside the steps, whose blocks would be faulted
        in again every step."""
        if self.img_shape[0] >= TILED_FROM:
            allocator.trim()

    def _tiled(self, ws, res, noise_mode, keep, image, rows, depth, partial=False):
        """`tiled`, and (partial) the image accumulated at `keep` when the whole maps below the strips hold it."""
        top = self.block_resolutions.index(res)
        tiles_from = max(res // depth, self.block_resolutions[0])
        images = (keep,) if partial and image and keep is not None else ()
        with torch.no_grad():
            planned = self._strip_plan(ws, top, rows, tiles_from)
            if planned is None:
                img, feats = self.run(ws, noise_mode, upto=res, keep=() if keep is None else (keep,), image=image,
                                      images=images)
                return img, feats.get(keep), feats.get(("image", keep))
            first, chains = planned
            below = self.block_resolutions[first - 1]
            kept_below = keep is not None and keep <= below
            if keep in (None, below) and self._strips_below(first - 1):   # the whole map below, put together from strips
                img, x, _ = self._tiled(ws, below, noise_mode, below, image and self.skip_images, **FEATURE_TILES)
                feats = {below: x, **({("image", below): img} if images else {})}
            else:
                img, feats = self.run(ws, noise_mode, upto=below, keep=(below, keep) if kept_below else (below,),
                                      image=image, images=images if kept_below else ())
            x = feats[below]
            at = None if keep is None or kept_below else self.block_resolutions.index(keep) - first
            out, kept = self._put_together(ws, x, img, first, chains, top, noise_mode, image, at)
        return out, feats[keep] if kept_below else kept, feats.get(("image", keep))

    def _strip_plan(self, ws, top, rows, tiles_from):
        """stylegan.windows.plan of the strips of stage top's map (`rows` image rows each) with the stages from
        tiles_from px up in strips, or None: below TILED_FROM px image height, or where strips would not pay."""
        if self.img_shape[0] < TILED_FROM or tiles_from not in self.block_resolutions:
            return None
        f = self.stage_shape(top)[0] / self.img_shape[0]
        return win.plan(self, self.block_resolutions[top], win.strips(self.stage_shape(top), max(1, round(rows * f))),
                        warp=self._has_code(ws), tiles_from=tiles_from)

    def _put_together(self, ws, x, img, first, chains, top, noise_mode, image, at=None):
        """(the image accumulated at stage top or None (image False), the output of stage first + at or None),
        each put together from the windows of `chains` (`_windows`), from x (and img) the whole maps of the stage
        below `first`."""
        out = x.new_empty((x.shape[0], self.img_channels, *self.stage_shape(top)), dtype=torch.float32) if image else None
        kept = None if at is None else x.new_empty(
            (x.shape[0], self.channels[self.block_resolutions[first + at]], *self.stage_shape(first + at)))
        for chain, _, im, y in self._windows(ws, x, img, first, top, chains, noise_mode, image, at):
            if image:
                out[(..., *chain.outs[-1].slices())] = im
            if at is not None:
                kept[(..., *chain.outs[at].slices())] = y
        return out, kept

    def _strips_below(self, i):
        """Stage i's map is large enough (over STRIPS_BELOW_MB) to be put together from strips (`_tiled`, FEATURE_TILES)
        rather than computed whole: then no temporary of a render is larger than a strip's."""
        h, w = self.stage_shape(i)
        return self.channels[self.block_resolutions[i]] * h * w * 4 > STRIPS_BELOW_MB * 2 ** 20

    def _has_code(self, ws):
        return isinstance(ws, torch.Tensor) and ws.ndim == 3 and ws.shape[1] > self.num_ws

    def _below(self, ws, first, noise_mode, image):
        """(output, image or None) of the stage below the lowest windowed one (the whole maps, once)."""
        below = self.block_resolutions[first - 1]
        img, feats = self.run(ws, noise_mode, upto=below, keep=(below,), image=image)
        return feats[below], img

    def _windows(self, ws, x, img, first, top, chains, noise_mode, image, at=None):
        """Per chain (stylegan.windows.Chain): (the chain, the stage output at `top` inside its last box, the
        image there or None, the output of the chain's stage `at` inside its box or None), from x (and img) the
        whole maps of the stage below `first`."""
        for chain in chains:
            y = x[(..., *chain.inputs[0].slices())]
            im = None if img is None else img[(..., *chain.inputs[0].slices())]
            kept = None
            for k, i in enumerate(range(first, top + 1)):
                rows = ws[:, self.first_row(i):]
                y = win.run_stage(self.stages[i], y, chain, k, rows, self.fir, noise_mode)
                if image:
                    im = win.run_image_stage(self.stages[i], y, im, chain, k, rows, self.fir)
                if k == at:
                    kept = y
            yield chain, y, im, kept

    @property
    def skip_images(self):
        """True when every stage adds an RGB image (skip architecture): partial images exist."""
        return all(hasattr(s, "rgb") for s in self.stages)

    def image_and_features(self, ws, resolutions, noise_mode="const"):
        """(image, {res: stage output}) for several stages in one pass (distillation hints)."""
        return self.run(ws, noise_mode, keep=tuple(resolutions))

    def style_affines(self):
        """The style (affine) layer reading each W+ row, in row order: the styled convolutions,
        then the last stage's to-RGB. SeFa factorises their stacked weights."""
        convs = [c for s in self.stages for c in (s.up, s.conv) if c is not None]
        return [c.style for c in convs] + [self.stages[-1].rgb.style]

    def _noisy(self):
        return [c for s in self.stages for c in (s.up, s.conv) if c is not None and c.use_noise]

    def noise_maps(self):
        """The constant noise maps (noise_mode 'const'), one per styled convolution, in order."""
        return [c.noise for c in self._noisy()]

    def set_noise_maps(self, maps):
        """Replace the constant noise maps (e.g. with tensors being optimised by a projector)."""
        layers = self._noisy()
        if len(maps) != len(layers):
            raise ValueError(f"expected {len(layers)} noise maps, got {len(maps)}")
        for layer, m in zip(layers, maps):   # every map checked before any is set: a refused list changes nothing
            if tuple(m.shape) != tuple(layer.noise.shape):
                raise ValueError(f"noise map of shape {list(m.shape)} where {list(layer.noise.shape)} is needed")
        for layer, m in zip(layers, maps):
            layer.noise = m

    @contextmanager
    def noise_swapped(self, maps):
        """`with syn.noise_swapped(maps):` draws with these constant noise maps, and the maps it had are put
        back after the block, however it ends (the buffers are swapped, never changed in place)."""
        kept = self.noise_maps()
        self.set_noise_maps(maps)
        try:
            yield
        finally:
            self.set_noise_maps(kept)


class Generator(nn.Module):
    """Mapping + synthesis. Build with a GeneratorConfig or its fields as keywords:
    `Generator(z_dim=512, w_dim=512, resolution=256, channel_base=16384)`."""

    def __init__(self, config=None, **fields):
        super().__init__()
        if isinstance(config, dict):
            config = GeneratorConfig.from_dict(config)
        if config is not None and fields:
            raise TypeError("give a GeneratorConfig or its fields as keywords, not both")
        self.config = config if config is not None else GeneratorConfig(**fields)
        self.synthesis = SynthesisNetwork(self.config)
        self.mapping = MappingNetwork(self.config, self.synthesis.num_ws)

    z_dim = property(lambda self: self.config.z_dim)
    c_dim = property(lambda self: self.config.c_dim)
    w_dim = property(lambda self: self.config.w_dim)
    img_channels = property(lambda self: self.config.img_channels)
    num_ws = property(lambda self: self.synthesis.num_ws)
    img_resolution = property(lambda self: self.config.resolution, doc="image height (as the official code)")
    img_shape = property(lambda self: self.config.img_shape, doc="(height, width) of the images")

    @property
    def device(self):
        return self.mapping.w_mean.device

    def forward(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, noise_mode="const"):
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode)
