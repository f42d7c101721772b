"""How long the app's idle OpenMP threads spin before they sleep: set before torch loads.

torch's CPU kernels run on an OpenMP team (GNU libgomp in the Linux wheels). Between two parallel regions its
threads wait by spinning, 300,000 turns by default, before they sleep. That is the fastest on an idle machine, and
the worst on a busy one: the app runs torch in two threads at once during a drag (the steps, and the stream's live
previews), and beside other processes on a shared machine. A team whose thread lost its core then waits out a
scheduler slice at every region. Measured on the bundled model, 2 cores, a DragGAN step with 2 threads
(docs/benchmarks.md, "OpenMP's spin, session 9"): 17.5 ms idle, 700-900 ms beside one busy process; with
SPINCOUNT turns 19.5 ms idle and 66 ms beside it.

`bound_spin()` sets GOMP_SPINCOUNT to SPINCOUNT unless the user chose a wait policy (OMP_WAIT_POLICY or
GOMP_SPINCOUNT) or torch is already loaded (libgomp reads it once, when it loads). Other OpenMP runtimes ignore it.
"""
import os
import sys

SPINCOUNT = 10_000


def bound_spin(environ=None):
    """Set GOMP_SPINCOUNT for this process (before torch loads); True when it was set here."""
    environ = os.environ if environ is None else environ
    if "torch" in sys.modules or "OMP_WAIT_POLICY" in environ or "GOMP_SPINCOUNT" in environ:
        return False
    environ["GOMP_SPINCOUNT"] = str(SPINCOUNT)
    return True
