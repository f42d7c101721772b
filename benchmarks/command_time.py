"""What a command-line user waits for: `python -m latent invert` on the astronaut and `python -m draggan` on a seed,
whole processes (Python's start and every import included), against another checkout in the same run.

    python -m benchmarks.command_time [--baseline DIR] [--repeats 3] [--threads 2]

Each command runs `--repeats` times in this checkout and, with `--baseline` (e.g. `git archive` of an older commit),
in that one, alternating, with the same interpreter, the same torch threads (OMP_NUM_THREADS) and no other work of
ours beside it. Per run: wall and CPU seconds (the child's), and the inversion's own clock from its metrics.json.
The outputs are compared too: the same photo, seed and thread count give the same latent bit for bit, and the drag
the same result picture, so a faster checkout that changed the result is seen. Writes
benchmarks/results/command_time.{json,csv,md} with the machine's load average.
"""
import json
import os
import statistics as st
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import cli
from benchmarks.app_process import checkouts
from benchmarks.report import write

PHOTO = "ui/examples/astronaut.jpg"
COMMANDS = {   # name -> (arguments after `python -m`, the output file compared between checkouts)
    "latent invert (astronaut)": (["latent", "invert", PHOTO], "latent.safetensors"),
    "draggan (seed 3, one point, 40 steps at most)": (["draggan", "--seed", "3", "--point", "30,40,34,40", "--steps",
                                                        "40"], "result.png"),
}


def timed(checkout, args, out, threads):
    """One command in `checkout` writing to `out` -> dict(wall, cpu, the inversion's seconds or None)."""
    env = dict(os.environ, PYTHONPATH=str(checkout), OMP_NUM_THREADS=str(threads))
    before = os.times()
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", *args, "--out", str(out)], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    after = os.times()
    if done.returncode:
        raise OSError(f"{' '.join(args[:2])} in {checkout} failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    metrics = Path(out) / "metrics.json"
    inner = None
    if metrics.is_file():
        inner = json.loads(metrics.read_text()).get("seconds")
    return dict(wall=wall, cpu=(after.children_user - before.children_user) + (after.children_system
                                                                                 - before.children_system),
                inner=inner)


def main(argv=None):
    ap = cli.parser(__doc__, threads=2, out=cli.OUT)
    ap.add_argument("--baseline", default=None, help="another checkout timed the same way, alternating")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each command per checkout (default 3)")
    a = ap.parse_args(argv)
    if a.repeats < 1:
        raise ValueError("--repeats must be at least 1")
    sides = dict(checkouts(a.baseline))   # the baseline first, then this checkout
    load0, rows = os.getloadavg()[0], []
    with tempfile.TemporaryDirectory(prefix="command_time_") as tmp:
        for name, (args, compared) in COMMANDS.items():
            for i in range(a.repeats):
                for side, checkout in sides.items():
                    out = Path(tmp) / f"{len(rows)}"
                    r = timed(checkout, args, out, a.threads)
                    rows.append(dict(command=name, side=side, run=i + 1, **r,
                                     output=(out / compared).read_bytes()))
    md = [f"Whole commands, {a.repeats} runs each, alternating; {a.threads} torch threads; load "
          f"{load0:.1f} -> {os.getloadavg()[0]:.1f} (`python -m benchmarks.command_time"
          + (" --baseline DIR`" if a.baseline else "`") + f", {time.strftime('%Y-%m-%d')}).", "",
          "| command | checkout | wall s, median (runs) | CPU s, median | the inversion's own s | same output as the "
          "first run |", "|---|---|---|---|---|---|"]
    summary = {}
    for name in COMMANDS:
        first = next(r["output"] for r in rows if r["command"] == name)
        for side in sides:
            mine = [r for r in rows if r["command"] == name and r["side"] == side]
            inner = [r["inner"] for r in mine if r["inner"] is not None]
            summary[name, side] = st.median(r["wall"] for r in mine)
            walls = ", ".join(f"{r['wall']:.1f}" for r in mine)
            same = "yes" if all(r["output"] == first for r in mine) else "NO"
            md.append(f"| {name} | {side} | {summary[name, side]:.1f} ({walls}) | {st.median(r['cpu'] for r in mine):.1f} "
                      f"| {f'{st.median(inner):.1f}' if inner else ''} | {same} |")
    if a.baseline:
        md += [""] + [f"- {name}: this checkout / baseline, median wall: "
                      f"{summary[name, 'this checkout'] / summary[name, 'baseline']:.2f}x" for name in COMMANDS]
    for r in rows:
        r["output"] = len(r.pop("output"))
    write(a.out, "command_time", dict(load=[load0, os.getloadavg()[0]], threads=a.threads, rows=rows), rows, md)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
