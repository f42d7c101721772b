"""The model card's figures: random faces, student vs teacher, style mixing, W interpolation,
truncation, and the loss curves of a run."""
import csv
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from latent.mixing import layer_ranges
from stylegan.imageops import to_uint8


def _grid(imgs, cols, gap=2):
    """uint8 [N, H, W, 3] -> one image with white gaps."""
    n, h, w, _ = imgs.shape
    rows = (n + cols - 1) // cols
    canvas = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap, 3), 255, np.uint8)
    for i, a in enumerate(imgs):
        r, c = divmod(i, cols)
        canvas[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = a
    return canvas


def _save(a, path, k=2):
    Image.fromarray(a).resize((a.shape[1] * k, a.shape[0] * k), Image.NEAREST).save(path)


@torch.no_grad()
def make_figures(G, T, out, seed=7):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(32, G.z_dim, generator=g)
    _save(_grid(to_uint8(G(z)), 8), out / "random_faces.png")
    _save(_grid(to_uint8(torch.cat([T(z[:8]), G(z[:8])])), 8), out / "student_vs_teacher.png")
    # style mixing: row 0 the destinations A, then per source B and range: A with B's rows of that range
    zA, zB = torch.randn(6, G.z_dim, generator=g), torch.randn(2, G.z_dim, generator=g)
    wA, wB = G.mapping(zA), G.mapping(zB)
    rows = [to_uint8(G.synthesis(wA))]
    for b in range(len(zB)):
        for idx in layer_ranges(G.num_ws).values():
            ws = wA.clone()
            ws[:, list(idx)] = wB[b, list(idx)]
            rows.append(to_uint8(G.synthesis(ws)))
    _save(_grid(np.concatenate(rows), 6), out / "style_mixing.png")
    t = torch.linspace(0, 1, 8)
    strips = []
    for _ in range(3):
        w0, w1 = G.mapping(torch.randn(2, G.z_dim, generator=g))
        strips.append(to_uint8(G.synthesis(torch.stack([w0.lerp(w1, float(x)) for x in t]))))
    _save(_grid(np.concatenate(strips), 8), out / "w_interpolation.png")
    zt = torch.randn(6, G.z_dim, generator=g)
    _save(_grid(np.concatenate([to_uint8(G(zt, truncation_psi=psi)) for psi in (1.0, 0.7, 0.4, 0.0)]), 6),
          out / "truncation.png")


def loss_rows(csv_path):
    """(the rows of a losses CSV as dicts, matplotlib.pyplot on the file-only Agg backend): what every
    loss-curve figure of the trainers starts from."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with open(csv_path, newline="") as f:
        return list(csv.DictReader(f)), plt


def plot_losses(csv_path, png_path):
    rows, plt = loss_rows(csv_path)
    if not rows:
        return None
    step = [int(r["step"]) for r in rows]
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    for key in ("loss", "l1", "ms_l1", "hint", "drag_pix"):
        pts = [(s, float(r[key])) for s, r in zip(step, rows) if r.get(key)]
        if pts:
            ax[0].plot(*zip(*pts), label=key, lw=0.8)
    ax[0].set_yscale("log"); ax[0].set_xlabel("step"); ax[0].set_title("training losses (batch)"); ax[0].legend()
    ev = [(s, float(r["val_mae"])) for s, r in zip(step, rows) if r.get("val_mae")]
    if ev:
        ax[1].plot(*zip(*ev), marker="o", ms=3)
    ax[1].set_xlabel("step"); ax[1].set_ylabel("MAE (/255)"); ax[1].set_title("held-out MAE vs teacher (EMA)")
    cl = [(s, float(r["claimed"])) for s, r in zip(step, rows) if r.get("claimed")]
    if cl:
        ax[2].plot(*zip(*cl), lw=0.6)
    ax[2].set_xlabel("step"); ax[2].set_title("drag phase: tracker's claimed fraction (batch)")
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return png_path
