"""Per-model engine presets from calibration on training seeds, not guesses.

    python -m benchmarks.calibrate --model ID [--seeds 5000-5011] [--steps 200] [--dry-run]

Each engine's settings are swept on random drags of *training* seeds (5000 and up by default;
every reported benchmark uses other seeds: landmarks 0-19, drag_back 100-109, poster edits
1000-1011) and the best are written to `presets/<ID>.json`, which the registry
(`checkpoints.presets`) hands to the app, the CLIs and the benchmarks. Models without a file
(the official ones) keep the official hyper-parameters.

Drags: per seed one handle in the central half of the image and a target res/20 to res/6 away
in a random direction (W+, psi 0.7, no mask), the same drags for every setting: from the size of
the poster's smile (res/20) to beyond its turn (res/10), so a stop distance that is coarse for
small edits shows in the score.

Objective: what the picture shows, not what the engine claims: the median over the drags of
1 - |1 - f|, f the content's motion along the request (optical flow, `dragcore.motion`) as a
fraction of the requested length, clipped to [-1, 1.5]: 1 is the content exactly at the target,
and a drag that overshoots by a tenth scores as one that stops a tenth short. Guards: a setting
that wrecks the image (median PSNR of the area farther than res/4 from every point below
`--min-psnr`) or repaints it (median colour cast above `--max-cast` or far-field change above
`--max-far`, /255, dragcore.fidelity) is rejected.
Ties (within 0.02) go to the more local setting (far-field change, to 1/255), then to the faster.
`--tracker` calibrates with that tracker (written into the presets); by default the engines' own
default tracker.

Search: coordinate descent, one pass per engine in the order of `space()` (learning rate first,
then the trainable W+ rows (0, the warp code alone, on a model with a warp pathway), feature
block, radii, stop/arrival distances, tracking grid), each setting tried with the others at their
best so far. `--engines draggan` and `--engines freedrag` can run as two processes: each updates
only its own engine's section of the file. `--settings lr,rows` sweeps only those settings, from
the model's current presets (`--from-presets`) or the registry's.
Bad input (an unknown model id, an empty seed range, an unknown setting) is a one-line error.
"""
import json
import statistics as st
import sys
import time
from pathlib import Path

import numpy as np
import torch

import checkpoints
from benchmarks import cli
from benchmarks.cli import parse_seeds
from benchmarks.report import ENGINES, make_session, psnr
from dragcore import config, fidelity
from dragcore.protocol import adapt

ROOT = Path(__file__).resolve().parents[1]
TRAIN_SEEDS = "5000-5011"


def radii(res, image_px):
    """Radii in the engines' unit (px of a 512 px model, scaled by res / 512) that are the given
    distances in image px at this resolution: the official 3 / 12 would all shrink to one feature
    pixel on a small model, and a sweep over settings that are all equal learns nothing."""
    return [round(p * 512.0 / res, 3) for p in image_px]


def space(res, feature_blocks, warp=False):
    """{engine: [(setting, candidates)]}, in the order the search visits them. warp: the model has a
    warp pathway, so rows 0 (only its deformation code moves) is a candidate too."""
    blocks = [b for b in feature_blocks if 8 <= b < res]
    rows = [0, 3, 4, 6] if warp else [3, 4, 6]
    return {
        "draggan": [("lr", [0.001, 0.003, 0.01, 0.02]), ("rows", rows), ("feature_res", blocks),
                    ("r1", radii(res, (2, 3, 6))), ("r2", radii(res, (4, 8, 12))),
                    ("stop_distance", [0.5, 1.0, 2.0]), ("track_step", [1.0, 0.5])],
        "freedrag": [("lr", [0.002, 0.005, 0.01, 0.02]), ("rows", rows), ("feature_res", blocks),
                     ("l", [0.1, 0.2, 0.3, 0.4]), ("d", [1.0, 2.0, 3.0, 4.0]), ("arrival", [0.5, 1.0, 2.0])],
        "stabledrag": [("lr", [0.001, 0.003, 0.01, 0.02]), ("rows", rows), ("feature_res", blocks),
                       ("r1", radii(res, (2, 3, 6))), ("r2", radii(res, (4, 8, 12))), ("tau", [0.2, 0.4, 0.6]),
                       ("stop_distance", [0.5, 1.0, 2.0]), ("track_step", [1.0, 0.5])],
    }


def drags(seeds, shape):
    """One (handle, target) per seed in an H x W image: the handle in the central part, the target
    1/20..1/6 of the height away in a random direction, kept inside the image."""
    H, W = shape
    out = []
    for s in seeds:
        rng = np.random.RandomState(s)
        h = rng.uniform(0.3, 0.7, 2) * np.array([W, H])
        ang, length = rng.uniform(0, 2 * np.pi), rng.uniform(H / 20, H / 6)
        t = np.clip(h + length * np.array([np.cos(ang), np.sin(ang)]), 0, np.array([W, H]) - 1)
        out.append((s, h.tolist(), t.tolist()))
    return out


def far_mask(shape, points, radius):
    """dragcore.fidelity.far_mask as a torch mask (indexes the rendered images)."""
    return torch.from_numpy(fidelity.far_mask(shape, points, radius))


def evaluate(G, engine, params, cases, steps, psi=0.7):
    """Median of 1 - |1 - moved_fraction| (clipped), median far-field PSNR and mean seconds over the drags."""
    fracs, psnrs, secs, casts, fars, steps_taken = [], [], [], [], [], []
    for seed, h, t in cases:
        sess = make_session(engine, G, [h], [t], params, seed=seed, psi=psi, max_steps=steps)
        t0 = time.perf_counter()
        r = sess.run()
        secs.append(time.perf_counter() - t0)
        steps_taken.append(r.steps)
        fr = r.moved_fraction[0]
        casts.append(r.colour_cast)
        fars.append(r.far_field if r.far_field is not None else 0.0)
        fracs.append(float(np.clip(fr if fr is not None else 0.0, -1.0, 1.5)))
        with torch.no_grad():
            a, b = sess.render(sess.latent0), sess.render()
        m = far_mask(sess.shape, [h, t], sess.res / 4)
        psnrs.append(psnr(a[..., m], b[..., m]))
    hits = [1 - abs(1 - f) for f in fracs]   # overshooting the target misses it as much as stopping short
    return dict(score=st.median(hits), mean=st.mean(fracs), far_psnr=st.median(psnrs), seconds=st.mean(secs),
                colour_cast=st.median(casts), far_field=st.median(fars), steps=st.median(steps_taken),
                fractions=[round(f, 3) for f in fracs])


def search(G, engine, candidates, cases, steps, min_psnr, start=None, log=print, max_cast=3.0, max_far=6.0):
    """Coordinate descent from `start` (the registry's settings) and the engine's defaults;
    returns (best params, their evaluation, every trial)."""
    best, trials, best_eval = dict(start or {}), [], None
    for name, values in candidates:
        scored = []
        for v in values:
            params = {**best, name: v}
            ev = evaluate(G, engine, params, cases, steps)
            ok = ev["far_psnr"] >= min_psnr and ev["colour_cast"] <= max_cast and ev["far_field"] <= max_far
            trials.append(dict(engine=engine, params=params, accepted=ok, **ev))
            log(f"{engine:8s} {json.dumps(params):70s} motion {ev['score']:+.2f} (mean {ev['mean']:+.2f}) "
                f"far PSNR {ev['far_psnr']:.1f} dB cast {ev['colour_cast']:.1f} far {ev['far_field']:.1f} "
                f"{ev['steps']:g} steps {ev['seconds']:.1f} s{'' if ok else '  REJECTED'}")
            if ok:
                scored.append((ev, v))
        if not scored:
            continue
        top = max(e["score"] for e, _ in scored)
        ev, v = min(((e, v) for e, v in scored if e["score"] >= top - 0.02),
                    key=lambda x: (round(x[0]["far_field"]), x[0]["seconds"]))   # the more local, then the faster
        best[name], best_eval = v, ev
    return best, best_eval, trials


def main(argv=None):
    ap = cli.parser(__doc__, model=True, seeds=TRAIN_SEEDS, seeds_help="training seeds 'A-B' (reported benchmarks use others)",
                    steps=200, out=None)
    ap.add_argument("--engines", default="draggan,freedrag", help="comma-separated engines to calibrate")
    ap.add_argument("--min-psnr", type=float, default=20.0, help="reject settings whose far-field PSNR is lower")
    ap.add_argument("--max-cast", type=float, default=3.0, help="reject settings whose median colour cast (/255) is higher")
    ap.add_argument("--max-far", type=float, default=6.0, help="reject settings whose median far-field change (/255) is higher")
    ap.add_argument("--tracker", default=None, help="calibrate with this tracker (features, flow); it goes into the presets")
    ap.add_argument("--settings", default=None, help="sweep only these settings (comma-separated; default: all)")
    ap.add_argument("--from-presets", action="store_true",
                    help="start from the model's current presets (default: the registry's settings only)")
    ap.add_argument("--start-from", default=None, metavar="ENGINE",
                    help="start from another engine's calibrated presets (the settings both take, its tracker left out)")
    ap.add_argument("--dry-run", action="store_true", help="print the presets, do not write presets/ID.json")
    args = ap.parse_args(argv)
    try:
        info = checkpoints.get_info(args.model)
    except checkpoints.UnknownModelError as e:
        raise SystemExit(f"calibrate: {e}") from None
    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as e:
        raise SystemExit(f"calibrate: {e}") from None
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not engines or any(e not in ENGINES for e in engines):
        raise SystemExit(f"calibrate: --engines must be out of {list(ENGINES)}, got {args.engines!r}")
    cli.setup(args)
    G = checkpoints.load(args.model)
    gen = adapt(G, "cpu")
    cases = drags(seeds, tuple(getattr(gen, "shape", (gen.resolution,) * 2)))
    blocks = G.synthesis.block_resolutions
    out = dict(model=args.model, seeds=args.seeds, steps=args.steps, objective="median 1 - |1 - moved_fraction| (optical flow)",
               command=f"python -m benchmarks.calibrate --model {args.model} --seeds {args.seeds} --steps {args.steps}"
                       + (f" --tracker {args.tracker}" if args.tracker else "")
                       + (f" --start-from {args.start_from}" if args.start_from else "")
                       + (f" --settings {args.settings}" if args.settings else "")
                       + (" --from-presets" if args.from_presets else "")
                       + (f" --max-far {args.max_far:g}" if args.max_far != 6.0 else ""))
    for engine in engines:
        start = checkpoints.presets(args.model, calibrated=args.from_presets)[engine]
        if args.start_from:
            if args.start_from not in ENGINES:
                raise SystemExit(f"calibrate: --start-from must be out of {list(ENGINES)}, got {args.start_from!r}")
            other = checkpoints.presets(args.model)[args.start_from]
            own = set(config.names(config.CONFIGS[engine])) - {"tracker"}
            start = {**{k: v for k, v in other.items() if k in own}, **start}
        if args.tracker:
            start = dict(start, tracker=args.tracker)
        candidates = space(gen.resolution, blocks, G.synthesis.warp is not None)[engine]
        if args.settings:
            wanted = [n.strip() for n in args.settings.split(",") if n.strip()]
            unknown = sorted(set(wanted) - {n for n, _ in candidates})
            if unknown:
                raise SystemExit(f"calibrate: --settings: {engine} has no setting {', '.join(unknown)} to sweep "
                                 f"(known: {', '.join(n for n, _ in candidates)})")
            candidates = [(n, v) for n, v in candidates if n in wanted]
        best, ev, trials = search(G, engine, candidates, cases, args.steps, args.min_psnr,
                                  start, max_cast=args.max_cast, max_far=args.max_far)
        out[engine] = best
        out[f"{engine}_command"] = f"{out['command']} --engines {engine}"
        out[f"{engine}_score"] = ev
        out[f"{engine}_trials"] = trials
    if args.dry_run:
        print(json.dumps({e: out[e] for e in engines}, indent=1))
        return out
    path = checkpoints.presets_path(info.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = {}
    if path.is_file():  # another engine's section, calibrated by another run, stays
        kept = {k: v for k, v in json.loads(path.read_text()).items()
                if any(k == e or k.startswith(e + "_") for e in ENGINES if e not in engines)}
    out.update(kept)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"presets for {info.id}: {json.dumps({e: out[e] for e in engines})} -> {path}")
    return out


if __name__ == "__main__":
    sys.exit(cli.run(main, none_fails=True))
