"""The whole inversion of the shipped astronaut photo: seconds per stage and per step, and the same result twice.

    python -m benchmarks.invert_time [--threads 2] [--repeats 2]

The public-domain astronaut (ui/examples) aligned to the bundled model's layout, then inverted with the previous
session's settings (W 40 / W+ 40 / PTI 100, the locality probe on every step) and today's defaults
(latent.invert), alternating, `--repeats` times each, in one process. Per run and stage: its own wall seconds and
process CPU seconds, per step (the progress callback's clock), and the PSNR; and whether the repeats of one recipe
gave the same latent (bit for bit: every random draw comes from invert's seed). Model load and alignment are
outside the clock. Writes benchmarks/results/invert_time.{json,csv,md}; the machine's load average goes with it.
"""
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import checkpoints
from benchmarks import cli
from benchmarks.report import write
from latent import invert
from latent.align import Layout, align

EXAMPLE = Path(__file__).resolve().parents[1] / "ui" / "examples" / "astronaut.jpg"
RECIPES = {
    "session 3 (W 40 / W+ 40 / PTI 100, probe every step)": dict(steps_w=40, steps_wplus=40, pti_steps=100,
                                                                  locality_every=1),
    "today's defaults": {},
}


def timed(G, target, settings):
    """One inversion -> (result, {stage: dict(wall, cpu, steps)})."""
    marks = {}

    def progress(stage, i, n, loss):
        marks.setdefault(stage, []).append((time.perf_counter(), time.process_time()))
    t0 = (time.perf_counter(), time.process_time())
    r = invert(G, target, progress=progress, **settings)
    stages, prev = {}, t0
    for stage, m in marks.items():
        end = m[-1]
        stages[stage] = dict(wall=end[0] - prev[0], cpu=end[1] - prev[1], steps=len(m))
        prev = end
    return r, stages


def main(argv=None):
    ap = cli.parser(__doc__, model=True, out="benchmarks/results/invert_time.json")
    ap.add_argument("--repeats", type=int, default=2, help="inversions timed (default 2)")
    args = ap.parse_args(argv)
    cli.setup(args)
    G = checkpoints.load(args.model)
    layout = Layout.read(checkpoints.layout_path(args.model))
    aligned, _ = align(np.asarray(Image.open(EXAMPLE).convert("RGB")), layout, tuple(G.img_shape[::-1]))
    target = torch.from_numpy(aligned.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
    load0, rows, latents = os.getloadavg()[0], [], {}
    for rep in range(args.repeats):
        for name, settings in RECIPES.items():
            r, stages = timed(G, target, settings)
            latents.setdefault(name, []).append(r["ws"])
            row = dict(recipe=name, run=rep + 1, psnr_pti=r["psnr"].get("pti"), wall=sum(s["wall"] for s in stages.values()),
                       cpu=sum(s["cpu"] for s in stages.values()), load=os.getloadavg()[0])
            for stage, s in stages.items():
                row[f"{stage} s"], row[f"{stage} ms/step"] = s["wall"], 1000 * s["wall"] / s["steps"]
                row[f"{stage} CPU ms/step"] = 1000 * s["cpu"] / s["steps"]
            rows.append(row)
            print({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    same = {k: all(torch.equal(v[0], w) for w in v[1:]) for k, v in latents.items()}
    med = lambda name, key: float(np.median([r[key] for r in rows if r["recipe"] == name]))
    names = list(RECIPES)
    lines = [f"The astronaut inverted on `{args.model}`, {args.threads} torch thread(s), {args.repeats} runs per recipe "
             f"alternating; load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (2 cores, shared).",
             f"Reproduce: `python -m benchmarks.invert_time --threads {args.threads} --repeats {args.repeats}`", "",
             "| recipe | PTI PSNR (runs) | same latent every run | whole (s, median) | CPU s | W ms/step | W+ ms/step | "
             "PTI ms/step | W / W+ / PTI CPU ms/step |", "|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        ps = " / ".join(f"{r['psnr_pti']:.2f}" for r in rows if r["recipe"] == name)
        lines.append(f"| {name} | {ps} | {'yes' if same[name] else 'NO'} | {med(name, 'wall'):.1f} | {med(name, 'cpu'):.1f} | "
                     f"{med(name, 'W ms/step'):.0f} | {med(name, 'W+ ms/step'):.0f} | {med(name, 'PTI ms/step'):.0f} | "
                     + " / ".join(f"{med(name, f'{s} CPU ms/step'):.0f}" for s in ("W", "W+", "PTI")) + " |")
    lines += ["", f"Today's defaults against session 3's, same run: whole inversion x{med(names[1], 'wall') / med(names[0], 'wall'):.2f} "
              f"wall, x{med(names[1], 'cpu') / med(names[0], 'cpu'):.2f} CPU."]
    out = Path(args.out)
    write(out.parent, out.stem, dict(model=args.model, threads=args.threads, load=[load0, os.getloadavg()[0]],
                                     rows=rows, same_latent=same), rows, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(cli.run(main))
