"""How the bundled model's warp pathway was laid out: candidate layouts of stylegan.warp, measured.

    python -m benchmarks.warp_layout [--seeds 5000-5005] [--steps 200] [--layouts 32:11:1.0 16:8:1.0 ...]

Each layout RES:GRID:GAIN is added to the bundled model's weights (training.warp.with_warp; the
shipped pathway is taken off first), then both engines drag with the model's presets (their
tracker included) on the calibration drags of the given *training* seeds (benchmarks.calibrate.drags).
Reported per layout and engine: the content's motion along the request by optical flow (median),
the colour cast and far-field change (medians, /255, dragcore.fidelity) and seconds per drag.
"none" is the model without a pathway (where a preset moves the code alone, rows 0, it drags with
the engines' default rows instead: it has no code; and without the presets' warp guard weights: no field to guard). Writes benchmarks/results/warp_layout.{json,md}.
"""
import statistics as st
import sys
import time

import checkpoints
from benchmarks import cli
from benchmarks.calibrate import drags
from benchmarks.report import ENGINES, make_session, median, write
from dragcore.config import WARP_WEIGHTS   # a session refuses them without a pathway
from stylegan import Generator, GeneratorConfig
from training.warp import with_warp

DEFAULT_LAYOUTS = ("none", "16:8:0.3", "16:8:1.0", "16:11:1.0", "8:8:1.0", "32:11:1.0")


def without_warp(G):
    """The same weights with no warp pathway."""
    cfg = GeneratorConfig.from_dict(dict(G.config.to_dict(), warp_res=None))
    out = Generator(cfg)
    out.load_state_dict({k: v for k, v in G.state_dict().items() if not k.startswith("synthesis.warp.")})
    return out.eval().requires_grad_(False)


def layout_model(base, layout):
    if layout == "none":
        return base
    res, grid, gain = layout.split(":")
    return with_warp(base, int(res), int(grid), float(gain))


def evaluate(G, engine, params, cases, steps):
    moved, cast, far, secs = [], [], [], []
    for seed, h, t in cases:
        s = make_session(engine, G, [h], [t], params, seed=seed, max_steps=steps)
        t0 = time.perf_counter()
        r = s.run()
        secs.append(time.perf_counter() - t0)
        moved.append(r.moved_fraction[0])
        cast.append(r.colour_cast)
        far.append(r.far_field)
    return dict(moved=median(moved), colour_cast=median(cast), far_field=median(far), seconds=st.mean(secs))


def main(argv=None):
    ap = cli.parser(__doc__, seeds="5000-5005", seeds_help="training seeds (the calibration's)", steps=200)
    ap.add_argument("--layouts", nargs="+", default=list(DEFAULT_LAYOUTS), help="'none' or RES:GRID:GAIN")
    args = ap.parse_args(argv)
    seeds = cli.seed_list(ap, args)
    cli.setup(args)
    model = checkpoints.DEFAULT_MODEL
    base = without_warp(checkpoints.load(model))
    presets = checkpoints.presets(model)
    cases = drags(seeds, base.img_shape)
    rows = []
    for layout in args.layouts:
        G = layout_model(base, layout)
        for engine in ENGINES:
            params = presets[engine]
            if G.synthesis.warp is None:   # no code to move alone (the papers' rows) and no field to guard
                params = {k: v for k, v in params.items() if k not in WARP_WEIGHTS}
                params = dict(params, rows=None) if params.get("rows") == 0 else params
            rows.append(dict(layout=layout, engine=engine, rows=params.get("rows"),
                             **evaluate(G, engine, params, cases, args.steps)))
            print(rows[-1], flush=True)
    fmt = lambda v, f: "n/a" if v is None else format(v, f)
    lines = [f"Warp pathway layouts (stage px : grid k : gain) on the bundled model's weights, the model's presets, "
             f"{len(cases)} calibration drags (training seeds {args.seeds}, res/20-res/6 in random directions), "
             f"{args.steps} steps max. Reproduce: `python -m benchmarks.warp_layout --seeds {args.seeds} --layouts "
             f"{' '.join(args.layouts)}`", "",
             "| layout | engine | content moved (median) | colour cast | far field | s per drag |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['layout']} | {r['engine']} | {fmt(r['moved'], '.2f')} | {fmt(r['colour_cast'], '.1f')} | "
              f"{fmt(r['far_field'], '.1f')} | {r['seconds']:.1f} |" for r in rows]
    write(args.out, "warp_layout", dict(model=model, seeds=seeds, steps=args.steps, presets=presets, rows=rows),
          rows, lines)
    return rows


if __name__ == "__main__":
    sys.exit(cli.run(main))
