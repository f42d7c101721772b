"""CPU seconds per test, for budgeting the suite on a shared machine (wall times there say more about
the other jobs than about the tests). A pytest plugin, loaded by name (tests/ is on pytest's path):

    python -m pytest -p cpu_times [...]          # writes $LATENTLAB_CPU_TIMES (default cpu_times.tsv)
    python tests/cpu_times.py BEFORE.tsv AFTER.tsv   # per file and in total, the top 20 by CPU before

Each setup / call / teardown phase is one row: node id, phase, wall seconds, CPU seconds. The CPU is
this process's and every descendant's (live ones read from /proc, reaped ones from the children's
times), so an app server, a CLI subprocess or a browser a test starts counts to the test. Linux only
(/proc); elsewhere the plugin records wall seconds and CPU 0."""
import collections
import os
import sys
import time

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _descendants_cpu(root):
    """CPU seconds (user + system, own and reaped children's) of every live descendant of `root`."""
    parent, cpu = {}, {}
    try:
        pids = [int(d) for d in os.listdir("/proc") if d.isdigit()]
    except OSError:
        return 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        parent[pid] = int(fields[1])
        cpu[pid] = sum(int(x) for x in fields[11:15]) / TICK
    children = collections.defaultdict(list)
    for pid, ppid in parent.items():
        children[ppid].append(pid)
    total, todo = 0.0, list(children[root])
    while todo:
        pid = todo.pop()
        total += cpu[pid]
        todo.extend(children[pid])
    return total


def total_cpu():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system + _descendants_cpu(os.getpid())


class _Recorder:
    def __init__(self, path):
        self.out = open(path, "w")

    def _timed(self, item, phase):
        wall, cpu = time.perf_counter(), total_cpu()
        yield
        self.out.write(f"{item.nodeid}\t{phase}\t{time.perf_counter() - wall:.2f}\t{total_cpu() - cpu:.2f}\n")
        self.out.flush()


def pytest_configure(config):
    import pytest
    rec = _Recorder(os.environ.get("LATENTLAB_CPU_TIMES", "cpu_times.tsv"))

    class Hooks:
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_setup(self, item):
            yield from rec._timed(item, "setup")

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_call(self, item):
            yield from rec._timed(item, "call")

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_teardown(self, item):
            yield from rec._timed(item, "teardown")

    config.pluginmanager.register(Hooks(), "cpu_times_hooks")


def per_file(path):
    """{file: [wall, cpu]} of a TSV the plugin wrote."""
    files = collections.defaultdict(lambda: [0.0, 0.0])
    with open(path) as f:
        for line in f:
            node, _phase, wall, cpu = line.rstrip("\n").split("\t")
            files[node.split("::")[0]][0] += float(wall)
            files[node.split("::")[0]][1] += float(cpu)
    return files


def compare(before, after, top=20):
    """Markdown rows: CPU seconds per file before and after, the top `top` files by CPU before, and the total."""
    b, a = per_file(before), per_file(after)
    rows = ["| file | CPU s before | CPU s after | saved |", "|---|---|---|---|"]
    for name in sorted(b, key=lambda n: -b[n][1])[:top]:
        rows.append(f"| {name} | {b[name][1]:.1f} | {a[name][1]:.1f} | {b[name][1] - a[name][1]:.1f} |"
                    if name in a else f"| {name} | {b[name][1]:.1f} | - | - |")
    tb, ta = sum(v[1] for v in b.values()), sum(v[1] for k, v in a.items() if k in b)
    rows.append(f"| all files of BEFORE | {tb:.1f} | {ta:.1f} | {tb - ta:.1f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python tests/cpu_times.py BEFORE.tsv AFTER.tsv")
    print(compare(sys.argv[1], sys.argv[2]))
