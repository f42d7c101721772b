"""Few-shot adaptation: a generator of your own kind of image from about ten pictures, with the
source model's latent space still aligned (so drags, mixing, interpolation and SeFa keep working).

    python -m training.adapt --images DIR --out MODEL.safetensors [--model ID_OR_FILE] [--steps 300]
    python -m training.adapt --images DIR --out MODEL.safetensors --resume --steps 800   # go on

The source (the bundled face model unless `--model`) is copied; its copy's synthesis network is
fine-tuned toward the pictures while the mapping network and the warp pathway stay frozen, so a
latent means the same face layout before and after. The objective (training.correspondence,
training.diffaug): the adversarial loss of a small discriminator that sees every image through
differentiable augmentation, whole images only for latents near a few anchors and patches for
all others, plus the distance-consistency loss to the frozen source; optionally FreezeD, a fine
patch level of the discriminator for local texture (`--fine-d`), a moving average of the weights
as the written model (`--ema`), a patch loss toward the pictures (`--swd`, training.patchloss), an
anchor on each latent's coarse layout (`--layout`), a learning-rate decay (`--lr-half-life`) and a
coarse colour-layout statistic toward the pictures (`--coarse`, training.coarsestats).

The run folder `MODEL.run/` (beside the output) holds `state.pt` (generator, discriminator,
optimisers, random state, step: read only with torch.load(weights_only=True)), `losses.csv` and
`loss_curves.png`, rewritten at every checkpoint. MODEL is written at every checkpoint too
(atomically), so Ctrl-C or Stop leaves the last checkpoint usable. `--resume` continues to a new
`--steps` total; 2 + 2 resumed steps give the same weights as 4 straight ones. The checkpoint keeps its
settings and a fingerprint of its pictures (training.shots.fingerprint): a resume with other ones is refused.

Every bad input is one `error: ...` line and exit code 2 (clisafe.run), checked cheapest first and before the
model is loaded (or downloaded) where it can be: the flags, --out (and the names made from it), the pictures.

The output is the same safetensors format, loadable everywhere with `--model FILE`; its metadata
carries the model card (`adapted`: from what, how many pictures, the settings, the cost) and the
source's engine presets (`presets`, read by checkpoints.presets).
"""
import csv
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch

import checkpoints
import clisafe
import limits
from dragcore import generator_kind
import stylegan
from stylegan.io import read_metadata

from . import correspondence as cc
from .diffaug import TRANSFORMS, augment
from .coarsestats import ShotLayoutStats
from .patchloss import ShotPatches
from .shots import ShotError, fingerprint, read_pictures, read_shots, to_shots  # noqa: F401 (ta.read_shots: the tab)

CSV_FIELDS = ["step", "wall_s", "level", "loss_G", "loss_D", "dcl", "dcl_image", "D_real", "D_fake", "colour_gap",
              "swd", "layout", "coarse", "noise"]
STAGE_RESOLUTIONS = (4, 8, 16, 32, 64, 128, 256, 512, 1024)   # what a --noise-* resolution may name
DCL_STAGES = (8, 16, 32)    # generator stages whose pair similarities are kept (those the model has)
MAX_ANCHORS = 4096          # --anchors: latents drawn once (a z_dim vector each); a few tens are ever useful
MAX_SEED = 2 ** 63 - 1      # --seed: the run's torch generators take it (and seed + 1)
MAX_THREADS = 256           # --threads
TMP_SUFFIX = ".tmp"         # stylegan.save writes MODEL.safetensors.tmp first, then renames it
PATH_MAX = 4096             # bytes in a whole path (Linux)


@dataclass
class Settings:
    steps: int = 300            # total steps (a resumed run counts the earlier ones)
    batch: int = 8              # latents per step (and pictures per discriminator step)
    lr: float = 0.001           # generator (synthesis) Adam learning rate
    d_lr: float = 0.002         # discriminator Adam learning rate
    dcl: float = 1000.0         # weight of the distance-consistency loss (0: off; Ojha et al. use 1e3)
    dcl_image: float = 0.0      # weight of the same loss on the pictures' grey Laplacian bands (64/32/16 px; 0: off)
    anchors: int = 10           # anchor latents judged as whole images (0: every latent judged whole)
    anchor_sigma: float = 0.05  # spread of the latents drawn around an anchor, in z units
    augment: str = "color,translation,cutout"   # DiffAugment policy ("" for none)
    freeze_d: int = 0           # FreezeD: the discriminator's first blocks kept at their warm-up weights
    d_warmup: int = 0           # steps at the start where only the discriminator learns
    rgb_lr: float = 1.0         # learning-rate multiplier of the toRGB layers (and their styles): colour and tone
    last_lr: float = 1.0        # learning-rate multiplier of the finest stage (its convolutions, styles, toRGB)
    noise_lr: float = 0.0       # learning-rate multiplier of the per-layer noise strengths (0: frozen)
    grey: bool = False          # grey pictures: every toRGB layer draws the same value in R, G and B
    fine_d: float = 0.0         # weight of the fine patch level (~18 px neighbourhoods, every latent; 0: off)
    ema: float = 0.0            # exported weights: an exponential moving average of the trained ones (0: off)
    swd: float = 0.0            # weight of the patch loss toward the shots (training.patchloss; 0: off)
    swd_levels: int = 2         # the finest pyramid levels that patch loss compares (64 and 32 px at 64 px)
    swd_chroma: float = 1.0     # weight of colour against light in that patch loss (0: light only; 1: plain RGB)
    swd_directions: int = 128   # random projection directions of that patch loss per level and step
    swd_noise_free: bool = False   # that patch loss judges a second pass without the noise maps (detail from the
                                   # latent, not from amplified noise: session 8's mottled blotches)
    swd_focus: float = 0.0      # that patch loss draws its generated patches per latent in proportion to the source
                                # picture's fine-band energy to this power (0: every latent alike; training.patchfocus)
    swd_relative: float = 0.0   # that patch loss judges each latent's fine band scaled by the batch's typical source
                                # energy over its own source's, to this power (0: off; 1: detail relative to the source)
    noise_out: float = 1.0      # the written model's noise strengths x this (the training is unchanged): the
                                # patch loss's detail amplifies the source's noise maps into mottled blotches
    noise_share: float = 0.0    # weight of a penalty on what the noise maps draw beyond the source's: the mean square
                                # of the render with them minus without them (half the step's latents) over the
                                # source's, minus 1, when positive (0 at or below the source's level)
    noise_upto: int = 0         # that penalty judges only the noise maps of these resolutions and coarser (0: all);
                                # session 8: the mottled blotches come from the 4-8 px maps
    noise_train: float = 1.0    # the noise strengths x this while training (and in the written model): the noise
                                # held down during training rather than after it (--noise-out)
    noise_lr_from: int = 0      # --noise-lr frees only the noise strengths of the stages at this resolution and finer
                                # (0: every stage): pixel-scale grain without the coarse maps' blotches
    noise_from: int = 0         # the noise maps coarser than this resolution off (strength 0) from the start and in
                                # the written model (0: all on); the mottled blotches come from the 4-8 px maps
    noise_fresh: bool = False   # every step draws new noise maps (as StyleGAN trains), the fixed ones kept for the
                                # written model: the convolutions cannot shape one fixed pattern into blotches
    swd_ramp: int = 0           # that patch loss's weight rises linearly over this many generator steps (0: at once)
    lr_half_life: int = 0       # both learning rates halve every this many steps (0: constant)
    layout: float = 0.0         # weight of the layout anchor to the source (training.correspondence; 0: off)
    coarse: float = 0.0         # weight of the coarse colour-layout statistic toward the shots (training.coarsestats)
    seed: int = 0

    def policy(self):
        return tuple(p for p in self.augment.split(",") if p)


# The measured recommendation (docs/benchmarks.md, "Few-shot adaptation, session 5" and "session 7"): FreezeD
# on two blocks after a discriminator warm-up, the finest stage at 3x the learning rate, the coarse colour-layout
# statistic at weight 1; grey pictures add tone augmentation (and the fine patch level, a field of its own in the
# app). The app's Adapt tab trains with these.
RECOMMENDED = dict(freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0)
RECOMMENDED_GREY = dict(augment="tone,translation,cutout")


def recipe(name):
    """The recommended value of Settings field `name` (the recipe's, else the field's default): the app's defaults."""
    return RECOMMENDED.get(name, Settings.__dataclass_fields__[name].default)


def recipe_flags():
    """The recommendation as command-line flags, e.g. '--freeze-d 2 --d-warmup 50 --last-lr 3 --coarse 1'."""
    return " ".join(f"--{k.replace('_', '-')} {v:g}" for k, v in RECOMMENDED.items())


def recommended(steps, grey=False, **fields):
    """Settings for `steps` steps with the recommendation above (the warm-up at most a tenth of the run)."""
    rec = dict(RECOMMENDED, d_warmup=min(RECOMMENDED["d_warmup"], steps // 10), **(RECOMMENDED_GREY if grey else {}))
    return Settings(steps=steps, grey=grey, **dict(rec, **fields))


class AdaptError(ValueError):
    """A run that cannot start or resume (one line)."""


def check_settings(s, n_shots=None):
    for name in ("steps", "batch"):
        try:
            limits.check(f"adapt_{name}", getattr(s, name), f"--{name}")
        except limits.LimitError as e:
            raise AdaptError(str(e)) from None
    if s.batch < 3 and (s.dcl > 0 or s.dcl_image > 0):
        raise AdaptError("--batch must be at least 3 with the distance-consistency loss (it compares each sample "
                         "with the others)")
    for name in ("lr", "d_lr"):
        if not 0 < getattr(s, name) <= 0.1:
            raise AdaptError(f"--{name.replace('_', '-')} must be in (0, 0.1], got {getattr(s, name)}")
    if not 0 <= s.dcl <= 1e4 or not 0 <= s.anchor_sigma <= 10:
        raise AdaptError("--dcl must be in [0, 1e4], --anchor-sigma in [0, 10]")
    if not 0 <= s.anchors <= MAX_ANCHORS:
        raise AdaptError(f"--anchors must be 0-{MAX_ANCHORS} (anchor latents judged as whole images; 0 = every "
                         f"latent judged whole), got {limits.short(s.anchors)}")
    if not 0 <= s.seed <= MAX_SEED:
        raise AdaptError(f"--seed must be a whole number from 0 to {MAX_SEED}, got {limits.short(s.seed)}")
    _check_warmup(s)
    for name in ("rgb_lr", "last_lr"):
        if not 0 < getattr(s, name) <= 100:
            raise AdaptError(f"--{name.replace('_', '-')} must be in (0, 100] (a multiplier of --lr), "
                             f"got {getattr(s, name)}")
    if not 0 <= s.noise_lr <= 100:
        raise AdaptError(f"--noise-lr must be in [0, 100] (a multiplier of --lr; 0 keeps the noise strengths), "
                         f"got {s.noise_lr}")
    if not 0 <= s.fine_d <= 100:
        raise AdaptError(f"--fine-d must be in [0, 100] (0 = off), got {s.fine_d}")
    if not 0 <= s.ema < 1:
        raise AdaptError(f"--ema must be in [0, 1) (the moving average's decay per step; 0 = off), got {s.ema}")
    if not 0 <= s.swd <= 1e4:
        raise AdaptError(f"--swd must be in [0, 1e4] (the patch loss's weight; 0 = off), got {s.swd}")
    if not 0 <= s.dcl_image <= 1e4:
        raise AdaptError(f"--dcl-image must be in [0, 1e4] (the pictures' distance consistency weight; 0 = off), "
                         f"got {s.dcl_image}")
    if not 0 <= s.layout <= 1e4:
        raise AdaptError(f"--layout must be in [0, 1e4] (the layout anchor's weight; 0 = off), got {s.layout}")
    if not 0 <= s.coarse <= 1e4:
        raise AdaptError(f"--coarse must be in [0, 1e4] (the coarse layout statistic's weight; 0 = off), got {s.coarse}")
    if not 1 <= s.swd_levels <= 3:
        raise AdaptError(f"--swd-levels must be 1-3 (the finest pyramid levels compared), got {s.swd_levels}")
    if not 0 <= s.swd_chroma <= 1:
        raise AdaptError(f"--swd-chroma must be in [0, 1] (colour's weight against light in the patch loss), "
                         f"got {s.swd_chroma}")
    if not 0 <= s.swd_focus <= 4:
        raise AdaptError(f"--swd-focus must be in [0, 4] (the power of the source's fine-band energy that draws the "
                         f"patch loss's patches per latent; 0 = every latent alike), got {s.swd_focus}")
    if not 0 <= s.swd_relative <= 1:
        raise AdaptError(f"--swd-relative must be in [0, 1] (how far the patch loss judges each latent's detail "
                         f"relative to its source's; 0 = off), got {s.swd_relative}")
    if not 0 <= s.noise_out <= 1:
        raise AdaptError(f"--noise-out must be in [0, 1] (the written model's noise strengths, x), got {s.noise_out}")
    if not 0 <= s.noise_share <= 1e4:
        raise AdaptError(f"--noise-share must be in [0, 1e4] (the noise penalty's weight; 0 = off), got {s.noise_share}")
    for name, meaning in (("noise_upto", "4, 8, 16, ...; 0 = every noise map"),
                          ("noise_lr_from", "the noise strengths of this one and finer learn; 0 = every stage"),
                          ("noise_from", "8, 16, ...: the coarser noise maps are off; 0 = every map on")):
        value = getattr(s, name)
        if value and value not in STAGE_RESOLUTIONS:
            raise AdaptError(f"--{name.replace('_', '-')} must be a stage resolution ({meaning}), got {value}")
    if not 0 <= s.noise_train <= 1:
        raise AdaptError(f"--noise-train must be in [0, 1] (the noise strengths while training, x), got {s.noise_train}")
    if not 0 <= s.swd_ramp <= 10 ** 6:
        raise AdaptError(f"--swd-ramp must be a step count >= 0 (0 = the full weight at once), got {s.swd_ramp}")
    if not 8 <= s.swd_directions <= 4096:
        raise AdaptError(f"--swd-directions must be 8-4096 (the patch loss's projections), got {s.swd_directions}")
    if not 0 <= s.lr_half_life <= 10 ** 6:
        raise AdaptError(f"--lr-half-life must be a step count >= 0 (0 = constant learning rates), got {s.lr_half_life}")
    if not 0 <= s.freeze_d <= 3:
        raise AdaptError(f"--freeze-d must be 0-3 (the discriminator has 4 blocks), got {s.freeze_d}")
    _check_policy(s.augment)


def _check_warmup(s):
    """--d-warmup: a step count below --steps (a warm-up as long as the run would write the source unchanged)."""
    if s.d_warmup < 0 or (s.d_warmup and s.d_warmup >= s.steps):
        raise AdaptError(f"--d-warmup must be a step count from 0 to --steps - 1 ({s.steps - 1}): the generator "
                         f"learns only after the discriminator's warm-up; got {limits.short(s.d_warmup)}")


def _check_policy(augment):
    """--augment: names of TRANSFORMS separated by commas, or '' for none (an empty item is a typo, not 'none')."""
    if not augment:
        return
    items = augment.split(",")
    if not all(items):
        raise AdaptError(f"--augment {limits.short(augment)}: an empty item; give transforms of "
                         f"{', '.join(TRANSFORMS)} separated by commas, or '' for none")
    bad = [p for p in items if p not in TRANSFORMS]
    if bad:
        raise AdaptError(f"--augment: unknown transform {bad[0]!r} ({', '.join(TRANSFORMS)})")


def colour_gap(fake, real):
    """|per-channel mean difference| + |per-channel std difference|, averaged: a cheap, logged domain gap."""
    f, r = fake.detach().float(), real.float()
    return float((f.mean((0, 2, 3)) - r.mean((0, 2, 3))).abs().mean() + (f.std((0, 2, 3)) - r.std((0, 2, 3))).abs().mean())


class Adapter:
    """One adaptation run: the frozen source, the adapted copy, the discriminator, the optimisers
    and one random stream; `step()` is one step, `state()` / `load_state()` make it resumable."""

    def __init__(self, source, shots, settings=None):
        self.s = settings or Settings()
        self.src = source.eval().requires_grad_(False)
        self.G = stylegan.Generator(source.config)
        self.G.load_state_dict(source.state_dict())
        self.G.eval().requires_grad_(False)
        self.G.synthesis.requires_grad_(True)
        if self.G.synthesis.warp is not None:
            self.G.synthesis.warp.requires_grad_(False)
        for name, p in self.G.synthesis.named_parameters():
            if name.endswith("noise_scale"):   # free noise strengths let the discriminator ask for speckle
                p.requires_grad_(self.s.noise_lr > 0)
                if self.s.noise_train != 1:
                    with torch.no_grad():
                        p.mul_(self.s.noise_train)
        with torch.no_grad():
            for layer in self.G.synthesis._noisy():
                if layer.noise.shape[-1] < self.s.noise_from:
                    layer.noise_scale.zero_()
                if layer.noise.shape[-1] < self.s.noise_lr_from:
                    layer.noise_scale.requires_grad_(False)
        if self.s.grey:
            self._grey_rgb()
        self.shots = shots.float()
        self.shots_id = fingerprint(self.shots)   # kept in the checkpoint: a resume on other pictures is refused
        torch.manual_seed(self.s.seed)   # the discriminator's initial weights
        self.D = cc.PatchDiscriminator(fine=self.s.fine_d > 0)
        named = [(n, p) for n, p in self.G.synthesis.named_parameters() if p.requires_grad]
        self.params = [p for _, p in named]
        groups = self._groups(named)
        self.mults = [g["lr"] / self.s.lr for g in groups]
        self.opt = torch.optim.Adam(groups, lr=self.s.lr, betas=(0.0, 0.99))
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=self.s.d_lr, betas=(0.0, 0.99))
        self.rng = torch.Generator().manual_seed(self.s.seed)
        self.anchor_z = torch.randn(max(self.s.anchors, 1), source.z_dim,
                                    generator=torch.Generator().manual_seed(self.s.seed + 1))
        self.stages = tuple(r for r in DCL_STAGES if r in self.G.synthesis.block_resolutions)
        self.step_n, self.wall_s = 0, 0.0
        self.ema = None   # the averaged synthesis weights (with --ema), made at the first generator step
        if self.s.freeze_d and not self.s.d_warmup:
            self.D.freeze(self.s.freeze_d)
        self.patches = ShotPatches(self.shots, levels=self.s.swd_levels, chroma=self.s.swd_chroma,
                                   directions=self.s.swd_directions, focus=self.s.swd_focus,
                                   relative=self.s.swd_relative) if self.s.swd else None
        self.layout_stats = ShotLayoutStats(self.shots) if self.s.coarse else None
        self.noise_ref = self._source_noise() if self.s.noise_share else None

    @torch.no_grad()
    def _source_noise(self, n=16):
        """The source's mean square of (render with its noise maps - without them) on n fixed latents: the
        unit of --noise-share's penalty (a function of the source alone, so a resumed run has the same)."""
        z = torch.randn(n, self.src.z_dim, generator=torch.Generator().manual_seed(12345))
        ws, syn = self.src.mapping(z), self.src.synthesis
        full = syn(ws, noise_mode="const")
        if not self.s.noise_upto:
            return float((full - syn(ws, noise_mode="none")).square().mean()) or 1.0
        with syn.noise_swapped(self._upto_off(syn)):
            gap = full - syn(ws, noise_mode="const")
        return float(gap.square().mean()) or 1.0

    def _upto_off(self, syn):
        """syn's noise maps with those of --noise-upto px and coarser zeroed (new tensors: what they draw, off)."""
        return [torch.zeros_like(m) if m.shape[-1] <= self.s.noise_upto else m for m in syn.noise_maps()]

    def _noise_penalty(self, ws, img):
        """What the noise maps draw in this step's pictures (the first half of the batch, with gradients through
        both passes) beyond the source's level: mean square over the source's, minus 1, when positive. A hinge: a
        plain penalty (the ratio itself) drives the share to ~0 by blurring every fine detail away (session 9).
        Returns (penalty, noise share 0-255 RMS)."""
        h = max(1, len(ws) // 2)
        syn = self.G.synthesis
        if not self.s.noise_upto:
            gap = img[:h] - syn.run(ws[:h], noise_mode="none")[0]
        else:   # only the maps up to --noise-upto px off: what they draw
            with syn.noise_swapped(self._upto_off(syn)):
                gap = img[:h] - syn.run(ws[:h], noise_mode="const")[0]
        ms = gap.square().mean()
        return torch.relu(ms / self.noise_ref - 1), 127.5 * float(ms.detach().sqrt())

    def _lr_mult(self, name):
        """The learning-rate multiplier of a synthesis parameter (by its name)."""
        if name.endswith("noise_scale"):
            return self.s.noise_lr
        last = f"stages.{len(self.G.synthesis.stages) - 1}."
        return (self.s.rgb_lr if ".rgb." in name else 1.0) * (self.s.last_lr if name.startswith(last) else 1.0)

    def _groups(self, named):
        """One Adam group per multiplier, in order of first appearance (one group when all are 1: the
        checkpoints of earlier runs resume as they were)."""
        groups = {}
        for n, p in named:
            groups.setdefault(self._lr_mult(n), []).append(p)
        return [dict(params=ps, lr=self.s.lr * m) for m, ps in groups.items()]

    @torch.no_grad()
    def _grey_rgb(self):
        """Make every toRGB layer write the same value to R, G and B (their mean weights and bias): the
        skip sum of grey layers is a grey image, whatever the latent."""
        for stage in (s for s in self.G.synthesis.stages if hasattr(s, "rgb")):
            stage.rgb.weight.copy_(stage.rgb.weight.mean(0, keepdim=True).expand_as(stage.rgb.weight))
            stage.rgb.bias.fill_(float(stage.rgb.bias.mean()))

    def _latents(self, anchor):
        s = self.s
        if anchor and s.anchors:
            idx = torch.randint(0, s.anchors, (s.batch,), generator=self.rng)
            return self.anchor_z[idx] + s.anchor_sigma * torch.randn(s.batch, self.src.z_dim, generator=self.rng)
        return torch.randn(s.batch, self.src.z_dim, generator=self.rng)

    def step(self):
        """One step; returns its CSV row (floats). With --noise-fresh the step draws with new noise maps (from the
        run's own generator, so a resumed run draws the same) and the fixed ones are put back after it."""
        if not self.s.noise_fresh:
            return self._step()
        syn = self.G.synthesis
        with syn.noise_swapped([torch.randn(m.shape, generator=self.rng).to(m) for m in syn.noise_maps()]):
            return self._step()

    def _step(self):
        s = self.s
        level = "image" if not s.anchors or self.step_n % 2 == 0 else "patch"
        z = self._latents(level == "image")
        real = self.shots[torch.randint(0, len(self.shots), (s.batch,), generator=self.rng)]
        with torch.no_grad():
            ws = self.src.mapping(z)
            src_img, src_feats = self.src.synthesis.run(ws, keep=self.stages if s.dcl else ()) \
                if s.dcl or s.dcl_image or s.layout or s.swd_focus or s.swd_relative else (None, {})
        train_g = self.step_n >= s.d_warmup
        self._set_lrs()
        if self.step_n == s.d_warmup and s.freeze_d and s.d_warmup:
            self.D.freeze(s.freeze_d)
        row = dict(step=self.step_n + 1, level=level, loss_G=float("nan"), dcl=float("nan"))
        if train_g:
            self.D.requires_grad_(False)
            img, feats = self.G.synthesis.run(ws, keep=self.stages)
            seen = augment(img, self.rng, s.policy())
            adv = cc.g_adv(self.D, seen, level)
            if s.fine_d:
                adv = adv + s.fine_d * cc.g_adv(self.D, seen, "fine")
            dcl = cc.distance_consistency(src_feats, feats) if s.dcl else torch.zeros(())
            dci = cc.distance_consistency(cc.picture_bands(src_img), cc.picture_bands(img)) if s.dcl_image \
                else torch.zeros(())
            sw = self.patches.loss(self.G.synthesis.run(ws, noise_mode="none")[0] if s.swd_noise_free else img,
                                   self.rng, source=src_img) if s.swd else torch.zeros(())
            lay = cc.layout_loss(src_img, img) if s.layout else torch.zeros(())
            co = self.layout_stats.loss(img) if s.coarse else torch.zeros(())
            ns, share = self._noise_penalty(ws, img) if s.noise_share else (torch.zeros(()), None)
            self.opt.zero_grad(set_to_none=True)
            (adv + s.dcl * dcl + s.dcl_image * dci + self._swd_weight() * sw + s.layout * lay + s.coarse * co
             + s.noise_share * ns).backward()
            self.opt.step()
            if s.grey:
                self._grey_rgb()
            self._update_ema()
            row.update(loss_G=float(adv.detach()), dcl=float(dcl.detach()),
                       **({"dcl_image": float(dci.detach())} if s.dcl_image else {}),
                       **({"swd": 1e3 * float(sw.detach())} if s.swd else {}),
                       **({"layout": float(lay.detach())} if s.layout else {}),
                       **({"coarse": float(co.detach())} if s.coarse else {}),
                       **({"noise": share} if s.noise_share else {}))
            fake = img.detach()
        else:
            with torch.no_grad():
                fake = self.G.synthesis(ws)
        self.D.requires_grad_(True)
        if s.freeze_d and self.step_n >= s.d_warmup:
            self.D.freeze(s.freeze_d)
        real_seen, fake_seen = augment(real, self.rng, s.policy()), augment(fake, self.rng, s.policy())
        loss_d, d_real, d_fake = cc.d_adv(self.D, real_seen, fake_seen, level)
        if s.fine_d:
            loss_d = loss_d + s.fine_d * cc.d_adv(self.D, real_seen, fake_seen, "fine")[0]
        self.opt_D.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_D.step()
        self.step_n += 1
        row.update(loss_D=float(loss_d.detach()), D_real=float(d_real), D_fake=float(d_fake),
                   colour_gap=colour_gap(fake, self.shots))
        return row

    def _swd_weight(self):
        """The patch loss's weight at this step (with --swd-ramp, a function of the step alone: resumable)."""
        if not self.s.swd_ramp:
            return self.s.swd
        return self.s.swd * min(1.0, (self.step_n - self.s.d_warmup + 1) / self.s.swd_ramp)

    def _set_lrs(self):
        """With --lr-half-life, both optimisers' learning rates at this step (a function of the step alone,
        so a resumed run follows the same schedule)."""
        if not self.s.lr_half_life:
            return
        decay = 0.5 ** (self.step_n / self.s.lr_half_life)
        for g, m in zip(self.opt.param_groups, self.mults):
            g["lr"] = self.s.lr * m * decay
        for g in self.opt_D.param_groups:
            g["lr"] = self.s.d_lr * decay

    @torch.no_grad()
    def _update_ema(self):
        """Average every floating synthesis tensor (parameters and buffers) with decay `ema`."""
        if not self.s.ema:
            return
        now = self.G.synthesis.state_dict()
        if self.ema is None:
            self.ema = {k: v.detach().clone() for k, v in now.items()}
            return
        for k, v in now.items():
            if v.is_floating_point():
                self.ema[k].lerp_(v, 1 - self.s.ema)
            else:
                self.ema[k].copy_(v)

    @torch.no_grad()
    def samples(self, z, psi=1.0):
        """(source images, adapted images) of the same latents (the adapted: the exported weights)."""
        ws = self.src.mapping(z, truncation_psi=psi)
        if self.ema is None and self.s.noise_out == 1:
            return self.src.synthesis(ws), self.G.synthesis(ws)
        return self.src.synthesis(ws), self.export().synthesis(ws)

    # --- resuming ----------------------------------------------------------------------------
    def state(self):
        return dict(G=self.G.state_dict(), D=self.D.state_dict(), opt=self.opt.state_dict(),
                    opt_D=self.opt_D.state_dict(), rng=self.rng.get_state(), step=self.step_n,
                    wall_s=self.wall_s, settings={k: v for k, v in asdict(self.s).items() if k != "steps"},
                    shots=self.shots_id, n_shots=len(self.shots), **({"ema": self.ema} if self.ema is not None else {}))

    def load_state(self, ck):
        mine = {k: v for k, v in asdict(self.s).items() if k != "steps"}
        theirs = {**asdict(Settings()), **(ck.get("settings") or {})}   # a setting added later: its default
        if any(theirs.get(k) != v for k, v in mine.items()):
            diff = sorted(k for k in mine if theirs.get(k) != mine[k])
            raise AdaptError(f"--resume: the checkpoint was made with other settings ({', '.join(diff)}); "
                             f"give the same ones, or start again with --force")
        self._check_same_shots(ck)
        self.G.load_state_dict(ck["G"])
        if self.s.freeze_d and ck["step"] >= self.s.d_warmup:
            self.D.freeze(self.s.freeze_d)
        self.D.load_state_dict(ck["D"])
        self.opt.load_state_dict(ck["opt"])
        self.opt_D.load_state_dict(ck["opt_D"])
        self.rng.set_state(ck["rng"])
        self.step_n, self.wall_s = ck["step"], ck["wall_s"]
        self.ema = {k: v.clone() for k, v in ck["ema"].items()} if "ema" in ck else None

    def _check_same_shots(self, ck):
        """A checkpoint learnt from other pictures (by `fingerprint`) is refused; one made before the
        fingerprint was kept resumes as it did."""
        if ck.get("shots", self.shots_id) != self.shots_id:
            raise AdaptError(f"--resume: the checkpoint was trained on other pictures ({ck.get('n_shots', '?')} then, "
                             f"{len(self.shots)} now); give the same --images, or start again with --force")

    def export(self):
        """The adapted generator (eval mode, no gradients), separate from the training copy; with
        --ema its synthesis network holds the averaged weights."""
        G = stylegan.Generator(self.G.config)
        G.load_state_dict(self.G.state_dict())
        if self.ema is not None:
            G.synthesis.load_state_dict(self.ema)
        if self.s.noise_out != 1:
            with torch.no_grad():
                for name, p in G.synthesis.named_parameters():
                    if name.endswith("noise_scale"):
                        p.mul_(self.s.noise_out)
        return G.eval().requires_grad_(False)


# --- files ------------------------------------------------------------------------------------------
def run_dir(out):
    out = Path(out)
    return out.with_name(out.name[:-len(".safetensors")] + ".run" if out.name.endswith(".safetensors")
                         else out.name + ".run")


def model_card(adapter, source_spec, n_shots, images, seconds, command):
    """The metadata an adapted file carries: the source's card, then what this adaptation did."""
    meta = {}
    spec = str(source_spec)
    path = Path(spec) if checkpoints.looks_like_path(spec) else checkpoints.cached_path(checkpoints.get_info(spec))
    if path is not None and str(path).endswith(".safetensors") and Path(path).is_file():
        meta = {k: v for k, v in read_metadata(path).items() if k not in ("format", "version", "config")}
    lineage = meta.get("source", "")
    # a bundled model's own file is that model (its id finds the adapted section: checkpoints.adapted_section)
    name = checkpoints.registry_id(spec) or (Path(spec).name if checkpoints.looks_like_path(spec) else spec)
    meta["source"] = f"adapted from {name}" + (f" ({lineage})" if lineage else "")
    meta["adapted"] = json.dumps(dict(from_model=name,
                                      shots=n_shots, images=images, steps=adapter.step_n,
                                      settings={k: v for k, v in asdict(adapter.s).items() if k != "steps"},
                                      frozen="mapping network, warp pathway", wall_seconds=round(seconds),
                                      command=command))
    meta["presets"] = json.dumps(checkpoints.presets(spec))
    return meta


def write_outputs(adapter, out, meta, rows_csv, plot=True):
    folder = run_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "state.pt.tmp"
    torch.save(adapter.state(), tmp)
    os.replace(tmp, folder / "state.pt")
    stylegan.save(adapter.export(), out, **meta)
    if plot:
        plot_losses(rows_csv, folder / "loss_curves.png")


def plot_losses(csv_path, png_path):
    """G and D adversarial losses and the distance-consistency term per step, like the DCGAN trainer's curves."""
    from .figures import loss_rows
    rows, plt = loss_rows(csv_path)
    if not rows:
        return None
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.6))
    for key, label in (("loss_D", "D"), ("loss_G", "G (adversarial)")):
        pts = [(int(r["step"]), float(r[key])) for r in rows if r.get(key) not in (None, "", "nan")]
        if pts:
            ax[0].plot(*zip(*pts), label=label, lw=0.8)
    ax[0].set_xlabel("step"), ax[0].set_ylabel("softplus loss"), ax[0].legend()
    ax[0].set_title("adversarial losses", loc="left")
    for key, label in (("dcl", "distance consistency"), ("colour_gap", "colour gap to the pictures")):
        pts = [(int(r["step"]), float(r[key])) for r in rows if r.get(key) not in (None, "", "nan")]
        if pts:
            ax[1].plot(*zip(*pts), label=label, lw=0.8)
    ax[1].set_xlabel("step"), ax[1].legend(), ax[1].set_title("what keeps the layout / domain gap", loc="left")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path


def check_out(out, force, resume):
    """Refuse, before any work, an output that cannot be written: not a .safetensors name, a name (or the
    temporary and run-folder names made from it) too long for the file system, not a regular-file path,
    under a file or in a system or read-only folder; or one that exists without --force/--resume."""
    out = Path(out)
    if not out.name.endswith(".safetensors"):
        raise AdaptError(f"--out {out}: give a .safetensors file name")
    clisafe.check_name_fits(out, "--out", out.suffix)   # before any stat: a name too long cannot be asked about
    _check_path_fits(out)
    try:
        kind = clisafe.path_kind(out)
    except OSError:
        kind = None   # under a file, say: check_out_file names it
    if kind not in (None, "file"):
        raise AdaptError(f"--out {out}: is {'a folder' if kind == 'folder' else kind}, not a file the model can be "
                         f"written to")
    clisafe.check_out_file(out, "--out", (".safetensors",))   # under a file, a system folder, no permission
    folder = run_dir(out)
    if folder.exists() and not folder.is_dir():
        raise AdaptError(f"--out {out}: its run folder {folder} exists and is not a folder")
    state = folder / "state.pt"
    if resume:
        if not state.is_file():
            raise AdaptError(f"--resume: no checkpoint at {state} (run without --resume to start)")
    elif (kind is not None or state.exists()) and not force:
        raise AdaptError(f"--out {out}: already exists (its run folder: {folder}); --resume to continue it, "
                         f"--force to start again and overwrite it")


def _check_path_fits(out):
    """The folders --out may create, and its whole path with the temporary suffix, fit the file system (its
    file name and the temporary name beside it: clisafe.check_name_fits; its run folder's name is shorter)."""
    long_parts = [part for part in out.parent.parts if len(os.fsencode(part)) > clisafe.NAME_MAX]
    if long_parts:
        raise AdaptError(f"--out {limits.short(str(out))}: a folder name of {len(os.fsencode(long_parts[0]))} bytes "
                         f"is too long (at most {clisafe.NAME_MAX})")
    if len(os.fsencode(str(out.absolute()) + TMP_SUFFIX)) >= PATH_MAX:
        raise AdaptError(f"--out {limits.short(str(out))}: the path is too long (at most "
                         f"{PATH_MAX - len(TMP_SUFFIX) - 1} bytes)")


def train(adapter, until, out, meta_fn, stop=lambda: False, save_every=50, progress=True, on_row=None):
    """Step `adapter` until step `until` or `stop()`; checkpoints (state + MODEL) every `save_every`
    steps and at the end. Returns True if it ran to `until`."""
    folder = run_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = clisafe.trim_log(folder / "losses.csv", "step", adapter.step_n, CSV_FIELDS)   # a resume: from its checkpoint
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=until, initial=adapter.step_n, desc="adapt", unit="step", file=sys.stderr)
    t0, base = time.time(), adapter.wall_s
    done_steps, plotted = adapter.step_n, time.time()
    try:
        with open(csv_path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
            while adapter.step_n < until and not stop():
                row = adapter.step()
                adapter.wall_s = base + time.time() - t0
                row["wall_s"] = adapter.wall_s
                writer.writerow({k: (f"{v:.5f}" if isinstance(v, float) else v) for k, v in row.items()})
                if on_row:
                    on_row(row)
                if bar:
                    bar.update(1)
                    bar.set_postfix(D=f"{row['loss_D']:.3f}", G=f"{row['loss_G']:.3f}", dcl=f"{row['dcl']:.4f}")
                if adapter.step_n % save_every == 0 or adapter.step_n == until:
                    f.flush()
                    redraw = time.time() - plotted > 60
                    write_outputs(adapter, out, meta_fn(), csv_path, plot=redraw)
                    plotted = time.time() if redraw else plotted
                    done_steps = adapter.step_n
            f.flush()
        if adapter.step_n != done_steps:   # stopped between checkpoints: this step is complete, keep it
            write_outputs(adapter, out, meta_fn(), csv_path, plot=False)
        plot_losses(csv_path, folder / "loss_curves.png")
    finally:
        if bar:
            bar.close()
    return adapter.step_n >= until


# --- the command line ---------------------------------------------------------------------------------
def parse_args(argv):
    import argparse
    d = Settings()
    p = argparse.ArgumentParser(prog="python -m training.adapt", description=__doc__.split("\n\n")[0])
    p.add_argument("--images", required=True, metavar="DIR", help="a folder of 3-50 pictures (5-50 recommended)")
    p.add_argument("--out", required=True, metavar="MODEL.safetensors", help="the adapted generator to write")
    p.add_argument("--model", default=None, help="the source: a registry id or a StyleGAN2 file (default: the "
                                                 "bundled face model)")
    p.add_argument("--steps", type=int, default=d.steps, help=f"total steps (default {d.steps})")
    p.add_argument("--batch", type=int, default=d.batch, help=f"latents per step (default {d.batch})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"generator learning rate (default {d.lr:g})")
    p.add_argument("--d-lr", type=float, default=d.d_lr, help=f"discriminator learning rate (default {d.d_lr:g})")
    p.add_argument("--dcl", type=float, default=d.dcl, help=f"distance-consistency weight, 0 = off (default {d.dcl:g})")
    p.add_argument("--dcl-image", type=float, default=d.dcl_image,
                   help="the distance consistency on the pictures themselves (their grey Laplacian bands, 64/32/16 px), "
                        f"0 = off (default {d.dcl_image:g})")
    p.add_argument("--anchors", type=int, default=d.anchors,
                   help=f"anchor latents judged as whole images, 0-{MAX_ANCHORS}; the others patch-wise; 0 = all whole "
                        f"(default {d.anchors})")
    p.add_argument("--anchor-sigma", type=float, default=d.anchor_sigma, help=argparse.SUPPRESS)
    p.add_argument("--augment", default=d.augment,
                   help=f"DiffAugment transforms of {', '.join(TRANSFORMS)}, separated by commas; '' for none "
                        f"(default {d.augment})")
    p.add_argument("--freeze-d", type=int, default=d.freeze_d, help=f"FreezeD: discriminator blocks frozen (default {d.freeze_d})")
    p.add_argument("--d-warmup", type=int, default=d.d_warmup,
                   help=f"discriminator-only steps first, fewer than --steps (default {d.d_warmup})")
    p.add_argument("--rgb-lr", type=float, default=d.rgb_lr,
                   help=f"learning-rate multiplier of the toRGB layers: colour and tone (default {d.rgb_lr:g})")
    p.add_argument("--last-lr", type=float, default=d.last_lr,
                   help=f"learning-rate multiplier of the finest stage: fine detail (default {d.last_lr:g})")
    p.add_argument("--noise-lr", type=float, default=d.noise_lr,
                   help=f"learning-rate multiplier of the noise strengths, 0 = frozen (default {d.noise_lr:g})")
    p.add_argument("--grey", action="store_true", help="grey pictures (pencil, charcoal, X-ray): a grey model")
    p.add_argument("--fine-d", type=float, default=d.fine_d,
                   help=f"weight of a fine patch discriminator level (~18 px texture), 0 = off (default {d.fine_d:g})")
    p.add_argument("--ema", type=float, default=d.ema,
                   help=f"write the moving average of the weights, this decay per step, 0 = off (default {d.ema:g})")
    p.add_argument("--swd", type=float, default=d.swd,
                   help=f"weight of a patch loss toward the pictures: the sliced Wasserstein distance of their "
                        f"Laplacian-pyramid patches, 0 = off (default {d.swd:g})")
    p.add_argument("--swd-levels", type=int, default=d.swd_levels,
                   help=f"the finest pyramid levels that patch loss compares, 1-3 (default {d.swd_levels})")
    p.add_argument("--swd-chroma", type=float, default=d.swd_chroma,
                   help=f"weight of colour against light in that patch loss, 0 = light only (default {d.swd_chroma:g})")
    p.add_argument("--swd-directions", type=int, default=d.swd_directions,
                   help=f"random projections of that patch loss per level and step (default {d.swd_directions})")
    p.add_argument("--swd-focus", type=float, default=d.swd_focus,
                   help=f"that patch loss draws its patches per latent in proportion to the source picture's "
                        f"fine-band energy to this power, so a latent whose source draws little structure is asked "
                        f"for little texture; 0 = every latent alike (default {d.swd_focus:g})")
    p.add_argument("--swd-relative", type=float, default=d.swd_relative,
                   help=f"that patch loss judges each latent's fine band scaled by the batch's typical source "
                        f"energy over its own source's, to this power 0-1 (detail relative to the source's); "
                        f"0 = off (default {d.swd_relative:g})")
    p.add_argument("--noise-out", type=float, default=d.noise_out,
                   help=f"the written model's noise strengths x this, 0-1; the training is unchanged (default "
                        f"{d.noise_out:g})")
    p.add_argument("--noise-share", type=float, default=d.noise_share,
                   help=f"weight of a penalty on what the noise maps draw beyond the source's (the render with them "
                        f"minus without them, mean square over the source's, minus 1 when positive; one more pass on "
                        f"half the latents), 0 = off (default {d.noise_share:g})")
    p.add_argument("--noise-upto", type=int, default=d.noise_upto,
                   help=f"that penalty judges only the noise maps of this resolution and coarser (4, 8, 16, ...; "
                        f"0 = all; the mottled blotches come from the 4-8 px ones) (default {d.noise_upto})")
    p.add_argument("--noise-train", type=float, default=d.noise_train,
                   help=f"the noise strengths x this from the start of training (the written model keeps them), 0-1 "
                        f"(default {d.noise_train:g})")
    p.add_argument("--noise-lr-from", type=int, default=d.noise_lr_from,
                   help=f"--noise-lr frees only the noise strengths of this resolution and finer (e.g. 64: pixel "
                        f"grain; 0 = every stage) (default {d.noise_lr_from})")
    p.add_argument("--noise-from", type=int, default=d.noise_from,
                   help=f"the noise maps coarser than this resolution off from the start (8, 16, ...; the written "
                        f"model keeps them off; 0 = every map on) (default {d.noise_from})")
    p.add_argument("--noise-fresh", action="store_true",
                   help="every step draws new noise maps, as StyleGAN trains (the written model keeps its fixed "
                        "ones): the trained convolutions cannot shape one fixed pattern")
    p.add_argument("--swd-noise-free", action="store_true",
                   help="that patch loss judges a pass without the noise maps, so the detail it asks for comes "
                        "from the latent, not from amplified noise (one more generator pass per step)")
    p.add_argument("--swd-ramp", type=int, default=d.swd_ramp,
                   help=f"that patch loss's weight rises linearly over N generator steps, 0 = at once "
                        f"(default {d.swd_ramp})")
    p.add_argument("--lr-half-life", type=int, default=d.lr_half_life,
                   help=f"both learning rates halve every N steps, 0 = constant (default {d.lr_half_life})")
    p.add_argument("--layout", type=float, default=d.layout,
                   help=f"weight of a layout anchor: each latent's coarse (8 x 8) light and dark kept as the "
                        f"source's, 0 = off (default {d.layout:g})")
    p.add_argument("--coarse", type=float, default=d.coarse,
                   help=f"weight of a coarse colour-layout statistic: the per-position mean and spread of the "
                        f"samples' 8 x 8 colour thumbnails pulled toward the pictures', 0 = off (default {d.coarse:g})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"the run's random stream, 0 to 2**63-1 (default {d.seed})")
    p.add_argument("--save-every", type=int, default=50, help="checkpoint every N steps (default 50)")
    p.add_argument("--threads", type=int, default=None, help=f"torch threads, 1-{MAX_THREADS} (default: torch's choice)")
    p.add_argument("--resume", action="store_true", help="continue the run of --out to --steps (with the same pictures and settings)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out and its run folder (not with --resume)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def load_source(spec):
    """The source generator of `spec` (a registry id or a file): a StyleGAN2 one (the loaders refuse weights
    that are not all finite: stylegan.io.finite); AdaptError otherwise."""
    try:
        G = checkpoints.load(spec or checkpoints.DEFAULT_MODEL)
    except (ValueError, OSError, RuntimeError) as e:
        raise AdaptError(f"--model: cannot load {spec or checkpoints.DEFAULT_MODEL!r}: {' '.join(str(e).split())}") from None
    if generator_kind(G) != "stylegan":
        raise AdaptError(f"--model {spec}: adaptation needs a StyleGAN2 generator, not {type(G).__name__}")
    return G


def check_command(a):
    """The command line's own flags, beyond Settings: --save-every, --threads, --resume with --force."""
    if a.save_every < 1:
        raise AdaptError("--save-every must be at least 1")
    if a.threads is not None and not 1 <= a.threads <= MAX_THREADS:
        raise AdaptError(f"--threads must be a whole number from 1 to {MAX_THREADS} (leave it out for torch's "
                         f"choice), got {limits.short(a.threads)}")
    if a.resume and a.force:
        raise AdaptError("--resume and --force contradict each other (--resume continues the run of --out, --force "
                         "starts it again); give one of them")


def prepare(a, s):
    """Everything before the first step, checked cheapest first (the flags, --out, the pictures, then the
    model, which may have to be downloaded) -> (Adapter at its first or resumed step, source spec, shot names,
    notes). Every refusal raises a ValueError with one line."""
    check_command(a)
    check_settings(s)
    check_out(a.out, a.force, a.resume)
    if a.threads:
        torch.set_num_threads(a.threads)
    pictures = read_pictures(a.images)
    spec = a.model or checkpoints.DEFAULT_MODEL
    G = load_source(spec)
    if G.img_shape[0] != G.img_shape[1]:
        raise AdaptError(f"--model {spec}: a {G.img_shape[0]}x{G.img_shape[1]} model; adaptation takes square models")
    shots, names, notes = to_shots(pictures, G.img_resolution)
    adapter = Adapter(G, shots, s)
    if a.resume:
        resume_run(adapter, a.out)
    elif a.force:
        for p in (run_dir(a.out) / "state.pt", run_dir(a.out) / "losses.csv"):
            p.unlink(missing_ok=True)
    return adapter, spec, names, notes


def resume_run(adapter, out):
    """Load the run folder's checkpoint of `out` into `adapter`; AdaptError when it is unreadable, was made
    with other settings or pictures, or is already at --steps."""
    path = run_dir(out) / "state.pt"
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - truncated, foreign or unsafe: one line
        raise AdaptError(f"--resume: {path} is not a readable checkpoint ({type(e).__name__})") from None
    try:
        adapter.load_state(ck)
    except AdaptError:
        raise
    except (KeyError, RuntimeError, ValueError, TypeError, AttributeError) as e:
        raise AdaptError(f"--resume: the checkpoint does not fit this model ({type(e).__name__})") from None
    if adapter.step_n >= adapter.s.steps:
        raise AdaptError(f"--resume: the run is already at step {adapter.step_n}; give a larger --steps")


def main(argv=None):
    """`python -m training.adapt`: exit 0 done, 2 a bad input (one `error: ...` line, checked before the
    model is loaded where it can be), 130 stopped by Ctrl-C (the last checkpoint kept)."""
    return clisafe.run(_main, sys.argv[1:] if argv is None else argv, "training.adapt", (ValueError, OSError))


def _main(argv):
    a = parse_args(argv)
    s = Settings(**{f.name: getattr(a, f.name) for f in fields(Settings)})
    adapter, spec, names, notes = prepare(a, s)
    for n in notes:
        print(f"training.adapt: note: {n}", file=sys.stderr)
    command = "python -m training.adapt " + " ".join(argv)
    meta = lambda: model_card(adapter, spec, len(names), str(Path(a.images).name), adapter.wall_s, command)
    print(f"adapting {spec} to {len(names)} pictures of {a.images} ({s.steps} steps; from step {adapter.step_n})",
          file=sys.stderr)
    handler = clisafe.StopAfterStep("\ntraining.adapt: stopping after this step (Ctrl-C again to abort without saving)")
    try:
        with handler.installed():
            finished = train(adapter, s.steps, a.out, meta, stop=lambda: handler.hit, save_every=a.save_every,
                             progress=not a.no_progress)
    except KeyboardInterrupt:
        print(f"training.adapt: aborted; the last checkpoint ({run_dir(a.out) / 'state.pt'}) and {a.out} are kept",
              file=sys.stderr)
        return 130
    if not finished:
        print(f"training.adapt: stopped at step {adapter.step_n}; {a.out} holds it (continue with --resume)",
              file=sys.stderr)
        return 130
    print(f"{a.out}: adapted to {len(names)} pictures in {adapter.step_n} steps ({adapter.wall_s / 60:.1f} min); "
          f"losses: {run_dir(a.out) / 'loss_curves.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
