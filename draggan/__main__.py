"""python -m draggan --seed S --point HX,HY,TX,TY [...]: see dragcore.cli."""
import sys

from dragcore.cli import main

from .engine import MODES, DragGANSession


def add_args(p):
    p.add_argument("--mode", choices=MODES, default="fast", help="fast (default) or reference (official maths)")


def engine_kwargs(args, model_name):
    return dict(mode=args.mode)


if __name__ == "__main__":
    sys.exit(main(DragGANSession, add_args, engine_kwargs))
