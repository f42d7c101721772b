"""What the content-true tracker costs: a DragGAN step with tracker 'flow' vs 'features'.

    python -m benchmarks.tracking_cost [--res 64 512 1024] [--steps 3] [--threads 1]

Per resolution, in one process: the bundled model at 64 px, random-weight generators with the
official configs (benchmarks.step_time.build_generator) above; one handle 30 % of the image to the
right. A `features` and a `flow` session are warmed up by two steps, then `--steps` rounds are
timed, each a step of both (the flow session's only where it computed no flow) and one flow on its
own (`locate(..., force=True)` after a step: the render of the current image and the optical flow,
dragcore.tracking). The flow runs every dragcore.tracking.flow_every(res)
steps (and to confirm an arrival, once near the end), so a content-true step costs on average the
step between flows plus one flow / flow_every: that mean is compared with the features step
(medians of the rounds).
Writes benchmarks/results/tracking_cost.{json,md}.
"""
import statistics as st
import sys
import time

import checkpoints
from benchmarks import cli
from benchmarks.report import write
from benchmarks.step_time import build_generator, drag_setup
from dragcore.config import DragGANConfig
from dragcore.tracking import flow_every
from draggan import DragGANSession


def session(G, tracker, steps):
    h, t, _ = drag_setup(G.img_resolution)
    s = DragGANSession(G, [h], [t], DragGANConfig(seed=0, max_steps=2 * steps + 4, tracker=tracker, stop_distance=0.1,
                                                  lr=0.002, precision="fp32"))
    s.step(), s.step()   # the first step tracks nothing: warm up past it
    return s


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def costs(G, steps):
    """(features step, flow session's step between flows, one flow): medians in seconds, the three
    measured in turn (machines are noisy: each round sees the same load)."""
    fs, ws = session(G, "features", steps), session(G, "flow", steps)
    feat, between, flows = [], [], []
    for _ in range(steps):
        feat.append(timed(fs.step))
        n = ws.tracking.flows
        dt = timed(ws.step)
        if ws.tracking.flows == n:   # a step without a flow
            between.append(dt)
        f = ws.features(ws.latent).detach()
        flows.append(timed(lambda: ws.tracking.locate(f, ws.handles, force=True)))   # renders this step's image
    return st.median(feat), st.median(between) if between else float("nan"), st.median(flows)


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument("--res", type=int, nargs="+", default=[64, 512, 1024])
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args(argv)
    cli.setup(args)
    rows = []
    for res in args.res:
        G = checkpoints.load(checkpoints.DEFAULT_MODEL) if res == 64 else build_generator(res)
        feat, between, flow = costs(G, args.steps)
        k = flow_every(res)
        mean = between + flow / k
        rows.append(dict(res=res, flow_every=k, features_s=round(feat, 4), between_s=round(between, 4),
                         flow_s=round(flow, 4), content_true_s=round(mean, 4), ratio=round(mean / feat, 2)))
        print(rows[-1], flush=True)
    import os
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [f"DragGAN step time by tracker (fp32, {args.threads} thread(s), medians of {args.steps} rounds of a "
             f"step of each and one flow; 64 px: the bundled model, above: random weights with the official configs; load "
             f"average {load:.1f} on {os.cpu_count()} cores at the end). Reproduce: "
             f"`python -m benchmarks.tracking_cost --res {' '.join(map(str, args.res))} --steps {args.steps}`", "",
             "| px | flow every (steps) | step, features (s) | step between flows (s) | one flow (s) | "
             "content-true step, mean (s) | flow / features |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['res']} | {r['flow_every']} | {r['features_s']:.3f} | {r['between_s']:.3f} | {r['flow_s']:.3f} | "
              f"{r['content_true_s']:.3f} | {r['ratio']:.2f}x |"
              for r in rows]
    write(args.out, "tracking_cost", dict(threads=args.threads, steps=args.steps, load=load, rows=rows), rows, lines)
    return rows


if __name__ == "__main__":
    sys.exit(cli.run(main))
