"""The test tiers.

* `integration` (declared in pytest.ini): slow or crossing a process or network boundary (the
  launched app, the browser, subprocess CLIs, the fake Hub's HTTP server, training runs, benchmark
  smoke runs, long drags). `python -m pytest -m "not integration"` is the fast tier.
* `slow`: the long checks no default run includes. They are left out here rather than by an `-m` in
  pytest.ini's addopts, because a command-line `-m` replaces that one: so `-m "not integration"` still
  leaves them out, and only an `-m` that names `slow` (`-m slow`) brings them in."""


def pytest_collection_modifyitems(config, items):
    if "slow" in (config.getoption("markexpr") or ""):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
