"""Where the engines say the handle is, and where the content went (optical flow), on held-out drags.

    python -m benchmarks.drag_motion [--drags 8] [--steps 200] [--model ID] [--lr LR] [--name NAME]

Drag i: seed 20 + i (psi 0.7, W+), a handle uniform in the central 30 % of the image, a target
res/10 away in a random direction. Both engines with the model's presets (or `--lr`). Per drag:
the engine's verdict (`tracked_reached`), how far the engine's handle went along the request
(`tracked_fraction`: DragGAN's tracked point, FreeDrag's line point), how far the content under
the start handle went by optical flow (`moved_fraction`, dragcore.motion) and `reached`. The
motion is measured here from the start and result images, not taken from the session, so this
script also measures engines that predate the measure. A tracked point that runs ahead of the
content shows as tracked_fraction >> moved_fraction. Writes benchmarks/results/NAME.{json,csv,md,png}
(NAME defaults to drag_motion): the png is start / DragGAN / FreeDrag per drag, handle red,
target blue.
"""
import statistics as st
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import checkpoints
from benchmarks import cli
from benchmarks.report import ENGINES, make_session, write
from dragcore import motion


def held_out_drags(n, shape, seed0=20, frac=0.1):
    """n (seed, handle, target): a handle in the centre of an H x W image (an int: square), the target
    frac * H away (the same drags as before on square models)."""
    H, W = (shape, shape) if isinstance(shape, int) else shape
    size = np.array([W, H])
    out = []
    for s in range(seed0, seed0 + n):
        rng = np.random.RandomState(s)
        h = rng.uniform(0.35, 0.65, 2) * size
        a = rng.uniform(0, 2 * np.pi)
        t = np.clip(h + frac * H * np.array([np.cos(a), np.sin(a)]), 0, size - 1)
        out.append((s, [round(float(v), 1) for v in h], [round(float(v), 1) for v in t]))
    return out


def one_drag(G, method, seed, h, t, steps, lr, params=None):
    s = make_session(method, G, [h], [t], (params or {}).get(method), seed=seed, max_steps=steps, lr=lr)
    t0 = time.perf_counter()
    r = s.run()
    start, end = s.report.start_image(), s.report.preview()
    m = motion.measure(start, end, [h], [t])[0]
    u = np.subtract(t, h)
    tracked = float(np.dot(np.subtract(r.handles[0], h), u) / np.dot(u, u))
    engine_says = r.tracked_reached
    row = dict(method=method, seed=seed, handle=h, target=t, steps=r.steps, seconds=round(time.perf_counter() - t0, 2),
               tracked_reached=engine_says, tracked_fraction=round(tracked, 3), moved=m["moved"],
               moved_fraction=m["moved_fraction"], reached=engine_says and m["moved_fraction"] >= 0.5)
    return row, start, end


def grid(path, images, drags, scale=3):
    hh, ww = (v * scale for v in images[0][0].shape[:2])
    cols = len(images[0])   # the start, then one column per engine
    canvas = Image.new("RGB", (cols * ww + 4 * (cols - 1), len(images) * (hh + 4)), "white")
    for i, (row, (_, h, t)) in enumerate(zip(images, drags)):
        for j, img in enumerate(row):
            im = Image.fromarray(img).resize((ww, hh), Image.NEAREST)
            d = ImageDraw.Draw(im)
            for (x, y), c in ((h, "red"), (t, "blue")):
                x, y = (x + 0.5) * scale, (y + 0.5) * scale
                d.ellipse([x - 3, y - 3, x + 3, y + 3], outline=c)
            canvas.paste(im, (j * (ww + 4), i * (hh + 4)))
    canvas.save(path)


def summary(rows):
    out = {}
    for m in ENGINES:
        rs = [r for r in rows if r["method"] == m]
        agree = sum(r["tracked_reached"] == (r["moved_fraction"] >= 0.5) for r in rs)
        out[m] = dict(drags=len(rs), moved_median=st.median(r["moved_fraction"] for r in rs),
                      moved_mean=st.mean(r["moved_fraction"] for r in rs),
                      tracked_median=st.median(r["tracked_fraction"] for r in rs),
                      engine_arrived=sum(r["tracked_reached"] for r in rs), reached=sum(r["reached"] for r in rs),
                      engine_agrees_with_flow=agree, steps_median=st.median(r["steps"] for r in rs),
                      seconds_mean=st.mean(r["seconds"] for r in rs))
    return out


def main(argv=None):
    ap = cli.parser(__doc__, model=True, steps=200)
    ap.add_argument("--drags", type=int, default=8, help="drags per engine (default 8)")
    ap.add_argument("--lr", type=float, default=None, help="Adam learning rate for both engines (default: theirs)")
    ap.add_argument("--name", default="drag_motion", help="the results' file name (default drag_motion)")
    args = ap.parse_args(argv)
    cli.setup(args)
    G = checkpoints.load(args.model)
    drags = held_out_drags(args.drags, tuple(getattr(G, "img_shape", (G.img_resolution,) * 2)))
    rows, images = [], []
    for seed, h, t in drags:
        pics = []
        for m in ENGINES:
            row, start, end = one_drag(G, m, seed, h, t, args.steps, args.lr, checkpoints.presets(args.model))
            rows.append(row)
            pics = pics or [start]
            pics.append(end)
            print(row, flush=True)
        images.append(pics)
    summ = summary(rows)
    lr = "the model's presets (`checkpoints.presets`)" if args.lr is None else f"the model's presets, lr {args.lr:g}"
    md = [f"Engine handle vs optical-flow motion, `{args.model}`, {args.drags} held-out drags (seeds 20..), "
          f"res/10 in random directions, {args.steps} steps max, {lr}.",
          f"Reproduce: `python -m benchmarks.drag_motion --model {args.model} --drags {args.drags} --steps {args.steps}"
          + ("" if args.lr is None else f" --lr {args.lr:g}") + f" --name {args.name}`", "",
          "| method | content moved (median / mean of requested way) | engine's handle (median of requested way) | "
          "engine says arrived | reached (engine and content >= 0.5) | engine agrees with flow | steps (median) |",
          "|---|---|---|---|---|---|---|"]
    for m, s in summ.items():
        md.append(f"| {m} | {s['moved_median']:.2f} / {s['moved_mean']:.2f} | {s['tracked_median']:.2f} | "
                  f"{s['engine_arrived']}/{s['drags']} | {s['reached']}/{s['drags']} | "
                  f"{s['engine_agrees_with_flow']}/{s['drags']} | {s['steps_median']:.0f} |")
    out = Path(args.out)
    write(out, args.name, dict(model=args.model, drags=args.drags, steps=args.steps, lr=args.lr, summary=summ,
                               rows=rows), rows, md)
    grid(out / f"{args.name}.png", images, drags)
    return summ


if __name__ == "__main__":
    sys.exit(cli.run(main))
