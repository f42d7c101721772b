"""Training a DCGAN from scratch: Adam (lr 2e-4, beta1 0.5), BCE, real/fake labels 1/0.

The run folder is the run: every iteration appends (iteration, epoch, loss_D, loss_G, D(x), D(G(z)))
to `losses.csv`; every epoch redraws `loss_curves.png`, writes a fixed-noise grid
`samples_epoch{E}.png` and saves `checkpoint.pt` (state dicts, the run's settings and targets, read
back with torch.load(weights_only=True)). The checkpoint is also saved where the run stops early
(`stop()`, `max_iters`), mid-epoch included (`epoch`: the epochs done, `epoch_iters`: the batches
done in the next one). Each file is replaced whole (clisafe.atomic_file), so a run stopped at any
time, even killed, leaves a checkpoint that `resume` continues, the iteration count going on.

Every random draw after the initial weights comes from the run's seed and where the run is: epoch e's shuffle
from (seed, e), iteration i's z from (seed, i). A resumed run therefore goes on exactly as the run would have
without the stop (mid-epoch: the batches that epoch had left, in its order), so 2 + 2 resumed iterations are
4 straight ones.
"""
import csv
import math
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

import clisafe
from stylegan.imageops import to_uint8

from .data import ImageFolder
from .errors import DCGANCheckpointError, DCGANError
from .model import Discriminator, Generator, init_weights

SETTINGS = dict(ngf=64, ndf=64, batch_size=128, lr=2e-4, seed=0)   # what a run keeps: resuming takes the run's
TARGETS = dict(epochs=5, max_iters=None)   # where a run ends: resuming keeps the run's unless given new ones
RUN_FILES = ("checkpoint.pt", "losses.csv", "loss_curves.png", "samples_epoch*")   # what a run writes in its folder
CSV_FIELDS = ["iteration", "epoch", "loss_D", "loss_G", "D_x", "D_G_z"]


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
    """A DCGAN training checkpoint, read safely (weights_only); DCGANCheckpointError naming `path` otherwise."""
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - truncated zip, not a torch file, unsafe content...
        raise DCGANCheckpointError(f"cannot read the checkpoint {path}: corrupt or not a checkpoint "
                                   f"({type(e).__name__})") from None
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if (not isinstance(ck, dict) or not {"G", "D", "optG", "optD", "iteration", "epoch"} <= set(ck)
            or not (number(ck["iteration"]) and number(ck["epoch"]))
            or not all(number(ck[k]) for k in ("epoch_iters", *SETTINGS, *TARGETS) if ck.get(k) is not None)):
        raise DCGANCheckpointError(f"{path} is not a DCGAN training checkpoint")
    return ck


def run_checkpoint(out):
    """The checkpoint of the run in the folder `out`, to resume it (DCGANCheckpointError if there is none)."""
    path = Path(out) / "checkpoint.pt"
    if not path.is_file():
        raise DCGANCheckpointError(f"--resume: no checkpoint at {path} (run without --resume to start)")
    return load_checkpoint(path)


def resume_settings(ck, given):
    """The settings and targets to resume the run of checkpoint `ck` with: each of `given` that is None is
    the run's (a checkpoint older than it: the default). A given setting that differs from the run's is
    refused here, before any weight is loaded; a target may change."""
    saved = {k: ck[k] for k in (*SETTINGS, *TARGETS) if k in ck}
    diff = [f"--{k.replace('_', '-')} {given[k]} does not match the run's {saved[k]}" for k in SETTINGS
            if given.get(k) is not None and k in saved and given[k] != saved[k]]
    if diff:
        raise DCGANCheckpointError(f"--resume: {'; '.join(diff)}; drop {'it' if len(diff) == 1 else 'them'} "
                                   f"or start again with --force")
    defaults = {**SETTINGS, **TARGETS}
    return {k: saved.get(k, defaults[k]) if given.get(k) is None else given[k] for k in defaults}


def check_work_left(ck, epochs, max_iters):
    """Refuse to resume a run that is already at `max_iters` or past its `epochs`: nothing would run."""
    it, done = ck["iteration"], ck["epoch"]
    if max_iters is not None and it >= max_iters:
        raise DCGANError(f"--resume: the run is already at iteration {it}, at or past --max-iters {max_iters}, "
                         f"so nothing was run; give a larger --max-iters")
    if done >= epochs:
        raise DCGANError(f"--resume: the run has already done {done} epochs ({it} iterations), at or past "
                         f"--epochs {epochs}, so nothing was run; give a larger --epochs")


def train(data, out, epochs=5, batch_size=128, lr=2e-4, seed=0, ngf=64, ndf=64, resume=False, max_iters=None,
          workers=0, device="cpu", log=print, stop=lambda: False):
    """Train G and D on the image folder `data` (or an ImageFolder) in the run folder `out`, for `epochs` or up
    to `max_iters` iterations in all. `resume`: True continues the run in `out` (or give its checkpoint, read
    by run_checkpoint), which must have these settings; else the run starts afresh, removing an earlier run's
    files from `out`. `stop()` is asked after every iteration: when true, the run checkpoints where it is
    and returns. Returns iterations (in all), seconds (of this call), epoch (those done) and stopped."""
    ck = run_checkpoint(out) if resume is True else (resume or None)
    settings = dict(ngf=ngf, ndf=ndf, batch_size=batch_size, lr=lr, seed=seed)
    if ck is not None:
        resume_settings(ck, settings), check_work_left(ck, epochs, max_iters)
    dataset = data if isinstance(data, ImageFolder) else ImageFolder(data)   # a folder, or one already scanned
    out = Path(out)
    if ck is None:
        _clear_run(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    nets = _networks(settings, device)
    fixed = torch.randn(64, 100, 1, 1, generator=torch.Generator().manual_seed(seed)).to(device)
    iteration, epoch, in_epoch = _load_state(nets, ck, out / "checkpoint.pt") if ck is not None else (0, 0, 0)
    if ck is not None:
        log(f"resumed at iteration {iteration}, epoch {epoch}" + (f" (+{in_epoch} batches)" if in_epoch else ""))
    batch = min(batch_size, len(dataset))
    per_epoch = len(dataset) // batch   # whole batches only (drop_last)
    bce, csv_path = torch.nn.BCELoss(), clisafe.trim_log(out / "losses.csv", "iteration", iteration, CSV_FIELDS)
    t0, row, stopped = time.perf_counter(), None, False
    with open(csv_path, "a", newline="") as f:
        writer = csv.writer(f)
        while epoch < epochs and not stopped and not _at_limit(iteration, max_iters):
            # this epoch's order; a resumed epoch: the batches it had left
            order = _draws(seed, "epoch", epoch, lambda g: torch.randperm(len(dataset), generator=g))
            loader = torch.utils.data.DataLoader(dataset, batch_size=batch, drop_last=True, num_workers=workers,
                                                 sampler=order[in_epoch * batch:per_epoch * batch].tolist())
            for real in tqdm(loader, total=len(loader), desc=f"epoch {epoch + 1}/{epochs}", leave=False, disable=None):
                z = _draws(seed, "z", iteration, lambda g: torch.randn(real.shape[0], 100, 1, 1, generator=g))
                row = _step(nets, real.to(device), z.to(device), bce)
                iteration, in_epoch = iteration + 1, in_epoch + 1
                if not all(map(math.isfinite, row[:2])):
                    raise FloatingPointError(f"losses diverged at iteration {iteration}")
                writer.writerow([iteration, epoch, *(f"{v:.5f}" for v in row[:2]), *(f"{v:.4f}" for v in row[2:])])
                stopped = stop()
                if stopped or _at_limit(iteration, max_iters):
                    break
            f.flush()
            shown, ended = epoch + 1, in_epoch >= per_epoch   # the epoch in progress, 1-based; is it done?
            if ended:
                epoch, in_epoch = epoch + 1, 0
            _save_checkpoint(out / "checkpoint.pt", nets, settings, epochs=epochs, max_iters=max_iters,
                             iteration=iteration, epoch=epoch, epoch_iters=in_epoch)
            if ended or _at_limit(iteration, max_iters):   # the grid and curves where an epoch or the run ends
                _draw(nets["G"], fixed, shown, csv_path, out)
            if ended:
                log(f"epoch {epoch}: iteration {iteration}, " + (f"loss_D {row[0]:.3f}, loss_G {row[1]:.3f}, "
                                                                 if row else "") + f"{time.perf_counter() - t0:.0f}s")
    stopped = stopped and epoch < epochs and not _at_limit(iteration, max_iters)   # a stop at the end: done
    return dict(iterations=iteration, seconds=time.perf_counter() - t0, epoch=epoch, stopped=stopped)


def _at_limit(iteration, max_iters):
    return max_iters is not None and iteration >= max_iters


DRAWS = {"epoch": 0, "z": 1}   # what a run draws, each from a stream of its own


def _draws(seed, what, at, draw):
    """`draw(generator)` from a generator seeded by the run's seed, what is drawn (DRAWS) and where the run is
    (the epoch, the iteration)."""
    return draw(torch.Generator().manual_seed((((seed * len(DRAWS) + DRAWS[what]) << 30) + at) % 2**64))


def _step(nets, real, z, bce):
    """One alternating step as the paper and the PyTorch tutorial give it: D maximises log D(x) +
    log(1 - D(G(z))), then G maximises log D(G(z)) (the non-saturating loss). Returns the numbers of
    its log row: loss_D, loss_G, D(x), D(G(z))."""
    G, D, optG, optD = nets["G"], nets["D"], nets["optG"], nets["optD"]
    D.zero_grad(set_to_none=True)
    out_real = D(real)
    fake = G(z)
    out_fake = D(fake.detach())
    loss_D = bce(out_real, torch.ones_like(out_real)) + bce(out_fake, torch.zeros_like(out_fake))
    loss_D.backward()
    optD.step()
    G.zero_grad(set_to_none=True)
    out_g = D(fake)
    loss_G = bce(out_g, torch.ones_like(out_g))
    loss_G.backward()
    optG.step()
    return loss_D.item(), loss_G.item(), out_real.mean().item(), out_fake.mean().item()


def _networks(settings, device):
    """G and D (initialised from torch's current seed) and their Adam optimisers, by checkpoint key."""
    G, D = Generator(ngf=settings["ngf"]).to(device), Discriminator(ndf=settings["ndf"]).to(device)
    G.apply(init_weights), D.apply(init_weights)
    optG, optD = (torch.optim.Adam(net.parameters(), lr=settings["lr"], betas=(0.5, 0.999)) for net in (G, D))
    return dict(G=G, D=D, optG=optG, optD=optD)


def _load_state(nets, ck, path):
    """Checkpoint `ck`'s networks and optimisers loaded into `nets`; its (iteration, epoch, epoch_iters)."""
    try:
        for key, obj in nets.items():
            obj.load_state_dict(ck[key])
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise DCGANCheckpointError(f"checkpoint {path} does not match this model "
                                   f"({clisafe.one_line(e, 120)})") from None
    return int(ck["iteration"]), int(ck["epoch"]), int(ck.get("epoch_iters", 0))


def _save_checkpoint(path, nets, settings, **progress):
    """checkpoint.pt replaced whole (a stop or a kill while saving leaves the previous one)."""
    with clisafe.atomic_file(path) as tmp:
        torch.save({**{key: obj.state_dict() for key, obj in nets.items()}, **settings, **progress}, tmp)


def _draw(G, fixed, epoch, csv_path, out):
    """The fixed-noise grid `samples_epoch{epoch}.png` and `loss_curves.png`, each replaced whole."""
    G.eval()
    with torch.no_grad(), clisafe.atomic_file(out / f"samples_epoch{epoch:03d}.png") as tmp:
        grid(G(fixed)).save(tmp)
    G.train()
    with clisafe.atomic_file(out / "loss_curves.png") as tmp:
        plot_losses(csv_path, tmp)


def _clear_run(out):
    """The files an earlier run left in `out` removed, so a fresh run never mixes with them (a killed write's
    temporary leftovers too: clisafe.leftover_of)."""
    for p in Path(out).iterdir() if Path(out).is_dir() else ():
        if p.is_file() and clisafe.owned(p.name, RUN_FILES):
            p.unlink()
