"""Copy the benchmark tables (benchmarks/results/NAME.md) into docs/benchmarks.md (and any other page
with a marker: docs/*.md, the README), between markers.

    python -m benchmarks.readme [--readme README.md]

A block `<!-- results:NAME -->` ... `<!-- /results:NAME -->` in a page of docs/ or in the README is
replaced by the contents of benchmarks/results/NAME.md, so the page shows exactly what the last run
wrote. A marker whose results file does not exist is an error (nothing is written). The tables live
in docs/benchmarks.md; the README links there (tests/test_docs.py checks every page's blocks).
"""
import argparse
import re
import sys
from pathlib import Path

from benchmarks import cli

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- results:([\w-]+) -->\n)(.*?)(<!-- /results:\2 -->)", re.S)


def fill(text, results_dir):
    missing = [name for name in BLOCK.findall(text) for name in [name[1]]
               if not (Path(results_dir) / f"{name}.md").is_file()]
    if missing:
        raise SystemExit(f"no results for {missing} in {results_dir}: run those benchmarks first")
    return BLOCK.sub(lambda m: m.group(1) + (Path(results_dir) / f"{m.group(2)}.md").read_text().rstrip("\n")
                     + "\n" + m.group(4), text)


def pages(readme):
    """The README and every page of docs/ that holds a results block."""
    docs = sorted(p for p in (ROOT / "docs").glob("*.md") if BLOCK.search(p.read_text()))
    return [Path(readme)] + docs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--readme", default=str(ROOT / "README.md"), help="the README (its linked pages are filled too)")
    p.add_argument("--results", default=str(ROOT / "benchmarks" / "results"), help="the results folder the tables come from")
    a = p.parse_args(argv)
    filled = [(path, fill(path.read_text(), a.results)) for path in pages(a.readme)]   # all checked first
    for path, new in filled:
        path.write_text(new)
        print(f"{path}: {len(BLOCK.findall(new))} result blocks filled")


if __name__ == "__main__":
    sys.exit(cli.run(main))
