"""The command line the engines share: `python -m draggan|freedrag|stabledrag --seed S --point HX,HY,TX,TY ...`.

The drag starts from one of: `--seed S` (a generated image), `--inverted DIR` (a photo inverted by
`python -m latent invert`: its latent, dragged with its tuned generator) or `--latent FILE` (an
exported latent: the app's `.pt` or a `latent.safetensors`, to continue an edit); see
dragcore.sources.

Writes DIR/start.png, DIR/result.png, DIR/latent.safetensors (the result's latent, to continue
from; with an inverted photo's generator_delta.safetensors beside it: its tuned noise maps follow the drag,
drags.in_photo.follow_noise: by the warp pathway's field, derived from the latent again when a drag continues, or
on a model without one by the handles, the delta carrying them as moved; --fixed-noise keeps them; what the drag
shows, --picture: by default what the drag it continues showed, else the engine's own (drags.in_photo.PICTURE),
recorded as result.json's picture and in latent.safetensors' metadata; DragGAN and
FreeDrag also get the warp guard's twist term, drags.in_photo's SETTINGS and prepare, recorded as result.json's
params.warp_twist), for a photo inverted with its face aligned DIR/result_in_photo.png (the result back in the
photo: drags.in_photo) and DIR/result.json (method,
model, source, seed, handles, targets, steps, reached, tracked_reached, moved, moved_px,
moved_fraction, seconds, distances, params, derived, ...: a dragcore.report.DragResult):
`reached` needs the engine's point at the target *and* the content moved at least half way
(measured by optical flow, dragcore.motion); `tracked_reached` is the engine's own verdict. Every input is validated before anything
is written; bad input prints one line on stderr and exits with code 2 (never a traceback), Ctrl-C one line and
130. The files are written into a temporary folder beside --out and renamed into place when the drag is done
(clisafe.atomic_dir), so --out holds a complete set or the previous one, never a mix.
An engine's __main__ (draggan/__main__.py, freedrag/__main__.py) passes its session class and its own
extra arguments.

Settings not given on the command line come from the model's presets (`checkpoints.presets`:
calibrated for the bundled model, the official hyper-parameters for the official ones; a photo's drag with a
photo's own settings over them, drags.in_photo.presets), then from the engine's defaults; defaults and ranges are
those of `dragcore.config`.
"""
import argparse
import json
import time
from dataclasses import replace

import checkpoints
import clisafe
import limits
import stylegan
from dragcore import config, sources
from dragcore.config import MODES, DragConfig as C
from dragcore.errors import DragInputError
from dragcore.field_picture import PICTURES
from dragcore.mask import load_mask
from dragcore.protocol import DCGANAdapter, StyleGANAdapter, generator_kind
from dragcore.report import STOP_REASONS, all_held
from drags import in_photo
from latent import apply_delta   # the inversion's own inverse of generator_delta


def parse_point(text):
    """'HX,HY,TX,TY' -> ((hx, hy), (tx, ty))."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4:
        raise DragInputError(f"--point needs HX,HY,TX,TY (a handle and its target), got {text!r}")
    try:
        hx, hy, tx, ty = (float(p) for p in parts)
    except ValueError:
        raise DragInputError(f"--point values must be numbers, got {text!r}") from None
    return (hx, hy), (tx, ty)


def load_model(spec=None, device=None):
    """A registry id or a file path -> (generator, name). Default: the registry's bundled model.
    Every loading failure (unknown id, missing file, unreachable Hub, bad checkpoint) becomes a
    DragInputError with the loader's message."""
    name = spec or checkpoints.DEFAULT_MODEL
    errors = (ValueError, OSError, KeyError, stylegan.CheckpointError, stylegan.UnsafeCheckpointError,
              checkpoints.HubUnavailableError)
    try:
        return checkpoints.load(name, device=device), name
    except DragInputError:
        raise
    except errors as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        raise DragInputError(f"cannot load model {name!r}: {msg}") from None


def build_parser(method, add_args=None):
    from .engines import ENGINES   # the engine's own one-line summary (dragcore.engine)
    summary = ENGINES[method].summary if method in ENGINES else ""
    p = argparse.ArgumentParser(prog=f"python -m {method}", description=summary or f"Drag a generated image with {method}.")
    p.add_argument("--seed", type=int, default=None, help="latent seed (or start from --inverted / --latent)")
    p.add_argument("--point", action="append", required=True, metavar="HX,HY,TX,TY",
                   help="handle and target in image pixels; repeat for several points")
    p.add_argument("--model", default=None, help="registry id or path to a .pkl/.safetensors (default: bundled model)")
    p.add_argument("--steps", type=int, default=C.max_steps, help=f"maximum number of Adam steps (default {C.max_steps})")
    p.add_argument("--mask", default=None, help="PNG, white where the image may change")
    p.add_argument("--psi", type=float, default=None, help=f"truncation psi of the seed's latent (default {C.psi:g})")
    p.add_argument("--space", default=None, help="latent space: w+ (default) or w for StyleGAN, z for a DCGAN")
    p.add_argument("--lr", type=float, default=None, help=f"Adam learning rate (default: model preset, else {StyleGANAdapter.default_lr:g} in W/W+, "
                                                          f"{DCGANAdapter.default_lr:g} in Z)")
    p.add_argument("--mask-weight", type=float, default=None,
                   help=f"weight of the term that keeps the region outside --mask still (default {C.mask_weight:g}; "
                        f"only with --mask)")
    p.add_argument("--out", default=f"outputs/{method}", help=f"output folder (default outputs/{method})")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    p.add_argument("--rows", type=int, default=None, help="trainable W+ rows (default: model preset, else 6)")
    p.add_argument("--feature-res", type=int, default=None,
                   help="the synthesis block whose features are supervised (default: model preset, else min(128, res/2))")
    p.add_argument("--warp-guard", type=float, default=None,
                   help="weight of the penalty that keeps a drag through a warp pathway from folding the picture "
                        "(dragcore.warpguard; default: model preset, else 0, off)")
    p.add_argument("--warp-heading", type=float, default=None,
                   help="weight of the penalty on a warp-pathway drag's displacement across its request "
                        "(the warp guard's heading term, dragcore.warpheading; default: model preset, else 0, off)")
    p.add_argument("--warp-twist", type=float, default=None,
                   help="weight of the warp guard's twist term: a warp-pathway drag's local rotation beyond the ideal "
                        "turn's (dragcore.warpguard; default: model preset, else 0, off; an inverted photo's drag: "
                        "drags.in_photo.SETTINGS)")
    p.add_argument("--warp-reach", type=float, default=None,
                   help="weight of the warp guard's reach term: a warp-pathway drag's displacement far from its "
                        "request (dragcore.warpreach; default: model preset, else 0, off; an inverted photo's drag: "
                        "drags.in_photo.SETTINGS)")
    p.add_argument("--warp-floor", type=float, default=None,
                   help="the warp guard's band: a warp-pathway drag may change area and stretch from this to its "
                        "inverse (dragcore.warpguard; default: model preset, else 0.75)")
    p.add_argument("--mode", choices=MODES, default=C.mode,
                   help="fast (default: synthesis stops at the feature block) or reference (whole generator, "
                        "features resized to the image, as the official code)")
    p.add_argument("--precision", default=C.precision, metavar="{" + ",".join(config.spec("precision")["choices"]) + "}",
                   help="auto (default: bf16 on CPUs with bf16 arithmetic for models of 256 px and up, bf16/fp16 on "
                        "CUDA, else fp32), fp32, bf16 (CPUs with AVX512-BF16/AMX, CUDA) or fp16 (CUDA, MPS)")
    p.add_argument("--tracker", default=None, metavar="{" + ",".join(config.spec("tracker")["choices"]) + "}",
                   help="where the engine thinks the content is (dragcore.tracking): features (the official rule), flow "
                        "(optical flow of the current image, content-true) or discriminative (a filter learned at the first "
                        "step, with a confidence); default: the model's preset, else the engine's own")
    add_source_args(p)
    if add_args:
        add_args(p)
    return p


# --- where the drag starts: a seed, an inverted photo, an exported latent (dragcore.sources) --------
def add_source_args(p):
    p.add_argument("--inverted", default=None, metavar="DIR",
                   help="start from a photo inverted by python -m latent invert (its latent.safetensors, dragged "
                        "with its generator_delta.safetensors); also a drag's own --out folder, to continue it")
    p.add_argument("--latent", default=None, metavar="FILE",
                   help="start from an exported latent: the app's <method>_latent.pt or a latent.safetensors "
                        "(a drag's --out folder has one), to continue an edit")
    p.add_argument("--fixed-noise", action="store_true",
                   help="--inverted: keep the tuned noise maps where the inversion left them (default: they follow "
                        "the drag, drags.in_photo.follow_noise: by the model's warp field, else by the handles)")
    p.add_argument("--picture", choices=PICTURES, default=None,
                   help="--inverted: what the drag shows, the tuned generator's render or the reconstruction moved by "
                        "the warp pathway's field (dragcore.field_picture; a model with a warp pathway). Default: what "
                        "the drag it continues showed, else the engine's, drags.in_photo.PICTURE (field for every "
                        "engine)")


def load_start(args):
    """(generator, model name, sources.Start) for --seed / --inverted / --latent (exactly one), the
    files checked against the model: a latent of another shape or a delta that does not fit it is a
    DragInputError naming the flag."""
    given = [f for f, v in (("--seed", args.seed), ("--inverted", args.inverted), ("--latent", args.latent))
             if v is not None]
    if not given:
        raise DragInputError("say where the drag starts: --seed S (a generated image), --inverted DIR (a photo "
                             "inverted by python -m latent invert) or --latent FILE (an exported latent)")
    if len(given) > 1:
        raise DragInputError(f"{' and '.join(given)}: give only one of them (each says where the drag starts)")
    photo_only = [f for f, v in (("--fixed-noise", args.fixed_noise), ("--picture", args.picture)) if v]
    if photo_only and args.inverted is None:
        raise DragInputError(f"{' and '.join(photo_only)}: only a drag of an inverted photo (--inverted DIR) has "
                             f"tuned noise maps and a reconstruction; {given[0]} has neither")
    if args.seed is not None:
        G, name = load_model(args.model, args.device)
        psi = C.psi if args.psi is None else args.psi
        return G, name, sources.Start(source=dict(kind="seed", seed=args.seed, psi=psi))
    flag, where = given[0], args.inverted or args.latent
    if args.psi is not None:
        raise DragInputError(f"--psi sets the truncation of a seed's latent; {flag} starts from its own latent")
    start = sources.inverted(args.inverted) if args.inverted is not None else sources.exported(args.latent)
    if args.model is not None and start.model is not None and args.model != start.model:
        raise DragInputError(f"{flag} {where} was made with model {start.model!r}, not --model {args.model!r} "
                             f"(leave --model out to use its own)")
    G, name = load_model(args.model or start.model, args.device)
    space = sources.check_fits(start.latent, G, f"{flag} {where}", name)
    if args.space is not None and str(args.space).lower() != space:
        raise DragInputError(f"--space {args.space}: the latent of {flag} is in {space.upper()}; leave --space out")
    if start.delta is not None:
        G = apply_delta(G, sources.read_delta(start.delta, G, name))
    return G, name, start


def model_presets(model_name, method):
    """The registry's settings for this model and engine ({} for a file)."""
    return dict(checkpoints.presets(model_name)[method])


def _check_args(args, given):
    """The numbers (those given: the rest are the model's) and the output folder against their
    ranges (dragcore.config via limits.py), before any work starts."""
    if args.seed is not None:
        limits.check("seed", args.seed, "--seed")
    if args.psi is not None:
        limits.check("psi", args.psi, "--psi")
    limits.check("max_steps", args.steps, "--steps")
    if args.mask_weight is not None:
        limits.check("mask_weight", args.mask_weight, "--mask-weight")
        if not args.mask:
            raise DragInputError("--mask-weight weighs the region a --mask keeps still; without --mask FILE there "
                                 "is none (give both, or leave --mask-weight out)")
    for name, value in given.items():
        if value is not None and name in limits.RANGES:
            limits.check(name, value, "--" + name.replace("_", "-"))
    limits.check("point_pairs", len(args.point), "the number of --point pairs")   # the app's limit
    limits.check_out_dir(args.out)
    clisafe.check_replaceable(args.out, DRAG_FILES)


DRAG_FILES = ("start.png", "result.png", "result.json", sources.LATENT_FILE, sources.DELTA_FILE)


def _write_png(arr, path):
    from PIL import Image
    Image.fromarray(arr).save(path)


def summary_line(result):
    """One line from a DragResult: reached or not, the engine's verdict, and how far the content moved."""
    moved = ", ".join("held" if h else "n/a" if f is None else f"{f:.2f}"
                      for f, h in zip(result.moved_fraction, result.held_points))
    verdict = ("held (every point at its target)" if all_held(result.held_points) else
               "reached" if result.reached else "not reached")
    engine = "engine: at target" if result.tracked_reached else f"engine: {STOP_REASONS[result.stop_reason]}"
    far = "n/a" if result.far_field is None else f"{result.far_field:.1f}"
    if result.far_after_motion is not None:
        far += f" ({result.far_after_motion:.1f} after the content's motion)"
    note = f"; {result.tracker_note}" if result.tracker_note else ""
    return (f"{verdict} after {result.steps} steps in {result.seconds:.1f} s ({engine}; content moved {moved} "
            f"of the requested way; colour cast {result.colour_cast:.1f}/255, far-field change {far}/255; "
            f"handles {result.handles}{note})")


def main(session_cls, add_args=None, engine_kwargs=None, argv=None):
    """Parse, check, drag; the exit code (0 done, 2 bad input: one line, 130 interrupted)."""
    args = build_parser(session_cls.method, add_args).parse_args(argv)
    errors = (ValueError, OSError, checkpoints.HubUnavailableError)   # DragInputError, LimitError: ValueErrors
    return clisafe.run(lambda _: _drag(session_cls, args, engine_kwargs), None, session_cls.method, errors)


def _drag(session_cls, args, engine_kwargs):
    method = session_cls.method
    given = dict(lr=args.lr, rows=args.rows, feature_res=args.feature_res, tracker=args.tracker,
                 warp_guard=args.warp_guard, warp_heading=args.warp_heading,
                 warp_twist=args.warp_twist, warp_reach=args.warp_reach, warp_floor=args.warp_floor)
    if engine_kwargs:
        given.update(engine_kwargs(args))
    _check_args(args, given)
    pairs = [parse_point(p) for p in args.point]
    device = args.device = stylegan.pick_device(args.device)   # an unusable --device: one line, first
    G, model_name, start = load_start(args)
    preset = model_presets(model_name, method)
    if start.delta is not None:   # a photo's drag: its engine settings over the model's (drags.in_photo.presets)
        preset = in_photo.presets({method: preset}, G)[method]
    cfg = config.with_presets(method, preset, seed=args.seed, psi=args.psi,
                              mask_weight=C.mask_weight if args.mask_weight is None else args.mask_weight,
                              max_steps=args.steps, mode=args.mode,
                              precision=args.precision, **given)
    if start.latent is not None:   # --inverted / --latent: the latent is the start (its space, no seed)
        cfg = replace(cfg, seed=None, psi=None)
    elif args.space is not None:
        cfg = replace(cfg, space=args.space)
    elif generator_kind(G) == "dcgan":
        cfg = replace(cfg, space="z")
    mask = None
    if args.mask:
        # the session checks its size against the model
        mask = load_mask(args.mask, max_pixels=limits.SIZES["image_pixels"])
    session = session_cls(G, [h for h, _ in pairs], [t for _, t in pairs], cfg, latent=start.latent, mask=mask,
                          device=device)
    follow = start.delta is not None and not args.fixed_noise and generator_kind(G) == "stylegan"
    picture = args.picture or start.picture   # a drag continued from a photo drag shows what that one showed
    mode = in_photo.prepare(session, follow=follow, shows=picture) if start.delta is not None else None
    photo = None
    if args.inverted is not None and hasattr(G, "img_shape"):
        photo = in_photo.read(args.inverted, (G.img_shape[1], G.img_shape[0]))
    print(f"{method}: precision {session.precision.describe()}", flush=True)
    # every file goes to a temporary folder beside --out, renamed into place when the drag is done: an
    # interrupted drag never leaves a new start.png beside an older result
    with clisafe.atomic_dir(args.out) as out:
        _write_png(session.report.start_image(), out / "start.png")
        t0 = time.perf_counter()
        result = session.run()
        record = dict(result.to_dict(), model=model_name, source=start.source,
                      seconds=round(time.perf_counter() - t0, 3), step_seconds=result.seconds)
        _write_png(session.report.preview(), out / "result.png")
        # maps moved by the handles travel in the delta; the field's are the latent's own (derived again)
        moved = session.gen.follower.changes(session.gen.G) if follow and mode != "field" else None
        record["noise_maps"] = None if start.delta is None else (
            ("follow the warp field" if mode == "field" else "follow") if follow else "fixed")
        record["picture"] = None if start.delta is None else in_photo.shown(session)
        record["files"] = sources.save(out, session.latent, model_name, method, start, moved_noise=moved,
                                       picture=record["picture"])
        if photo is not None:
            record["files"] += in_photo.write(photo, session.report.preview(), args.inverted, out)
        elif args.inverted is not None:
            print(f"{method}: no {in_photo.RESULT}: {args.inverted} was inverted without aligning the face "
                  "(--no-align)")
        (out / "result.json").write_text(json.dumps(record, indent=2))
    print(f"{method}: {summary_line(result)} -> {args.out}")
    return 0
