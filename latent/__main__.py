"""python -m latent interp | mix | truncation | sefa  --model ID_OR_PATH --out FILE.png [--precision P] ...
   python -m latent invert PHOTO --model ID_OR_PATH --out DIR [--steps-w N --steps-wplus N --pti-steps N --no-pti]
                          [--crop X0 Y0 X1 Y1] [--no-align] [--precision P]
   python -m latent layout --model ID_OR_PATH [--n 300] [--out FILE]

invert aligns the face to the model's layout (latent.align: OpenCV's face and eye cascades, a similarity
transform onto where the model draws faces), then writes DIR/latent.safetensors (the W+ pivot, with the
model in its metadata), DIR/generator_delta.safetensors (tuned minus original weights and noise maps),
reconstruction.png, target.png (= aligned.png, what was inverted), alignment.json (the transform,
photo px -> model px, and the photo's path), photo.png (the original, to paste a drag back into) and
metrics.json; `python -m draggan|freedrag --inverted DIR` drags it headless (and writes
result_in_photo.png). --crop looks for the face only inside the box; --no-align centre-crops instead
(a picture that is not a face; a model without a layout is centre-cropped too, with a note). No face, a
face too small, or several faces (the largest is used) are said in one line.

layout measures where the model draws faces (mean face box and eyes over --n samples) and writes it to
presets/<model>.layout.json (--out: elsewhere), the layout invert aligns photos to.

--precision fp32 | bf16 | fp16 | auto (default; stylegan.precision) sets the autocast of the
generator passes: the images of interp / mix / truncation / sefa, the projection and PTI steps of
invert (losses stay float32). An unsupported choice is refused with one line.
"""
import argparse
import json
import sys

import torch

import checkpoints
import stylegan
from stylegan.precision import choose

from . import LatentError, image_strip, interpolate, smoothness, style_mix_grid, sefa_directions, apply_direction
from . import truncation_sweep, to_uint8, seed_z
from .align import Layout, align, measure_layout
from .invert import PTI_STEPS, STEPS_W, STEPS_WPLUS, apply_delta, generator_delta, invert, load_image, load_photo
from .util import require_mapping

PRECISION_HELP = "fp32, bf16, fp16 or auto (default: bf16 where the device computes it natively and the model is large)"


def _precision(name, G):
    chosen = choose(name, G.device, G.img_resolution)
    print(f"precision {chosen.describe()}")
    return chosen


def invert_main(argv):
    from pathlib import Path
    from safetensors.torch import save_file
    from tqdm import tqdm
    ap = argparse.ArgumentParser(prog="python -m latent invert")
    ap.add_argument("photo")
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps-w", type=int, default=STEPS_W)
    ap.add_argument("--steps-wplus", type=int, default=STEPS_WPLUS)
    ap.add_argument("--pti-steps", type=int, default=PTI_STEPS)
    ap.add_argument("--no-pti", action="store_true")
    ap.add_argument("--crop", type=int, nargs=4, metavar=("X0", "Y0", "X1", "Y1"), default=None,
                    help="look for the face only inside this box (with --no-align: crop to it)")
    ap.add_argument("--no-align", action="store_true", help="centre-crop and resize instead of aligning the face")
    ap.add_argument("--device", default=None)
    ap.add_argument("--precision", default="auto", help=PRECISION_HELP)
    args = ap.parse_args(argv)
    try:
        G = checkpoints.load(args.model or checkpoints.DEFAULT_MODEL, device=stylegan.pick_device(args.device))
        precision = _precision(args.precision, G)
        photo = alignment = None
        if args.no_align:
            target = load_image(args.photo, tuple(G.img_shape), box=args.crop)
        else:
            photo, target, alignment = align_photo(args.photo, G, args.model or checkpoints.DEFAULT_MODEL, args.crop)
        bars = {}

        def progress(stage, i, n, loss):
            if stage not in bars:  # one bar per stage (setdefault would build a new bar every call)
                bars[stage] = tqdm(total=n, desc=stage, leave=True)
            bar = bars[stage]
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")
        r = invert(G, target, args.steps_w, args.steps_wplus, 0 if args.no_pti else args.pti_steps, progress,
                   precision=precision)
    except (LatentError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = args.model or checkpoints.DEFAULT_MODEL   # recorded: `python -m draggan --inverted DIR` drags on it
    save_file({"ws": r["ws"].cpu().contiguous()}, str(out / "latent.safetensors"), metadata={"model": model})
    G_final = r["G_tuned"] or r["G_noise"]
    delta = {k: v.cpu() for k, v in generator_delta(G, G_final).items()}
    save_file(delta, str(out / "generator_delta.safetensors"),
              metadata={"what": "tuned minus original generator weights (PTI + projected noise maps)"})
    # the reconstruction as every reader of this folder rebuilds it (original + delta, which can differ from the
    # tuned weights by a float rounding), so a drag from this folder starts from exactly this picture
    with torch.no_grad():
        recon = apply_delta(G, delta).synthesis(r["ws"].to(next(G.parameters()).device))
    image_strip([to_uint8(recon)]).save(out / "reconstruction.png")
    image_strip([to_uint8(r["target"])]).save(out / "target.png")
    if alignment is not None:
        image_strip([to_uint8(r["target"])]).save(out / "aligned.png")
        photo.save(out / "photo.png")
        (out / "alignment.json").write_text(alignment.to_json())
    (out / "metrics.json").write_text(json.dumps(dict(psnr=r["psnr"], seconds=round(r["seconds"], 1), loss=r["loss"],
                                                      stage_seconds={k: round(v, 1) for k, v in r["stage_seconds"].items()},
                                                      precision=r["precision"], aligned=alignment is not None,
                                                      model=model), indent=1))
    print(json.dumps(r["psnr"]), "->", out)
    return 0


def align_photo(path, G, model, crop=None):
    """(the photo as RGB PIL, the target [1, 3, H, W], its Alignment or None). A model without a face layout
    (not a face model, or not measured: python -m latent layout) is centre-cropped, and a note says so."""
    import numpy as np
    layout_file = checkpoints.layout_file(model)
    if layout_file is None or not layout_file.is_file():
        print(f"note: model {model!r} has no face layout (python -m latent layout --model ...): the photo is "
              f"centre-cropped, not aligned, and no result_in_photo.png can be made")
        return None, load_image(path, tuple(G.img_shape), box=crop), None
    photo = load_photo(path)
    aligned, alignment = align(np.asarray(photo), Layout.read(layout_file), (G.img_shape[1], G.img_shape[0]), box=crop)
    if alignment.note:
        print(f"note: {alignment.note}")
    return photo, torch.from_numpy(aligned.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1, alignment


def layout_main(argv):
    ap = argparse.ArgumentParser(prog="python -m latent layout")
    ap.add_argument("--model", default=None)
    ap.add_argument("--n", type=int, default=300, help="samples to measure on (psi 0.7, seed 7)")
    ap.add_argument("--out", default=None, help="default: presets/<model>.layout.json")
    args = ap.parse_args(argv)
    model = args.model or checkpoints.DEFAULT_MODEL
    try:
        if not 5 <= args.n <= 5000:
            raise LatentError("--n must be within 5..5000")
        G = checkpoints.load(model)
        require_mapping(G)
        with torch.no_grad():
            z = torch.randn(args.n, G.z_dim, generator=torch.Generator().manual_seed(7))
            images = [to_uint8(G(z[i:i + 50].to(G.device), truncation_psi=0.7)) for i in range(0, args.n, 50)]
        layout = measure_layout([a for batch in images for a in batch])
    except (LatentError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    layout.extra["command"] = f"python -m latent layout --model {model} --n {args.n}"
    from pathlib import Path
    out = Path(args.out) if args.out else checkpoints.layout_path(model)
    out.write_text(layout.to_json() + "\n")
    print(f"face box {layout.box}, eyes {layout.eyes} ({layout.samples} of {args.n} samples) -> {out}")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["invert"]:
        return invert_main(argv[1:])
    if argv[:1] == ["layout"]:
        return layout_main(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m latent")
    ap.add_argument("cmd", choices=["interp", "mix", "truncation", "sefa", "invert", "layout"])
    ap.add_argument("--model", default=None, help="registry id or path (default: the bundled face model)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--psi", type=float, default=0.7)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--strength", type=float, default=3.0)
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--precision", default="auto", help=PRECISION_HELP)
    args = ap.parse_args(argv)
    try:
        G = checkpoints.load(args.model or checkpoints.DEFAULT_MODEL)
        with _precision(args.precision, G).autocast():  # the generator's images come out in float32
            run_command(args, G)
    except (LatentError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(args.out)
    return 0


def run_command(args, G):
    """interp | mix | truncation | sefa: the image grid (and its report) for `args`."""
    if args.cmd == "interp":
        rows, report = [], {}
        for space in ("z", "w"):
            for method in ("lerp", "slerp"):
                frames, _ = interpolate(G, args.seeds[0], args.seeds[-1], args.steps, space, method, args.psi)
                rows.append(to_uint8(frames))
                report[f"{space}-{method}"] = smoothness(frames)
        image_strip(rows, args.scale).save(args.out)
        print(json.dumps(report, indent=1))
    elif args.cmd == "mix":
        rows, labels = style_mix_grid(G, args.seeds[:1], args.seeds[1:] or [args.seeds[0] + 1], args.psi)
        image_strip(rows, args.scale).save(args.out)
        print("\n".join(labels))
    elif args.cmd == "truncation":
        image_strip([to_uint8(truncation_sweep(G, args.seeds[0]))], args.scale).save(args.out)
    else:
        with torch.autocast(G.device.type, enabled=False):  # the eigen-decomposition stays float32
            dirs, vals = sefa_directions(G, k=args.k)
        with torch.no_grad():
            ws = G.mapping(seed_z(args.seeds[0], G.z_dim), truncation_psi=args.psi)
            rows = [to_uint8(torch.cat([G.synthesis(apply_direction(ws, d, s, range(G.num_ws)))
                                        for s in (-args.strength, 0, args.strength)])) for d in dirs]
        image_strip(rows, args.scale).save(args.out)
        print("eigenvalues:", [round(float(v), 2) for v in vals])


if __name__ == "__main__":
    sys.exit(main())
