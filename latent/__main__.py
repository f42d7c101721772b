"""python -m latent interp | mix | truncation | sefa  --model ID_OR_PATH --out FILE.png [--precision P] ...
   python -m latent invert PHOTO --model ID_OR_PATH --out DIR [--steps-w N --steps-wplus N --pti-steps N --no-pti]
                          [--crop X0 Y0 X1 Y1] [--no-align] [--precision P] [--seed N]
   python -m latent layout --model ID_OR_PATH [--n 300] [--out FILE]

invert aligns the face to the model's layout (latent.align: OpenCV's face and eye cascades, a similarity
transform onto where the model draws faces), then writes DIR/latent.safetensors (the W+ pivot, with the
model in its metadata), DIR/generator_delta.safetensors (tuned minus original weights and noise maps),
reconstruction.png, target.png (= aligned.png, what was inverted), alignment.json (the transform,
photo px -> model px, and the photo's path), photo.png (the original, to paste a drag back into) and
metrics.json (PSNR per stage, seconds at each stage's end and each stage's own, the seed and thread count: the
same photo, seed and thread count invert to the same result); `python -m draggan|freedrag --inverted DIR` drags it headless (and writes
result_in_photo.png). --crop looks for the face only inside the box; --no-align centre-crops instead
(a picture that is not a face; a model without a layout is centre-cropped too, with a note). No face, a
face too small, or several faces (the largest is used) are said in one line; so is a centre-cropped picture
under a quarter of the model's size (a 1x1 picture), and one smaller than the model's is enlarged with a note.

layout measures where the model draws faces (mean face box and eyes over --n samples) and writes it to
presets/<model>.layout.json (--out: elsewhere), the layout invert aligns photos to.

--precision fp32 | bf16 | fp16 | auto (default; stylegan.precision) sets the autocast of the
generator passes: the images of interp / mix / truncation / sefa, the projection and PTI steps of
invert (losses stay float32). An unsupported choice is refused with one line.

Every number, the photo and the output are checked (limits.py, clisafe) before the model is loaded,
and the memory the grid needs before it is drawn; outputs appear only when complete (clisafe:
a temporary file or folder renamed into place). A DCGAN takes `interp` (in Z); the other commands
need a StyleGAN2 model. Exit codes: 0 done, 2 bad input (one line), 130 interrupted.
"""
import argparse
import json
import sys
from pathlib import Path

import torch

import checkpoints
import clisafe
import limits
import stylegan
from stylegan.precision import choose

from . import LatentError, image_strip, interpolate, smoothness, style_mix_grid, sefa_directions, apply_direction
from . import truncation_sweep, to_uint8, seed_z
from .align import Layout, align, measure_layout
from .invert import (PTI_STEPS, STEPS_W, STEPS_WPLUS, apply_delta, check_steps, generator_delta, invert,
                     load_image, load_photo, upscale_note)
from .util import require_mapping

PRECISION_HELP = "fp32, bf16, fp16 or auto (default: bf16 where the device computes it natively and the model is large)"
INVERT_FILES = ("latent.safetensors", "generator_delta.safetensors", "reconstruction.png", "target.png", "metrics.json",
                "aligned.png", "photo.png", "alignment.json")
ERRORS = (ValueError, OSError, checkpoints.HubUnavailableError)   # LatentError, LimitError, CheckpointError: ValueErrors


def _device(G):
    return next(G.parameters()).device


def _shape(G):
    return tuple(getattr(G, "img_shape", (G.img_resolution, G.img_resolution)))


def _precision(name, G):
    chosen = choose(name, _device(G), max(_shape(G)))
    print(f"precision {chosen.describe()}")
    return chosen


def _load(model):
    """The model (registry id or file), its name."""
    name = model or checkpoints.DEFAULT_MODEL
    try:
        return checkpoints.load(name), name
    except KeyError as e:
        raise LatentError(f"cannot load model {name!r}: {e.args[0] if e.args else e}") from None


def _needs_stylegan(G, cmd, name):
    """A DCGAN has no W space: only `interp` (in Z) takes it; the rest name the kind they take."""
    if not hasattr(G, "mapping"):
        raise LatentError(f"latent {cmd} needs a StyleGAN2 model (one with a mapping network); {name!r} is a DCGAN, "
                          f"which `latent interp` takes (in Z)")


def grid_bytes(n_images, shape, scale, batch):
    """A coarse estimate of what drawing a grid needs: the grid, its enlarged copy and the PNG encoder's
    buffer (3 bytes a pixel each), and the synthesis activations of one batch (~64 floats an output pixel)."""
    H, W = shape
    return n_images * H * W * scale * scale * 3 * 3 + batch * H * W * 3 * 4 * 64


def _grid_size(args, G):
    """(images in the grid, images synthesised at once) of a command."""
    if args.cmd == "interp":
        return (2 if not hasattr(G, "mapping") else 4) * args.steps, args.steps
    if args.cmd == "mix":
        cols = max(len(args.seeds) - 1, 1)
        return cols * (1 + 3), 1
    if args.cmd == "truncation":
        return 5, 5
    return args.k * 3, 1


def invert_main(argv):
    from safetensors.torch import save_file
    from tqdm import tqdm
    ap = argparse.ArgumentParser(prog="python -m latent invert")
    ap.add_argument("photo", help="the photo (PNG, JPEG, ...); its largest face is aligned to the model's layout")
    ap.add_argument("--model", default=None, help="registry id or path (default: the bundled face model)")
    ap.add_argument("--out", required=True, help="output folder (replaced as a whole when the inversion is done)")
    ap.add_argument("--steps-w", type=int, default=STEPS_W, help=f"steps of the W stage (default {STEPS_W})")
    ap.add_argument("--steps-wplus", type=int, default=STEPS_WPLUS,
                    help=f"steps of the W+ stage, from the W result (default {STEPS_WPLUS})")
    ap.add_argument("--pti-steps", type=int, default=PTI_STEPS,
                    help=f"steps of pivotal tuning (PTI): the generator tuned around the W+ pivot (default {PTI_STEPS})")
    ap.add_argument("--no-pti", action="store_true", help="stop after W+ (the model itself is not tuned)")
    ap.add_argument("--crop", type=int, nargs=4, metavar=("X0", "Y0", "X1", "Y1"), default=None,
                    help="look for the face only inside this box (with --no-align: crop to it)")
    ap.add_argument("--no-align", action="store_true", help="centre-crop and resize instead of aligning the face")
    ap.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: the best present)")
    ap.add_argument("--precision", default="auto", help=PRECISION_HELP)
    ap.add_argument("--seed", type=int, default=0, help="every random draw of the inversion (the same photo, seed and "
                    "thread count give the same result)")
    args = ap.parse_args(argv)
    # inputs first: numbers, the photo, the output folder; then the model
    for flag in ("steps_w", "steps_wplus", "pti_steps"):
        limits.check("inv_steps", getattr(args, flag), "--" + flag.replace("_", "-"))
    check_steps(args.steps_w, args.steps_wplus, 0 if args.no_pti else args.pti_steps)
    limits.check("seed", args.seed, "--seed")
    for v in args.crop or ():
        limits.check("crop", v, "--crop")
    clisafe.regular_file(args.photo, "cannot read the image")
    limits.check_out_dir(args.out)
    clisafe.check_replaceable(args.out, INVERT_FILES)
    picture = load_photo(args.photo)   # decoded before the model is loaded (which may be a download)
    device = stylegan.pick_device(args.device)
    G, model = _load(args.model)
    _needs_stylegan(G, "invert", model)
    G = G.to(device)
    precision = _precision(args.precision, G)
    photo = alignment = None
    if args.no_align:
        _say_upscale(picture, _shape(G), args.crop)
        target = load_image(picture, _shape(G), box=args.crop)
    else:
        photo, target, alignment = align_photo(picture, G, model, args.crop)
    bars = {}

    def progress(stage, i, n, loss):
        if stage not in bars:  # one bar per stage (setdefault would build a new bar every call)
            bars[stage] = tqdm(total=n, desc=stage, leave=True)
        bar = bars[stage]
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4f}")
    r = invert(G, target, args.steps_w, args.steps_wplus, 0 if args.no_pti else args.pti_steps, progress,
               precision=precision, seed=args.seed)
    for bar in bars.values():
        bar.close()
    with clisafe.atomic_dir(args.out) as out:   # the folder appears (or is replaced) only when complete
        save_file({"ws": r["ws"].cpu().contiguous()}, str(out / "latent.safetensors"), metadata={"model": model})
        G_final = r["G_tuned"] or r["G_noise"]
        delta = {k: v.cpu() for k, v in generator_delta(G, G_final).items()}
        save_file(delta, str(out / "generator_delta.safetensors"),
                  metadata={"what": "tuned minus original generator weights (PTI + projected noise maps)"})
        # the reconstruction as every reader of this folder rebuilds it (original + delta, which can differ from
        # the tuned weights by a float rounding), so a drag from this folder starts from exactly this picture
        with torch.no_grad():
            recon = apply_delta(G, delta).synthesis(r["ws"].to(_device(G)))
        image_strip([to_uint8(recon)]).save(out / "reconstruction.png")
        image_strip([to_uint8(r["target"])]).save(out / "target.png")
        if alignment is not None:
            image_strip([to_uint8(r["target"])]).save(out / "aligned.png")
            photo.save(out / "photo.png")
            (out / "alignment.json").write_text(alignment.to_json())
        stages = {k: round(v, 1) for k, v in r["stage_seconds"].items()}   # since the start, at each stage's end
        ends = list(r["stage_seconds"].values())
        durations = {k: round(b - a, 1) for k, a, b in zip(r["stage_seconds"], [0.0] + ends, ends)}
        (out / "metrics.json").write_text(json.dumps(dict(psnr=r["psnr"], seconds=round(r["seconds"], 1),
                                                          loss=r["loss"], stage_seconds=stages,
                                                          stage_durations=durations, seed=args.seed,
                                                          threads=torch.get_num_threads(),
                                                          precision=r["precision"], aligned=alignment is not None,
                                                          model=model), indent=1))
    print(json.dumps(r["psnr"]), "->", Path(args.out))
    return 0


def _say_upscale(photo, shape, crop):
    """A centre-cropped picture smaller than the model's size is enlarged: a note says how much (one that is far
    too small is refused by load_image)."""
    note = upscale_note(photo.size, shape, crop)
    if note:
        print(f"note: {note}")


def align_photo(path, G, model, crop=None):
    """(the photo as RGB PIL, the target [1, 3, H, W], its Alignment or None); `path`: a file or a PIL image. A model without a face layout
    (not a face model, or not measured: python -m latent layout) is centre-cropped, and a note says so."""
    import numpy as np
    layout_file = checkpoints.layout_file(model)
    if layout_file is None or not layout_file.is_file():
        print(f"note: model {model!r} has no face layout (python -m latent layout --model ...): the photo is "
              f"centre-cropped, not aligned, and no result_in_photo.png can be made")
        photo = load_photo(path)
        _say_upscale(photo, tuple(G.img_shape), crop)
        return None, load_image(photo, tuple(G.img_shape), box=crop), None
    photo = load_photo(path)
    aligned, alignment = align(np.asarray(photo), Layout.read(layout_file), (G.img_shape[1], G.img_shape[0]), box=crop)
    if alignment.note:
        print(f"note: {alignment.note}")
    return photo, torch.from_numpy(aligned.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1, alignment


def layout_main(argv):
    ap = argparse.ArgumentParser(prog="python -m latent layout")
    ap.add_argument("--model", default=None, help="registry id or path (default: the bundled face model)")
    ap.add_argument("--n", type=int, default=300, help="samples to measure on (psi 0.7, seed 7)")
    ap.add_argument("--out", default=None, help="default: presets/<model>.layout.json")
    args = ap.parse_args(argv)
    model = args.model or checkpoints.DEFAULT_MODEL
    if not 5 <= args.n <= 5000:
        raise LatentError(f"--n must be a whole number from 5 to 5000, got {args.n}")
    if args.out:
        clisafe.check_out_file(args.out, "--out", (".json",))
    G = checkpoints.load(model)
    require_mapping(G)
    with torch.no_grad():
        z = torch.randn(args.n, G.z_dim, generator=torch.Generator().manual_seed(7))
        images = [to_uint8(G(z[i:i + 50].to(_device(G)), truncation_psi=0.7)) for i in range(0, args.n, 50)]
    layout = measure_layout([a for batch in images for a in batch])
    layout.extra["command"] = f"python -m latent layout --model {model} --n {args.n}"
    out = Path(args.out) if args.out else checkpoints.layout_path(model)
    with clisafe.atomic_file(out) as tmp:   # its folder made if need be, the file whole or not at all
        Path(tmp).write_text(layout.to_json() + "\n")
    print(f"face box {layout.box}, eyes {layout.eyes} ({layout.samples} of {args.n} samples) -> {out}")
    return 0


# the grid commands' own flags: {flag: (the commands that take it, its default)}; given to another, one line
OWN_FLAGS = {"steps": (("interp",), 8), "k": (("sefa",), 3), "strength": (("sefa",), 3.0)}
SEEDS = {"interp": [1, 2], "mix": [1, 2], "truncation": [1], "sefa": [1]}   # --seeds' default per command


def _settle_flags(args):
    """Each grid command's defaults filled in; a flag given to a command that does not take it is refused, not
    ignored, and so is a seed count the command cannot use."""
    for flag, (cmds, default) in OWN_FLAGS.items():
        if getattr(args, flag) is not None and args.cmd not in cmds:
            raise LatentError(f"--{flag} is for `latent {' / '.join(cmds)}`, not `latent {args.cmd}`: leave it out")
        if getattr(args, flag) is None:
            setattr(args, flag, default)
    seeds = args.seeds = list(SEEDS[args.cmd]) if args.seeds is None else args.seeds
    got = f"(got --seeds {' '.join(map(str, seeds))})"
    if args.cmd == "interp" and (len(seeds) != 2 or seeds[0] == seeds[1]):
        raise LatentError(f"interp goes from one seed to another: give two different seeds, e.g. --seeds 1 2 {got}")
    if args.cmd == "mix" and len(seeds) < 2:
        raise LatentError(f"mix crosses the first seed's face with each other seed's: give two or more seeds, e.g. "
                          f"--seeds 1 2 3 {got}")
    if args.cmd in ("truncation", "sefa") and len(seeds) != 1:
        raise LatentError(f"{args.cmd} shows one seed's face: give one seed, e.g. --seeds {seeds[0]} {got}")


def _check_grid_args(args):
    """The grid commands' numbers and output file, before the model is loaded."""
    c = limits.check
    if args.seeds is not None:
        c("grid_seeds", len(args.seeds), "the number of --seeds")
    _settle_flags(args)
    for s in args.seeds:
        c("seed", s, "--seeds")
    c("frames", args.steps, "--steps"), c("psi", args.psi, "--psi"), c("sefa_k", args.k, "--k")
    c("sefa_strength", args.strength, "--strength")
    limits.check_sized("scale", args.scale, "--scale",
                       lambda s: grid_bytes(_grid_size(args, _Sizes)[0], (64, 64), int(min(s, 1e6)), 1))
    clisafe.check_out_file(args.out)


class _Sizes:   # the bundled model's shape, for the estimate quoted when --scale is out of range
    mapping = True


def _main(argv):
    if argv[:1] == ["invert"]:
        return invert_main(argv[1:])
    if argv[:1] == ["layout"]:
        return layout_main(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m latent")
    ap.add_argument("cmd", choices=["interp", "mix", "truncation", "sefa", "invert", "layout"],
                    help="interp: Z vs W, lerp vs slerp; mix: style mixing; truncation: a psi sweep; sefa: SeFa "
                         "directions; invert: a photo (python -m latent invert --help); layout: the model's face "
                         "layout (python -m latent layout --help)")
    ap.add_argument("--model", default=None, help="registry id or path (default: the bundled face model)")
    ap.add_argument("--out", required=True, help="the image file to write (.png, .jpg, ...)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="interp: the two ends (default 1 2); mix: the first seed's face takes the coarse, middle and "
                         "fine rows of each other seed (default 1 2); truncation, sefa: the one seed (default 1)")
    ap.add_argument("--steps", type=int, default=None, help="interp: frames of the interpolation (default 8)")
    ap.add_argument("--psi", type=float, default=0.7, help="truncation psi of the samples (default 0.7)")
    ap.add_argument("--k", type=int, default=None, help="sefa: how many directions, the strongest first (default 3)")
    ap.add_argument("--strength", type=float, default=None,
                    help="sefa: how far each direction is walked, either way (default 3)")
    ap.add_argument("--scale", type=int, default=2, help="pixel repeat of the grid")
    ap.add_argument("--precision", default="auto", help=PRECISION_HELP)
    args = ap.parse_args(argv)
    _check_grid_args(args)
    G, name = _load(args.model)
    if args.cmd != "interp":
        _needs_stylegan(G, args.cmd, name)
    n, batch = _grid_size(args, G)
    limits.check_memory(f"latent {args.cmd} at --scale {args.scale} ({n} images of {'x'.join(map(str, _shape(G)))} px)",
                        grid_bytes(n, _shape(G), args.scale, batch))
    with _precision(args.precision, G).autocast():  # the generator's images come out in float32
        image = run_command(args, G)
    with clisafe.atomic_file(args.out) as tmp:
        image.save(tmp)
    print(args.out)
    return 0


def main(argv=None):
    return clisafe.run(_main, sys.argv[1:] if argv is None else argv, "latent", ERRORS)


def run_command(args, G):
    """interp | mix | truncation | sefa: the image grid (and its report printed) for `args`."""
    if args.cmd == "interp":
        rows, report = [], {}
        spaces = ("z", "w") if hasattr(G, "mapping") else ("z",)   # a DCGAN has only Z
        for space in spaces:
            for method in ("lerp", "slerp"):
                frames, _ = interpolate(G, args.seeds[0], args.seeds[-1], args.steps, space, method, args.psi)
                rows.append(to_uint8(frames))
                report[f"{space}-{method}"] = smoothness(frames)
        print(json.dumps(report, indent=1))
        return image_strip(rows, args.scale)
    if args.cmd == "mix":
        rows, labels = style_mix_grid(G, args.seeds[:1], args.seeds[1:], args.psi)
        print("\n".join(labels))
        return image_strip(rows, args.scale)
    if args.cmd == "truncation":
        return image_strip([to_uint8(truncation_sweep(G, args.seeds[0]))], args.scale)
    with torch.autocast(_device(G).type, enabled=False):  # the eigen-decomposition stays float32
        dirs, vals = sefa_directions(G, k=args.k)
    with torch.no_grad():
        ws = G.mapping(seed_z(args.seeds[0], G.z_dim, _device(G)), truncation_psi=args.psi)
        rows = [to_uint8(torch.cat([G.synthesis(apply_direction(ws, d, s, range(G.num_ws)))
                                    for s in (-args.strength, 0, args.strength)])) for d in dirs]
    print("eigenvalues:", [round(float(v), 2) for v in vals])
    return image_strip(rows, args.scale)


if __name__ == "__main__":
    sys.exit(main())
