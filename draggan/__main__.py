"""python -m draggan --seed S --point HX,HY,TX,TY [...] [--r1 R] [--r2 R]: see drags.drag_cli (the shared
command line) and drags.engine_options (DragGAN's own options). An entry point: nothing imports it."""
import sys

from drags.engine_options import main

if __name__ == "__main__":
    sys.exit(main("draggan"))
