"""How well the optical-flow motion measure (dragcore.motion) recovers a known motion.

    python -m benchmarks.motion_accuracy [--model ID] [--faces 12]

Faces of the model (seeds 1000.., psi 0.7) are warped with `motion.synthetic_warp` so that the
content at a random point of the central region moves by a known vector (1-13 px at 64 px,
Gaussian falloff sigma 6-16 px); the measure reads the flow at that point. Zero-motion pairs:
the identical image, and the same face with its fine style rows (8-9: colour, no geometry)
taken from another seed. Reported per flow setting: error |measured - true| in px, the error of
moved_fraction for moves of >= 3 px, the apparent motion on the zero-motion pairs, and time per
flow. The first row is the shipped setting (motion.FLOW). Writes
benchmarks/results/motion_accuracy.{json,csv,md}.
"""
import math
import sys
import time

import numpy as np
import torch

import checkpoints
from benchmarks import cli
from benchmarks.report import write
from dragcore import motion
from dragcore.protocol import adapt
from stylegan.imageops import to_uint8

MAGNITUDES = (1, 2, 3, 5, 7, 9, 11, 13)
SETTINGS = [("DIS medium, upscale to >= 512 px (shipped)", "dis", 512, "medium"),
            ("DIS medium, upscale to >= 256 px", "dis", 256, "medium"),
            ("DIS medium, no upscale", "dis", 0, "medium"),
            ("DIS ultrafast, upscale to >= 512 px", "dis", 512, "ultrafast"),
            ("Farneback, upscale to >= 128 px", "farneback", 128, None),
            ("Farneback, upscale to >= 512 px", "farneback", 512, None)]


def farneback(a, b, min_size):
    import cv2
    a, b = motion._gray(a), motion._gray(b)
    h, w = a.shape
    k = max(1, math.ceil(min_size / h))
    if k > 1:
        a, b = (cv2.resize(x, (w * k, h * k), interpolation=cv2.INTER_CUBIC) for x in (a, b))
    f = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 15, 5, 7, 1.5, 0)
    return f.reshape(h, k, w, k, 2).mean(axis=(1, 3)) / k if k > 1 else f


def cases(G, n_faces, seed=1000):
    """(start, warped, point, true vector) warps and (start, other, point) zero-motion pairs."""
    gen = adapt(G, "cpu")
    res = gen.resolution
    rng = np.random.RandomState(0)
    warps, zeros = [], []
    with torch.no_grad():
        for s in range(seed, seed + n_faces):
            ws = gen.latent_init(s, 0.7, "w+")
            face = to_uint8(gen.image(ws))[0]
            for mag in MAGNITUDES:
                p = rng.uniform(0.3, 0.7, 2) * res
                ang = rng.uniform(0, 2 * np.pi)
                v = mag * res / 64 * np.array([np.cos(ang), np.sin(ang)])
                sigma = max(1.25 * np.linalg.norm(v), rng.choice([6.0, 10.0]) * res / 64)
                warps.append((face, motion.synthetic_warp(face, p, v, sigma)[0], p, v))
            mix = ws.clone()
            mix[:, 8:] = gen.latent_init(s + 500, 0.7, "w+")[:, 8:]
            p = rng.uniform(0.3, 0.7, 2) * res
            zeros.append((face, face, p, "identical"))
            zeros.append((face, to_uint8(gen.image(mix))[0], p, "colour"))
    return warps, zeros


def evaluate(name, kind, min_size, preset, warps, zeros):
    flow = (lambda a, b: farneback(a, b, min_size)) if kind == "farneback" else \
        (lambda a, b: motion.dense_flow(a, b, min_size=min_size, preset=preset))
    err, frac_err, t = [], [], []
    for a, b, p, v in warps:
        t0 = time.perf_counter()
        f = flow(a, b)
        t.append(time.perf_counter() - t0)
        m = np.array(motion.read_flow(f, p))
        err.append(float(np.linalg.norm(m - v)))
        if np.linalg.norm(v) >= 3:
            frac_err.append(abs(float(m @ v / (v @ v)) - 1))
    zero = {k: [float(np.linalg.norm(motion.read_flow(flow(a, b), p))) for a, b, p, kk in zeros if kk == k]
            for k in ("identical", "colour")}
    q = lambda x, pc: float(np.percentile(x, pc))
    return dict(setting=name, err_median=q(err, 50), err_p90=q(err, 90), err_max=max(err),
                frac_err_median=q(frac_err, 50), frac_err_p90=q(frac_err, 90), frac_err_max=max(frac_err),
                zero_identical_max=max(zero["identical"]), zero_colour_median=q(zero["colour"], 50),
                zero_colour_max=max(zero["colour"]), ms_per_flow=1000 * float(np.median(t)))


def main(argv=None):
    ap = cli.parser(__doc__, threads=None, model=True)   # one thread always (set below)
    ap.add_argument("--faces", type=int, default=12, help="faces moved (default 12)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    G = checkpoints.load(args.model)
    warps, zeros = cases(G, args.faces)
    rows = [evaluate(*s, warps, zeros) for s in SETTINGS]
    res = G.img_resolution
    md = [f"Optical-flow motion measure vs known motion: {len(warps)} synthetic warps of {args.faces} faces of "
          f"`{args.model}` ({res} px; content at a point moved by {MAGNITUDES[0]}-{MAGNITUDES[-1]} px x res/64), "
          f"{len(zeros)} zero-motion pairs (identical; fine style rows swapped = colour only).",
          f"Reproduce: `python -m benchmarks.motion_accuracy --model {args.model} --faces {args.faces}`", "",
          "| flow setting | error px median / p90 / max | moved_fraction error (moves >= 3 px) median / p90 / max | "
          "zero motion: identical max px | colour-only change median / max px | ms per flow |",
          "|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['setting']} | {r['err_median']:.2f} / {r['err_p90']:.2f} / {r['err_max']:.2f} | "
                  f"{r['frac_err_median']:.3f} / {r['frac_err_p90']:.3f} / {r['frac_err_max']:.3f} | "
                  f"{r['zero_identical_max']:.3f} | {r['zero_colour_median']:.3f} / {r['zero_colour_max']:.3f} | "
                  f"{r['ms_per_flow']:.0f} |")
    write(args.out, "motion_accuracy", dict(model=args.model, faces=args.faces, warps=len(warps), rows=rows), rows, md)
    return rows


if __name__ == "__main__":
    sys.exit(cli.run(main))
