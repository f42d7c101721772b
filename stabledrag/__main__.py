"""python -m stabledrag --seed S --point HX,HY,TX,TY [...] [--tau T] [--confirm flow]: see drags.drag_cli (the shared
command line) and drags.engine_options (the flags StableDrag's declaration derives). An entry point:
nothing imports it."""
import sys

from drags.engine_options import main

if __name__ == "__main__":
    sys.exit(main("stabledrag"))
