"""What the content-true tracker costs: a DragGAN step with tracker 'flow' vs 'features'.

    python -m benchmarks.tracking_cost [--res 64 512 1024] [--steps 3] [--threads 1]

Per resolution, in one process: the bundled model at 64 px, random-weight generators with the
official configs (benchmarks.step_time.build_generator) above; one handle 30 % of the image to the
right. A `features` and a `flow` session are warmed up by two steps, then rounds of one step of each
are timed (both see the same load), as many as `--steps` rounded up to whole periods of
dragcore.tracking.flow_every(res) steps: the flow session's steps include its flows (a render of the
current image and one optical flow, every flow_every steps and to confirm an arrival), so its mean
is the amortised cost of a content-true step, compared with the features step. A third session, `features`
with the windows off (`DragSession.windows = False`: the whole feature block every step), is timed in the
same rounds: the features step before windows (stylegan.windows) in the same run. From 256 px the flow session's
steps run on windows too (dragcore.tracking.FlowTracker: the flow of the region around the points, before the pass).
Writes benchmarks/results/tracking_cost.{json,md}.
"""
import statistics as st
import sys
import time

import checkpoints
from benchmarks import cli
from benchmarks.report import write
from benchmarks.step_time import build_generator, drag_setup
from dragcore import motion
from dragcore.config import DragGANConfig
from dragcore.tracking import flow_every
from draggan import DragGANSession


def session(G, tracker, steps, windows=True):
    h, t, _ = drag_setup(G.img_resolution)
    s = DragGANSession(G, [h], [t], DragGANConfig(seed=0, max_steps=2 * steps + 4, tracker=tracker, stop_distance=0.1,
                                                  lr=0.002, precision="fp32"))
    s.windows = windows
    s.step(), s.step()   # the first step tracks nothing: warm up past it
    return s


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def costs(G, steps):
    """(features step, content-true step, flows, rounds, features step on the whole map, windowed steps of
    the features session, windowed steps of the flow session): means in seconds over rounds of one step of each (machines are noisy: each round
    sees the same load); the rounds cover whole flow periods."""
    k = flow_every(G.img_resolution)
    rounds = k * max(1, -(-steps // k))
    fs, ws, whole = session(G, "features", rounds), session(G, "flow", rounds), session(G, "features", rounds, False)
    start = ws.report.start_image()
    motion.dense_flow(start, start)   # OpenCV's import and first flow: once per process, not per drag
    n0 = ws.tracking.flows
    feat, flow, full = [], [], []
    for _ in range(rounds):
        feat.append(timed(fs.step))
        flow.append(timed(ws.step))
        full.append(timed(whole.step))
    return (st.mean(feat), st.mean(flow), ws.tracking.flows - n0, rounds, st.mean(full), fs.windowed_steps,
            ws.windowed_steps)


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument("--res", type=int, nargs="+", default=[64, 512, 1024], help="resolutions (default 64 512 1024)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps (default 3)")
    args = ap.parse_args(argv)
    cli.setup(args)
    rows = []
    for res in args.res:
        G = checkpoints.load(checkpoints.DEFAULT_MODEL) if res == 64 else build_generator(res)
        feat, flow, flows, rounds, full, windowed, flow_windowed = costs(G, args.steps)
        rows.append(dict(res=res, flow_every=flow_every(res), rounds=rounds, flows=flows, features_s=round(feat, 4),
                         flow_s=round(flow, 4), extra_s=round(flow - feat, 4), ratio=round(flow / feat, 2),
                         features_whole_s=round(full, 4), windowed_steps=windowed, ratio_whole=round(flow / full, 2),
                         flow_windowed_steps=flow_windowed))
        print(rows[-1], flush=True)
    import os
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [f"DragGAN step time by tracker (fp32, {args.threads} thread(s), means over rounds of one step of each, "
             f"whole flow periods; 64 px: the bundled model, above: random weights with the official configs; load "
             f"average {load:.1f} on {os.cpu_count()} cores at the end). Reproduce: "
             f"`python -m benchmarks.tracking_cost --res {' '.join(map(str, args.res))} --steps {args.steps}`", "",
             "| px | flow every (steps) | rounds | flows | step, features (s) | step, flow (s) | flow adds (s) | "
             "flow / features | features on windows (steps) | flow on windows (steps) | step, features, whole map (s) | "
             "flow / whole-map features |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['res']} | {r['flow_every']} | {r['rounds']} | {r['flows']} | {r['features_s']:.3f} | "
              f"{r['flow_s']:.3f} | {r['extra_s']:.3f} | {r['ratio']:.2f}x | {r['windowed_steps']} | {r['flow_windowed_steps']} | "
              f"{r['features_whole_s']:.3f} | {r['ratio_whole']:.2f}x |"
              for r in rows]
    write(args.out, "tracking_cost", dict(threads=args.threads, steps=args.steps, load=load, rows=rows), rows, lines)
    return rows


if __name__ == "__main__":
    sys.exit(cli.run(main))
