"""One table from several runs of benchmarks.poster_edits (models, trackers), side by side.

    python -m benchmarks.poster_compare LABEL=DIR [LABEL=DIR ...] [--out benchmarks/results]

Each DIR holds a poster_edits.json; per run and method: the median landmark motion over both edits
(and per edit), faces lost, the median colour cast and far-field change, and how often the engine's
arrival agrees with optical flow; the ideal local move of the same faces as the reference row.
Writes benchmarks/results/poster_edits_compare.{json,md}.
"""
import json
import shlex
import sys
from pathlib import Path

from benchmarks import cli
from benchmarks.report import write

METHODS = ("draggan", "freedrag")


def rows_of(label, data):
    s, out = data["summary"], []
    trackers = {r["method"]: r["tracker"] for r in data["rows"] if r.get("tracker")}
    for m in ("ideal local move",) + METHODS:
        a, t, sm = (s.get(f"{m}/{e}", {}) for e in ("all", "turn", "smile"))
        if a:
            out.append(dict(run=label, method=m, tracker=trackers.get(m), median=a["median"],
                            turn=t.get("median"), smile=sm.get("median"), lost=a["lost"], edits=a["edits"],
                            colour_cast=a.get("colour_cast"), far_field=a.get("far_field"),
                            arrival_agrees=a.get("arrival_agrees"), seconds=a.get("seconds")))
    return out


def main(argv=None):
    ap = cli.parser(__doc__, threads=None)
    ap.add_argument("runs", nargs="+", metavar="LABEL=DIR", help="a label and the --out folder of a poster_edits run")
    args = ap.parse_args(argv)
    rows, ideal_done = [], False
    for spec in args.runs:
        label, sep, folder = spec.partition("=")
        path = Path(folder) / "poster_edits.json"
        if not sep or not path.is_file():
            ap.error(f"{spec!r}: expected LABEL=DIR with DIR/poster_edits.json")
        run = rows_of(label, json.loads(path.read_text()))
        if ideal_done:   # the same faces: one ideal row is enough
            run = [r for r in run if r["method"] != "ideal local move"]
        ideal_done = True
        rows += run
    fmt = lambda v, f: "n/a" if v is None else format(v, f)
    lines = ["The poster's edits (12 held-out faces, turn + smile: 24 results per method) on each model and tracker: "
             "median landmark motion along the request (all / turn / smile), faces lost, median colour cast and "
             "far-field change (/255), and the share of results where the engine's arrival agrees with optical flow. "
             "Reproduce: `python -m benchmarks.poster_compare " + " ".join(map(shlex.quote, args.runs)) + "`", "",
             "| run | method | tracker | motion (all) | turn | smile | face lost | colour cast | far field | arrival agrees | "
             "s per edit |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['run'] if r['method'] != 'ideal local move' else 'same faces'} | {r['method']} | {r['tracker'] or ''} | "
              f"{fmt(r['median'], '.2f')} | {fmt(r['turn'], '.2f')} | {fmt(r['smile'], '.2f')} | {r['lost']}/{r['edits']} | "
              f"{fmt(r['colour_cast'], '.1f')} | {fmt(r['far_field'], '.1f')} | {fmt(r['arrival_agrees'], '.0%')} | "
              f"{fmt(r['seconds'], '.1f')} |" for r in rows]
    write(args.out, "poster_edits_compare", dict(runs=args.runs, rows=rows), rows, lines)
    return rows


if __name__ == "__main__":
    sys.exit(cli.run(main))
