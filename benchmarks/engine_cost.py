"""What a step of each engine costs beside a DragGAN step, measured in one process, interleaved.

    python -m benchmarks.engine_cost [--res 64 512] [--steps 8] [--threads 1]

Per resolution, the drag of benchmarks.step_time (one handle 30 % of the image to the right, part of
the image fixed by a mask), on the bundled model at 64 px and on a random-weight generator with the
official 512 px config otherwise. Every declared engine (drags.engines) runs the same drag with its
default settings (fast mode, fp32, features supervised at the default block), one step of each in
turn after warm-up steps, so the machine's load falls on all alike; reported: the median seconds per
step and its ratio to DragGAN's. StableDrag's extra work is its tracker's: a C x C solve once
(the filter) and a 1 x C response over the search square each step. Writes
benchmarks/results/engine_cost.{json,md}.
"""
import statistics as st
import sys
import time

import torch

import checkpoints
from drags.engines import ENGINES
from benchmarks import cli
from benchmarks.report import write
from benchmarks.step_time import build_generator, drag_setup


def sessions(res):
    G = checkpoints.load(checkpoints.DEFAULT_MODEL) if res == 64 else build_generator(res)
    h, t, mask = drag_setup(res)
    return {m: e.session(G, [h], [t], e.config(seed=0, max_steps=10 ** 6, precision="fp32"), mask=mask, device="cpu")
            for m, e in ENGINES.items()}


def main(argv=None):
    ap = cli.parser(__doc__, steps=8)
    ap.add_argument("--res", type=int, nargs="+", default=[64, 512], help="resolutions (default 64 512)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    args = ap.parse_args(argv)
    cli.setup(args)
    rows = []
    for res in args.res:
        s = sessions(res)
        times = {m: [] for m in s}
        for k in range(args.warmup + args.steps):
            for m, sess in s.items():
                t0 = time.perf_counter()
                if sess.step().done:
                    raise SystemExit(f"engine_cost: {m} finished its drag at {res} px during timing; use fewer --steps")
                if k >= args.warmup:
                    times[m].append(time.perf_counter() - t0)
        base = st.median(times["draggan"])
        for m, ts in times.items():
            rows.append(dict(res=res, engine=m, seconds_per_step=round(st.median(ts), 4),
                             ratio_to_draggan=round(st.median(ts) / base, 3), steps=len(ts)))
    md = [f"Seconds per step beside DragGAN's, one process, steps interleaved ({args.steps} timed after "
          f"{args.warmup} warm-up; {torch.get_num_threads()} thread(s); fast mode, fp32):", "",
          "| res | engine | s / step | × DragGAN |", "|---|---|---|---|"]
    md += [f"| {r['res']} | {r['engine']} | {r['seconds_per_step']:.3f} | {r['ratio_to_draggan']:.2f} |" for r in rows]
    md += ["", f"Command: `python -m benchmarks.engine_cost --res {' '.join(map(str, args.res))} --steps {args.steps}`"]
    write(args.out, "engine_cost", dict(args=vars(args), rows=rows), rows, md)
    return rows


if __name__ == "__main__":
    sys.exit(cli.run(main, none_fails=True))
