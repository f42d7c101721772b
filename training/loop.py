"""The training loop: one `Trainer` owns the student, its EMA, the hint adapters, the
discriminator, the optimisers and the z stream; `step()` runs one step of the current phase;
`save()` / `resume()` make the run stoppable at any moment; `export()` writes the EMA student.

Fresh z every step (the teacher forward is cheap). Logs one CSV row per `log_every` steps.
"""
import csv
import json
import os
import pickle
import time
from pathlib import Path

import torch

import clisafe
from stylegan.imageops import quantize
from stylegan.io import save as save_generator
from stylegan.precision import cpu_has_bf16

from . import drags, losses
from .student import EMA, HINT_RES, Adapters, build_student, load_teacher

EVAL_SEED = 20260101  # held-out z for the MAE figure; never used for training
FIELDS = ["step", "phase", "wall_s", "cpu_s", "loss", "l1", "l2", "ms_l1", "hint", "g_adv", "d_loss",
          "drag_pix", "drag_feat", "claimed", "val_mae"]


class CheckpointMismatch(ValueError):
    """A checkpoint that cannot be resumed with this configuration."""


def heldout_z(n=100):
    return torch.randn(n, 100, generator=torch.Generator().manual_seed(EVAL_SEED))


@torch.no_grad()
def mae_255(G, T, z, batch=50):
    """Mean absolute pixel difference student vs teacher, in /255 units, after quantising both."""
    total = sum((quantize(G(z[i:i + batch])) - quantize(T(z[i:i + batch]))).abs().mean().item() * len(z[i:i + batch])
                for i in range(0, len(z), batch))
    return total / len(z)


class Trainer:
    def __init__(self, recipe, out, student=None):
        self.recipe, self.out = recipe, Path(out)
        # bfloat16 autocast of the networks (losses, weights and optimiser stay fp32), where supported
        self.bf16 = recipe.bf16 and cpu_has_bf16()
        self.T = load_teacher()
        self.G = (student or build_student()).train().requires_grad_(True)
        self.ema = EMA(self.G, recipe.ema_halflife)
        with torch.no_grad():
            _, acts = self.T.activations(torch.randn(256, 100, generator=torch.Generator().manual_seed(1)))
        self.hint_scale = losses.hint_scale({r: acts[r] for r in HINT_RES})
        self.adapters = Adapters(self.G.synthesis.channels, {r: acts[r].shape[1] for r in HINT_RES})
        self.D = losses.Discriminator()
        p0 = recipe.phases[0]
        self.opt = torch.optim.Adam(list(self.G.parameters()) + list(self.adapters.parameters()), lr=p0.lr, betas=p0.betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=1e-3, betas=(0.5, 0.99))
        self.zgen = torch.Generator().manual_seed(recipe.seed)
        self.step_n, self.wall_s, self.cpu_s = 0, 0.0, 0.0

    # --- one step -------------------------------------------------------------------------
    def step(self):
        """One step of the phase the step counter is in; returns the CSV row."""
        ph = self.recipe.phase_at(self.step_n)
        for g in self.opt.param_groups:
            g["lr"], g["betas"] = ph.lr, ph.betas
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            loss, row, t_img, fake = self._losses(ph)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if ph.adv:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                row["d_loss"] = losses.discriminator_adv(self.D, t_img, fake.detach())
            self.opt_D.zero_grad(set_to_none=True)
            row["d_loss"].backward()
            self.opt_D.step()
        self.ema.update(self.G, self.step_n)
        self.step_n += 1
        row = {k: f"{float(v.detach() if torch.is_tensor(v) else v):.5f}" for k, v in row.items()}
        return dict(step=self.step_n, phase=ph.name, loss=f"{float(loss.detach()):.5f}", **row)

    def _losses(self, ph):
        """The phase's generator loss: (loss, logged terms, teacher images, fakes for D or None)."""
        z = torch.randn(self.recipe.batch, 100, generator=self.zgen)
        with torch.no_grad():
            t_img, t_acts = self.T.activations(z)
        ws = self.G.mapping(z, update_w_avg=True)
        img, feats = self.G.synthesis.image_and_features(ws, HINT_RES if ph.hint else ())
        l1, l2, ms = losses.pixel_losses(img, t_img)
        row = dict(l1=l1, l2=l2, ms_l1=ms)
        loss = l1 + l2 + ms
        if ph.hint:
            row["hint"] = losses.hint_loss(self.adapters(feats), {r: t_acts[r] for r in HINT_RES}, self.hint_scale)
            loss = loss + ph.hint * row["hint"]
        fakes, fake = [img], None
        if ph.adv:  # half the batch again, style-mixed
            fakes.append(self.G.synthesis(losses.style_mix(ws[: len(ws) // 2], self.zgen)))
        if ph.drag:
            w_drag = torch.lerp(self.G.mapping.w_avg.detach(), ws[:ph.drag_batch].detach(), 0.7)  # drags run at psi 0.7
            pix, feat, dragged, row["claimed"] = drags.consistency_loss(self.G, w_drag, self.zgen, ph.drag_steps,
                                                                         ph.drag_lr)
            row["drag_pix"], row["drag_feat"] = pix, feat
            loss = loss + ph.drag * (pix + 0.5 * feat)
            fakes.append(dragged)
        if ph.adv:
            fake = torch.cat([f.float() for f in fakes])
            row["g_adv"] = losses.generator_adv(self.D, fake)
            loss = loss + ph.adv * row["g_adv"]
        return loss, row, t_img, fake

    # --- saving, resuming, exporting ---------------------------------------------------------
    def state(self):
        return dict(G=self.G.state_dict(), G_ema=self.ema.G.state_dict(), adapters=self.adapters.state_dict(),
                    D=self.D.state_dict(), opt=self.opt.state_dict(), opt_D=self.opt_D.state_dict(),
                    zgen=self.zgen.get_state(), step=self.step_n, wall_s=self.wall_s, cpu_s=self.cpu_s)

    def save(self):
        tmp = self.out / "checkpoint.pt.tmp"
        torch.save(self.state(), tmp)
        os.replace(tmp, self.out / "checkpoint.pt")

    def resume(self):
        path = self.out / "checkpoint.pt"
        try:
            ck = torch.load(path, map_location="cpu", weights_only=True)
            self.G.load_state_dict(ck["G"]); self.ema.G.load_state_dict(ck["G_ema"])
            self.adapters.load_state_dict(ck["adapters"]); self.D.load_state_dict(ck["D"])
            self.opt.load_state_dict(ck["opt"]); self.opt_D.load_state_dict(ck["opt_D"])
            self.zgen.set_state(ck["zgen"])
            self.step_n, self.wall_s, self.cpu_s = ck["step"], ck["wall_s"], ck["cpu_s"]
        except FileNotFoundError:
            raise CheckpointMismatch(f"--resume: no checkpoint at {path}") from None
        except (RuntimeError, KeyError, EOFError, ValueError, pickle.UnpicklingError) as e:
            raise CheckpointMismatch(f"--resume: {path} is corrupt or from another student configuration "
                                     f"({type(e).__name__})") from None

    def export(self, path, command, val_mae):
        save_generator(self.ema.G, path, source="distilled from gan-face-generate==1.1.1 DCGAN (MIT; DigiFace1M "
                       "synthetic faces)", license="MIT", steps=self.step_n, cpu_seconds=round(self.cpu_s),
                       wall_seconds=round(self.wall_s), heldout_mae_255=f"{val_mae:.3f}", command=command,
                       recipe=json.dumps([p.__dict__ for p in self.recipe.phases]))


def run(trainer, until, command, ckpt_minutes=4.0, log_every=10, log=print):
    """Train until step `until` (a total: steps of earlier runs count), checkpointing every
    `ckpt_minutes` and at the end; returns the last held-out MAE."""
    out = trainer.out
    out.mkdir(parents=True, exist_ok=True)
    csv_path = clisafe.trim_log(out / "losses.csv", "step", trainer.step_n, FIELDS)   # a resume: from its checkpoint
    z_eval = heldout_z()
    with open(csv_path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, restval="")
        t0, c0, base_w, base_c, last = time.time(), time.process_time(), trainer.wall_s, trainer.cpu_s, time.time()
        val = float("nan")
        while trainer.step_n < until:
            row = trainer.step()
            trainer.wall_s, trainer.cpu_s = base_w + time.time() - t0, base_c + time.process_time() - c0
            row.update(wall_s=f"{trainer.wall_s:.1f}", cpu_s=f"{trainer.cpu_s:.1f}")
            boundary = any(trainer.step_n == p.until for p in trainer.recipe.phases)
            if time.time() - last > ckpt_minutes * 60 or trainer.step_n >= until or boundary:
                val = mae_255(trainer.ema.G, trainer.T, z_eval)
                row["val_mae"] = f"{val:.3f}"
                trainer.save()
                trainer.export(out / "faces64.safetensors", command, val)
                last = time.time()
                log(f"step {trainer.step_n} ({row['phase']}): held-out MAE {val:.2f}/255, "
                    f"{trainer.wall_s / 60:.1f} min wall, {trainer.cpu_s / 60:.1f} CPU min")
            if trainer.step_n % log_every == 0 or row.get("val_mae"):
                writer.writerow(row)
                f.flush()
    return val
