"""What the content-true tracker costs: a DragGAN step with tracker 'flow' vs 'features'.

    python -m benchmarks.tracking_cost [--res 64 512 1024] [--steps 3] [--threads 1]

Per resolution, in one process: the bundled model at 64 px, random-weight generators with the
official configs (benchmarks.step_time.build_generator) above; one handle 30 % of the image to the
right; each tracker's session warmed up by two steps, then `--steps` steps timed (mean: the flow
runs every draggan.engine.flow_every(res) steps, so the mean is its amortised cost). The flow
tracker renders the current image (no gradients) and computes one optical flow (dragcore.tracking);
the extra time per step is reported beside the step itself. Writes benchmarks/results/tracking_cost.{json,md}.
"""
import statistics as st
import sys
import time

import checkpoints
from benchmarks import cli
from benchmarks.report import write
from benchmarks.step_time import build_generator, drag_setup
from dragcore.config import DragGANConfig
from draggan import DragGANSession
from draggan.engine import flow_every


def step_seconds(G, tracker, steps):
    h, t, _ = drag_setup(G.img_resolution)
    s = DragGANSession(G, [h], [t], DragGANConfig(seed=0, max_steps=steps + 2, tracker=tracker, stop_distance=0.1,
                                                  lr=0.002, precision="fp32"))
    s.step(), s.step()   # the first step tracks nothing: warm up past it
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        s.step()
        times.append(time.perf_counter() - t0)
    return st.mean(times)


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument("--res", type=int, nargs="+", default=[64, 512, 1024])
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args(argv)
    cli.setup(args)
    rows = []
    for res in args.res:
        G = checkpoints.load(checkpoints.DEFAULT_MODEL) if res == 64 else build_generator(res)
        feat, flow = (step_seconds(G, tr, args.steps) for tr in ("features", "flow"))
        rows.append(dict(res=res, flow_every=flow_every(res), features_s=round(feat, 4), flow_s=round(flow, 4),
                         extra_s=round(flow - feat, 4), ratio=round(flow / feat, 2)))
        print(rows[-1], flush=True)
    lines = [f"DragGAN step time by tracker (fp32, {args.threads} thread(s), mean of {args.steps} steps; 64 px: the "
             "bundled model, above: random weights with the official configs). Reproduce: "
             f"`python -m benchmarks.tracking_cost --res {' '.join(map(str, args.res))} --steps {args.steps}`", "",
             "| px | flow every (steps) | step, features (s) | step, flow (s) | flow adds (s) | flow / features |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['res']} | {r['flow_every']} | {r['features_s']:.3f} | {r['flow_s']:.3f} | {r['extra_s']:.3f} | "
              f"{r['ratio']:.2f}x |"
              for r in rows]
    write(args.out, "tracking_cost", dict(threads=args.threads, steps=args.steps, rows=rows), rows, lines)
    return rows


if __name__ == "__main__":
    sys.exit(cli.run(main))
