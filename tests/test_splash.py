"""The face before the lab (ui.splash): it imports the standard library only; the bundled model's
shipped first image is exactly what the generator renders for the Drag tab's start settings; other
models' first images are remembered per model and settings; and in a real browser the splash page
shows the face and turns into whatever then answers 200 on its port, through the moment nobody
answers; `python app.py` from the splash to the app; and a port or address it cannot serve on refused in one
line before anything loads."""
import base64
import io
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from benchmarks.app_process import BUNDLED, CHROMIUM, ROOT, AppProcess, free_port, wait_until_served
from ui import splash

# To make the shipped image anew (after a change of the bundled model or the tab's start settings):
#   python -c "import io; from PIL import Image; from tests.test_splash import rendered_first, splash;
#     b = io.BytesIO(); Image.fromarray(rendered_first()).save(b, format='png');
#     splash.SHIPPED.write_bytes(b.getvalue())"


def rendered_first():
    """What the Drag tab opens with on the bundled model, rendered now by the generator."""
    import checkpoints
    from dragcore import config
    from ui import drag_image
    state, _ = drag_image.start_image(checkpoints.DEFAULT_MODEL, drag_image.FIRST_SEED, config.DragConfig.psi,
                                      config.DragConfig.space, None)
    return state.image


def decode(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_splash_and_app_py_import_only_the_standard_library():
    code = ("import sys, ui.splash, app; heavy = sorted(m for m in ('torch', 'gradio', 'numpy', 'PIL', 'limits', "
            "'dragcore') if m in sys.modules); print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_shipped_first_image_is_what_the_bundled_model_renders():
    import checkpoints
    from ui import draw
    assert (splash.BUNDLED_ID, splash.DEFAULT_ENV) == (checkpoints.DEFAULT_MODEL, checkpoints.DEFAULT_ENV)
    assert splash.BUNDLED_FILE == BUNDLED.resolve() and splash.DISPLAY == draw.DISPLAY
    shipped = splash.SHIPPED.read_bytes()
    assert splash.find(splash.BUNDLED_ID) == shipped == splash.find(str(BUNDLED))
    frame = rendered_first()
    assert np.array_equal(decode(shipped), frame), "re-make ui/first_image_faces64.png (see the top of this file)"
    assert splash.png_size(shipped) == (frame.shape[1], frame.shape[0])


def test_other_models_first_image_is_remembered_per_model_and_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))
    model = tmp_path / "mine.safetensors"
    model.write_bytes(b"weights")
    frame = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    assert splash.find(str(model)) is None                      # its first run: no picture
    png = splash.remember(str(model), dict(seed=3, psi=0.7, space="w+"), frame)
    assert np.array_equal(decode(splash.find(str(model))), frame)
    assert splash.png_size(splash.find(str(model))) == (48, 32)
    other = frame[::-1].copy()                                  # new settings: the latest is shown
    splash.remember(str(model), dict(seed=4, psi=0.7, space="w+"), other)
    assert np.array_equal(decode(splash.find(str(model))), other)
    (png.parent / f"{splash.model_key(str(model))}.json").write_text("{not json")   # damaged: no picture, rewritten
    assert splash.find(str(model)) is None
    splash.remember(str(model), dict(seed=3, psi=0.7, space="w+"), frame)
    assert np.array_equal(decode(splash.find(str(model))), frame)
    splash.find(str(model))
    png.write_bytes(b"not a png")                               # damaged: the page has no picture
    face = splash.start("127.0.0.1", free_port(), str(model))
    try:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{face.port}/", timeout=5)
        assert b"<img" not in e.value.read()
    finally:
        face.close()
    os.utime(model, ns=(1, 1))                                  # a replaced file is another model
    assert splash.find(str(model)) is None
    assert splash.remember(splash.BUNDLED_ID, {}, frame) is None   # the bundled model's is shipped


@pytest.mark.integration   # `python app.py` in a process of its own, four times (a fraction of a second each)
def test_a_taken_port_or_a_foreign_address_is_one_line_before_anything_loads():
    """A second `python app.py` on a port in use (the first app's) used to load its model, then print Gradio's
    traceback; an address of another machine, or a name that resolves nowhere, the same. Now: one line naming the
    flag to change, exit 2, at once (no model loaded)."""
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cases = [(["--server-port", str(port)], f"error: port {port} on 127.0.0.1 is in use (another Latent Lab, "
                                                 "or another program): choose another with --server-port N"),
                 (["--server-name", "203.0.113.5"], "error: 203.0.113.5 is not an address of this machine: serve on "
                                                    "127.0.0.1 (this machine only) or 0.0.0.0"),
                 (["--server-name", "no-such-host.invalid"], "error: 'no-such-host.invalid' is not a host name this "
                                                             "machine can resolve"),
                 (["--server-port", "70000"], "app.py: error: --server-port 70000 is not a port number (1-65535)")]
        for argv, said in cases:
            t = time.perf_counter()
            p = subprocess.run([sys.executable, "app.py", *argv], cwd=ROOT, capture_output=True, text=True, timeout=120,
                               env=dict(os.environ, HF_ENDPOINT="http://127.0.0.1:9"))
            took = time.perf_counter() - t
            lines = [line for line in p.stderr.splitlines() if line.startswith(("error:", "app.py: error:"))]
            assert p.returncode == 2 and lines == [p.stderr.strip().splitlines()[-1]] and lines[0].startswith(said), \
                (argv, p.returncode, p.stderr[-2000:])
            assert "Traceback" not in p.stderr and "ready in" not in p.stdout, (argv, p.stdout)   # no model loaded
            assert took < 15, (argv, took)   # the imports of a Python start, not a model's load


@pytest.mark.integration   # one app start (and one refused)
def test_the_launcher_takes_no_other_app_for_its_own_and_moves_to_another_free_port(monkeypatch):
    """Two test processes (pytest -n 2) may draw the same free port. The launcher's app then finds it in use and
    exits (the test above), while the other app answers 200 there: the launcher waits for its own app's line
    (SERVED_LINE) rather than take that answer, and starts again on another port."""
    from benchmarks import app_process
    other = ThreadingHTTPServer(("127.0.0.1", 0), _App)   # another app, already serving on the port drawn
    threading.Thread(target=other.serve_forever, daemon=True).start()
    drawn = iter([other.server_address[1], free_port()])
    monkeypatch.setattr(app_process, "free_port", lambda: next(drawn))
    try:
        srv = AppProcess(BUNDLED, extra_env=dict(HF_ENDPOINT="http://127.0.0.1:9"))
        try:
            assert srv.port != other.server_address[1]
            page = urllib.request.urlopen(srv.url, timeout=10).read()
            assert b"real-app" not in page and b"gradio" in page.lower()   # its own app, not the other one
        finally:
            srv.close()
        with pytest.raises(RuntimeError, match=f"port {other.server_address[1]} on 127.0.0.1 is in use"):
            AppProcess(BUNDLED, port=other.server_address[1])   # a port asked for: no other one tried
    finally:
        other.shutdown()
        other.server_close()


class _Running:
    """An app process that is still running (what wait_until_served asks of it)."""
    def poll(self):
        return None


def test_splash_answers_503_and_keeps_the_launcher_waiting():
    face = splash.start("127.0.0.1", free_port(), splash.BUNDLED_ID)
    try:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{face.port}/anything", timeout=5)
        assert e.value.code == 503 and e.value.headers[splash.HEADER] == "starting"
        body = e.value.read().decode()
        assert splash.STARTING in body and base64.b64encode(splash.SHIPPED.read_bytes()).decode() in body
        with pytest.raises(RuntimeError, match="did not answer"):   # the tests' launcher waits for the app itself
            wait_until_served(f"http://127.0.0.1:{face.port}/", _Running(), timeout=0.5, poll=0.1)
        with pytest.raises(splash.ListenError, match=f"port {face.port} on 127.0.0.1 is in use"):   # a taken port
            splash.start("127.0.0.1", face.port, splash.BUNDLED_ID)
        assert splash.STARTING.encode() in splash.page(None) and b"<img" not in splash.page(None)   # no image yet
    finally:
        face.close()
    face.close()   # again: nothing
    with pytest.raises(urllib.error.URLError):   # the port is released
        urllib.request.urlopen(f"http://127.0.0.1:{face.port}/", timeout=5)


class _App(BaseHTTPRequestHandler):
    def do_GET(self):   # noqa: N802
        body = b'<!doctype html><p id="real-app">the app</p>'
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _browser(p):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])


@pytest.mark.integration   # a real browser
def test_splash_page_shows_the_face_then_turns_into_the_app():
    from playwright.sync_api import sync_playwright
    port = free_port()
    face = splash.start("127.0.0.1", port, splash.BUNDLED_ID)
    app = None
    try:
        with sync_playwright() as p:
            browser = _browser(p)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            img = page.locator("#splash-face")
            img.wait_for(state="visible", timeout=10_000)
            src = img.get_attribute("src")
            assert base64.b64decode(src.split(",", 1)[1]) == splash.SHIPPED.read_bytes()
            assert img.bounding_box()["width"] == 512 and page.get_by_text(splash.STARTING).is_visible()
            face.close()
            time.sleep(0.6)   # nobody answers for a while: the page's polls fail and go on
            app = ThreadingHTTPServer(("127.0.0.1", port), _App)
            threading.Thread(target=app.serve_forever, daemon=True).start()
            page.locator("#real-app").wait_for(timeout=10_000)
            browser.close()
    finally:
        face.close()
        if app is not None:
            app.shutdown()
            app.server_close()


@pytest.mark.integration   # an app start and a browser (about 14 s)
def test_python_app_py_splash_then_the_app_with_the_same_first_image(tmp_path):
    """`python app.py`: a browser that opened the splash ends on the app by itself; the launcher
    returned only after the last 503; the app's first image is the splash's, drawn at display size."""
    from gradio_client import Client
    from playwright.sync_api import sync_playwright

    from ui import drag_image, draw
    port, seen, started = free_port(), {}, {}
    url = f"http://127.0.0.1:{port}/"

    def poll():   # what the port answers, until the app itself does
        while time.perf_counter() - t0 < 120:
            try:
                urllib.request.urlopen(url, timeout=2)
                return
            except urllib.error.HTTPError:
                seen["last_503"] = time.perf_counter()
            except OSError:
                time.sleep(0.02)

    def launch():
        try:
            started["app"] = AppProcess(port=port, extra_env=dict(LATENTLAB_CACHE=str(tmp_path / "cache"),
                                                                  HF_ENDPOINT="http://127.0.0.1:9"))
            started["at"] = time.perf_counter()
        except RuntimeError as e:
            started["error"] = str(e)
    t0 = time.perf_counter()
    threads = [threading.Thread(target=f, daemon=True) for f in (launch, poll)]
    for t in threads:
        t.start()
    try:
        with sync_playwright() as p:
            browser = _browser(p)
            page = browser.new_page()
            while "last_503" not in seen and "app" not in started and "error" not in started:
                time.sleep(0.02)
            assert "last_503" in seen, started   # the splash answered before the app
            page.goto(url)
            page.locator("#splash-face").wait_for(state="visible", timeout=30_000)
            page.locator("#drag-image img").first.wait_for(state="visible", timeout=120_000)   # turned into the app
            browser.close()
        for t in threads:
            t.join(120)
        assert "app" in started, started
        assert started["at"] > seen["last_503"]   # the tests' launcher waited for the app, not the splash
        out = Client(url, verbose=False).predict(model=splash.BUNDLED_ID, seed=drag_image.FIRST_SEED, psi=0.7, space="w+",
                                                 api_name="/new_image")
        shown = np.asarray(Image.open(out[0]).convert("RGB"))
        assert np.array_equal(shown, np.asarray(draw.render(decode(splash.SHIPPED.read_bytes()))))
        assert not (tmp_path / "cache" / "first-image").exists()   # the bundled model's is shipped, not cached
    finally:
        if "app" in started:
            started["app"].close()
