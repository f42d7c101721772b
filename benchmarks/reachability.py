"""Reachability: can the model show the same face with one part moved, near the face's latent?

    python -m benchmarks.reachability [--model ID] [--seeds 3000-3011] [--steps 150]

A drag engine can only move what the model can show moved. This benchmark asks the model
directly, without any engine: for each held-out face I = G(w) and a random local move T (the
content around a point of the face's central half carried by 3-12 % of the image in a random
direction, Gaussian falloff sigma = res/8: `dragcore.localmove`), the latent is optimised (Adam,
`--steps`, L1 to the picture) toward J = T(I), in each of these sets of trainable rows:

* **W+ rows 0-5**: what the papers' engines optimise; on a model without a warp pathway this is all
  there is (the deformation code stays zero);
* **code only** and **W+ rows 0-5 + code**, on a model with a warp pathway (stylegan.warp).

Scores, none of them the objective itself:
* **moved**: the optical flow (`dragcore.motion`, from I to the result) at the moved point, along
  the move, as a fraction of its length (the ideal move scores ~1 on the same measure, doing
  nothing 0);
* **reached**: 1 - |G(x) - J| / |I - J| (mean absolute difference): 1 is the moved face exactly,
  0 is no closer than the start, negative is farther;
* colour cast and far-field change (`dragcore.fidelity`, /255) of the result against I.
Reference rows: **no edit** (I itself: moved 0, reached 0) and **ideal local move** (J itself).
Writes benchmarks/results/reachability.{json,csv,md}.
"""
import statistics as st
import sys
import time

import numpy as np
import torch

import checkpoints
from benchmarks import cli
from benchmarks.report import median, write
from dragcore import fidelity, motion
from dragcore.localmove import ideal_move
from dragcore.protocol import TRAINABLE_ROWS, adapt
from stylegan.imageops import to_uint8

AMPLITUDES = (0.03, 0.06, 0.09, 0.12)   # move length / image size, one move of each per face
REFERENCE = ("no edit", "ideal local move")


def moves(seed, res):
    """The seed's four local moves: [(point [x, y], target [x, y])], one per AMPLITUDES."""
    rng = np.random.default_rng(seed)
    out = []
    for a in AMPLITUDES:
        p = rng.uniform(res / 4, 3 * res / 4, 2)
        ang = rng.uniform(0, 2 * np.pi)
        out.append((p.tolist(), (p + a * res * np.array([np.cos(ang), np.sin(ang)])).tolist()))
    return out


def variants(G):
    """{name: (style rows trained, code trained)} for this model."""
    out = {"W+ rows 0-5": (TRAINABLE_ROWS, False)}
    if G.synthesis.warp is not None:
        out.update({"code only": (0, True), "W+ rows 0-5 + code": (TRAINABLE_ROWS, True)})
    return out


def fit(gen, latent, target, rows, code, steps, lr):
    """Adam on the chosen rows of `latent` (style rows 0..rows-1, the code row if `code`) toward
    the picture `target` (L1); returns the image it reaches."""
    n = gen.G.num_ws
    train = torch.zeros(latent.shape[1], dtype=torch.bool)
    train[:rows] = True
    if code:
        train[n:] = True
    delta = torch.zeros_like(latent[:, train], requires_grad=True)
    opt = torch.optim.Adam([delta], lr=lr)
    for _ in range(steps):
        lat = latent.clone()
        lat[:, train] = lat[:, train] + delta
        loss = (gen.image(lat) - target).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        lat = latent.clone()
        lat[:, train] = lat[:, train] + delta
        return gen.image(lat)


def score(start, result, target, point, goal):
    """The row of one result: moved (flow), reached, colour cast, far field."""
    a, b = to_uint8(start)[0], to_uint8(result)[0]
    moved = motion.measure(a, b, [point], [goal])[0]["moved_fraction"]
    gap = (start - target).abs().mean().item()
    return dict(moved=moved, reached=1 - (result - target).abs().mean().item() / gap,
                colour_cast=fidelity.colour_cast(a, b), far_field=fidelity.far_field(a, b, [point, goal]))


def run(G, seeds, steps, lr=0.01, psi=0.7, log=print):
    gen = adapt(G, "cpu")
    res = gen.resolution
    rows = []
    for s in seeds:
        with torch.no_grad():
            latent = gen.latent_init(s, psi, "w+")
            start = gen.image(latent)
        for i, (p, t) in enumerate(moves(s, res)):
            target = ideal_move(start, [p], [t], res / 8)
            base = dict(seed=s, move=i, amplitude=AMPLITUDES[i], point=p, goal=t)
            rows.append(dict(base, method="no edit", seconds=0.0, **score(start, start, target, p, t)))
            rows.append(dict(base, method="ideal local move", seconds=0.0, **score(start, target, target, p, t)))
            for name, (k, code) in variants(G).items():
                t0 = time.perf_counter()
                out = fit(gen, latent, target, k, code, steps, lr)
                rows.append(dict(base, method=name, seconds=round(time.perf_counter() - t0, 2),
                                 **score(start, out, target, p, t)))
                log(f"seed {s} move {i} ({AMPLITUDES[i]:.0%}) {name:20s}: moved {rows[-1]['moved']:+.2f} "
                    f"reached {rows[-1]['reached']:+.2f}")
    return res, rows


def summarise(rows):
    out = {}
    for m in dict.fromkeys(r["method"] for r in rows):
        rs = [r for r in rows if r["method"] == m]
        out[m] = dict(method=m, moves=len(rs), moved=median(r["moved"] for r in rs),
                      reached=median(r["reached"] for r in rs),
                      moved_half=sum((r["moved"] or 0) >= 0.5 for r in rs),
                      colour_cast=median(r["colour_cast"] for r in rs), far_field=median(r["far_field"] for r in rs),
                      seconds=st.mean(r["seconds"] for r in rs))
    return out


def main(argv=None):
    ap = cli.parser(__doc__, model=True, seeds="3000-3011", steps=150,
                    seeds_help="held-out seeds, 'A-B' (never used by training or calibration)")
    ap.add_argument("--lr", type=float, default=0.01, help="Adam learning rate of the latent (default 0.01)")
    args = ap.parse_args(argv)
    seeds = cli.seed_list(ap, args)
    if args.steps < 1 or not args.lr > 0:
        ap.error("--steps must be >= 1 and --lr > 0")
    cli.setup(args)
    G = checkpoints.load(args.model)
    res, rows = run(G, seeds, args.steps, args.lr)
    summary = summarise(rows)
    lines = [f"Reachability on {len(seeds)} held-out faces (seeds {args.seeds}) of `{args.model}` ({res} px): "
             f"{len(AMPLITUDES)} local moves per face ({', '.join(f'{a:.0%}' for a in AMPLITUDES)} of the image, "
             f"Gaussian falloff res/8), each fitted by Adam ({args.steps} steps, lr {args.lr:g}, L1 to the moved face).",
             f"Reproduce: `python -m benchmarks.reachability --model {args.model} --seeds {args.seeds} "
             f"--steps {args.steps}`", "",
             "moved: optical flow at the point along the move / its length (median); reached: 1 - |result - moved face| / "
             "|start - moved face| (median); colour cast and far field: medians, /255.", "",
             "| latent optimised | moved | moves moved >= 0.5 | reached | colour cast | far field | s per move |",
             "|---|---|---|---|---|---|---|"]
    for s in summary.values():
        ref = s["method"] in REFERENCE
        lines.append(f"| {s['method']} | {s['moved']:.2f} | {s['moved_half']}/{s['moves']} | {s['reached']:.2f} | "
                     f"{s['colour_cast']:.1f} | {s['far_field']:.1f} | {'n/a' if ref else format(s['seconds'], '.1f')} |")
    write(args.out, "reachability", dict(model=args.model, resolution=res, seeds=args.seeds, steps=args.steps,
                                         lr=args.lr, summary=summary, rows=rows), rows, lines)
    return summary


if __name__ == "__main__":
    sys.exit(cli.run(main, none_fails=True))
