"""python -m latent interp | mix | truncation | sefa  --model ID_OR_PATH --out FILE.png ...

GAN inversion (W / W+ projection and PTI) is not implemented yet (issue "Latent explorer and
GAN inversion" remains open for it)."""
import argparse
import json
import sys

import torch

from . import LatentError, image_strip, interpolate, smoothness, style_mix_grid, sefa_directions, apply_direction
from . import truncation_sweep, to_uint8, seed_z


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m latent")
    ap.add_argument("cmd", choices=["interp", "mix", "truncation", "sefa"])
    ap.add_argument("--model", default=None, help="registry id or path (default: the bundled face model)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--psi", type=float, default=0.7)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--strength", type=float, default=3.0)
    ap.add_argument("--scale", type=int, default=2)
    args = ap.parse_args(argv)
    import checkpoints
    try:
        G = checkpoints.load(args.model or checkpoints.DEFAULT_MODEL)
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
            dirs, vals = sefa_directions(G, k=args.k)
            with torch.no_grad():
                ws = G.mapping(seed_z(args.seeds[0], G.z_dim), truncation_psi=args.psi)
                rows = [to_uint8(torch.cat([G.synthesis(apply_direction(ws, d, s, range(G.num_ws)))
                                            for s in (-args.strength, 0, args.strength)])) for d in dirs]
            image_strip(rows, args.scale).save(args.out)
            print("eigenvalues:", [round(float(v), 2) for v in vals])
    except (LatentError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
