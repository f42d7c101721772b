"""Distil the pretrained 64 px DCGAN of `gan-face-generate` into a small StyleGAN2 (our Generator).

The student sees the teacher's z (z_dim 100), so G_s(z) is trained to reproduce teacher(z): the
same z gives the same face. Losses: pixel L1 + L2, L1 on 32/16/8 px downsamplings, and feature
hints (student block outputs at 4/8/16/32 px matched to the teacher's activations of the same
resolution through learned 1x1 adapters). The mapping network is a real 4-layer MLP, so style
mixing and W interpolation behave like StyleGAN; w_avg is tracked for truncation.

Fresh z every step (the teacher forward is cheap), an EMA copy of the student is exported,
checkpoints are written every few minutes and `--resume` continues the step count.

    python -m stylegan.distill --out runs/distill --minutes 120
    python -m stylegan.distill --out runs/distill --minutes 150 --resume
"""
import argparse
import copy
import csv
import json
import math
import os
import pickle
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .io import save
from .networks import Generator

TEACHER_RES = (4, 8, 16, 32)  # resolutions at which the DCGAN exposes activations
EVAL_SEED = 20260101  # held-out z for the MAE figure; never used for training
DEFAULT_CHANNELS = {4: 256, 8: 256, 16: 128, 32: 64, 64: 32}


# ----------------------------------------------------------------------------------------------
# Teacher

def load_teacher():
    """The pretrained DCGAN (eval mode, frozen) from `dcgan/`."""
    try:
        import dcgan
        T = dcgan.load_pretrained()
    except (ImportError, AttributeError):  # TEMPORARY until dcgan/ lands
        T = _tmp_teacher()
    return T.eval().requires_grad_(False)


def _tmp_teacher():
    import gan_face_generate
    layers, ch = [], [100, 512, 256, 128, 64]
    for i in range(4):
        layers += [nn.ConvTranspose2d(ch[i], ch[i + 1], 4, 1 if i == 0 else 2, 0 if i == 0 else 1, bias=False),
                   nn.BatchNorm2d(ch[i + 1]), nn.ReLU(True)]
    layers += [nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), nn.Tanh()]
    T = nn.Module()
    T.main = nn.Sequential(*layers)
    sd = torch.load(Path(gan_face_generate.__file__).parent / "weights.tar", map_location="cpu", weights_only=True)
    T.load_state_dict(sd["netG_state_dict"])
    return T


def teacher_forward(T, z):
    """z [N, 100] -> (image [N, 3, 64, 64] in [-1, 1], {res: activation after ReLU})."""
    feats = {}
    x = z.reshape(z.shape[0], -1, 1, 1)
    for layer in T.main:
        x = layer(x)
        if isinstance(layer, nn.ReLU):
            feats[x.shape[-1]] = x
    return x, feats


# ----------------------------------------------------------------------------------------------
# Student

def build_student(channels=None, w_dim=256, map_layers=4, map_lr=1.0, z_dim=100, resolution=64):
    channels = {int(k): int(v) for k, v in (channels or DEFAULT_CHANNELS).items()}
    return Generator(z_dim=z_dim, w_dim=w_dim, resolution=resolution, mapping_layers=map_layers, mapping_lr=map_lr,
                     channels=channels, conv_clamp=256)


def student_forward(G, z, hint_res):
    """Image and the block outputs at hint_res, in one synthesis pass, tracking w_avg."""
    ws = G.mapping(z, update_w_avg=G.training)
    return G.synthesis.image_and_features(ws, hint_res, noise_mode="const")


class Adapters(nn.Module):
    """1x1 convolutions from student block channels to teacher channels, one per hint resolution."""

    def __init__(self, student_channels, teacher_channels):
        super().__init__()
        self.res = sorted(teacher_channels)
        self.convs = nn.ModuleDict({str(r): nn.Conv2d(student_channels[r], teacher_channels[r], 1)
                                    for r in self.res})

    def forward(self, feats):
        return {r: self.convs[str(r)](feats[r]) for r in self.res}


class Discriminator(nn.Module):
    """Small 64 px discriminator for the optional adversarial term (sharpens what pixel losses blur).

    Strided convolutions 64 -> 4 px with leaky ReLU and spectral norm (stable without R1 at
    this size), then a linear logit. Real = teacher images, fake = student images.
    """

    def __init__(self, channels=(32, 64, 128, 256)):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        layers, c_in = [], 3
        for c in channels:
            layers += [sn(nn.Conv2d(c_in, c, 4, 2, 1)), nn.LeakyReLU(0.2)]
            c_in = c
        self.body = nn.Sequential(*layers)
        self.head = sn(nn.Linear(c_in * 4 * 4, 1))

    def forward(self, img):
        return self.head(self.body(img).flatten(1)).squeeze(1)


# ----------------------------------------------------------------------------------------------
# Losses

def pixel_losses(img, target, scales=(32, 16, 8)):
    l1 = (img - target).abs().mean()
    l2 = (img - target).square().mean()
    ms = sum((F.adaptive_avg_pool2d(img, s) - F.adaptive_avg_pool2d(target, s)).abs().mean() for s in scales)
    return l1, l2, ms


def hint_loss(pred, target, scale):
    """Mean over resolutions of MSE between adapted student features and the teacher's, each
    teacher activation divided by its per-channel RMS (measured once) so all resolutions count."""
    return sum(((pred[r] - target[r]) / scale[r]).square().mean() for r in pred) / len(pred)


# ----------------------------------------------------------------------------------------------
# Evaluation helpers

def to_uint8(img):
    return ((img.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def heldout_z(n=100, z_dim=100):
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(EVAL_SEED))


@torch.no_grad()
def mae_255(G, T, z, batch=50):
    """Mean absolute pixel difference student vs teacher, in /255 units (after quantising both)."""
    total = 0.0
    for i in range(0, len(z), batch):
        zb = z[i:i + batch]
        s = to_uint8(G(zb, noise_mode="const")).float()
        t = to_uint8(teacher_forward(T, zb)[0]).float()
        total += (s - t).abs().mean().item() * len(zb)
    return total / len(z)


def plot_losses(csv_path, png_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = list(csv.DictReader(open(csv_path)))
    if not rows:
        return
    step = [int(r["step"]) for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    for key in ("loss", "l1", "ms_l1", "hint"):
        ax[0].plot(step, [float(r[key]) for r in rows], label=key, lw=0.8)
    ax[0].set_yscale("log"); ax[0].set_xlabel("step"); ax[0].set_title("training losses (batch)"); ax[0].legend()
    ev = [(int(r["step"]), float(r["val_mae"])) for r in rows if r.get("val_mae")]
    if ev:
        ax[1].plot(*zip(*ev), marker="o", ms=3)
    ax[1].set_xlabel("step"); ax[1].set_ylabel("MAE (/255)"); ax[1].set_title("held-out MAE vs teacher (EMA student)")
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)


def style_ranges(G):
    """w rows of each synthesis resolution group: coarse (4-8 px), middle (16-32 px), fine (64 px+)."""
    rows = {}
    for i, res in enumerate(G.synthesis.block_resolutions):
        first, n_conv = G.synthesis.first_row(i), (1 if i == 0 else 2)
        rows[res] = list(range(first, first + n_conv + (res == G.img_resolution)))
    group = lambda lo, hi: sorted({i for r, ix in rows.items() if lo <= r <= hi for i in ix})
    return {"coarse": group(4, 8), "middle": group(16, 32), "fine": group(64, 10 ** 9)}


@torch.no_grad()
def make_figures(G, T, out, seed=7, loss_png=None):
    """Random faces (student and teacher for the same z), a style-mixing grid, W interpolation."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    np_img = lambda x: to_uint8(x).permute(0, 2, 3, 1).numpy()

    def grid(imgs, cols):  # uint8 [N, H, W, 3] -> one image, 2 px gaps
        import numpy as np
        n, h, w, _ = imgs.shape
        rows = (n + cols - 1) // cols
        canvas = np.full((rows * (h + 2) - 2, cols * (w + 2) - 2, 3), 255, np.uint8)
        for i, a in enumerate(imgs):
            r, c = divmod(i, cols)
            canvas[r * (h + 2):r * (h + 2) + h, c * (w + 2):c * (w + 2) + w] = a
        return canvas

    up = lambda a, k=2: Image.fromarray(a).resize((a.shape[1] * k, a.shape[0] * k), Image.NEAREST)
    z = torch.randn(32, G.z_dim, generator=g)
    up(grid(np_img(G(z)), 8)).save(out / "random_faces.png")
    zc = z[:8]
    both = torch.cat([teacher_forward(T, zc)[0], G(zc)])
    up(grid(np_img(both), 8)).save(out / "student_vs_teacher.png")

    # style mixing: columns are destination faces A; each row copies one group of w rows from B
    ranges = style_ranges(G)
    zA, zB = torch.randn(6, G.z_dim, generator=g), torch.randn(2, G.z_dim, generator=g)
    wA, wB = G.mapping(zA), G.mapping(zB)
    imA, imB = np_img(G.synthesis(wA)), np_img(G.synthesis(wB))
    fig, axes = plt.subplots(1 + 3 * len(zB), 1 + len(zA), figsize=(1.2 * (1 + len(zA)), 1.2 * (1 + 3 * len(zB))))
    for ax in axes.flat:
        ax.axis("off")
    for j in range(len(zA)):
        axes[0, j + 1].imshow(imA[j])
        axes[0, j + 1].set_title(f"A{j + 1}", fontsize=8)
    for b in range(len(zB)):
        for k, (name, idx) in enumerate(ranges.items()):
            r = 1 + 3 * b + k
            axes[r, 0].imshow(imB[b])
            axes[r, 0].set_title(f"B{b + 1}: {name}", fontsize=7)
            ws = wA.clone()
            ws[:, idx] = wB[b, idx]
            for j, a in enumerate(np_img(G.synthesis(ws))):
                axes[r, j + 1].imshow(a)
    fig.suptitle("style mixing: row = A with B's coarse (4-8 px) / middle (16-32 px) / fine (64 px) styles",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "style_mixing.png", dpi=110)
    plt.close(fig)

    # W interpolation (linear in W, as StyleGAN) for a few pairs
    t = torch.linspace(0, 1, 8)
    strips = []
    for _ in range(3):
        w0, w1 = G.mapping(torch.randn(2, G.z_dim, generator=g))
        strips.append(np_img(G.synthesis(torch.stack([w0.lerp(w1, float(x)) for x in t]))))
    import numpy as np
    up(grid(np.concatenate(strips), 8)).save(out / "w_interpolation.png")

    # truncation around the tracked w_avg
    zt = torch.randn(6, G.z_dim, generator=g)
    rows = [np_img(G(zt, truncation_psi=psi)) for psi in (1.0, 0.7, 0.4, 0.0)]
    up(grid(np.concatenate(rows), 6)).save(out / "truncation.png")
    if loss_png is not None and Path(loss_png).is_file():
        import shutil
        shutil.copyfile(loss_png, out / "loss_curve.png")


# ----------------------------------------------------------------------------------------------
# Training

class ThreadTuner:
    """Chooses 1 or `max_threads` torch threads by measured step time, re-checked every `period` steps.

    On a CPU shared with other jobs, two OpenMP threads with only one free core run many times
    slower than one thread (each parallel region waits for the descheduled thread); when the
    machine is idle two threads are faster. Measuring is cheaper than guessing.
    """

    def __init__(self, max_threads, period=150, probe=8):
        self.choices = sorted({1, max_threads})
        self.best, self.period, self.probe = self.choices[-1], period, probe
        self.recent, self.trial, self.trial_times, self.count = [], None, [], 0
        torch.set_num_threads(self.best)

    def tick(self, seconds):
        if len(self.choices) == 1:
            return
        self.count += 1
        if self.trial is None:
            self.recent = (self.recent + [seconds])[-self.probe:]
            if self.count % self.period == self.probe + 1:  # probe the other setting
                self.trial, self.trial_times = next(c for c in self.choices if c != self.best), []
                torch.set_num_threads(self.trial)
        else:
            self.trial_times.append(seconds)
            if len(self.trial_times) > self.probe:  # the first step after a switch is discarded
                if _median(self.trial_times[1:]) < _median(self.recent):
                    self.best, self.recent = self.trial, self.trial_times[1:]
                self.trial = None
                torch.set_num_threads(self.best)

    @property
    def threads(self):
        return self.trial or self.best


def _median(xs):
    return sorted(xs)[len(xs) // 2]


CSV_FIELDS = ["step", "wall_s", "cpu_s", "threads", "loss", "l1", "l2", "ms_l1", "hint", "g_adv", "d_loss", "val_mae"]


def _save_checkpoint(path, state):
    tmp = Path(str(path) + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _export(G_ema, path, args, step, cpu_s, wall_s, val_mae):
    save(G_ema, path, source="distilled from gan-face-generate==1.1.1 DCGAN (MIT; DigiFace1M synthetic faces)",
         license="MIT", steps=step, cpu_seconds=round(cpu_s), wall_seconds=round(wall_s),
         heldout_mae_255=f"{val_mae:.3f}", command="python -m stylegan.distill " + args.cmdline)


def distill(args, log=print):
    tuner = ThreadTuner(args.threads) if args.auto_threads else None
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path, csv_path = out / "checkpoint.pt", out / "losses.csv"
    T = load_teacher()

    channels = json.loads(args.channels) if args.channels else DEFAULT_CHANNELS
    G = build_student(channels, args.w_dim, args.map_layers, args.map_lr).train()
    hint_res = [r for r in TEACHER_RES if r in args.hint_res]
    with torch.no_grad():  # teacher channel counts and per-channel RMS of its activations
        _, tf = teacher_forward(T, torch.randn(256, 100, generator=torch.Generator().manual_seed(1)))
    t_scale = {r: tf[r].square().mean(dim=[0, 2, 3], keepdim=True).sqrt().clamp_min(1e-3) for r in hint_res}
    adapters = Adapters({int(k): v for k, v in G.synthesis.channels.items()}, {r: tf[r].shape[1] for r in hint_res})
    opt = torch.optim.Adam(list(G.parameters()) + list(adapters.parameters()), lr=args.lr,
                           betas=(args.beta1, args.beta2))
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    D = opt_D = None
    if args.adv_weight > 0:
        D = Discriminator()
        opt_D = torch.optim.Adam(D.parameters(), lr=args.d_lr, betas=(args.beta1, args.beta2))
    zgen = torch.Generator().manual_seed(args.seed)
    step, wall_s, cpu_s = 0, 0.0, 0.0

    if args.resume:
        if not ckpt_path.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt_path}")
        try:
            ck = torch.load(ckpt_path, map_location="cpu", weights_only=True)
            G.load_state_dict(ck["G"]); G_ema.load_state_dict(ck["G_ema"])
            adapters.load_state_dict(ck["adapters"]); opt.load_state_dict(ck["opt"])
            zgen.set_state(ck["zgen"])
            step, wall_s, cpu_s = ck["step"], ck["wall_s"], ck["cpu_s"]
            if D is not None and "D" in ck:  # a run may switch the adversarial term on when resumed
                D.load_state_dict(ck["D"]); opt_D.load_state_dict(ck["opt_D"])
        except (RuntimeError, KeyError, EOFError, ValueError, pickle.UnpicklingError) as e:
            raise ValueError(f"--resume: checkpoint {ckpt_path} is corrupt or from another student "
                             f"configuration ({type(e).__name__}: {e})") from None
        for g in opt.param_groups:  # the command line wins over the checkpoint's optimiser settings
            g["lr"], g["betas"] = args.lr, (args.beta1, args.beta2)
        log(f"resumed at step {step} ({wall_s / 60:.1f} min, {cpu_s / 60:.1f} CPU min so far)")
    elif csv_path.exists():
        csv_path.unlink()

    z_eval = heldout_z()
    if csv_path.exists():  # keep the log of earlier runs, in the current column layout
        with open(csv_path, newline="") as f:
            old_rows = list(csv.DictReader(f))
        if old_rows and list(old_rows[0].keys()) != CSV_FIELDS:
            with open(csv_path, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
                w.writeheader()
                w.writerows(old_rows)
    new_csv = not csv_path.exists()
    csv_file = open(csv_path, "a", newline="")
    writer = csv.DictWriter(csv_file, fieldnames=CSV_FIELDS)
    if new_csv:
        writer.writeheader()

    def checkpoint():
        val = mae_255(G_ema, T, z_eval)
        state = dict(G=G.state_dict(), G_ema=G_ema.state_dict(), adapters=adapters.state_dict(),
                     opt=opt.state_dict(), zgen=zgen.get_state(), step=step, wall_s=wall_s, cpu_s=cpu_s,
                     args=vars(args))
        if D is not None:
            state.update(D=D.state_dict(), opt_D=opt_D.state_dict())
        _save_checkpoint(ckpt_path, state)
        _export(G_ema, out / "faces64.safetensors", args, step, cpu_s, wall_s, val)
        return val

    budget_s = args.minutes * 60 if args.minutes else math.inf
    max_steps = args.steps if args.steps else math.inf
    if budget_s == math.inf and max_steps == math.inf:
        raise ValueError("give --minutes or --steps")
    last_ckpt = time.time()
    row = {"val_mae": ""}
    t0, c0 = time.time(), time.process_time()
    base_wall, base_cpu = wall_s, cpu_s
    try:
        from tqdm import tqdm
        bar = tqdm(total=None if max_steps == math.inf else max_steps, initial=step, unit="step",
                   mininterval=5, disable=args.quiet)
    except ImportError:
        bar = None
    val = float("nan")
    while step < max_steps and wall_s < budget_s:
        t_step = time.time()
        z = torch.randn(args.batch, 100, generator=zgen)
        with torch.no_grad():
            t_img, t_feat = teacher_forward(T, z)
        img, s_feat = student_forward(G, z, hint_res)
        l1, l2, ms = pixel_losses(img, t_img)
        hint = hint_loss(adapters(s_feat), t_feat, t_scale) if hint_res else img.new_zeros(())
        loss = l1 + l2 + ms + args.hint_weight * hint
        g_adv = d_loss = img.new_zeros(())
        if D is not None:  # non-saturating GAN loss; D is updated below on detached images
            g_adv = F.softplus(-D(img)).mean()
            loss = loss + args.adv_weight * g_adv
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if D is not None:
            d_loss = F.softplus(-D(t_img)).mean() + F.softplus(D(img.detach())).mean()
            opt_D.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_D.step()
        # EMA with a ramp-up (as StyleGAN2-ADA): early on the half-life is a tenth of the steps so far
        ema_beta = 0.5 ** (1 / min(args.ema_halflife, 0.1 * (step + 1))) if args.ema_halflife > 0 else 0.0
        with torch.no_grad():
            for pe, p in zip(G_ema.parameters(), G.parameters()):
                pe.lerp_(p, 1 - ema_beta)
            for be, b in zip(G_ema.buffers(), G.buffers()):
                be.copy_(b)
        step += 1
        if tuner is not None:
            tuner.tick(time.time() - t_step)
        wall_s = base_wall + time.time() - t0
        cpu_s = base_cpu + time.process_time() - c0
        row = dict(step=step, wall_s=f"{wall_s:.1f}", cpu_s=f"{cpu_s:.1f}", threads=torch.get_num_threads(),
                   loss=f"{loss.item():.5f}", l1=f"{l1.item():.5f}", l2=f"{l2.item():.5f}",
                   ms_l1=f"{ms.item():.5f}", hint=f"{hint.item():.5f}", g_adv=f"{g_adv.item():.4f}",
                   d_loss=f"{d_loss.item():.4f}", val_mae="")
        if time.time() - last_ckpt > args.ckpt_minutes * 60:
            val = checkpoint()
            row["val_mae"] = f"{val:.3f}"
            last_ckpt = time.time()
            csv_file.flush()
            plot_losses(csv_path, out / "loss_curve.png")
            log(f"step {step}: checkpoint, held-out MAE {val:.2f}/255, {wall_s / step:.2f} s/step overall")
        if step % args.log_every == 0 or row["val_mae"]:
            writer.writerow(row)
        if bar is not None:
            bar.update(1)
            if step % 10 == 0:
                bar.set_postfix(loss=f"{loss.item():.4f}", l1=f"{l1.item():.4f}", hint=f"{hint.item():.3f}",
                                threads=torch.get_num_threads())
    if not row["val_mae"]:  # unless the last step was just checkpointed (or no step was run)
        val = checkpoint()
        if "step" in row:
            writer.writerow({**row, "val_mae": f"{val:.3f}"})
    csv_file.close()
    plot_losses(csv_path, out / "loss_curve.png")
    if bar is not None:
        bar.close()
    log(f"done: {step} steps, {wall_s / 60:.1f} min wall, {cpu_s / 60:.1f} CPU min, held-out MAE {val:.2f}/255 "
        f"-> {out / 'faces64.safetensors'}")
    return dict(step=step, wall_s=wall_s, cpu_s=cpu_s, val_mae=val)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m stylegan.distill", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="run directory: checkpoint.pt, losses.csv, loss_curve.png, "
                                                "faces64.safetensors")
    p.add_argument("--minutes", type=float, default=None, help="total wall-clock budget (counts earlier runs)")
    p.add_argument("--steps", type=int, default=None, help="total number of steps (counts earlier runs)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--beta1", type=float, default=0.0)
    p.add_argument("--beta2", type=float, default=0.99)
    p.add_argument("--hint-weight", type=float, default=0.25)
    p.add_argument("--hint-res", type=int, nargs="*", default=[4, 8, 16, 32])
    p.add_argument("--channels", default=None, help='JSON, e.g. \'{"4":256,"8":256,"16":128,"32":64,"64":32}\'')
    p.add_argument("--adv-weight", type=float, default=0.0,
                   help="weight of a non-saturating adversarial term (0: off); can be switched on at --resume")
    p.add_argument("--d-lr", type=float, default=1e-3, help="discriminator learning rate")
    p.add_argument("--w-dim", type=int, default=256)
    p.add_argument("--map-layers", type=int, default=4)
    p.add_argument("--map-lr", type=float, default=1.0, help="mapping lr multiplier")
    p.add_argument("--ema-halflife", type=float, default=200, help="EMA half-life in steps (0: no EMA)")
    p.add_argument("--ckpt-minutes", type=float, default=4)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--threads", type=int, default=2, help="torch threads (the maximum with --auto-threads)")
    p.add_argument("--auto-threads", action="store_true",
                   help="switch between 1 and --threads threads by measured step time (shared CPUs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--figures-from", metavar="MODEL", help="only write the figures of MODEL into --out")
    p.add_argument("--loss-png", help="with --figures-from: loss curve to copy next to the figures")
    args = p.parse_args(argv)
    for name in ("batch", "threads", "map_layers", "w_dim", "log_every"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be >= 1")
    if args.minutes is None and args.steps is None and not args.figures_from:
        p.error("give --minutes or --steps")
    if args.minutes is not None and args.minutes <= 0 or args.steps is not None and args.steps <= 0:
        p.error("--minutes/--steps must be positive")
    if args.lr <= 0:
        p.error("--lr must be positive")
    bad = [r for r in args.hint_res if r not in TEACHER_RES]
    if bad:
        p.error(f"--hint-res: the teacher has activations only at {TEACHER_RES}, not {bad}")
    args.cmdline = " ".join(a for a in (argv if argv is not None else __import__("sys").argv[1:]))
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.figures_from:
        from .io import load
        torch.set_num_threads(args.threads)
        make_figures(load(args.figures_from), load_teacher(), args.out, loss_png=args.loss_png)
        print(f"figures written to {args.out}")
        return
    distill(args)


if __name__ == "__main__":
    main()
