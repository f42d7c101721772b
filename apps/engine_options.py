"""Each engine's own command-line options, on top of the shared ones of `apps.drag_cli`: DragGAN's
radii, stop distance and tracking grid; FreeDrag's l, d, arrival and feature scale. `main(method)`
is what `python -m draggan` / `python -m freedrag` run."""
from dragcore.config import DragGANConfig as DG, FreeDragConfig as FD, spec

from . import drag_cli
from .engines import ENGINES


def draggan_args(p):
    p.add_argument("--r1", type=float, default=None,
                   help=f"motion-supervision radius, px at 512 px (default: preset, else {DG.r1:g})")
    p.add_argument("--r2", type=float, default=None, help=f"tracking radius, px at 512 px (default: preset, else {DG.r2:g})")
    p.add_argument("--stop-distance", type=float, default=None,
                   help="stop within this many image px of the target (default: preset, else max(2 res/512, 2))")
    p.add_argument("--track-step", type=float, default=None,
                   help=f"tracking grid in image px, <= 1; below 1 tracks at sub-pixel positions "
                        f"(default: preset, else {DG.track_step:g})")


def draggan_kwargs(args):
    """DragGAN's own settings from the command line (None: the model preset / engine default)."""
    return dict(r1=args.r1, r2=args.r2, stop_distance=args.stop_distance, track_step=args.track_step)


def freedrag_args(p):
    lo_l, hi_l, lo_d, hi_d = spec("l")["low"], spec("l")["high"], spec("d")["low"], spec("d")["high"]
    p.add_argument("--l", type=float, default=None,
                   help=f"expected initial loss, {lo_l:g}-{hi_l:g} (default: model preset, else {FD.l:g})")
    p.add_argument("--feature-scale", default="auto",
                   help="divide features by this before comparing with l; 'auto' (default) calibrates on the start image")
    p.add_argument("--d", type=float, default=None,
                   help=f"max move per sub-motion in feature px, {lo_d:g}-{hi_d:g} (default: preset, else {FD.d:g})")
    p.add_argument("--arrival", type=float, default=None,
                   help=f"arrival distance in image px (default: preset, else {FD.arrival:g})")


def freedrag_kwargs(args):
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


OPTIONS = {"draggan": (draggan_args, draggan_kwargs), "freedrag": (freedrag_args, freedrag_kwargs)}


def main(method, argv=None):
    """`python -m <method> ...`: the shared CLI with the engine's session class and options."""
    add_args, engine_kwargs = OPTIONS[method]
    return drag_cli.main(ENGINES[method].session, add_args, engine_kwargs, argv=argv)
