"""The papers' poster edits on held-out faces, judged by a third-party landmark detector.

    python -m benchmarks.poster_edits [--model ID] [--seeds 1000-1011] [--steps 200] [--engines draggan,freedrag] --mp-python MP_VENV/bin/python

Two edits per face, every engine (drags.engines) from the identical start (W+, psi 0.7, no mask, the model's presets):
* **turn** ("turn the face", DragGAN's poster): the nose tip dragged sideways by res/10
  (to the right on even seeds, to the left on odd ones);
* **smile** (FreeDrag's poster): both mouth corners dragged out and up by res/20.

Handles are read off the start image by mediapipe face mesh (nose tip 1, mouth corners 61 / 291), on a
256 px bicubic upscale; the result is detected again and the score is the grabbed landmarks' motion
along the request divided by the requested length (1 = moved all the way, 0 = did not move; averaged
over the points of an edit). A result with no detectable face scores as lost. Beside each edit:
what the engine itself claims (tracked handle at the target) and what optical flow measured
(`dragcore.motion`), so a claimed arrival that the image does not show is visible.

Beside the landmarks, every result reports what it changed that it should not have (dragcore.fidelity):
colour cast (largest change of a channel's mean, /255), far-field change (mean |change| farther than
res/4 from every point, /255), the far field after motion (the same once each pixel's content is followed by its
optical flow, dragcore.fidelity.far_residual; with the edits over 6/255), and whether the engine's own arrival
agrees with optical flow (the engine claims arrival exactly when the content moved at least half way).
`--margins` adds each face's detection margin (benchmarks.landmark_worker: the highest detection threshold at
which the mesh still finds it; kept exactly when >= 0.5) and per method the median drop from its start's margin
and the lowest margin: how near the kept faces came to being lost, which a count of lost faces hides. `--tracker`
overrides the presets' tracker;
`--set draggan.warp_guard=10` (repeatable) one setting of one engine's presets, to compare a candidate
preset on the calibration seeds before it is written (the reproduce line carries it). `--robust K` also judges
every picture (start, ideal move, each engine's result alike) over K imperceptible variants of it
(benchmarks.detector_noise: +-1/255 dithers and quarter-pixel shifts) and counts a face lost only when the mesh
finds it in fewer than half; the tables then give both counts, the one-rendering one and the robust one.

Reference rows on the same faces: **no edit** (the start detected against itself through a
round trip: scores ~0, the detector's noise) and **ideal local move** (the start image warped so
that the content around each handle moves exactly onto its target, Gaussian weight sigma = res/8):
the mesh reads a moved nose as a partly moved face, so this is what a perfectly local edit scores.
Writes benchmarks/results/poster_edits.{json,csv,md,png}.
"""
import statistics as st
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import checkpoints
from benchmarks import cli
from dragcore import config, fidelity, motion
from dragcore.report import MOVED_ENOUGH
from dragcore.localmove import ideal_move
from benchmarks import detector_noise
from benchmarks.landmarks import MP_HELP, check_mp_python, default_mp_python, detect
from benchmarks.report import ENGINES, far_residual_summary, make_session, median, write
from dragcore.protocol import adapt
from stylegan.imageops import to_uint8

NOSE, MOUTH = 1, (61, 291)
EDITS = ("turn", "smile")


def requests(lm, res, seed):
    """{edit: (handles [[x, y]], targets, landmark ids)} from one face's landmarks (model px)."""
    side = 1.0 if seed % 2 == 0 else -1.0
    nose = lm[NOSE]
    turn = ([nose.tolist()], [(nose + [side * res / 10, 0]).tolist()], [NOSE])
    a, b = lm[MOUTH[0]], lm[MOUTH[1]]
    (left, li), (right, ri) = sorted([(a, MOUTH[0]), (b, MOUTH[1])], key=lambda p: p[0][0])
    k = res / 20 / np.sqrt(2)
    smile = ([left.tolist(), right.tolist()], [(left + [-k, -k]).tolist(), (right + [k, -k]).tolist()], [li, ri])
    return {"turn": turn, "smile": smile}


def landmark_motion(lm0, lm1, ids, handles, targets):
    """Mean over an edit's points of (landmark motion . request) / |request|^2; None if no face."""
    if lm1 is None:
        return None
    fr = []
    for i, h, t in zip(ids, handles, targets):
        req = np.subtract(t, h)
        fr.append(float((lm1[i] - lm0[i]) @ req / (req @ req)))
    return float(np.mean(fr))


def robust_found(pictures, k, mp_python):
    """{key: in how many of k imperceptible variants of the picture the mesh finds the face} (detector_noise)."""
    many = {f"{key}#{i}": v for key, img in pictures.items() for i, v in enumerate(detector_noise.variants(img, k))}
    found = detect(many, mp_python)
    return {key: sum(found[f"{key}#{i}"] is not None for i in range(k)) for key in pictures}


def run(G, seeds, steps, mp_python, params=None, psi=0.7, log=print, engines=tuple(ENGINES), margins=False, robust=0):
    gen = adapt(G, "cpu")
    res = gen.resolution
    with torch.no_grad():
        start = {s: gen.image(gen.latent_init(s, psi, "w+")) for s in seeds}
    lm = detect({f"s{s}": img for s, img in start.items()}, mp_python)
    rows, images, pending = [], {}, []
    for s in seeds:
        lm0 = lm[f"s{s}"]
        if lm0 is None:
            rows.append(dict(seed=s, edit=None, method=None, lost=True, note="no face found on the start image"))
            log(f"seed {s}: no face on the start image (skipped, counted)")
            continue
        for edit, (h, t, ids) in requests(lm0, res, s).items():
            images[f"ideal_{edit}_{s}"] = ideal_move(start[s], h, t, res / 8)
            images[f"none_{edit}_{s}"] = start[s]
            a, b = to_uint8(start[s])[0], to_uint8(images[f"ideal_{edit}_{s}"])[0]
            ideal = fidelity.measure(a, b, h + t, flow=motion.dense_flow(a, b))
            pending += [(s, edit, "ideal local move", h, t, ids, ideal, None), (s, edit, "no edit", h, t, ids, None, None)]
            for m in engines:
                sess = make_session(m, G, h, t, (params or {}).get(m), seed=s, psi=psi, max_steps=steps)
                t0 = time.perf_counter()
                r = sess.run()
                seconds = time.perf_counter() - t0
                images[f"{m}_{edit}_{s}"] = sess.render()
                pending.append((s, edit, m, h, t, ids, r, seconds))
                log(f"seed {s} {edit:5s} {m:8s}: {r.steps} steps, {seconds:.1f} s")
    found = detect(images, mp_python)
    margin = detect({**{f"s{s}": start[s] for s in seeds}, **images}, mp_python, margins=True) if margins else {}
    robust_n = robust_found({**{f"s{s}": start[s] for s in seeds}, **images}, robust, mp_python) if robust else {}
    key = {"ideal local move": "ideal", "no edit": "none"}
    for s, edit, m, h, t, ids, r, seconds in pending:
        lm1 = found[f"{key.get(m, m)}_{edit}_{s}"]
        row = dict(seed=s, edit=edit, method=m, handles=h, targets=t, landmarks=ids,
                   motion=landmark_motion(lm[f"s{s}"], lm1, ids, h, t), lost=lm1 is None)
        if margin:
            row.update(margin=margin[f"{key.get(m, m)}_{edit}_{s}"], start_margin=margin[f"s{s}"])
        if robust_n:   # kept in at least half of `robust` variants (detector_noise.kept)
            n = robust_n[f"{key.get(m, m)}_{edit}_{s}"]
            row.update(robust_found=n, robust_of=robust, robust_lost=not detector_noise.kept(n, robust),
                       start_robust_found=robust_n[f"s{s}"])
        if isinstance(r, dict):   # the ideal move: its fidelity.measure
            row.update(colour_cast=r["colour_cast"], far_field=r["far_field"], far_residual=r["far_after_motion"])
        elif r is not None:       # an engine's DragResult
            row.update(colour_cast=r.colour_cast, far_field=r.far_field, far_residual=r.far_after_motion)
            moved = all(f is None or f >= MOVED_ENOUGH for f in r.moved_fraction)
            row.update(steps=r.steps, seconds=round(seconds, 2), engine_reached=r.reached,
                       engine_distances=r.distances, tracked_reached=r.tracked_reached,
                       flow_moved=r.moved_fraction, arrival_agrees=r.tracked_reached == moved,
                       tracker=r.params["tracker"])
        rows.append(row)
    return rows, start, images


def summarise(rows, engines=tuple(ENGINES)):
    """Per method and edit (and 'all'): motion (median, mean, >= 0.5), error = median |1 - motion| over the
    detected results, faces lost, and lost where the ideal local move of the same request keeps the face."""
    ideal_kept = {(r["seed"], r["edit"]) for r in rows if r["method"] == "ideal local move" and not r["lost"]}
    ideal_robust = {(r["seed"], r["edit"]) for r in rows
                    if r["method"] == "ideal local move" and not r.get("robust_lost", True)}
    out = {}
    for m in ("no edit", "ideal local move", *engines):
        for edit in (*EDITS, "all"):
            rs = [r for r in rows if r["method"] == m and (edit == "all" or r["edit"] == edit)]
            if not rs:
                continue
            scores = [r["motion"] if r["motion"] is not None else float("nan") for r in rs]
            ok = [x for x in scores if x == x]
            fig = lambda k: median(r.get(k) for r in rs)
            agree = [r["arrival_agrees"] for r in rs if "arrival_agrees" in r]
            out[f"{m}/{edit}"] = dict(method=m, edit=edit, edits=len(rs), lost=sum(r["lost"] for r in rs),
                                      median=st.median(ok) if ok else None, mean=st.mean(ok) if ok else None,
                                      at_least_half=sum(x >= 0.5 for x in ok),
                                      error=st.median(abs(1 - x) for x in ok) if ok else None,
                                      lost_ideal_kept=sum(r["lost"] and (r["seed"], r["edit"]) in ideal_kept for r in rs),
                                      robust_lost=sum(r["robust_lost"] for r in rs) if "robust_lost" in rs[0] else None,
                                      robust_lost_ideal_kept=(sum(r["robust_lost"] and (r["seed"], r["edit"]) in ideal_robust
                                                                  for r in rs) if "robust_lost" in rs[0] else None),
                                      colour_cast=fig("colour_cast"), far_field=fig("far_field"),
                                      **far_residual_summary(rs),
                                      arrival_agrees=sum(agree) / len(agree) if agree else None,
                                      steps=median(r.get("steps") for r in rs),
                                      margin_drop=median(r["start_margin"] - r["margin"] for r in rs if "margin" in r),
                                      min_margin=min((r["margin"] for r in rs if "margin" in r), default=None),
                                      seconds=st.mean(r["seconds"] for r in rs) if "seconds" in rs[0] else None)
    return out


def lost_where_ideal_keeps(rows, engines=tuple(ENGINES), lost="lost"):
    """{engine: ['<seed> <edit>', ...]}: the edits whose result lost the face the ideal local move keeps (so a
    summary's count can be traced to its faces); engines with none are left out. lost="robust_lost": by the
    judgement over imperceptible variants (--robust) instead of one rendering."""
    ideal_kept = {(r["seed"], r["edit"]) for r in rows if r["method"] == "ideal local move" and not r.get(lost, True)}
    out = {}
    for r in rows:
        if r.get("method") in engines and r.get(lost) and (r["seed"], r["edit"]) in ideal_kept:
            out.setdefault(r["method"], []).append(f"{r['seed']} {r['edit']}")
    return out


def grid_png(path, start, images, seeds, scale=3, engines=tuple(ENGINES)):
    """Per face one row: the start, then each engine's turn, then each engine's smile."""
    cols = [("start", None)] + [(m, e) for e in EDITS for m in engines]
    tiles = []
    for s in seeds:
        if f"{engines[0]}_turn_{s}" not in images:
            continue
        row = [to_uint8(start[s])[0]] + [to_uint8(images[f"{m}_{e}_{s}"])[0] for _, (m, e) in enumerate(cols[1:])]
        tiles.append(np.concatenate([np.pad(a, ((1, 1), (1, 1), (0, 0)), constant_values=255) for a in row], 1))
    if not tiles:
        return None
    img = np.concatenate(tiles, 0)
    Image.fromarray(img).resize((img.shape[1] * scale, img.shape[0] * scale), Image.NEAREST).save(path)
    return path


def overridden(ap, params, sets):
    """The presets with each 'engine.setting=value' of `sets` applied (the value parsed as the setting's
    kind); a malformed or unknown one is a one-line argparse error."""
    params = {m: dict(p) for m, p in params.items()}
    for o in sets:
        key, eq, value = o.partition("=")
        engine, dot, name = key.partition(".")
        if not (eq and dot) or engine not in ENGINES or name not in config.names(config.CONFIGS[engine]):
            ap.error(f"--set takes ENGINE.SETTING=VALUE with an engine of {list(ENGINES)} and one of its settings, got {o!r}")
        kind = config.spec(name)["kind"]
        try:
            params.setdefault(engine, {})[name] = kind(value)
        except ValueError:
            ap.error(f"--set {o}: {value!r} is not a {kind.__name__}")
    return params


def main(argv=None):
    ap = cli.parser(__doc__, model=True, seeds="1000-1011", seeds_help="held-out seeds, 'A-B' (never used by calibration)",
                    steps=200)
    ap.add_argument("--tracker", default=None, help="override the presets' tracker (features, flow, discriminative) "
                                                    "for every engine")
    ap.add_argument("--set", action="append", default=[], metavar="ENGINE.SETTING=VALUE",
                    help="override one setting of one engine's presets (repeatable), e.g. draggan.warp_guard=10")
    ap.add_argument("--mp-python", default=default_mp_python(), help=MP_HELP)
    ap.add_argument("--engines", default=",".join(ENGINES), help="comma-separated engines to run (default: all)")
    ap.add_argument("--margins", action="store_true", help="also each face's detection margin (how near to lost)")
    ap.add_argument("--robust", type=int, default=0, metavar="K",
                    help="also judge every picture over K imperceptible variants (dither, quarter-pixel shifts) and "
                         "count a face lost only when found in fewer than half (both counts reported; 0: off)")
    args = ap.parse_args(argv)
    seeds = cli.seed_list(ap, args)
    if args.robust and not 2 <= args.robust <= 32:
        ap.error(f"--robust takes a number of variants from 2 to 32 (0: off), got {args.robust}")
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    if not engines or any(e not in ENGINES for e in engines):
        ap.error(f"--engines must be out of {list(ENGINES)}, got {args.engines!r}")
    check_mp_python(args.mp_python)
    cli.setup(args)
    G = checkpoints.load(args.model)
    params = checkpoints.presets(args.model)
    if args.tracker:
        params = {m: dict(p, tracker=args.tracker) for m, p in params.items()}
    params = overridden(ap, params, args.set)
    rows, start, images = run(G, seeds, args.steps, args.mp_python, params=params, engines=engines, margins=args.margins,
                           robust=args.robust)
    summary = summarise(rows, engines)
    res = G.img_resolution
    trackers = ", ".join(f"{m} {config.with_presets(m, params[m]).tracker}" for m in engines)
    lines = [f"Poster edits on {len(seeds)} held-out faces (seeds {args.seeds}) of `{args.model}` ({res} px): turn = "
             f"nose tip sideways by res/10 ({res / 10:.1f} px), smile = mouth corners out and up by res/20 "
             f"({res / 20:.1f} px); {args.steps} steps max; landmark motion along the request / requested length, "
             "mediapipe face mesh on 256 px upscales.",
             f"Reproduce: `python -m benchmarks.poster_edits --model {args.model} --seeds {args.seeds} "
             f"--steps {args.steps}" + (f" --engines {args.engines}" if engines != tuple(ENGINES) else "")
             + "".join(f" --set {o}" for o in args.set) + (" --margins" if args.margins else "")
             + (f" --robust {args.robust}" if args.robust else "")
             + " --mp-python MP_VENV/bin/python`", "",
             f"Trackers: {trackers}. "
             "Colour cast and far-field change: medians, /255. Arrival agrees: share of results where the engine "
             "claims arrival exactly when optical flow sees the content at least half way.", "",
             "| method | edit | median motion | mean | median \\|1 − moved\\| | edits >= 0.5 | face lost | "
             "lost where the ideal keeps it | colour cast | far field | far field after motion (/255) | "
             "edits with it > 6 | arrival agrees | steps per edit (median) | s per edit |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda v, f: "n/a" if v is None else format(v, f)
    for s in summary.values():
        lines.append(f"| {s['method']} | {s['edit']} | {fmt(s['median'], '.2f')} | {fmt(s['mean'], '.2f')} | "
                     f"{fmt(s['error'], '.2f')} | {s['at_least_half']}/{s['edits']} | {s['lost']}/{s['edits']} | "
                     f"{s['lost_ideal_kept']} | {fmt(s['colour_cast'], '.1f')} | "
                     f"{fmt(s['far_field'], '.1f')} | {fmt(s['far_residual'], '.1f')} | "
                     f"{fmt(s['far_residual_over_6'], 'd')} | {fmt(s['arrival_agrees'], '.0%')} | {fmt(s['steps'], 'g')} | "
                     f"{fmt(s['seconds'], '.1f')} |")
    if args.margins:
        lines += ["", "Detection margin (the highest detection threshold at which the mesh still finds the face; lost "
                  "below 0.5): median drop from the start's, lowest.", "",
                  "| method | edit | median margin drop | lowest margin |", "|---|---|---|---|"]
        lines += [f"| {s['method']} | {s['edit']} | {fmt(s['margin_drop'], '.3f')} | {fmt(s['min_margin'], '.3f')} |"
                  for s in summary.values()]
    if args.robust:
        lines += ["", f"Faces judged over {args.robust} imperceptible variants of each picture (start, ideal, engines alike: "
                  "+-1/255 dithers, quarter-pixel shifts): lost when found in fewer than half. Both counts.", "",
                  "| method | edit | face lost (one rendering) | lost where the ideal keeps it (one rendering) | "
                  "face lost (robust) | lost where the ideal keeps it (robust) |", "|---|---|---|---|---|---|"]
        lines += [f"| {s['method']} | {s['edit']} | {s['lost']}/{s['edits']} | {s['lost_ideal_kept']} | "
                  f"{s['robust_lost']}/{s['edits']} | {s['robust_lost_ideal_kept']} |" for s in summary.values()]
    for what, key in (("", "lost"), (" (robust)", "robust_lost")):
        if key == "lost" or args.robust:
            lost = lost_where_ideal_keeps(rows, engines, key)
            lines += ["", f"Lost where the ideal keeps the face{what}: "
                      + ("; ".join(f"{m} {', '.join(v)}" for m, v in lost.items()) if lost else "none") + "."]
    out = Path(args.out)
    write(out, "poster_edits", dict(model=args.model, seeds=seeds, steps=args.steps, summary=summary, rows=rows),
          [r for r in rows if r.get("edit")], lines)
    grid_png(out / "poster_edits.png", start, images, seeds, engines=engines)
    return summary


if __name__ == "__main__":
    sys.exit(cli.run(main))
