"""Face-landmark drag accuracy (DragGAN paper, section 4.2): mean distance (MD) between the
landmarks of a dragged face and the target landmarks, for DragGAN and FreeDrag.

    python -m benchmarks.landmarks [--pairs 10] [--steps 200] [--model ID] \
        --mp-python /path/to/mediapipe-venv/bin/python

Protocol. For pair i, seeds A = seed + 2i and B = seed + 2i + 1 are rendered (psi 0.7, W+),
upscaled to 256 px (bicubic) and given to a real third-party landmark detector (mediapipe
0.10.14 face mesh with iris refinement, in its own venv: it needs numpy<2); landmark
coordinates are mapped back to model pixels. Handles are A's landmarks, targets B's. A is
dragged with each method (same step budget, same defaults as the app), the result is
detected again, and MD = mean |landmark(result) - landmark(B)| over the point set, in model
pixels and as a fraction of the image size; "no edit" is MD between A and B.
`--displacement-scale s` uses targets A + s (B - A) instead (s = 1: the paper's protocol): on a
64 px model the A-to-B distances (1-3 px) are the size of the engines' stop distances
(DragGAN 2 px, FreeDrag 1 px) and of the detector's noise, so s = 3 shows whether the methods
move the face when the drag is large enough to measure.

Point sets (mediapipe face-mesh indices):
* 1 point: the nose tip (1).
* 5 points: both iris centres (468, 473), nose tip (1), mouth corners (61, 291).
* 68 points: the usual iBUG-68 layout re-expressed in face-mesh vertices (jaw 17, brows 10,
  nose 9, eyes 12, lips 20); see `SUBSET_68`.

A pair where detection fails on A or B is reported as failed (not dropped); an edit whose
result has no detectable face is reported with MD null and counted in `undetected`. Beside the
landmarks, every edit reports the optical-flow motion of its points (dragcore.motion, mean
moved_fraction over the points), `reached` (engine at target and content at least half way)
and the engine's own verdict (`tracked_reached`). A reference row, **ideal local move**
(dragcore.localmove: A warped so the content around each handle lands exactly on its target), shows
what the detector makes of a perfectly local edit of the same size: the MD cut a local drag can get.
Writes benchmarks/results/landmarks[_xS].{json,csv,md,png}.
"""
import os
import statistics as st
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np
import torch
from PIL import Image

import checkpoints
from benchmarks import cli
from benchmarks.report import ENGINES, make_session, bar_plot, median, moved_mean, write
from dragcore.localmove import ideal_move
from dragcore.protocol import adapt
from stylegan.imageops import to_uint8

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "benchmarks" / "landmark_worker.py"

SUBSET_1 = [1]
SUBSET_5 = [468, 473, 1, 61, 291]
SUBSET_68 = ([127, 234, 93, 132, 58, 172, 136, 150, 176, 152, 400, 379, 365, 397, 288, 361, 454]  # jaw
             + [70, 63, 105, 66, 107, 336, 296, 334, 293, 300]                                   # brows
             + [168, 197, 5, 4, 75, 97, 2, 326, 305]                                             # nose
             + [33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380]                      # eyes
             + [61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,                            # outer lips
                78, 82, 13, 312, 308, 317, 14, 87])                                              # inner lips
SUBSETS = {"1": SUBSET_1, "5": SUBSET_5, "68": SUBSET_68}
IDEAL = "ideal local move"   # the reference row: A warped so each handle's content lands on its target


MP_HELP = "interpreter with mediapipe==0.10.14 (default: $LATENTLAB_MP_PYTHON)"


def default_mp_python():
    return os.environ.get("LATENTLAB_MP_PYTHON")


def check_mp_python(mp_python):
    """A ValueError (one line) unless `mp_python` names an interpreter file: what a benchmark checks before its
    work, so that a missing one is not found minutes in, at the first landmarks."""
    if not mp_python or not Path(mp_python).is_file():
        raise ValueError(("--mp-python " + str(mp_python)[:200] + ": no such file; " if mp_python else "") +
                         "the landmark benchmark needs a Python with mediapipe==0.10.14 (numpy<2): pass "
                         "--mp-python or set LATENTLAB_MP_PYTHON (docs/benchmarks.md shows how to make one)")


def detect(images, mp_python, size=256, margins=False):
    """{key: [478, 2] array in model pixels or None} for {key: [1, 3, res, res] image}; margins=True: {key: the
    face's detection margin} instead (landmark_worker.margins: >= 0.5 exactly when the face is kept)."""
    check_mp_python(mp_python)
    files = {key: quote(key, safe="") + ".png" for key in images}   # a key may hold "/" (a recipe's name)
    with tempfile.TemporaryDirectory() as tmp:
        res = {}
        for key, img in images.items():
            res[key] = img.shape[-1]
            Image.fromarray(to_uint8(img)[0]).resize((size, size), Image.BICUBIC).save(Path(tmp) / files[key])
        out = Path(tmp) / "landmarks.json"
        subprocess.run([mp_python, str(WORKER), tmp, "--json", str(out)] + (["--margins"] if margins else []), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import json
        found = json.loads(out.read_text())
    if margins:
        return {k: found.get(files[k], 0.0) for k in images}
    return {k: None if found.get(files[k]) is None else np.asarray(found[files[k]]) * res[k] for k in images}


def md(a, b, idx):
    return float(np.linalg.norm(a[idx] - b[idx], axis=1).mean())


def clip_points(p, res):
    return np.clip(p, 0, res - 1)


def most_different(G, faces, k, mp_python, seed=0, psi=0.7):
    """The k pairs (seed_a, seed_b) of the faces seed..seed+faces-1 whose 5-landmark MD is largest
    (faces without a detectable face are left out)."""
    gen = adapt(G, "cpu")
    with torch.no_grad():
        lm = detect({f"s{s}": gen.image(gen.latent_init(s, psi, "w+")) for s in range(seed, seed + faces)}, mp_python)
    found = [s for s in range(seed, seed + faces) if lm[f"s{s}"] is not None]
    pairs = [(a, b) for i, a in enumerate(found) for b in found[i + 1:]]
    pairs.sort(key=lambda p: -md(lm[f"s{p[0]}"], lm[f"s{p[1]}"], SUBSETS["5"]))
    return pairs[:k]


def run(G, pairs, steps, mp_python, seed=0, psi=0.7, subsets=("1", "5", "68"), scale=1.0, log=print, params=None):
    """pairs: a count (seeds seed + 2i -> seed + 2i + 1) or a list of (seed_a, seed_b)."""
    gen = adapt(G, "cpu")
    res = gen.resolution
    seeds = [(seed + 2 * i, seed + 2 * i + 1) for i in range(pairs)] if isinstance(pairs, int) else list(pairs)
    pairs = len(seeds)
    with torch.no_grad():
        starts = {f"{tag}{i}": gen.image(gen.latent_init(s, psi, "w+"))
                  for i in range(pairs) for tag, s in zip("AB", seeds[i])}
    lm = detect(starts, mp_python)
    rows, failed, edits, goal = [], [], {}, {}
    for i in range(pairs):
        a, b = lm[f"A{i}"], lm[f"B{i}"]
        if a is None or b is None:
            failed.append(dict(pair=i, seed_a=seeds[i][0], seed_b=seeds[i][1],
                               reason="no face found on " + " and ".join(t for t, x in (("A", a), ("B", b)) if x is None)))
            log(f"pair {i}: {failed[-1]['reason']}")
            continue
        goal[i] = clip_points(a + scale * (b - a), res)  # the target landmarks (B's when scale is 1)
        for k in subsets:
            idx = SUBSETS[k]
            h, t = clip_points(a[idx], res), goal[i][idx]
            edits[f"{IDEAL}_{k}_{i}"] = ideal_move(starts[f"A{i}"], h.tolist(), t.tolist(), res / 8)
            rows.append(dict(pair=i, seed_a=seeds[i][0], seed_b=seeds[i][1], points=int(k), method=IDEAL,
                             md_before=md(a, goal[i], idx), steps=0, reached=None, tracked_reached=None,
                             moved=None, tracked_md=None, seconds=0.0))
            for m in ENGINES:
                sess = make_session(m, G, h.tolist(), t.tolist(), (params or {}).get(m), seed=seeds[i][0], psi=psi,
                                    max_steps=steps)
                t0 = time.perf_counter()
                r = sess.run()
                sec = time.perf_counter() - t0
                with torch.no_grad():
                    edits[f"{m}_{k}_{i}"] = sess.gen.image(sess.latent)
                rows.append(dict(pair=i, seed_a=seeds[i][0], seed_b=seeds[i][1], points=int(k), method=m,
                                 md_before=md(a, goal[i], idx), steps=r.steps, reached=r.reached,
                                 tracked_reached=r.tracked_reached, moved=moved_mean(r),
                                 tracked_md=float(np.mean(r.distances)), seconds=round(sec, 2)))
                log(f"pair {i} {k:>2s} points {m:8s}: {r.steps} steps, {sec:.1f} s")
    found = detect(edits, mp_python) if edits else {}
    for r in rows:
        e = found[f"{r['method']}_{r['points']}_{r['pair']}"]
        r["md_after"] = None if e is None else md(e, goal[r["pair"]], SUBSETS[str(r["points"])])
    return res, rows, failed


def summarise(rows, res, subsets):
    summary = {}
    for k in subsets:
        for m in (IDEAL,) + tuple(ENGINES):
            rs = [r for r in rows if r["points"] == int(k) and r["method"] == m]
            ok = [r for r in rs if r["md_after"] is not None]
            if not rs:
                continue
            before = st.mean(r["md_before"] for r in rs)
            after = st.mean(r["md_after"] for r in ok) if ok else None
            before_ok = st.mean(r["md_before"] for r in ok) if ok else None
            summary[f"{m}/{k}"] = dict(
                method=m, points=int(k), edits=len(rs), undetected=len(rs) - len(ok), md_before=before,
                md_after=after, md_before_frac=before / res, md_after_frac=None if after is None else after / res,
                reduction=None if after is None else 1 - after / before_ok,
                tracked_md=None if m == IDEAL else st.mean(r["tracked_md"] for r in rs),
                moved_median=None if m == IDEAL else median(r["moved"] for r in rs),
                reached=None if m == IDEAL else sum(r["reached"] for r in rs),
                tracked_reached=None if m == IDEAL else sum(r["tracked_reached"] for r in rs),
                steps=st.mean(r["steps"] for r in rs),
                seconds=st.mean(r["seconds"] for r in rs))
    return summary


def main(argv=None):
    ap = cli.parser(__doc__, model=True, steps=200)
    ap.add_argument("--pairs", type=int, default=10, help="face pairs (start, target) per engine (default 10)")
    ap.add_argument("--seed", type=int, default=0, help="the first seed: pair i is seeds seed + 2i and seed + 2i + 1 (default 0)")
    ap.add_argument("--points", default="1,5,68", help="comma-separated point sets out of 1, 5, 68")
    ap.add_argument("--most-different", type=int, default=None, metavar="K",
                    help="instead of consecutive pairs: the K pairs of the 2 x --pairs faces from --seed whose "
                         "5-landmark distance is largest")
    ap.add_argument("--displacement-scale", type=float, default=1.0,
                    help="targets = A + s (B - A): 1 is the paper's protocol; > 1 magnifies B - A for small models")
    ap.add_argument("--mp-python", default=default_mp_python(), help=MP_HELP)
    args = ap.parse_args(argv)
    subsets = [s.strip() for s in args.points.split(",")]
    bad = [s for s in subsets if s not in SUBSETS]
    if bad or args.pairs < 1 or args.steps < 0:
        ap.error(f"--points must be out of {list(SUBSETS)} (got {bad}); --pairs >= 1; --steps >= 0")
    check_mp_python(args.mp_python)
    cli.setup(args)
    G = checkpoints.load(args.model)
    if not args.displacement_scale > 0:
        ap.error("--displacement-scale must be > 0")
    pairs = args.pairs
    if args.most_different:
        pairs = most_different(G, 2 * args.pairs, args.most_different, args.mp_python, args.seed)
    res, rows, failed = run(G, pairs, args.steps, args.mp_python, args.seed, subsets=subsets,
                            params=checkpoints.presets(args.model),
                            scale=args.displacement_scale)
    summary = summarise(rows, res, subsets)
    cmd = f"python -m benchmarks.landmarks --pairs {args.pairs} --steps {args.steps} --points {args.points}"
    name = "landmarks"
    if args.most_different:
        cmd += f" --seed {args.seed} --most-different {args.most_different}"
        name = "landmarks_most_different"
    if args.displacement_scale != 1:
        cmd += f" --displacement-scale {args.displacement_scale:g}"
        name = f"landmarks_x{args.displacement_scale:g}"
    what = "B's landmarks" if args.displacement_scale == 1 else f"A + {args.displacement_scale:g} (B - A)"
    lines = [f"Face-landmark drag accuracy, model `{args.model}` ({res} px), {args.pairs} seed pairs, "
             f"{args.steps} steps max per edit, targets = {what}, mediapipe face mesh on 256 px upscales.",
             f"Reproduce: `{cmd} --mp-python MP_VENV/bin/python`", "",
             "| points | method | MD no edit (px) | MD after (px) | after / image size | reduction | "
             "content moved (optical flow, median fraction) | reached (engine and content) | engine said arrived | "
             "undetected results | steps | s per edit |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary.values():
        fmt = (lambda v, f: "n/a" if v is None else format(v, f))
        ref = s["method"] == IDEAL
        lines.append(f"| {s['points']} | {s['method']} | {s['md_before']:.2f} | {fmt(s['md_after'], '.2f')} | "
                     f"{fmt(s['md_after_frac'], '.3f')} | {fmt(s['reduction'], '.0%')} | {fmt(s['moved_median'], '.2f')} | "
                     + ("n/a | n/a | " if ref else f"{s['reached']}/{s['edits']} | {s['tracked_reached']}/{s['edits']} | ")
                     + f"{s['undetected']}/{s['edits']} | " + ("n/a | n/a |" if ref else f"{s['steps']:.0f} | {s['seconds']:.1f} |"))
    lines.append("")
    lines.append(f"Pairs where landmark detection failed on A or B: {len(failed)}"
                 + "".join(f"\n- pair {f['pair']} (seeds {f['seed_a']}, {f['seed_b']}): {f['reason']}" for f in failed))
    out = Path(args.out)
    write(out, name, dict(model=args.model, resolution=res, pairs=args.pairs, steps=args.steps,
                          displacement_scale=args.displacement_scale, summary=summary, failed=failed, rows=rows),
          rows, lines)
    if summary:
        groups = [f"{k} pt" for k in subsets]
        series = {"no edit": [summary.get(f"draggan/{k}", {}).get("md_before") for k in subsets]}
        for m in (IDEAL,) + tuple(ENGINES):
            series[m] = [summary.get(f"{m}/{k}", {}).get("md_after") for k in subsets]
        bar_plot(out / f"{name}.png", groups, series, "mean distance to target landmarks (px)",
                 f"Landmark MD, {res} px model, {args.pairs} pairs")
    return summary, failed


if __name__ == "__main__":
    sys.exit(cli.run(main, none_fails=True))
