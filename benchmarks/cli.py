"""The argparse preamble the benchmark command lines share.

`parser(__doc__, ...)` makes a module's parser, described by the first paragraph of its docstring,
with the flags the benchmarks have in common: --threads (torch's CPU threads) always, and where
asked --model (the default model), --seeds ('A-B', read by `seed_list`), --steps and --out.
`setup(args)` applies them once the arguments are read and checked (torch.set_num_threads).
A module adds its own flags to the parser it gets back."""
import argparse

OUT = "benchmarks/results"   # where results go unless --out says otherwise


def parser(doc=None, *, threads=1, threads_help=None, model=False, seeds=None, seeds_help=None, steps=None,
           out=OUT):
    """An ArgumentParser with --threads (default `threads`; None: no --threads) and, where given,
    --model (model=True: default checkpoints.DEFAULT_MODEL), --seeds (default `seeds`), --steps (int,
    default `steps`) and --out (default `out`; None: no --out)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0] if doc else None)
    if model:
        import checkpoints
        ap.add_argument("--model", default=checkpoints.DEFAULT_MODEL)
    if seeds is not None:
        ap.add_argument("--seeds", default=seeds, help=seeds_help)
    if steps is not None:
        ap.add_argument("--steps", type=int, default=steps)
    if threads is not None:
        ap.add_argument("--threads", type=int, default=threads,
                        help=threads_help or f"torch CPU threads (default {threads})")
    if out is not None:
        ap.add_argument("--out", default=out)
    return ap


def parse_seeds(text):
    """'A-B' (or 'A') -> [A, ..., B]; a ValueError naming --seeds otherwise."""
    lo, _, hi = text.partition("-")
    try:
        seeds = list(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise ValueError(f"--seeds must be 'A-B' (integers), got {text!r}") from None
    if not seeds:
        raise ValueError(f"--seeds {text!r} holds no seeds")
    return seeds


def seed_list(ap, args):
    """args.seeds as a list of seeds; a malformed range is the parser's usage error (exit 2)."""
    try:
        return parse_seeds(args.seeds)
    except ValueError as e:
        ap.error(str(e))


def setup(args):
    """Apply the shared flags: torch's CPU threads (--threads). Returns args."""
    import torch
    torch.set_num_threads(args.threads)
    return args
