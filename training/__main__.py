"""Train the bundled face model (faces64) from scratch, in phases, resumably.

    python -m training --out runs/faces64                 # the shipped run (all phases)
    python -m training --out runs/faces64 --until 4500    # stop after the teacher phase; run again to go on
    python -m training --figures-from MODEL --out DIR     # only the model card's figures

Exit codes: 0 done, 2 bad input (one line), 130 interrupted (the run goes on from its last checkpoint,
written atomically; the figures folder appears only when all figures are drawn).
"""
import argparse
import math
import sys

import torch

import clisafe
import limits
from stylegan import load

from .figures import make_figures, plot_losses
from .loop import Trainer, run
from .recipe import Recipe
from .student import load_teacher


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="run folder: checkpoint.pt, losses.csv, loss_curve.png, faces64.safetensors")
    p.add_argument("--until", type=int, default=None, help="train up to this total step (default: the whole recipe)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core machine)")
    p.add_argument("--ckpt-minutes", type=float, default=4.0, help="checkpoint every this many minutes (default 4)")
    p.add_argument("--figures-from", metavar="MODEL", help="only write MODEL's figures into --out")
    a = p.parse_args(argv)
    if (a.until is not None and a.until < 1 or not 1 <= a.threads <= 256 or not 0 < a.ckpt_minutes < 1e6
            or not math.isfinite(a.ckpt_minutes)):
        p.error("--until must be >= 1, --threads from 1 to 256 and --ckpt-minutes a positive number")
    return a


FIGURES = ("random_faces.png", "student_vs_teacher.png", "style_mixing.png", "w_interpolation.png", "truncation.png")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    a = parse_args(argv)
    return clisafe.run(lambda _: _main(a, argv), None, "training", (ValueError, OSError))


def _main(a, argv):
    torch.set_num_threads(a.threads)
    limits.check_out_dir(a.out)
    if a.figures_from:
        clisafe.regular_file(a.figures_from, "--figures-from")
        clisafe.check_replaceable(a.out, FIGURES)
        G = load(a.figures_from)   # a CheckpointError is a ValueError: one line, exit 2
        with clisafe.atomic_dir(a.out) as tmp:
            make_figures(G, load_teacher(), tmp)
        print(f"figures written to {a.out}")
        return 0
    recipe = Recipe()
    trainer = Trainer(recipe, a.out)
    print("precision: " + ("bf16 autocast" if trainer.bf16 else
                           "fp32" + (" (this CPU has no bfloat16 arithmetic)" if recipe.bf16 else "")))
    if (trainer.out / "checkpoint.pt").exists():
        trainer.resume()   # CheckpointMismatch is a ValueError: one line, exit 2
        print(f"resumed at step {trainer.step_n} ({trainer.wall_s / 60:.1f} min, {trainer.cpu_s / 60:.1f} CPU min so far)")
    until = min(a.until or recipe.total, recipe.total)
    if trainer.step_n >= until:   # a finished run (or --until behind it): say so, nothing is trained or rewritten
        print(f"nothing to train: the run in {trainer.out} is at step {trainer.step_n}, at or past step {until} ("
              + (f"--until {a.until}" if a.until and a.until < recipe.total else "the whole recipe")
              + f"); its model: {trainer.out / 'faces64.safetensors'}")
        return 0
    val = run(trainer, until, "python -m training " + " ".join(argv), ckpt_minutes=a.ckpt_minutes)
    plot_losses(trainer.out / "losses.csv", trainer.out / "loss_curve.png")
    print(f"done: step {trainer.step_n}, {trainer.wall_s / 60:.1f} min wall, {trainer.cpu_s / 60:.1f} CPU min, "
          f"held-out MAE {val:.2f}/255 -> {trainer.out / 'faces64.safetensors'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
