"""The C heap under torch's CPU tensors: freed memory handed back to the system between large passes.

torch allocates CPU tensors with malloc. glibc maps a block of its own (unmapped when freed) only above its
mmap threshold, and it raises that threshold to the size of every mapped block freed, up to 32 MB. After the
first large free, the 1-30 MB temporaries of a pass come from its heaps, one per thread that allocates (the
app's step thread and its stream thread), and a heap keeps what is freed inside it: a process that has made
a few 512 px passes sits hundreds of MB above what it holds.

`trim()` (glibc's `malloc_trim(0)`) hands the free pages inside every heap back to the system; the synthesis
calls it before and after each render in strips (`SynthesisNetwork.render_kept`, from 256 px), so a render
starts from what is live. Not around the small passes beside the steps (live previews): a trim there makes the
step thread fault its blocks in again. Fixing the thresholds instead (`mallopt`, or `MALLOC_MMAP_THRESHOLD_`)
maps and faults afresh the blocks a drag step allocates every step (oneDNN's weight reorders are 9 MB at 512
channels); see docs/benchmarks.md, "Memory and the start pass at 512 px, session 6".

The trims are opt-in: LATENTLAB_MALLOC=trim. They lower a 512 px edit's peak but the render after a trim
faults its pages in again, and that costs more time than the memory is worth by default (the lead's same-run
measurements: docs/benchmarks.md, "The lead's runs at the end of session 6"). A no-op without glibc (macOS,
Windows, musl), without LATENTLAB_MALLOC=trim, and with LATENTLAB_MALLOC=keep or the user's own `MALLOC_*` /
`GLIBC_TUNABLES` settings (unless LATENTLAB_MALLOC=trim asks for the trims beside them). CUDA and MPS tensors are
not malloc's.

One heap (on by default, `one_heap`, applied when this module is imported): glibc gives each thread that allocates
a heap of its own (up to 8 per core), and a heap's free blocks serve only the threads bound to it. A drag's steps and
final render run in one thread, its live previews in the stream's, the start image in the app's handler: three
heaps each keeping its own free blocks of the same passes. With one heap (`mallopt(M_ARENA_MAX, 1)`) every thread
reuses what any pass freed. Left alone with LATENTLAB_MALLOC=keep or the user's own `MALLOC_*` / `GLIBC_TUNABLES`.
Measured in docs/benchmarks.md, "Memory and the final render at 512 px, session 7".
"""
import ctypes
import ctypes.util
import os
import sys

_state = {}


def _libc():
    """glibc's handle, or None (another C library, another system)."""
    if "libc" not in _state:
        lib = None
        if sys.platform.startswith("linux"):
            try:
                cand = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                if all(hasattr(cand, f) for f in ("malloc_trim", "gnu_get_libc_version")):
                    lib = cand
            except OSError:
                lib = None
        _state["libc"] = lib
    return _state["libc"]


def user_chose():
    """The environment already says how malloc behaves (then this module leaves it alone, unless
    LATENTLAB_MALLOC=trim asks for the trims beside the user's own settings)."""
    choice = os.environ.get("LATENTLAB_MALLOC", "").lower()
    if choice in ("keep", "trim"):
        return choice == "keep"
    return any(k.startswith("MALLOC_") for k in os.environ) or "GLIBC_TUNABLES" in os.environ


def wanted():
    """The trims were asked for (LATENTLAB_MALLOC=trim): they are opt-in (see the module doc)."""
    return os.environ.get("LATENTLAB_MALLOC", "").lower() == "trim"


def active():
    """True where `trim` acts: glibc, LATENTLAB_MALLOC=trim."""
    return _libc() is not None and wanted() and not user_chose()


def trim():
    """Hand the free pages of every malloc heap back to the system; True if any were (glibc only)."""
    if not active():
        return False
    return bool(_libc().malloc_trim(0))


M_ARENA_MAX = -8   # glibc's mallopt parameter (malloc.h)


def one_heap():
    """Every thread allocates from one malloc heap (glibc's M_ARENA_MAX 1; see the module doc); True if set. Threads
    that allocated before keep the heap they had. A no-op without glibc, or when the user chose (`user_chose`)."""
    lib = _libc()
    if lib is None or user_chose() or not hasattr(lib, "mallopt"):
        return False
    if "one_heap" not in _state:
        _state["one_heap"] = bool(lib.mallopt(M_ARENA_MAX, 1))
    return _state["one_heap"]


one_heap()
