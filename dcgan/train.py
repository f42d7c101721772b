"""Training a DCGAN from scratch: Adam (lr 2e-4, beta1 0.5), BCE, real/fake labels 1/0.

Every iteration appends (iteration, epoch, loss_D, loss_G, D(x), D(G(z))) to `losses.csv`;
every epoch redraws `loss_curves.png`, writes a fixed-noise grid `samples_epoch{E}.png` and
saves `checkpoint.pt` (state dicts only, read back with torch.load(weights_only=True)), so a
run can stop at any time and `--resume` continues the iteration count.
"""
import csv
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from stylegan.imageops import to_uint8

from .data import ImageFolder
from .errors import DCGANCheckpointError
from .model import Discriminator, Generator, init_weights


def grid(images, nrow=8):
    """[N, 3, H, W] in [-1, 1] -> PIL grid."""
    x = to_uint8(images)
    n, h, w, _ = x.shape
    rows = math.ceil(n / nrow)
    out = np.zeros((rows * h, nrow * w, 3), np.uint8)
    for i in range(n):
        out[(i // nrow) * h:(i // nrow + 1) * h, (i % nrow) * w:(i % nrow + 1) * w] = x[i]
    return Image.fromarray(out)


def plot_losses(csv_path, png_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = list(csv.DictReader(open(csv_path)))
    it = [int(r["iteration"]) for r in rows]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(it, [float(r["loss_D"]) for r in rows], label="D", lw=0.8)
    ax.plot(it, [float(r["loss_G"]) for r in rows], label="G", lw=0.8)
    ax.set_xlabel("iteration"), ax.set_ylabel("BCE loss"), ax.legend(), ax.set_title("DCGAN losses")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)


def load_checkpoint(path):
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(ck, dict) or not {"G", "D", "optG", "optD", "iteration", "epoch"} <= set(ck):
            raise DCGANCheckpointError(f"{path} is not a DCGAN training checkpoint")
        return ck
    except DCGANCheckpointError:
        raise
    except Exception as e:  # truncated zip, not a torch file, unsafe content...
        raise DCGANCheckpointError(f"cannot resume from {path}: corrupt or not a checkpoint ({type(e).__name__})") from None


def train(data, out, epochs=5, batch_size=128, lr=2e-4, seed=0, ngf=64, ndf=64, resume=False, max_iters=None,
          workers=0, device="cpu", log=print):
    """Train G and D on the image folder `data`, writing checkpoints, losses and sample grids to `out`.
    (Over 60 lines on purpose: the classic alternating D / G loop kept in one piece, as the paper and
    the PyTorch tutorial present it.)"""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dataset = data if isinstance(data, ImageFolder) else ImageFolder(data)   # a folder, or one already scanned
    torch.manual_seed(seed)
    G, D = Generator(ngf=ngf).to(device), Discriminator(ndf=ndf).to(device)
    G.apply(init_weights), D.apply(init_weights)
    optG = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    optD = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    fixed = torch.randn(64, 100, 1, 1, generator=torch.Generator().manual_seed(seed)).to(device)
    iteration, start_epoch = 0, 0
    ckpt = out / "checkpoint.pt"
    if resume:
        if not ckpt.is_file():
            raise DCGANCheckpointError(f"--resume: no checkpoint at {ckpt}")
        ck = load_checkpoint(ckpt)
        try:
            G.load_state_dict(ck["G"]), D.load_state_dict(ck["D"])
            optG.load_state_dict(ck["optG"]), optD.load_state_dict(ck["optD"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise DCGANCheckpointError(f"checkpoint {ckpt} does not match this model ({e})") from None
        iteration, start_epoch = int(ck["iteration"]), int(ck["epoch"])
        log(f"resumed at iteration {iteration}, epoch {start_epoch}")
    loader = torch.utils.data.DataLoader(dataset, batch_size=min(batch_size, len(dataset)), shuffle=True,
                                         drop_last=True, num_workers=workers)
    bce = torch.nn.BCELoss()
    csv_path = out / "losses.csv"
    new_csv = not (resume and csv_path.is_file())
    with open(csv_path, "w" if new_csv else "a", newline="") as f:
        writer = csv.writer(f)
        if new_csv:
            writer.writerow(["iteration", "epoch", "loss_D", "loss_G", "D_x", "D_G_z"])
        t0 = time.perf_counter()
        for epoch in range(start_epoch, epochs):
            for real in tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", leave=False):
                real = real.to(device)
                n = real.shape[0]
                # D: maximise log D(x) + log(1 - D(G(z)))
                D.zero_grad(set_to_none=True)
                out_real = D(real)
                fake = G(torch.randn(n, 100, 1, 1, device=device))
                out_fake = D(fake.detach())
                loss_D = bce(out_real, torch.ones_like(out_real)) + bce(out_fake, torch.zeros_like(out_fake))
                loss_D.backward()
                optD.step()
                # G: maximise log D(G(z)) (the non-saturating loss)
                G.zero_grad(set_to_none=True)
                out_g = D(fake)
                loss_G = bce(out_g, torch.ones_like(out_g))
                loss_G.backward()
                optG.step()
                iteration += 1
                if not (math.isfinite(loss_D.item()) and math.isfinite(loss_G.item())):
                    raise FloatingPointError(f"losses diverged at iteration {iteration}")
                writer.writerow([iteration, epoch, f"{loss_D.item():.5f}", f"{loss_G.item():.5f}",
                                 f"{out_real.mean().item():.4f}", f"{out_fake.mean().item():.4f}"])
                if max_iters is not None and iteration >= max_iters:
                    break
            f.flush()
            G.eval()
            with torch.no_grad():
                grid(G(fixed)).save(out / f"samples_epoch{epoch + 1:03d}.png")
            G.train()
            plot_losses(csv_path, out / "loss_curves.png")
            tmp = out / "checkpoint.pt.tmp"
            torch.save(dict(G=G.state_dict(), D=D.state_dict(), optG=optG.state_dict(), optD=optD.state_dict(),
                            iteration=iteration, epoch=epoch + 1, ngf=ngf, ndf=ndf), tmp)
            os.replace(tmp, ckpt)
            log(f"epoch {epoch + 1}: iteration {iteration}, loss_D {loss_D.item():.3f}, loss_G {loss_G.item():.3f}, "
                f"{time.perf_counter() - t0:.0f}s")
            if max_iters is not None and iteration >= max_iters:
                break
    return dict(iterations=iteration, seconds=time.perf_counter() - t0)
