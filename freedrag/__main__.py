"""python -m freedrag --seed S --point HX,HY,TX,TY [...] [--l L] [--d D]: see dragcore.cli."""
import sys

from dragcore.cli import main
from dragcore.config import FreeDragConfig as C, spec

from .engine import FreeDragSession


def add_args(p):
    lo_l, hi_l, lo_d, hi_d = spec("l")["low"], spec("l")["high"], spec("d")["low"], spec("d")["high"]
    p.add_argument("--l", type=float, default=None,
                   help=f"expected initial loss, {lo_l:g}-{hi_l:g} (default: model preset, else {C.l:g})")
    p.add_argument("--feature-scale", default="auto",
                   help="divide features by this before comparing with l; 'auto' (default) calibrates on the start image")
    p.add_argument("--d", type=float, default=None,
                   help=f"max move per sub-motion in feature px, {lo_d:g}-{hi_d:g} (default: preset, else {C.d:g})")
    p.add_argument("--arrival", type=float, default=None,
                   help=f"arrival distance in image px (default: preset, else {C.arrival:g})")


def engine_kwargs(args):
    """FreeDrag's own settings from the command line (None: the model preset / engine default)."""
    scale = args.feature_scale
    if scale == "auto":
        scale = None   # dragcore.config: None is measured on the start image
    else:
        try:
            scale = float(scale)
        except ValueError:
            raise ValueError(f"--feature-scale must be a positive number or 'auto', got {scale!r}") from None
    return dict(l=args.l, d=args.d, arrival=args.arrival, feature_scale=scale)


if __name__ == "__main__":
    sys.exit(main(FreeDragSession, add_args, engine_kwargs))
