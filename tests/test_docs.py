"""The docs run as written: every ```python block of docs/*.md executes on the bundled model, every
`python -m ...` command of docs/*.md and the README names a module that answers `--help` and
whose help lists each `--option` the command uses, and the benchmark tables in docs/ are the
ones in benchmarks/results (filled by `python -m benchmarks.readme`).

A block is skipped only when its first line is the visible marker `# docs-test: skip (reason)`."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
SKIP = re.compile(r"^# docs-test: skip \((.+)\)$")
COMMAND = re.compile(r"python3? -m ([A-Za-z_][\w.]*)((?:[ \t]+(?:\\\n[ \t]*)?(?!\|(?:\s|$))[^\s`]+)*)")  # to ` or a lone |
LOCAL_APP = "http://127.0.0.1:7860/"   # the app's default address in docs/api.md
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")


def python_blocks():
    for page in DOCS:
        for i, m in enumerate(re.finditer(r"```python\n(.*?)```", page.read_text(), re.S)):
            yield pytest.param(m.group(1), id=f"{page.name}#{i + 1}")


def commands():
    """(page, module, subcommand or None, [--options]) for every `python -m` command."""
    found = []
    for page in DOCS + [ROOT / "README.md"]:
        for m in COMMAND.finditer(page.read_text()):
            module, words = m.group(1), m.group(2).replace("\\\n", " ").split()
            if module in ("venv", "pip", "pytest"):
                continue
            words = [w.split("#")[0] for w in words]
            words = words[:next((i for i, w in enumerate(words) if not w), len(words))]   # stop at a comment
            sub = words[0] if words and re.fullmatch(r"[a-z][\w-]*", words[0]) else None
            options = sorted({re.match(r"--[\w-]+", w.lstrip("[")).group(0) for w in words
                              if re.match(r"--[\w-]+", w.lstrip("["))})
            found.append((page.name, module, sub, options))
    return found


# One fresh interpreter answers every `python -m MODULE [SUB] --help`: each module runs as __main__ (runpy,
# as -m does) with its argv, its output captured and its exit code read off SystemExit; torch is imported once.
HELP_DRIVER = """
import contextlib, io, json, runpy, sys
out = {}
for module, sub in json.loads(sys.argv[1]):
    buf, rc = io.StringIO(), 0
    sys.argv = [module] + ([sub] if sub else []) + ["--help"]
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except Exception as e:
        rc, _ = 1, buf.write(f"{type(e).__name__}: {e}")
    out[json.dumps([module, sub])] = [rc, buf.getvalue()]
print(json.dumps(out))
"""


def help_texts(keys):
    """{(module, sub): (exit code, help text)} for every key, from one subprocess."""
    p = subprocess.run([sys.executable, "-c", HELP_DRIVER, json.dumps([list(k) for k in keys])], cwd=ROOT, env=ENV,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return {tuple(json.loads(k)): tuple(v) for k, v in json.loads(p.stdout.splitlines()[-1]).items()}


def test_the_command_parser_reads_options_across_lines_and_stops_at_comments():
    text = ("python -m draggan  --seed 3 [--space w+|w] \\\n     [--mask M.png] --out DIR   # a --comment\n"
            "| `python -m dcgan train --data D` | x |\n| python -m latent mix | y |")
    got = [(m.group(1), m.group(2)) for m in COMMAND.finditer(text)]
    assert [g[0] for g in got] == ["draggan", "dcgan", "latent"]
    assert "--out" in got[0][1] and "--data" in got[1][1] and got[2][1].split() == ["mix"]


@pytest.mark.integration   # docs/api.md's block runs against the launched app (~40 s)
@pytest.mark.parametrize("code", list(python_blocks()))
def test_python_block_runs_as_written(code, request):
    first = code.splitlines()[0] if code.strip() else ""
    if SKIP.match(first):
        pytest.skip(SKIP.match(first).group(1))
    if LOCAL_APP in code:  # a gradio_client example: run it against a real app (conftest's shared_app)
        code = code.replace(LOCAL_APP, request.getfixturevalue("shared_app").url)
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, f"the block fails as written:\n{p.stderr[-3000:]}"


@pytest.mark.integration   # --help of every command, in one fresh interpreter (~10 s)
def test_every_documented_command_answers_help_and_knows_its_options():
    cmds = commands()
    assert len(cmds) > 20 and {"draggan", "freedrag", "dcgan", "benchmarks.step_time"} <= {c[1] for c in cmds}
    keys = {(module, sub) for _, module, sub, _ in cmds} | {(module, None) for _, module, _, _ in cmds}
    helps = help_texts(sorted(keys, key=lambda k: (k[0], k[1] or "")))
    problems = []
    for page, module, sub, options in cmds:
        rc, text = helps[(module, sub)]
        if rc != 0 and sub is not None:          # a positional argument (a file), not a subcommand
            rc, text = helps[(module, None)]
        if rc != 0 or "usage:" not in text:
            problems.append(f"{page}: python -m {module} {sub or ''} --help exits {rc}: {text.strip()[-300:]}")
            continue
        unknown = [o for o in options if not re.search(re.escape(o) + r"(?![\w-])", text)]
        if unknown:
            problems.append(f"{page}: python -m {module} {sub or ''}: {unknown} not in its --help")
    assert not problems, "\n".join(problems)


def test_benchmark_tables_in_docs_are_the_results():
    from benchmarks import readme
    pages = [p for p in readme.pages(ROOT / "README.md") if readme.BLOCK.search(p.read_text())]
    assert {ROOT / "docs" / "drag.md", ROOT / "docs" / "benchmarks.md"} <= set(pages)
    assert "(docs/benchmarks.md)" in (ROOT / "README.md").read_text()   # the README links the tables
    for page in pages:
        text = page.read_text()
        assert "BENCHMARK_TABLE" not in text
        assert readme.fill(text, ROOT / "benchmarks" / "results") == text, \
            f"{page.name}: a results block differs from benchmarks/results: run python -m benchmarks.readme"


def test_every_local_link_and_picture_of_the_docs_exists():
    """README and docs/*.md: every relative link to a page or picture names a file of the repository."""
    missing = []
    for page in DOCS + [ROOT / "README.md"]:
        for target in re.findall(r"\]\(([^)\s#:]+\.(?:png|gif|jpg|md|json|py))(?:#[^)]*)?\)", page.read_text()):
            if not (page.parent / target).is_file():
                missing.append(f"{page.relative_to(ROOT)}: {target}")
    assert not missing, "links to missing files:\n" + "\n".join(missing)
    assert "](docs/app/" in (ROOT / "README.md").read_text()   # the README shows the app's screenshots


def test_every_option_of_a_users_command_line_says_what_it_does():
    """Each argument of every command line of the repository (the packages', the app's, the benchmarks')
    has a help text, so `--help` explains every flag it lists."""
    import ast
    bare = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] == "tests" or any(p.startswith(".") for p in rel.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument" \
                    and not any(k.arg == "help" for k in node.keywords):
                bare.append(f"{rel}:{node.lineno}")
    assert not bare, f"options without help: {bare}"
