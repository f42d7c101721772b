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


import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _downloads_in_the_run_s_folder(tmp_path_factory):
    """gradio_client downloads each file the app serves into a folder of its own under the system temp
    folder, moves the file out and leaves the empty folder there: about 2 800 per run of the suite. In
    this process they go under pytest's folder of the run instead (the apps the tests start keep their
    own settings)."""
    import tempfile
    before, tempfile.tempdir = tempfile.tempdir, str(tmp_path_factory.mktemp("downloads"))
    yield
    tempfile.tempdir = before


def _launch(tmp_path_factory, model=None, **env):
    """`python app.py` on `model` (default: the bundled one) with a Hub that cannot be reached, an empty
    Hub cache of its own, and `env` on top; returned once it serves."""
    from app_server import AppServer, model_for_tests
    tmp = tmp_path_factory.mktemp("app")
    base = dict(HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_CACHE=str(tmp / "hub"))
    return AppServer(model or model_for_tests(), extra_env={**base, **{k: str(v) for k, v in env.items()}})


@pytest.fixture(scope="module")
def launch_app(tmp_path_factory):
    """The one app-server factory: `launch_app(**env)` starts `python app.py` on the bundled model
    (benchmarks.app_process) with a Hub that cannot be reached and an empty Hub cache of its own,
    plus `env`, and returns it once it serves; every app it started is closed when the module ends."""
    started = []

    def launch(model=None, **env):
        started.append(_launch(tmp_path_factory, model, **env))
        return started[-1]

    yield launch
    for srv in started:
        srv.close()


@pytest.fixture(scope="session")
def shared_app(tmp_path_factory):
    """One app as `launch_app(**app_server.SHARED_APP_ENV)` starts it (a chain bound of 5), for the
    whole run: the modules whose tests only open sessions of their own on it (test_api_docs, test_app,
    test_app_chain, test_browser, test_browser_mask, test_docs' gradio_client block) share it instead of starting one each
    (~7 s of CPU per start). What those tests change is per session (image, points, chain, an uploaded
    model); nothing app-wide. A module that needs other settings, or stops or starves the app, uses
    `launch_app(**env)`."""
    from app_server import SHARED_APP_ENV
    srv = _launch(tmp_path_factory, **SHARED_APP_ENV)
    yield srv
    srv.close()
