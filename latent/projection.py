"""Projection: find the latent (W or W+) whose image matches a target, written from the
StyleGAN2 paper (Karras et al. 2020, Section 5 and Appendix D).

What the paper prescribes, and where it lives here:
- `Ramp`: Adam's step size rises linearly over the first 5 % of the run, holds, and falls to
  zero along a half cosine over the last 25 %. Early on the latent is perturbed with Gaussian
  noise (0.05 sigma_w, fading quadratically to nothing at 75 % of the run) so the search
  explores before it settles; sigma_w is the RMS distance of mapped latents from their mean.
- `WhiteNoiseMaps`: the generator's per-layer noise inputs are optimised too. So that they
  cannot paint the image themselves they must stay white: on a pyramid of each map (2x2
  averages times 2, which keeps unit variance, down to 8 px) the squared one-pixel
  autocorrelations along x and y are penalised, and after every step each map is reset to zero
  mean and unit variance.
- `Projector`: one run, W (a single w shared by all layers) or W+ (one per layer).
"""
import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from adam import Adam
from stylegan.precision import choose

from .losses import ImageLoss
from .util import LatentError, require_mapping

SPACES = ("w", "w+")


@dataclass(frozen=True)
class Ramp:
    """Schedules over the run's progress t in [0, 1)."""
    warmup: float = 0.05        # fraction of the run with a rising learning rate
    cooldown: float = 0.25      # fraction at the end with a cosine-falling learning rate
    latent_noise: float = 0.05  # initial latent perturbation, in units of sigma_w
    noise_until: float = 0.75   # where the perturbation reaches zero

    def lr_factor(self, t):
        if t < self.warmup:
            return t / self.warmup
        left = 1.0 - t
        if left < self.cooldown:
            return 0.5 * (1.0 - math.cos(math.pi * left / self.cooldown))
        return 1.0

    def noise_factor(self, t):
        fade = max(0.0, 1.0 - t / self.noise_until)
        return self.latent_noise * fade * fade


def _lag_one_correlation(x, dim):
    return (x * x.roll(1, dims=dim)).mean()


def whiteness_penalty(maps):
    """Sum over maps and pyramid levels of the squared one-pixel autocorrelations along x and y (0 for white noise)."""
    total = 0.0
    for m in maps:
        level = m.reshape(1, 1, *m.shape[-2:])
        while True:
            total = total + _lag_one_correlation(level, -1) ** 2 + _lag_one_correlation(level, -2) ** 2
            if min(level.shape[-2:]) <= 8:
                break
            level = 2 * F.avg_pool2d(level, 2)  # four averaged unit-variance pixels: x2 keeps variance 1
    return total


def randn(shape, generator, device):
    """Standard normal draws from a CPU `generator` (seeded: the same numbers on every device), on `device`."""
    return torch.randn(shape, generator=generator).to(device)


class WhiteNoiseMaps:
    """Free noise maps for the generator, with the paper's whiteness penalty and renormalisation."""

    def __init__(self, like, generator=None):
        self.maps = [randn(m.shape, generator, m.device).to(m.dtype).requires_grad_(True) for m in like]

    def penalty(self):
        return whiteness_penalty(self.maps)

    @torch.no_grad()
    def renormalise_(self):
        for m in self.maps:
            centred = m - m.mean()
            m.copy_(centred / centred.pow(2).mean().sqrt().clamp_min(1e-8))


def latent_spread(G, samples=2000):
    """sigma_w: RMS Euclidean distance of mapped latents from w_avg (a fixed sample)."""
    rng = torch.Generator(device=G.device).manual_seed(2020)
    with torch.no_grad():
        w = G.mapping(torch.randn(samples, G.z_dim, device=G.device, generator=rng))[:, 0]
    return (w - G.mapping.w_avg).pow(2).sum(1).mean().sqrt().item()


class Projector:
    """Optimises a latent (and the noise maps of a private copy of G) towards `target`."""

    def __init__(self, G, target, space="w", init=None, lr=0.1, noise_weight=1e4, ramp=Ramp(), loss_fn=None,
                 precision=None, seed=0):
        require_mapping(G)
        if space not in SPACES:
            raise LatentError(f"space must be 'w' or 'w+', got {space!r}")
        self.G = copy.deepcopy(G).eval().requires_grad_(False)
        self.space, self.lr, self.noise_weight, self.ramp = space, lr, noise_weight, ramp
        self.target = target.to(G.device)
        self.loss_fn = loss_fn or ImageLoss(G.device)
        self.sigma_w = latent_spread(G)
        start = G.mapping.w_avg.expand(1, G.num_ws, -1) if init is None else init
        # W keeps one vector (layer 0's); W+ one per layer
        self.latent = (start[:, :1] if space == "w" else start).detach().clone().requires_grad_(True)
        self.rng = torch.Generator().manual_seed(seed)   # the start maps and the jitter: one run, one result
        self.noise = WhiteNoiseMaps(self.G.synthesis.noise_maps(), self.rng)
        self.G.synthesis.set_noise_maps(self.noise.maps)
        self.opt = Adam([self.latent, *self.noise.maps], lr=lr, betas=(0.9, 0.999))
        self.precision = precision or choose("fp32", G.device)
        self.scaler = torch.amp.GradScaler(G.device.type, enabled=self.precision.name == "fp16")

    def ws(self, latent=None):
        latent = self.latent if latent is None else latent
        return latent.expand(-1, self.G.num_ws, -1)

    def step(self, t):
        """One Adam step at progress t; returns the loss."""
        for group in self.opt.param_groups:
            group["lr"] = self.lr * self.ramp.lr_factor(t)
        jitter = randn(self.latent.shape, self.rng, self.latent.device) * (self.sigma_w * self.ramp.noise_factor(t))
        with self.precision.autocast():  # the synthesis only: losses stay in float32
            image = self.G.synthesis(self.ws(self.latent + jitter), noise_mode="const").float()
        loss = self.loss_fn(image, self.target) + self.noise_weight * self.noise.penalty()
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        self.noise.renormalise_()
        return float(loss.detach())

    def result(self):
        """(ws [1, num_ws, w_dim], the copy of G holding the optimised noise maps)."""
        self.G.synthesis.set_noise_maps([m.detach() for m in self.noise.maps])
        return self.ws().detach().clone(), self.G


def project(G, target, space="w", steps=200, lr=0.1, init=None, noise_weight=1e4, progress=None, loss_fn=None,
            precision=None, seed=0):
    """Project `target` ([1, 3, H, W] in [-1, 1]) into W or W+ of G -> (ws, G copy with its noise maps).

    `init` ([1, num_ws, w_dim], e.g. a W result to refine in W+) replaces the start at w_avg;
    `precision`: a stylegan.precision.Precision for the synthesis passes (default float32); `seed`: the
    random start of the noise maps and the latent's jitter (the same seed, the same result)."""
    run = Projector(G, target, space, init=init, lr=lr, noise_weight=noise_weight, loss_fn=loss_fn,
                    precision=precision, seed=seed)
    for i in range(steps):
        loss = run.step(i / steps)
        if progress is not None:
            progress(i + 1, steps, loss)
    return run.result()
