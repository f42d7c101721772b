"""The import map of the repository, read from the source with `ast`: no import cycle between our
packages, and every package imports only packages of lower layers (LAYERS below).

What counts as an import: every `import` / `from ... import` statement anywhere in a file (at the
top *and* inside a function: a lazy import is still an arrow), relative imports resolved, and
`importlib.import_module("literal")` / `__import__("literal")` calls (an import by string is still
an arrow; one by a computed name cannot be seen, so the registry (drags.engines) imports the engines
by name). A node is a top-level package or module of the repository (`ui`, `limits`, ...), except
that each `pkg/__main__.py` is a node of its own (`pkg.__main__`): an entry point, which the
package never imports, so `python -m draggan` may call the tool tier without making draggan a
tool. (benchmarks' imports of an official checkout's own `training` package count as arrows to
ours: harmless, benchmarks sits above training.)"""
import ast
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A node may import nodes of lower layers only (a package imports itself freely).
LAYERS = [
    ("filehash",),                          # a file's sha256: imports nothing
    ("stylegan",),                          # the generator: imports nothing of ours but filehash
    ("clisafe", "compat", "adam"),          # exit codes, atomic outputs, what a path is; Gradio/Hub internals;
                                            # the drag's and inversion's optimiser
    ("imagefile",),                         # reading users' image files
    ("dragcore", "latent", "dcgan"),        # drag primitives, latent tools, the DCGAN
    ("draggan", "freedrag", "limits"),      # the engines; limits serves dragcore.config's ranges
    ("stabledrag",),                        # an engine on top of DragGAN's step
    ("hubguard",),                          # Hub deadlines: reads its settings from limits
    ("checkpoints",),                       # the registry: loads stylegan / dcgan, guarded by hubguard
    ("drags",),                             # tool tier from here on: engine table, drag CLI
    ("training",),                          # weights' tools (use drags)
    ("ui",),                                # the Gradio app's handlers (the Adapt tab runs training.adapt)
    ("benchmarks",),                        # measure the libraries, training's teacher and ui's runner
    ("checkpoints.__main__", "dcgan.__main__", "draggan.__main__", "freedrag.__main__", "stabledrag.__main__",
     "latent.__main__", "training.__main__"),   # entry points: `python -m pkg`
    ("app", "docs", "tests"),               # the app's launcher, doc tooling, the tests
]
LIBRARY = ("filehash", "adam", "stylegan", "clisafe", "imagefile", "compat", "dragcore", "latent", "dcgan", "draggan", "freedrag", "stabledrag",
           "limits", "hubguard", "checkpoints")
TOOLS = ("drags", "training", "ui", "benchmarks", "app", "docs", "tests")

LAYER = {name: i for i, layer in enumerate(LAYERS) for name in layer}
SKIP_DIRS = {"__pycache__"}


# --- the parser ------------------------------------------------------------------------------------
def node_of(rel):
    """The graph node of a file (a path relative to ROOT)."""
    parts = Path(rel).parts
    if len(parts) == 1:
        return Path(parts[0]).stem
    if len(parts) == 2 and parts[1] == "__main__.py":
        return f"{parts[0]}.__main__"
    return parts[0]


def _module_node(dotted):
    """'dcgan.__main__' -> 'dcgan.__main__', 'ui.models' -> 'ui', '' -> None."""
    parts = [p for p in dotted.split(".") if p]
    if not parts:
        return None
    return f"{parts[0]}.__main__" if parts[1:2] == ["__main__"] else parts[0]


def _resolve(rel, level, module):
    """The absolute dotted name of `from <level dots><module> import ...` in the file `rel`."""
    if not level:
        return module or ""
    parts = list(Path(rel).with_suffix("").parts)
    package = parts[:-1]                       # the package the file is in (pkg/__init__.py: pkg too)
    base = package[:len(package) - (level - 1)] if level - 1 <= len(package) else []
    return ".".join(base + ([module] if module else []))


def _literal_import_call(rel, node):
    """The module named by importlib.import_module("x"[, package="p"]) / import_module("x") /
    __import__("x"), or None (not such a call, or a computed name)."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    f = node.func
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
    arg = node.args[0]
    if name not in ("import_module", "__import__") or not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
        return None
    text = arg.value
    if not text.startswith("."):
        return text
    level = len(text) - len(text.lstrip("."))
    package = next((k.value.value for k in node.keywords if k.arg == "package" and isinstance(k.value, ast.Constant)),
                   None)
    if package is None:
        return _resolve(rel, level, text.lstrip(".") or None)
    base = package.split(".")
    return ".".join(base[:len(base) - (level - 1)] + [text.lstrip(".")])


def imports_of(rel, source):
    """[(node it imports, line)] for every import of the file `rel` (relative to ROOT), at any depth,
    in line order: statements at the top and inside functions, relative ones resolved, and
    import_module("literal") calls."""
    out = []
    for n in ast.walk(ast.parse(source, str(rel))):
        if isinstance(n, ast.Import):
            out += [(_module_node(a.name), n.lineno) for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            base = _resolve(rel, n.level, n.module)
            if base and _module_node(base) == base:     # `from pkg import x`: x may be pkg.__main__
                out += [(_module_node(f"{base}.{a.name}"), n.lineno) for a in n.names]
            else:
                out.append((_module_node(base), n.lineno))
        else:
            dotted = _literal_import_call(rel, n)
            if dotted:
                out.append((_module_node(dotted), n.lineno))
    return sorted(((m, line) for m, line in out if m), key=lambda e: e[1])


def repository_files():
    """Every .py file of ours: top-level modules and everything under a top-level directory."""
    files = [p for p in ROOT.glob("*.py")]
    for d in sorted(ROOT.iterdir()):
        if d.is_dir() and not d.name.startswith(".") and d.name not in SKIP_DIRS:
            files += [p for p in d.rglob("*.py") if not SKIP_DIRS & set(p.parts)]
    return sorted(files)


def repository_nodes(files):
    return {node_of(p.relative_to(ROOT)) for p in files}


def import_graph(files=None):
    """{(from node, to node): ['file:line', ...]} between distinct nodes of ours."""
    files = repository_files() if files is None else files
    ours = repository_nodes(files)
    ours |= {n.split(".")[0] for n in ours}
    edges = {}
    for path in files:
        rel = path.relative_to(ROOT)
        src = node_of(rel)
        for dst, line in imports_of(rel, path.read_text()):
            where = f"{rel.as_posix()}:{line}"
            if dst in ours and dst != src and where not in edges.get((src, dst), ()):
                edges.setdefault((src, dst), []).append(where)
    return edges


# --- the checks -------------------------------------------------------------------------------------
def find_cycles(edges):
    """Every strongly connected component of more than one node (packages that import each other),
    with one cycle through it: [(members, [a, b, ..., a]), ...] (Tarjan's algorithm, then a shortest
    way from the component's first node back to itself)."""
    succ = {}
    for a, b in edges:
        succ.setdefault(a, set()).add(b)
        succ.setdefault(b, set())
    index, low, stack, on_stack, comps, counter = {}, {}, [], set(), [], [0]

    def strongconnect(v):   # recursion depth = number of packages: a handful
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(succ[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in sorted(succ):
        if v not in index:
            strongconnect(v)
    cycles = []
    for comp in comps:   # a shortest way from the component's first node back to itself
        start = min(comp)
        prev, queue, last = {}, [start], None
        while last is None:
            v = queue.pop(0)
            for w in sorted(succ[v] & comp):
                if w == start:
                    last = v
                    break
                if w not in prev:
                    prev[w] = v
                    queue.append(w)
        path = [start]
        while last != start:
            path.append(last)
            last = prev[last]
        cycles.append((comp, [start] + path[::-1]))
    return cycles


def describe_cycle(members, cycle, edges):
    """The packages of a component, a cycle through it, and every arrow inside the component, with
    the file:line of each import."""
    inside = {k: w for k, w in sorted(edges.items()) if k[0] in members and k[1] in members}
    lines = [f"{', '.join(sorted(members))} import each other; a cycle: {' -> '.join(cycle)}"]
    lines += [f"  {a} -> {b}: {', '.join(w)}" for (a, b), w in inside.items()]
    return "\n".join(lines)


def layer_violations(edges):
    """[(from, to, where)] for every arrow that does not point to a lower layer."""
    bad = []
    for (a, b), where in sorted(edges.items()):
        if a.split(".")[0] == b:      # an entry point importing its own package
            continue
        if LAYER[b] >= LAYER[a]:
            bad.append((a, b, where))
    return bad


# --- the tests --------------------------------------------------------------------------------------
def test_the_import_parser_sees_lazy_relative_and_importlib_imports():
    # the checks below are only as good as this parser
    source = (
        "import importlib\n"
        "import stylegan.io as sio\n"
        "from .io import load\n"                       # stylegan (relative, level 1)
        "from ..limits import check\n"                 # stylegan.limits: level 2 from stylegan/sub/
        "def f():\n"
        "    import benchmarks.report\n"               # lazy
        "    from ui import runner\n"                  # lazy
        "    if True:\n"
        "        mod = importlib.import_module('drags.engines')\n"   # by string
        "    __import__('hubguard')\n"
        "    from dcgan.__main__ import main\n"        # an entry point
        "    from latent import __main__\n"            # an entry point, the other way
        "    importlib.import_module(name)\n"          # not a literal: cannot be seen
        "class C:\n"
        "    def m(self):\n"
        "        from training import loop\n"          # lazy, in a method
    )
    found = imports_of(Path("stylegan") / "sub" / "probe.py", source)
    assert found == [("importlib", 1), ("stylegan", 2), ("stylegan", 3), ("stylegan", 4), ("benchmarks", 6), ("ui", 7),
                     ("drags", 9), ("hubguard", 10), ("dcgan.__main__", 11), ("latent.__main__", 12), ("training", 16)]
    assert node_of(Path("dcgan") / "__main__.py") == "dcgan.__main__" and node_of(Path("limits.py")) == "limits"
    assert node_of(Path("dcgan") / "sub" / "__main__.py") == "dcgan"
    assert imports_of(Path("draggan") / "__main__.py", "from .engine import X\n") == [("draggan", 1)]
    assert imports_of(Path("latent") / "__init__.py", "from .invert import x\nfrom . import pti\n") == [
        ("latent", 1), ("latent", 2)]


def test_the_cycle_checker_reports_a_cycle_with_its_edges():
    edges = {("dragcore", "checkpoints"): ["dragcore/run.py:51"], ("checkpoints", "hubguard"): ["checkpoints/hub.py:98"],
             ("hubguard", "limits"): ["hubguard.py:22"], ("limits", "dragcore"): ["limits.py:16"],
             ("ui", "dragcore"): ["ui/x.py:1"], ("a", "b"): ["a/x.py:1"], ("b", "a"): ["b/y.py:2"],
             ("stylegan", "stylegan"): []}
    cycles = find_cycles({k: v for k, v in edges.items() if k[0] != k[1]})
    assert sorted(sorted(m) for m, _ in cycles) == [["a", "b"], ["checkpoints", "dragcore", "hubguard", "limits"]]
    for members, c in cycles:
        assert c[0] == c[-1] and set(c) == members and all((a, b) in edges for a, b in zip(c, c[1:]))
    text = describe_cycle(*next(mc for mc in cycles if "limits" in mc[0]), edges)
    assert text.startswith("checkpoints, dragcore, hubguard, limits import each other; a cycle: "
                           "checkpoints -> hubguard -> limits -> dragcore -> checkpoints")
    assert "limits -> dragcore: limits.py:16" in text and "dragcore -> checkpoints: dragcore/run.py:51" in text
    assert find_cycles({("a", "b"): ["x:1"], ("b", "c"): ["y:1"]}) == []


def test_the_package_graph_has_no_cycle():
    edges = import_graph()
    cycles = find_cycles(edges)
    assert not cycles, "import cycle(s) between packages:\n" + "\n".join(describe_cycle(m, c, edges) for m, c in cycles)


def test_every_package_of_the_repository_has_a_layer():
    nodes = repository_nodes(repository_files())
    missing = sorted(nodes - set(LAYER))
    assert not missing, f"packages with no place in tests/test_layering.py LAYERS: {missing}"
    stale = sorted(set(LAYER) - nodes)
    assert not stale, f"LAYERS names packages that are not in the repository: {stale}"
    assert len(LAYER) == sum(len(layer) for layer in LAYERS), "a package is in two layers"


def test_every_import_points_down_the_layers():
    bad = layer_violations(import_graph())
    assert not bad, "imports that do not point to a lower layer (see LAYERS):\n" + "\n".join(
        f"  {a} (layer {LAYER[a]}) -> {b} (layer {LAYER[b]}): {', '.join(where)}" for a, b, where in bad)


def test_the_libraries_sit_below_every_tool():
    # LAYERS must not be reordered to let a library import a tool package
    assert max(LAYER[p] for p in LIBRARY) < min(LAYER[p] for p in TOOLS)
    assert set(LIBRARY) | set(TOOLS) | {n for n in LAYER if n.endswith(".__main__")} == set(LAYER)


def test_stylegan_depends_on_nothing_above_it():
    # stylegan stands on its own but for filehash (a file's sha256), which imports nothing of ours
    assert LAYERS[:2] == [("filehash",), ("stylegan",)]
    graph = import_graph()
    assert not {(a, b): w for (a, b), w in graph.items() if a == "filehash"}, "filehash imports something of ours"
    above = {(a, b): w for (a, b), w in graph.items() if a == "stylegan" and b != "filehash"}
    assert not above, f"stylegan is the bottom layer but imports {above}"


def library_files():
    return sorted(p for p in repository_files() if node_of(p.relative_to(ROOT)) in LIBRARY)


def test_no_temporary_fallback_left_in_the_library():
    # the library holds no stop-gap code paths marked TEMPORARY (distillation lives in training/)
    assert not (ROOT / "stylegan" / "distill.py").exists()
    hits = [str(p.relative_to(ROOT)) for p in library_files() if "TEMPORARY" in p.read_text()]
    assert not hits, f"temporary fallbacks left in {hits}"
