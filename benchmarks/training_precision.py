"""Does bfloat16 autocast change what our training learns, and how much faster is a training step?

    python -m benchmarks.training_precision [--steps 600] [--every 100] [--heldout 100] [--threads 1]

The shipped recipe (`python -m training`) autocasts the networks to bf16 where the CPU computes it
natively. This benchmark trains three students of that recipe's teacher phase from scratch,
interleaved step by step so that all see the same machine load:

- fp32, seed 0
- fp32, seed 1   (other initial weights and z stream: the run-to-run noise of fp32 itself)
- bf16, seed 0   (same initial weights and z stream as the first)

and reports the held-out MAE to the teacher (the training's own quality figure, EMA weights) every
`--every` steps. bf16 "does not change the outcome" when |bf16 - fp32 seed 0| stays within
|fp32 seed 1 - fp32 seed 0|. Step times are CPU-time medians (one thread by default, so CPU time
measures work, not OpenMP spinning). Writes benchmarks/results/training_precision.{json,md}.
"""
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks import cli
from stylegan.precision import cpu_has_bf16
from training.loop import Trainer, heldout_z, mae_255
from training.recipe import Recipe

RUNS = (("fp32 seed 0", False, 0), ("fp32 seed 1", False, 1), ("bf16 seed 0", True, 0))


def trainers(workdir):
    """The three runs; each run's initial weights come from its seed, as its z stream does."""
    out = {}
    for name, bf16, seed in RUNS:
        torch.manual_seed(seed)
        out[name] = Trainer(Recipe(bf16=bf16, seed=seed), Path(workdir) / name.replace(" ", "_"))
        if out[name].bf16 != bf16:  # the recipe falls back to fp32 where bf16 is not native: that is no comparison
            raise RuntimeError(f"{name}: the trainer runs {'bf16' if out[name].bf16 else 'fp32'}")
    return out


def race(runs, steps, every, heldout=100):
    """Step every run in turn; held-out MAE (over `heldout` latents) every `every` steps; per-step CPU seconds."""
    z_eval = heldout_z(heldout)
    cpu = {k: [] for k in runs}
    mae = {k: [] for k in runs}
    for step in range(1, steps + 1):
        for name, tr in runs.items():
            c = time.process_time()
            tr.step()
            cpu[name].append(time.process_time() - c)
            if step % every == 0 or step == steps:
                mae[name].append((step, mae_255(tr.ema.G, tr.T, z_eval)))
        if step % every == 0:
            print(f"step {step}: " + ", ".join(f"{k} MAE {v[-1][1]:.2f}" for k, v in mae.items()), flush=True)
    return cpu, mae


def summary(cpu, mae):
    med = {k: statistics.median(v[1:]) for k, v in cpu.items()}  # the first step pays one-off set-up
    rows = []
    for i, (step, ref) in enumerate(mae["fp32 seed 0"]):
        noise = abs(mae["fp32 seed 1"][i][1] - ref)
        gap = abs(mae["bf16 seed 0"][i][1] - ref)
        rows.append(dict(step=step, **{k: v[i][1] for k, v in mae.items()}, bf16_gap=gap, fp32_noise=noise))
    return dict(median_step_cpu_s=med, bf16_speedup=med["fp32 seed 0"] / med["bf16 seed 0"], mae=rows,
                within_noise=all(r["bf16_gap"] <= r["fp32_noise"] for r in rows[-2:]))


def markdown(args, s):
    md = [f"Training step of the shipped recipe (teacher phase, batch 16), {args.steps} steps per run, "
          f"{args.threads} thread(s), interleaved. `python -m benchmarks.training_precision --steps {args.steps}`", "",
          "| step | held-out MAE fp32 seed 0 | fp32 seed 1 | bf16 seed 0 | bf16 vs fp32 (same seed) | "
          "fp32 vs fp32 (other seed) |", "|---|---|---|---|---|---|"]
    for r in s["mae"]:
        md.append(f"| {r['step']} | {r['fp32 seed 0']:.2f} | {r['fp32 seed 1']:.2f} | {r['bf16 seed 0']:.2f} | "
                  f"{r['bf16_gap']:.2f} | {r['fp32_noise']:.2f} |")
    m = s["median_step_cpu_s"]
    md += ["", f"Median CPU time per training step: fp32 {m['fp32 seed 0']:.3f} s, bf16 {m['bf16 seed 0']:.3f} s: "
           f"**{s['bf16_speedup']:.2f}x**. bf16 within fp32's own run-to-run noise at the last two checks: "
           f"**{'yes' if s['within_noise'] else 'no'}**."]
    return md


def main(argv=None):
    ap = cli.parser(__doc__, steps=600)
    ap.add_argument("--every", type=int, default=100, help="held-out MAE every this many steps")
    ap.add_argument("--heldout", type=int, default=100, help="held-out latents the MAE is taken over (the "
                    "training's own figure uses 100)")
    args = ap.parse_args(argv)
    if args.steps < 2 or args.every < 1 or args.threads < 1 or not 1 <= args.heldout <= 10_000:
        ap.error("--steps must be >= 2, --every and --threads >= 1, --heldout 1-10000")
    if not cpu_has_bf16():
        ap.exit(2, "error: training_precision: this CPU has no bfloat16 arithmetic (oneDNN would emulate it), "
                   "so there is no bf16 training to compare\n")
    cli.setup(args)
    with tempfile.TemporaryDirectory() as tmp:
        cpu, mae = race(trainers(tmp), args.steps, args.every, args.heldout)
    s = summary(cpu, mae)
    md = markdown(args, s)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "training_precision.json").write_text(json.dumps(dict(summary=s, steps=args.steps, threads=args.threads,
                                                                 heldout=args.heldout, step_cpu_s=cpu), indent=1))
    (out / "training_precision.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    sys.exit(cli.run(main))
