"""Copy the benchmark tables (benchmarks/results/NAME.md) into the README, between markers.

    python -m benchmarks.readme [--readme README.md]

A block `<!-- results:NAME -->` ... `<!-- /results:NAME -->` in the README is replaced by the
contents of benchmarks/results/NAME.md, so the README shows exactly what the last run wrote.
A marker whose results file does not exist is an error (nothing is written).
"""
import argparse
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- results:([\w-]+) -->\n)(.*?)(<!-- /results:\2 -->)", re.S)


def fill(text, results_dir):
    missing = [name for name in BLOCK.findall(text) for name in [name[1]]
               if not (Path(results_dir) / f"{name}.md").is_file()]
    if missing:
        raise SystemExit(f"no results for {missing} in {results_dir}: run those benchmarks first")
    return BLOCK.sub(lambda m: m.group(1) + (Path(results_dir) / f"{m.group(2)}.md").read_text().rstrip("\n")
                     + "\n" + m.group(4), text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--readme", default=str(ROOT / "README.md"))
    p.add_argument("--results", default=str(ROOT / "benchmarks" / "results"))
    a = p.parse_args(argv)
    path = Path(a.readme)
    text = path.read_text()
    new = fill(text, a.results)
    path.write_text(new)
    print(f"{path}: {len(BLOCK.findall(new))} result blocks filled")


if __name__ == "__main__":
    main()
