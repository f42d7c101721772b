"""Drag-and-drag-back consistency (FreeDrag paper's protocol, measured without LPIPS here):
drag an image, then drag the handles back to where they started, continuing from the edited
latent; the closer the final image is to the start, the more consistent the method.

    python -m benchmarks.drag_back [--pairs 10] [--steps 200] [--model ID] [--threads 1]

For each seed: one handle at a random point of the central region and a target 1/6 of the image
away in a random direction; both methods get the same step budget each way. Reported per method:
PSNR (dB) and generator-feature L1 between the start and the round-trip image, steps used, and,
beside them, the motion each way measured by optical flow (dragcore.motion: the fraction of the
requested way the content under the handle moved): a method that moves nothing is perfectly
consistent, so consistency only means something next to the motion achieved. `reached` counts a
forward drag whose engine arrived *and* whose content moved at least half way; the engine's own
verdict is `forward_tracked_reached`. Writes benchmarks/results/drag_back.{json,csv,md,png}.
LPIPS is not used: its weights cannot be downloaded on these machines.
"""
import statistics as st
import sys
import time
from pathlib import Path

import numpy as np
import torch

import checkpoints
from benchmarks import cli
from benchmarks.report import ENGINES, make_session, bar_plot, median, moved_mean, psnr, write


def pair(seed, shape):
    """A handle in the central region of an H x W image and a target min(H, W) / 6 away."""
    H, W = (shape, shape) if isinstance(shape, int) else shape
    rng = np.random.RandomState(seed)
    h = rng.uniform(0.3, 0.7, 2) * np.array([W, H])
    ang = rng.uniform(0, 2 * np.pi)
    t = np.clip(h + min(H, W) / 6 * np.array([np.cos(ang), np.sin(ang)]), 1, np.array([W, H]) - 2)
    return h.tolist(), t.tolist()


def round_trip(G, method, seed, steps, psi=0.7, params=None):
    h, t = pair(seed, tuple(getattr(G, "img_shape", (G.img_resolution, G.img_resolution))))
    preset = (params or {}).get(method)
    s1 = make_session(method, G, [h], [t], preset, seed=seed, psi=psi, max_steps=steps)
    t0 = time.perf_counter()
    r1 = s1.run()
    back = make_session(method, G, [r1.handles[0]], [h], preset, latent=s1.latent, seed=seed, psi=psi, max_steps=steps)
    r2 = back.run()
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        start, end = s1.gen.image(s1.latent0), back.gen.image(back.latent)
        f0, f1 = s1.gen.features(s1.latent0), back.gen.features(back.latent)
    return dict(method=method, seed=seed, psnr=psnr(start, end), feature_l1=float((f0 - f1).abs().mean()),
                forward_moved=moved_mean(r1), back_moved=moved_mean(r2), forward_reached=r1.reached,
                forward_tracked_reached=r1.tracked_reached, back_reached=r2.reached,
                steps=r1.steps + r2.steps, seconds=round(seconds, 2))


def main(argv=None):
    ap = cli.parser(__doc__, model=True, steps=200)
    ap.add_argument("--pairs", type=int, default=10, help="drags there and back per engine (default 10)")
    args = ap.parse_args(argv)
    cli.setup(args)
    G = checkpoints.load(args.model)
    rows = []
    for i in range(args.pairs):
        for m in ENGINES:
            rows.append(round_trip(G, m, 100 + i, args.steps, params=checkpoints.presets(args.model)))
            print(rows[-1], flush=True)
    summary = {m: dict(psnr=st.mean(r["psnr"] for r in rows if r["method"] == m),
                       feature_l1=st.mean(r["feature_l1"] for r in rows if r["method"] == m),
                       forward_moved_median=median(r["forward_moved"] for r in rows if r["method"] == m),
                       back_moved_median=median(r["back_moved"] for r in rows if r["method"] == m),
                       forward_reached=sum(r["forward_reached"] for r in rows if r["method"] == m),
                       forward_tracked_reached=sum(r["forward_tracked_reached"] for r in rows if r["method"] == m),
                       seconds=st.mean(r["seconds"] for r in rows if r["method"] == m)) for m in ENGINES}
    out = Path(args.out)
    md = [f"Drag and drag back, {args.pairs} seeds, {args.steps} steps each way, model `{args.model}`.",
          f"Reproduce: `python -m benchmarks.drag_back --pairs {args.pairs} --steps {args.steps}`", "",
          "| method | PSNR start vs round trip (higher = more consistent) | feature L1 (lower = better) | "
          "content moved, forward / back (median fraction of the requested way) | forward drags reached "
          "(engine and content >= half way) | engine said arrived | s per round trip |",
          "|---|---|---|---|---|---|---|"]
    fmt = lambda v: "n/a" if v is None else f"{v:.2f}"
    for m, s in summary.items():
        md.append(f"| {m} | {s['psnr']:.2f} dB | {s['feature_l1']:.4f} | {fmt(s['forward_moved_median'])} / "
                  f"{fmt(s['back_moved_median'])} | {s['forward_reached']}/{args.pairs} | "
                  f"{s['forward_tracked_reached']}/{args.pairs} | {s['seconds']:.1f} |")
    write(out, "drag_back", dict(model=args.model, pairs=args.pairs, steps=args.steps, summary=summary, rows=rows),
          rows, md)
    bar_plot(out / "drag_back.png", [m for m in summary], {"PSNR (dB)": [s["psnr"] for s in summary.values()]},
             "PSNR start vs round trip (dB)", f"Drag and drag back, {args.pairs} seeds")
    return summary


if __name__ == "__main__":
    sys.exit(cli.run(main))
