"""python -m freedrag --seed S --point HX,HY,TX,TY [...] [--l L] [--d D]: see drags.drag_cli (the shared
command line) and drags.engine_options (FreeDrag's own options). An entry point: nothing imports it."""
import sys

from drags.engine_options import main

if __name__ == "__main__":
    sys.exit(main("freedrag"))
