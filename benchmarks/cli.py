"""The argparse preamble the benchmark command lines share.

`parser(__doc__, ...)` makes a module's parser, described by the first paragraph of its docstring,
with the flags the benchmarks have in common: --threads (torch's CPU threads) always, and where
asked --model (the default model), --seeds ('A-B', read by `seed_list`), --steps and --out.
`setup(args)` applies them once the arguments are read and checked (torch.set_num_threads).
A module adds its own flags to the parser it gets back.

The parser checks what it read before any work (`check`): every number finite, every whole number
from 0 to MAX_INT (--threads from 1 to 256), --seeds at most MAX_SEEDS seeds, --out a folder (or, when
its default is a file, a file of that kind) that can be written. `run(main)` is every benchmark's
entry point: bad input is one line and exit code 2, Ctrl-C one line and 130 (clisafe.run)."""
import argparse
import math
from pathlib import Path

from dragcore.config import SEED_MAX

OUT = "benchmarks/results"   # where results go unless --out says otherwise
MAX_INT = 100_000            # any count a benchmark takes (runs, steps, images): far above every default
MAX_SEEDS = 1000


class CheckedParser(argparse.ArgumentParser):
    """An ArgumentParser whose parse_args checks the values it read (`check`)."""

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        check(parsed, self)
        return parsed


def check(args, ap=None):
    """ValueError (one line, naming the flag) for a value no benchmark can use."""
    import clisafe
    import limits
    for name, value in vars(args).items():
        flag = "--" + name.replace("_", "-")
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"{flag} must be a finite number, got {v}")
            if isinstance(v, int) and not isinstance(v, bool) and not 0 <= v <= MAX_INT and name != "threads":
                raise ValueError(f"{flag} must be a whole number from 0 to {MAX_INT:,}, got {limits.short(v)}")
    if getattr(args, "threads", None) is not None:
        if not 1 <= args.threads <= 256:
            raise ValueError(f"--threads must be a whole number from 1 to 256, got {limits.short(args.threads)}")
    if isinstance(getattr(args, "seeds", None), str):   # counted, not listed (a malformed range: the module's message)
        lo, _, hi = args.seeds.partition("-")
        try:
            lo, hi = int(lo), int(hi or lo)
        except ValueError:
            lo = hi = None
        if lo is not None and (hi - lo >= MAX_SEEDS or lo < 0 or hi > SEED_MAX):
            raise ValueError(f"--seeds {args.seeds!r}: at most {MAX_SEEDS} seeds from 0 to {SEED_MAX}")
    out = getattr(args, "out", None)
    if isinstance(out, str) and ap is not None:
        default = ap.get_default("out")
        suffix = Path(str(default)).suffix if default else ""
        if suffix:
            clisafe.check_out_file(out, suffixes=(suffix,))
        else:
            limits.check_out_dir(out)


def parser(doc=None, *, threads=1, threads_help=None, model=False, seeds=None, seeds_help=None, steps=None,
           out=OUT):
    """An ArgumentParser with --threads (default `threads`; None: no --threads) and, where given,
    --model (model=True: default checkpoints.DEFAULT_MODEL), --seeds (default `seeds`), --steps (int,
    default `steps`) and --out (default `out`; None: no --out)."""
    ap = CheckedParser(description=doc.split("\n\n")[0] if doc else None)
    if model:
        import checkpoints
        ap.add_argument("--model", default=checkpoints.DEFAULT_MODEL,
                        help=f"registry id or path (default {checkpoints.DEFAULT_MODEL})")
    if seeds is not None:
        ap.add_argument("--seeds", default=seeds, help=seeds_help)
    if steps is not None:
        ap.add_argument("--steps", type=int, default=steps, help=f"steps per drag or run (default {steps})")
    if threads is not None:
        ap.add_argument("--threads", type=int, default=threads,
                        help=threads_help or f"torch CPU threads (default {threads})")
    if out is not None:
        ap.add_argument("--out", default=out, help=f"where the results go (default {out})")
    return ap


def parse_seeds(text):
    """'A-B' (or 'A') -> [A, ..., B]; a ValueError naming --seeds otherwise."""
    lo, _, hi = text.partition("-")
    try:
        lo, hi = int(lo), int(hi or lo)
    except ValueError:
        raise ValueError(f"--seeds must be 'A-B' (integers), got {text!r}") from None
    if hi - lo >= MAX_SEEDS:   # counted before the list is made
        raise ValueError(f"--seeds {text!r}: at most {MAX_SEEDS} seeds")
    seeds = list(range(lo, hi + 1))
    if not seeds:
        raise ValueError(f"--seeds {text!r} holds no seeds")
    return seeds


def seed_list(ap, args):
    """args.seeds as a list of seeds; a malformed range is the parser's usage error (exit 2)."""
    try:
        return parse_seeds(args.seeds)
    except ValueError as e:
        ap.error(str(e))


def run(main, none_fails=False):
    """A benchmark's entry point: main() with the exit codes of clisafe.run (0 done, 2 bad input in one
    line, 130 interrupted); with none_fails, a main that returns None (no result) exits 1."""
    import sys
    import clisafe

    def call(_):
        result = main()
        if none_fails:
            return 1 if result is None else 0
        return result if isinstance(result, int) and not isinstance(result, bool) else 0
    prog = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else "benchmark"
    hub = getattr(sys.modules.get("checkpoints"), "HubUnavailableError", None)   # not imported where unused
    return clisafe.run(call, None, f"benchmarks.{prog}", (ValueError, OSError) + ((hub,) if hub else ()))


def setup(args):
    """Apply the shared flags: torch's CPU threads (--threads). Returns args."""
    import torch
    torch.set_num_threads(args.threads)
    return args
