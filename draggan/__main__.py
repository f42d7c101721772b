"""python -m draggan --seed S --point HX,HY,TX,TY [...] [--r1 R] [--r2 R]: see dragcore.cli."""
import sys

from dragcore.cli import main
from dragcore.config import DragGANConfig as C

from .engine import DragGANSession


def add_args(p):
    p.add_argument("--r1", type=float, default=None,
                   help=f"motion-supervision radius, px at 512 px (default: preset, else {C.r1:g})")
    p.add_argument("--r2", type=float, default=None, help=f"tracking radius, px at 512 px (default: preset, else {C.r2:g})")
    p.add_argument("--stop-distance", type=float, default=None,
                   help="stop within this many image px of the target (default: preset, else max(2 res/512, 2))")
    p.add_argument("--track-step", type=float, default=None,
                   help=f"tracking grid in image px, <= 1; below 1 tracks at sub-pixel positions "
                        f"(default: preset, else {C.track_step:g})")


def engine_kwargs(args):
    """DragGAN's own settings from the command line (None: the model preset / engine default)."""
    return dict(r1=args.r1, r2=args.r2, stop_distance=args.stop_distance, track_step=args.track_step)


if __name__ == "__main__":
    sys.exit(main(DragGANSession, add_args, engine_kwargs))
