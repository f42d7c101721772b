"""The app's Blocks, built in this process (no server): every registered handler goes through the
error helper, every slider spans exactly its row of the ranges table, operator settings are checked
at start, the idle rules of ui.sessions and the cap of ui.disk."""
import os
import time

import pytest

import limits


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    old = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))   # the examples are copied there
    import app
    try:
        yield app.build()
    finally:
        if old is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = old


def test_every_handler_goes_through_the_error_helper(demo):
    from ui import drag_image
    from ui import guard as ug
    handlers = [dep for dep in demo.fns.values() if dep.fn is not None]
    assert len(handlers) > 40
    assert ug.unguarded(demo) == []
    # handlers registered bare by their tab (the click, Undo last point, the page load, the unload) are wrapped too
    names = {dep.name for dep in handlers}
    assert {"on_click", "undo_point", "new_image", "session_closed", "load_example"} <= names
    click = next(dep.fn for dep in handlers if dep.name == "on_click")
    assert getattr(click, ug.GUARDED) and click.__wrapped__ is drag_image.on_click
    assert ug.guard_all(demo) is demo and ug.unguarded(demo) == []   # a second pass wraps nothing twice
    assert click is next(dep.fn for dep in demo.fns.values() if dep.name == "on_click")


def test_sliders_span_their_row_of_the_ranges_table(demo):
    """The README's table is limits.markdown() (tests/test_limits.py); each slider is built from the same row."""
    import gradio as gr
    sliders = [b for b in demo.blocks.values() if isinstance(b, gr.Slider)]
    assert len(sliders) >= 8
    for s in sliders:
        name = getattr(s, "limit_name", None)
        assert name in limits.RANGES, s.label
        _, kind, lo, hi = limits.RANGES[name]
        assert (s.minimum, s.maximum) == (lo, hi), (s.label, name)
        assert limits.check(name, s.value) == s.value
    # the values the issue found refused by the sliders but allowed by the table
    spans = {getattr(s, "limit_name"): (s.minimum, s.maximum) for s in sliders}
    assert spans["psi"][0] <= -0.5 and spans["dcgan_samples"][0] <= 4 and spans["sefa_strength"][0] <= -5
    assert spans["inv_steps"][0] == 0


def test_click_event_and_numbers_in_messages():
    from ui import guard as ug
    assert ug.Click(None, {"index": [3, 4.5], "value": None}).index == [3, 4.5]
    for bad in ({"value": 1}, {"index": None}, "abc", {"index": [True, 2]}, {"index": ["a", "b"]}, {"index": [1, 2, 3]}):
        assert ug.Click(None, bad).index is None, bad
    assert ug.number(1e308) == "1e+308" and ug.number(-3.4) == "-3" and len(ug.number(10 ** 300)) < 12


@pytest.mark.parametrize("env, value, says", [
    ("LATENTLAB_CHAIN_DRAGS", "0.5", "must be a whole number"),
    ("LATENTLAB_CHAIN_DRAGS", "abc", "must be a number"),
    ("LATENTLAB_SESSION_IDLE", "-5", "must be a positive number"),
    ("LATENTLAB_GRADIO_CAP_MB", "inf", "must be a positive number"),
    ("LATENTLAB_PRESETS_DIR", "/nonexistent/presets", "is not a folder"),
])
def test_operator_settings_are_checked_at_start(monkeypatch, capsys, env, value, says):
    import app
    monkeypatch.setenv(env, value)
    t = time.perf_counter()
    assert app.main(["--server-port", "9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {env}") and says in err[0], err
    assert time.perf_counter() - t < 5   # before any model loads


def test_idle_sessions_expire_unless_alive_or_busy():
    from ui import sessions
    t0 = 1000.0
    for s in ("a", "b", "c", "d"):
        sessions._USED.pop(s, None)
    assert sessions.expired(["a", "b", "c", "d"], busy=lambda s: False, now=t0, limit=10) == []  # first seen now
    sessions._LIVE["b"] = 1   # a heartbeat is open
    try:
        sessions._USED["d"] = t0 + 8   # a handler ended 2 s before the check
        got = sessions.expired(["a", "b", "c", "d"], busy=lambda s: s == "c", now=t0 + 10.5, limit=10)
        assert got == ["a"]
    finally:
        sessions._LIVE.pop("b", None)
        for s in ("a", "b", "c", "d"):
            sessions._USED.pop(s, None)


def test_disk_discard_and_cap(tmp_path, monkeypatch):
    from ui import disk
    root = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(root))
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"x" * 10)
    assert not disk.discard(str(outside)) and outside.exists()   # only files in Gradio's folder
    files = []
    for i in range(5):
        (root / f"h{i}").mkdir(parents=True)
        f = root / f"h{i}" / "up.bin"
        f.write_bytes(b"x" * 1000)
        os.utime(f, (1000 + i, 1000 + i))
        files.append(f)
    assert disk.usage() == (5, 5000)
    assert disk.discard(str(files[4])) and not (root / "h4").exists()   # its emptied folder goes too
    assert disk.enforce_cap(cap=2500) == 2000
    assert [f.exists() for f in files[:4]] == [False, False, True, True]   # the oldest went first
    assert disk.usage() == (2, 2000)
