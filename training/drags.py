"""Drag consistency: make what DragGAN's tracker claims true in the picture.

On a 64 px student distilled by regression, DragGAN's motion supervision tends to smear or
recolour features instead of moving content, and the tracker follows the smear: the engine
reports the handle at its target while optical flow sees the content move about a quarter of
the way. This term trains against exactly that. For a sub-batch of faces and random drags:

  1. run a few DragGAN steps (the engine's own maths: `draggan.engine.motion_loss` and
     `track_points`, batched over faces; the student frozen) from w to w';
  2. the target is the start image warped so the content at each handle moves by what the
     tracker claims it moved (a Gaussian displacement bump, sigma = res/8);
  3. the student is trained so that G(w') *is* that image (pixels, pooled pixels, and the
     feature stage DragGAN reads, warped alike).

Over training, the directions DragGAN finds in W+ become geometric: the engine's claim and the
image agree. Measured by optical flow on held-out drags (benchmarks.calibrate /
benchmarks.poster_edits), never by the engine itself.
"""
import math

import torch
import torch.nn.functional as F

from dragcore.config import DragGANConfig
from dragcore.features import disc_offsets, sample_resized, scaled_radius, square_offsets
from dragcore.protocol import TRAINABLE_ROWS
from draggan.engine import default_stop_distance, motion_loss, track_points


def random_drags(n, res, generator):
    """Handles in the central half of the image; lengths 2 %-15 % of the image in any direction.
    Returns (handles [n, 2], vectors [n, 2]) in image px."""
    h = (0.25 + 0.5 * torch.rand(n, 2, generator=generator)) * res
    ang = 2 * math.pi * torch.rand(n, generator=generator)
    length = (0.02 + 0.13 * torch.rand(n, generator=generator)) * res
    return h, torch.stack([ang.cos(), ang.sin()], 1) * length[:, None]


def warp(x, handles, vectors, sigma, res):
    """Maps x [n, C, s, s] (covering a res x res image) warped so the content at each handle
    moves by its vector, the displacement falling off as a Gaussian of width sigma around the
    destination: out(y) = x(y - u(y)), u(y) = v exp(-|y - (h + v)|^2 / 2 sigma^2)."""
    s = x.shape[-1]
    c = (torch.arange(s, dtype=x.dtype, device=x.device) + 0.5) * (res / s) - 0.5  # pixel centres, image px
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    dest = handles + vectors
    g = torch.exp(-((xx[None] - dest[:, 0, None, None]) ** 2 + (yy[None] - dest[:, 1, None, None]) ** 2)
                  / (2 * sigma * sigma))
    sx = xx[None] - vectors[:, 0, None, None] * g
    sy = yy[None] - vectors[:, 1, None, None] * g
    grid = torch.stack([(sx + 0.5) * (2 / res) - 1, (sy + 0.5) * (2 / res) - 1], -1)
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="border", align_corners=False)


def drag_latents(G, ws, handles, targets, steps, lr, feature_res):
    """DragGAN on a batch of W+ latents (one handle each), the generator frozen: Adam on rows
    0-5, nearest-neighbour tracking, one optimiser for the batch (Adam is element-wise, so each
    face is its own drag). Returns (ws after the drag, tracked handles)."""
    res = G.img_resolution
    cfg = DragGANConfig()   # the engine's defaults (dragcore.config) and its stop rule
    disc = disc_offsets(scaled_radius(cfg.r1, res, feature_res))
    square = square_offsets(scaled_radius(cfg.r2, res, feature_res))
    stop = default_stop_distance(res)
    rows = min(TRAINABLE_ROWS, G.num_ws)
    train = ws[:, :rows].detach().clone().requires_grad_(True)
    frozen = ws[:, rows:].detach()
    opt = torch.optim.Adam([train], lr=lr)
    feat_of = lambda: G.synthesis.features(torch.cat([train, frozen], 1), feature_res)
    with torch.no_grad():
        f0 = feat_of()
    refs = [sample_resized(f0[i:i + 1], handles[i:i + 1], res) for i in range(len(ws))]
    h = handles.clone()
    for k in range(steps + 1):
        feat = feat_of() if k < steps else feat_of().detach()
        if k:
            h = torch.cat([track_points(feat[i:i + 1].detach(), h[i:i + 1], refs[i], square, res) for i in range(len(ws))])
        if k == steps:
            break
        loss = sum(motion_loss(feat[i:i + 1], h[i:i + 1], targets[i:i + 1], disc, res, stop) for i in range(len(ws)))
        if not loss.requires_grad:  # every handle already within the stop distance
            break
        train.grad, = torch.autograd.grad(loss, [train])
        opt.step()
    return torch.cat([train.detach(), frozen], 1), h


def consistency_loss(G, ws, generator, steps=8, lr=0.01, feature_res=32):
    """The drag-consistency term for a sub-batch of W+ latents (see the module docstring).
    Returns (pixel term, feature term, dragged images for the discriminator, the tracker's
    claimed fraction of the requested way)."""
    res = G.img_resolution
    handles, vectors = random_drags(len(ws), res, generator)
    targets = (handles + vectors).clamp(0, res - 1)
    with torch.no_grad():
        start, feats = G.synthesis.image_and_features(ws, (feature_res,))
    was_training = G.training
    G.eval().requires_grad_(False)
    ws_end, tracked = drag_latents(G, ws, handles, targets, steps, lr, feature_res)
    G.train(was_training).requires_grad_(True)
    claimed = tracked - handles
    sigma = res / 8
    img_t = warp(start, handles, claimed, sigma, res)
    feat_t = warp(feats[feature_res], handles, claimed, sigma, res)
    img, out = G.synthesis.image_and_features(ws_end, (feature_res,))
    scale = feats[feature_res].square().mean(dim=[0, 2, 3], keepdim=True).sqrt().clamp_min(1e-3)
    pix = (img - img_t).abs().mean() + sum((F.adaptive_avg_pool2d(img, s) - F.adaptive_avg_pool2d(img_t, s)).abs().mean()
                                           for s in (32, 16))
    feat = ((out[feature_res] - feat_t) / scale).abs().mean()
    frac = float(((claimed * (targets - handles)).sum(1) / (targets - handles).square().sum(1).clamp_min(1e-6)).mean())
    return pix, feat, img, frac
