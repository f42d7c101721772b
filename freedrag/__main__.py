"""python -m freedrag --seed S --point HX,HY,TX,TY [...] [--l L] [--d D]: see dragcore.cli."""
import sys

from dragcore.cli import main

from .engine import FreeDragSession


def add_args(p):
    p.add_argument("--l", type=float, default=None, help="expected initial loss, 0.1-0.5 (default: model preset, 0.3)")
    p.add_argument("--feature-scale", default="auto",
                   help="divide features by this before comparing with l; 'auto' (default) calibrates on the start image")
    p.add_argument("--d", type=float, default=None, help="max move per sub-motion in feature px, 1-6 (default: preset, 3)")
    p.add_argument("--arrival", type=float, default=None, help="arrival distance in image px (default: preset, 1)")


def engine_kwargs(args):
    """FreeDrag's own settings from the command line (None: the model preset / engine default)."""
    scale = args.feature_scale
    if scale != "auto":
        try:
            scale = float(scale)
        except ValueError:
            raise ValueError(f"--feature-scale must be a positive number or 'auto', got {scale!r}") from None
    return dict(l=args.l, d=args.d, arrival=args.arrival, feature_scale=scale)


if __name__ == "__main__":
    sys.exit(main(FreeDragSession, add_args, engine_kwargs))
