"""Pivotal Tuning Inversion, written from Roich et al., "Pivotal Tuning for Latent-based Editing
of Real Images" (2021).

Projection alone rarely reproduces a photo the model did not generate. PTI keeps the projected
latent fixed (the pivot w_p) and fine-tunes the synthesis weights theta instead, so the photo x
becomes a point the generator really produces. In the notation of the code below:

    L_rec = loss(G(w_p; theta'), x)                       the pivot reproduces the photo
    w_r   = w_p + alpha * (w_z - w_p),  w_z = map(z), z ~ N(0, I)
    L_loc = loss(G(w_r; theta'), G(w_r; theta))           elsewhere nothing changes
    minimise  L_rec + lambda_loc * L_loc   over theta'    (alpha = 0.3, lambda_loc = 0.1)

`loss` is `ImageLoss` (the paper's LPIPS + L2; offline a multi-scale L1 + L2). The paper steps a
fixed length along the unit direction to w_z (30 in FFHQ's W space); a fraction of the way to
w_z says the same for any model without knowing the scale of its W space. One fresh w_z per step;
the pivot and w_r go through the synthesis as one batch of two (the same sums, one pass).
"""
import copy

import torch

from adam import Adam
from stylegan.precision import choose

from .losses import ImageLoss
from .projection import randn, whiteness_penalty


class LocalityProbe:
    """Draws w_r between the pivot and a random latent, with the untouched generator's image there."""

    def __init__(self, G, pivot, alpha, seed=0):
        self.G, self.pivot, self.alpha = G, pivot, alpha
        self.rng = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def sample(self):
        w_z = self.G.mapping(randn((1, self.G.z_dim), self.rng, self.G.device))
        w_r = torch.lerp(self.pivot, w_z, self.alpha)
        return w_r, self.G.synthesis(w_r, noise_mode="const")


def pti(G, pivot, target, steps=150, lr=3e-3, locality_weight=0.1, locality_alpha=0.3, progress=None, loss_fn=None,
        precision=None, noise_lr=0.0, noise_min_res=0, noise_weight=0.0, seed=0, locality_every=1, noise_max_res=None):
    """Fine-tune a copy of G's synthesis so that G(pivot) reproduces `target`; returns the copy.

    pivot: [1, num_ws, w_dim] (kept fixed); G itself is not changed. `precision`: a
    stylegan.precision.Precision for the synthesis passes (default float32; the weights stay float32).
    noise_lr > 0 tunes the constant noise maps too, at that learning rate (they hold the photo's
    finest detail: pores, hair strands, which the weights of a small model cannot); only the maps of
    at least `noise_min_res` px (and, given, at most `noise_max_res` px) are tuned (the others stay as
    projected). noise_weight > 0 adds the
    projector's whiteness penalty on the tuned maps (latent.projection.whiteness_penalty), so that
    they hold less of the photo's structure, which would not move with dragged content. `seed`: the
    locality probe's latents (the same seed, the same tuned generator). `locality_every` k > 1 probes on every
    k-th step only, weighted k times (the same pull on average; the other steps are one image, not two)."""
    tuned = copy.deepcopy(G).train().requires_grad_(True)
    target = target.to(G.device)
    loss_fn = loss_fn or ImageLoss(G.device)
    probe = LocalityProbe(G, pivot, locality_alpha, seed) if locality_weight > 0 else None
    groups = [dict(params=list(tuned.synthesis.parameters()), lr=lr)]
    if noise_lr > 0:
        top = float("inf") if noise_max_res is None else noise_max_res
        maps = [m.detach().clone().requires_grad_(noise_min_res <= m.shape[-1] <= top)
                for m in tuned.synthesis.noise_maps()]
        tuned.synthesis.set_noise_maps(maps)
        groups.append(dict(params=[m for m in maps if m.requires_grad], lr=noise_lr))
    opt = Adam(groups)
    precision = precision or choose("fp32", G.device)
    autocast = precision.autocast
    scaler = torch.amp.GradScaler(G.device.type, enabled=precision.name == "fp16")  # fp16 weight gradients underflow

    def synth(ws):
        with autocast():
            return tuned.synthesis(ws, noise_mode="const").float()
    for i in range(steps):
        if probe is None or i % locality_every:
            loss = loss_fn(synth(pivot), target)
        else:   # the pivot and the probe in one batch: one pass through the synthesis instead of two
            w_r, before = probe.sample()
            both = synth(torch.cat([pivot, w_r]))
            loss = loss_fn(both[:1], target) + locality_every * locality_weight * loss_fn(both[1:], before)
        if noise_lr > 0 and noise_weight > 0:
            loss = loss + noise_weight * whiteness_penalty([m for m in maps if m.requires_grad])
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        if progress is not None:
            progress(i + 1, steps, float(loss.detach()))
    if noise_lr > 0:   # back to plain buffers (state_dict, deepcopy and the delta see them as before)
        for layer, m in zip(tuned.synthesis._noisy(), maps):
            layer.noise = m.detach()
    return tuned.eval().requires_grad_(False)
