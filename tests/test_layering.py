"""The import map: no arrow from a library package to a tool package, and `stylegan` (the bottom
layer) imports no other package of ours. Read from the source with `ast`, so an import inside a
function (a lazy import) counts as well as one at the top of a file."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ("stylegan", "dragcore", "draggan", "freedrag", "latent", "dcgan")
TOOLS = ("training", "benchmarks", "ui", "app", "tests")
OURS = LIBRARY + TOOLS + ("checkpoints", "limits", "hubguard")


def imported_packages(path, source=None):
    """The top-level names every import statement of a file reaches (relative imports resolved)."""
    package = path.relative_to(ROOT).parts[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text() if source is None else source, str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(package if node.level else node.module.split(".")[0])
    return names


def library_files():
    return sorted(p for pkg in LIBRARY for p in (ROOT / pkg).rglob("*.py"))


def test_the_import_parser_sees_lazy_and_relative_imports():
    # the checks below are only as good as this parser: it must see an import inside a function
    source = "from .io import load\n\ndef f():\n    import benchmarks.report\n    from ui import runner\n"
    assert imported_packages(ROOT / "stylegan" / "probe.py", source) == {"stylegan", "benchmarks", "ui"}


@pytest.mark.parametrize("path", library_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_library_module_imports_a_tool_package(path):
    bad = imported_packages(path) & set(TOOLS)
    assert not bad, f"{path.relative_to(ROOT)} (library) imports the tool package(s) {sorted(bad)}"


def test_stylegan_depends_on_nothing_above_it():
    for path in sorted((ROOT / "stylegan").rglob("*.py")):
        above = (imported_packages(path) & set(OURS)) - {"stylegan"}
        assert not above, f"{path.relative_to(ROOT)} imports {sorted(above)}; stylegan is the bottom layer"


def test_no_temporary_fallback_left_in_the_library():
    # issue 17: stylegan/distill.py had a "TEMPORARY until dcgan/ lands" fallback; distillation is training/ now
    assert not (ROOT / "stylegan" / "distill.py").exists()
    hits = [str(p.relative_to(ROOT)) for p in library_files() if "TEMPORARY" in p.read_text()]
    assert not hits, f"temporary fallbacks left in {hits}"
