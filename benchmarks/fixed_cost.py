"""The fixed cost of a drag in the precision it runs in by default: what reading the kept passes saves.

    python -m benchmarks.fixed_cost                       # 512 px official config, 2 threads, precision auto
    python -m benchmarks.fixed_cost --res 256 512 --repeats 5 --precision fp32

Two parts of an edit do not depend on its steps. Both are measured as the app runs them and against the pass
they replace, interleaved, in one run (random weights, official network config: `benchmarks.step_time`):
- **start**: building a drag session from the image on screen (`dragcore.startpass.shown`, the app's New image)
  reads that render's pass (`dragcore.startpass`) instead of a pass to the feature block of its own (the kept
  pass forgotten);
- **arrival**: the final image of a drag that arrived after whole-map steps (half the image masked) renders only
  the stages above the feature block from its last step's pass (`DragSession.render_and_features`) instead of a
  whole render (`render_on_arrival` off).
In 'auto', a CPU with bfloat16 arithmetic runs 256 px and up in bf16 (stylegan.precision): the shown image is
rendered in it, so both savings hold there too. Writes benchmarks/results/fixed_cost.{json,csv,md}.
"""
import json
import os
import statistics
import sys
import time
from pathlib import Path

from benchmarks import cli, report

ROOT = Path(__file__).resolve().parents[1]


def _start(G, gen, latent, cfg, mask, kept):
    """Seconds to build the session from the shown image (kept: its pass read; else a pass of its own)."""
    from dragcore import startpass
    from draggan import DragGANSession
    startpass.forget(G.synthesis)
    startpass.shown(gen, latent)
    if not kept:
        startpass.forget(G.synthesis)
    t0 = time.perf_counter()
    r = gen.resolution
    s = DragGANSession(G, [[0.35 * r, 0.5 * r]], [[0.45 * r, 0.5 * r]], cfg, mask=mask, latent=latent)
    return time.perf_counter() - t0, s


def _arrival(s, above):
    """Seconds of the final image of `s` after it arrived (above: from its last pass; else a whole render)."""
    s.step(), s.step()
    s.stop_distance = 1e9   # the next step tracks, finds the point at its target, and takes no update
    s.step()
    assert s.stop_reason == "arrived"
    s.render_on_arrival = above
    t0 = time.perf_counter()
    s.sync()
    s.report.preview()
    return time.perf_counter() - t0


def measure(res, repeats, precision, tiny=False):
    import numpy as np
    import torch
    from benchmarks.step_time import build_generator
    from dragcore import adapt
    from draggan import DragGANSession
    G = build_generator(res, tiny).requires_grad_(False)
    gen = adapt(G)
    latent = gen.latent_init(0, 0.7, "w+")
    mask = np.zeros((gen.resolution, gen.resolution), bool)
    mask[:, : 3 * gen.resolution // 4] = True   # whole-map steps: the step's pass is the whole feature block
    cfg = DragGANSession.Config(max_steps=50, precision=precision)
    times = {k: [] for k in ("start kept", "start own pass", "arrival above", "arrival whole")}
    chosen = None
    for i in range(repeats + 1):   # the first round warms up (oneDNN primitives, allocator)
        for kept in (i % 2 == 0, i % 2 == 1):   # interleaved, alternating which goes first
            t, s = _start(G, gen, latent, cfg, mask, kept)
            a = _arrival(s, above=kept)
            chosen = s.precision.name
            if i:
                times["start kept" if kept else "start own pass"].append(t)
                times["arrival above" if kept else "arrival whole"].append(a)
    med = {k: round(statistics.median(v), 4) for k, v in times.items()}
    return dict(res=res, tiny=tiny, precision=chosen, requested=precision, threads=torch.get_num_threads(),
                median_s=med, start_ratio=round(med["start own pass"] / med["start kept"], 2),
                arrival_ratio=round(med["arrival whole"] / med["arrival above"], 2),
                load=[round(v, 1) for v in os.getloadavg()])


def main(argv=None):
    p = cli.parser(__doc__, threads=2, out=str(ROOT / "benchmarks" / "results"))
    p.add_argument("--res", nargs="+", type=int, default=[512], help="image heights (square official configs)")
    p.add_argument("--repeats", type=int, default=3, help="timed rounds per variant (median reported)")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"), help="the drags' precision")
    p.add_argument("--tiny", action="store_true", help="tiny networks (smoke test of the script itself)")
    args = p.parse_args(argv)
    cli.setup(args)
    rows = []
    for res in args.res:
        rows.append(measure(res, args.repeats, args.precision, args.tiny))
        print(json.dumps(rows[-1]), flush=True)
    command = "python -m benchmarks.fixed_cost " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = ["| px | precision | start: kept pass s | own pass s | ratio | arrival: stages above s | whole render s "
             "| ratio | load |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['res']} | {r['precision']} | {r['median_s']['start kept']} | {r['median_s']['start own pass']} | "
              f"{r['start_ratio']}x | {r['median_s']['arrival above']} | {r['median_s']['arrival whole']} | "
              f"{r['arrival_ratio']}x | {' '.join(map(str, r['load']))} |" for r in rows]
    header = (f"A drag's fixed cost, kept passes read vs not (random weights, official config, {args.threads} threads, "
              f"median of {args.repeats}, interleaved).\nReproduce: `{command}`\n")
    report.write(args.out, "fixed_cost", dict(command=command, rows=rows), rows, [header, *lines])
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
