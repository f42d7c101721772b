"""Trackers against a known truth, with a look-alike beside the handle (the poster's "ambiguous tracking").

    python -m benchmarks.tracker_distractors [--model ID] [--seeds 2000-2019] [--out DIR]

Per seed (held-out: no preset was calibrated on them) and per case, a start picture and its
features (the model's feature block, read at image size as the reference mode reads it) get a
*distractor*: the features (and pixels) of a small patch around the handle copied, with a little
noise, `--gap` px beside it. Then a synthetic move whose truth is known: the ideal local move
(dragcore.localmove) carries the content at the handle exactly onto its target, in the features and
in the picture alike; the features also get a little noise (what a drag changes besides the move).
Each tracker (dragcore.tracking: its real classes) is asked, from the handle, where the content is:

    error   |tracked point - target| (image px)
    jumped  the tracked point is nearer to where the distractor went than to the target

Cases with no distractor are scored too (`clean`): a tracker that only avoids look-alikes by
never moving would score badly there. The flow tracker reads the pictures (optical flow), the
others the features. Targets of the issue: discriminative median error <= 0.5 px and jumps <= 5 %.
"""
import statistics as st
import sys
from types import SimpleNamespace

import numpy as np
import torch

import checkpoints
from benchmarks import cli
from benchmarks.report import write
from dragcore import adapt, tracking
from dragcore.features import resize_to_image
from dragcore.localmove import ideal_move
from stylegan.imageops import to_uint8

TRACKERS = ("features", "discriminative", "flow")


def case_points(rng, shape, move, gap):
    """(handle, target, distractor) as integer image px: the handle in the central half, the target
    `move` px away along a random axis direction, the distractor `gap` px beside the handle, across
    the move."""
    h, w = shape
    hx, hy = rng.integers(w // 4 + gap, 3 * w // 4 - gap), rng.integers(h // 4 + gap, 3 * h // 4 - gap)
    dx, dy = [(1, 0), (-1, 0), (0, 1), (0, -1)][rng.integers(4)]
    side = 1 if rng.random() < 0.5 else -1
    return (float(hx), float(hy)), (float(hx + dx * move), float(hy + dy * move)), \
        (float(hx - dy * gap * side), float(hy + dx * gap * side))


def paste(x, src, dst, radius, noise, rng):
    """x [1, C, H, W] with the (2 radius + 1)^2 patch around src copied to dst, plus noise (relative
    to the patch's spread)."""
    (sx, sy), (dx, dy), r = [int(v) for v in src], [int(v) for v in dst], radius
    out = x.clone()
    patch = x[..., sy - r:sy + r + 1, sx - r:sx + r + 1]
    jitter = torch.from_numpy(rng.standard_normal(patch.shape)).to(x) * noise * float(patch.std())
    out[..., dy - r:dy + r + 1, dx - r:dx + r + 1] = patch + jitter
    return out


def where_it_went(point, handle, target, shape, sigma):
    """The destination of the content at `point` under the ideal local move (the grid point whose
    source is nearest to it)."""
    h, w = shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    g = torch.exp(-((xs - target[0]) ** 2 + (ys - target[1]) ** 2) / (2 * sigma ** 2))
    sx, sy = xs - (target[0] - handle[0]) * g, ys - (target[1] - handle[1]) * g
    k = int(((sx - point[0]) ** 2 + (sy - point[1]) ** 2).argmin())
    return float(xs.flatten()[k]), float(ys.flatten()[k])


def session_view(F0, handle, target, res, feature_res, start, current):
    """What a Tracker reads of its session: the start features, the points, the shape, the step, and
    for flow the start and current pictures."""
    return SimpleNamespace(F0=F0, handles0=torch.tensor([handle]), targets=torch.tensor([target]),
                           shape=tuple(F0.shape[-2:]), res=res, feature_res=feature_res, device=F0.device, steps=1,
                           report=SimpleNamespace(start_image=lambda: start, preview=lambda: current))


def run_case(gen, latent, rng, args, with_distractor):
    with torch.no_grad():
        img, feat = gen.image_and_features(latent)
    F = resize_to_image(feat, img.shape[-2:])
    shape = tuple(img.shape[-2:])
    handle, target, distractor = case_points(rng, shape, args.move, args.gap)
    if with_distractor:
        F = paste(F, handle, distractor, 1, args.copy_noise, rng)
        img = paste(img, handle, distractor, 1, args.copy_noise, rng)
    sigma = args.sigma
    F_now = ideal_move(F, [handle], [target], sigma)
    F_now = F_now + torch.from_numpy(rng.standard_normal(F_now.shape)).to(F_now) * args.drift * float(F.std())
    start, current = to_uint8(img)[0], to_uint8(ideal_move(img, [handle], [target], sigma))[0]
    view = session_view(F, handle, target, gen.resolution, gen.feature_res, start, current)
    went = where_it_went(distractor, handle, target, shape, sigma)
    out = {}
    for name in TRACKERS:
        tr = tracking.make(name, view, radius_px=args.radius)
        found = tr.locate(F_now, view.handles0, force=True)
        p = found[0].tolist() if found is not None else list(handle)
        err = float(np.hypot(p[0] - target[0], p[1] - target[1]))
        to_d = float(np.hypot(p[0] - went[0], p[1] - went[1]))
        out[name] = dict(error=err, jumped=bool(with_distractor and to_d < err), confidence=float(tr.confidence[0]))
    return out


def main(argv=None):
    ap = cli.parser(__doc__, model=True, seeds="2000-2019", seeds_help="held-out seeds 'A-B'")
    ap.add_argument("--cases", type=int, default=4, help="cases per seed (each with and without a distractor)")
    ap.add_argument("--move", type=float, default=4.0, help="move length, image px")
    ap.add_argument("--gap", type=int, default=3, help="distractor's distance from the handle, image px")
    ap.add_argument("--radius", type=float, default=6.0, help="the trackers' search square, image px")
    ap.add_argument("--sigma", type=float, default=4.0, help="the ideal local move's Gaussian, image px")
    ap.add_argument("--copy-noise", type=float, default=0.1, help="noise on the copied patch (of its spread)")
    ap.add_argument("--drift", type=float, default=0.2, help="noise on the moved features (of their spread)")
    args = ap.parse_args(argv)
    seeds = cli.seed_list(ap, args)
    cli.setup(args)
    G = checkpoints.load(args.model)
    feature_res = checkpoints.presets(args.model)["draggan"].get("feature_res")
    gen = adapt(G, "cpu", feature_res)
    rows = []
    rng = np.random.default_rng(0)
    for seed in seeds:
        latent = gen.latent_init(seed, 0.7, "w+")
        for k in range(args.cases):
            for distractor in (True, False):
                for name, r in run_case(gen, latent, rng, args, distractor).items():
                    rows.append(dict(seed=seed, case=k, distractor=distractor, tracker=name, **r))
    summary = {}
    for name in TRACKERS:
        for d in (True, False):
            sel = [r for r in rows if r["tracker"] == name and r["distractor"] == d]
            summary[f"{name}{'' if d else ' (clean)'}"] = dict(
                median_error=round(st.median(r["error"] for r in sel), 3),
                mean_error=round(st.mean(r["error"] for r in sel), 3),
                jump_rate=round(sum(r["jumped"] for r in sel) / len(sel), 3) if d else None, n=len(sel))
    md = [f"Trackers vs the truth of an ideal local move ({args.model}, seeds {args.seeds}, {args.cases} cases each; "
          f"move {args.move:g} px, distractor {args.gap} px beside the handle, search square {args.radius:g} px):", "",
          "| tracker | median error (px) | mean error (px) | jumps to the distractor | n |", "|---|---|---|---|---|"]
    for k, v in summary.items():
        jr = "—" if v["jump_rate"] is None else f"{100 * v['jump_rate']:.0f} %"
        md.append(f"| {k} | {v['median_error']:.2f} | {v['mean_error']:.2f} | {jr} | {v['n']} |")
    md += ["", f"Command: `python -m benchmarks.tracker_distractors --model {args.model} --seeds {args.seeds} "
               f"--cases {args.cases}`"]
    write(args.out, "tracker_distractors", dict(args=vars(args), summary=summary, rows=rows), rows, md)
    return summary


if __name__ == "__main__":
    sys.exit(cli.run(main, none_fails=True))
