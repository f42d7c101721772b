"""python -m draggan --seed S --point HX,HY,TX,TY [...]: see dragcore.cli."""
import sys

from dragcore.cli import main

from .engine import DragGANSession

if __name__ == "__main__":
    sys.exit(main(DragGANSession))
