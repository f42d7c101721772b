"""The app's Blocks as `app.build()` makes them (in a child process; no server): every registered
handler goes through the error helper, every slider spans exactly its row of the ranges table,
operator settings are checked at start. In this process: the click's event data, numbers in
messages, the idle rules of ui.sessions and the cap of ui.disk."""
import os

import pytest

import limits


BUILD = """
import io, json, os, sys, contextlib
import gradio as gr
import app
from benchmarks.app_process import free_port
from ui import drag_image, guard as ug
demo = app.build()
handlers = [dict(name=d.name, guarded=bool(getattr(d.fn, ug.GUARDED, False))) for d in demo.fns.values() if d.fn]
click = next(d.fn for d in demo.fns.values() if d.name == "on_click")
again = ug.guard_all(demo) is demo and click is next(d.fn for d in demo.fns.values() if d.name == "on_click")
sliders = [dict(label=b.label, name=getattr(b, "limit_name", None), lo=b.minimum, hi=b.maximum, value=b.value)
           for b in demo.blocks.values() if isinstance(b, gr.Slider)]
def _base(b):
    return next(c for c in type(b).__mro__ if c.__module__.startswith("gradio."))
lost = sorted({type(b).__name__ for b in demo.blocks.values() if type(b).__module__ == "ui.guard"
               and set(b.get_config(cls=_base(b))) - set(b.get_config())})
starts = []
free = free_port()   # a port nothing listens on (the splash binds it until the setting is refused)
for env, value in json.loads(sys.argv[1]):
    os.environ[env] = value
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = app.main(["--server-port", str(free)])
    del os.environ[env]
    starts.append(dict(env=env, value=value, code=code, err=err.getvalue()))
print(json.dumps(dict(handlers=handlers, click_wraps=click.__wrapped__ is drag_image.on_click, again=again,
                      sliders=sliders, starts=starts, lost=lost)))
"""
BAD_ENV = [("LATENTLAB_CHAIN_DRAGS", "0.5", "must be a whole number"),
           ("LATENTLAB_CHAIN_DRAGS", "abc", "must be a number"),
           ("LATENTLAB_SESSION_IDLE", "-5", "must be a positive number"),
           ("LATENTLAB_GRADIO_CAP_MB", "inf", "must be a positive number"),
           ("LATENTLAB_PRESETS_DIR", "/nonexistent/presets", "is not a folder"),
           ("LATENTLAB_DEFAULT_MODEL", "faces-nope", "='faces-nope' is neither a registry id")]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The app's Blocks built by `app.build()` in a child process (tests do not import the launcher),
    and `app.main` started there with each bad operator setting."""
    import json
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, GRADIO_TEMP_DIR=str(tmp_path_factory.mktemp("gradio")), OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-c", BUILD, json.dumps([e[:2] for e in BAD_ENV])], cwd=root, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.integration   # a child process builds the app
def test_every_handler_goes_through_the_error_helper(built):
    handlers = built["handlers"]
    assert len(handlers) > 40
    assert [h["name"] for h in handlers if not h["guarded"]] == []
    # handlers registered bare by their tab (the click, Undo last point, the page load, the unload) are wrapped too
    assert {"on_click", "undo_point", "new_image", "session_closed", "load_example"} <= {h["name"] for h in handlers}
    assert built["click_wraps"] and built["again"]   # wrapped once: a second pass wraps nothing twice


@pytest.mark.integration
def test_the_page_gets_every_setting_of_a_guarded_component(built):
    """The guard's subclasses (ui.guard) send the page what Gradio's own would: the mask editor once
    went to the page with none of its settings (no brush, no size) and could not be painted on."""
    assert built["lost"] == []


@pytest.mark.integration
def test_sliders_span_their_row_of_the_ranges_table(built):
    """The README's table is limits.markdown() (tests/test_limits.py); each slider is built from the same row."""
    sliders = built["sliders"]
    assert len(sliders) >= 8
    for s in sliders:
        assert s["name"] in limits.RANGES, s
        _, kind, lo, hi = limits.RANGES[s["name"]]
        assert (s["lo"], s["hi"]) == (lo, hi), s
        assert limits.check(s["name"], s["value"]) == s["value"]
    # the values the issue found refused by the sliders but allowed by the table
    spans = {s["name"]: (s["lo"], s["hi"]) for s in sliders}
    assert spans["psi"][0] <= -0.5 and spans["dcgan_samples"][0] <= 4 and spans["sefa_strength"][0] <= -5
    assert spans["inv_steps"][0] == 0


@pytest.mark.integration
def test_operator_settings_are_checked_at_start(built):
    for (env, value, says), start in zip(BAD_ENV, built["starts"]):
        lines = start["err"].strip().splitlines()
        assert start["code"] == 2 and len(lines) == 1, start
        assert lines[0].startswith(f"error: {env}") and says in lines[0], start


def test_click_event_and_numbers_in_messages():
    from ui import guard as ug
    assert ug.Click(None, {"index": [3, 4.5], "value": None}).index == [3, 4.5]
    for bad in ({"value": 1}, {"index": None}, "abc", {"index": [True, 2]}, {"index": ["a", "b"]}, {"index": [1, 2, 3]}):
        assert ug.Click(None, bad).index is None, bad
    assert ug.number(1e308) == "1e+308" and ug.number(-3.4) == "-3" and len(ug.number(10 ** 300)) < 12


def test_a_refused_click_keeps_the_image_and_says_why_on_the_points_line():
    """A click the image cannot take (no pixel, the page's image not ready) is a warning: the image output is
    skipped (an error would blank it until the next New image) and the points line gives the reason."""
    import gradio as gr
    from ui import drag_image, guard as ug
    from ui.state import DragState
    for evt, says in ((ug.Click(None, {"index": None}), "did not give a pixel"),
                      (ug.Click(None, {"index": [3, 4]}), "still being prepared")):
        state, image, line = drag_image.on_click(DragState(), evt)
        assert isinstance(state, type(gr.skip())) and isinstance(image, type(gr.skip()))
        assert line.startswith("⚠") and says in line


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
