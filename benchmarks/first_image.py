"""Time to first image: `python app.py` started, a real browser opens the page, a face is visible.
Default model (the bundled one), no network.

    python -m benchmarks.first_image [--runs 3]

Needs Playwright and Debian's chromium (the test requirements). Each run opens the browser first
(its start-up is not the app's), then starts a fresh app process on a free port and polls it from
the moment the process starts. Reported per run, in seconds from the process start:

- `face_s`: the first face on screen: the splash page's (ui.splash: served while Gradio and torch
  import) or, for an app without one, the Drag tab's image; `face_cpu_s`, the app's CPU until then;
- `served_s`: the real app answers 200 (the splash answers 503); `served_cpu_s`;
- `image_s`: the real app's Drag tab image is on screen (the splash page has turned into the app);
- `ready_s`: the page takes clicks (its first New image has run: the points hint replaces "Preparing").

and the machine's load (`--baseline DIR`: another checkout, alternating, same run). Writes
benchmarks/results/first_image.{json,md}.
"""
import os
import statistics as st
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from benchmarks import cli
from benchmarks.app_process import CHROMIUM, checkouts, free_port, require_chromium
from benchmarks.profile_edit import process_cpu
from benchmarks.report import write
from ui.drag_image import HINT

ROOT = Path(__file__).resolve().parents[1]
FACE = "#splash-face, #drag-image img"   # the splash's face, or the app's own image
APP_IMAGE = "#drag-image img"


def _answers(url):
    """'app' (200), 'splash' (any other HTTP answer) or None (nothing listens)."""
    try:
        urllib.request.urlopen(url, timeout=2)
        return "app"
    except urllib.error.HTTPError:
        return "splash"
    except OSError:
        return None


def _until(check, proc, t0, timeout, what):
    while not check():
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited before {what}")
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError(f"the app did not {what} in time")
        time.sleep(0.02)


def one_run(timeout=120, root=ROOT):
    """The browser is already open (its own start-up is not the app's); the clock starts with the app process."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False")
    served = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "app.py", "--server-port", str(port)], cwd=root, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def watch():   # the real app's 200, timed apart from the browser
            try:
                _until(lambda: _answers(url) == "app", proc, t0, timeout, "serve")
                served.update(s=time.perf_counter() - t0, cpu=process_cpu(proc.pid))
            except (RuntimeError, OSError) as e:
                served.update(error=str(e))
        watcher = threading.Thread(target=watch, daemon=True)
        try:
            _until(lambda: _answers(url) is not None, proc, t0, timeout, "answer")
            watcher.start()
            try:
                page.goto(url)
            except PlaywrightError:
                raise RuntimeError("the page did not load") from None
            page.locator(FACE).first.wait_for(state="visible", timeout=timeout * 1000)
            face, face_cpu = time.perf_counter() - t0, process_cpu(proc.pid)
            page.locator(APP_IMAGE).first.wait_for(state="visible", timeout=timeout * 1000)
            shown = time.perf_counter() - t0
            page.get_by_text(HINT, exact=True).first.wait_for(timeout=timeout * 1000)   # its New image has run
            ready = time.perf_counter() - t0
            watcher.join(timeout)
            if "s" not in served:
                raise RuntimeError(served.get("error", "the app's 200 was not seen"))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            browser.close()
    return dict(face_s=round(face, 2), served_s=round(served["s"], 2), image_s=round(shown, 2),
                ready_s=round(ready, 2), face_cpu_s=round(face_cpu, 2), served_cpu_s=round(served["cpu"], 2),
                load=round(os.getloadavg()[0], 1))


def main(argv=None):
    ap = cli.parser(__doc__, threads=None, out=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--runs", type=int, default=3, help="app starts timed (default 3)")
    ap.add_argument("--baseline", default=None, help="another checkout (e.g. an older commit's) timed the same way "
                    "in the same run, alternating with this one")
    a = ap.parse_args(argv)
    require_chromium()
    apps = checkouts(a.baseline)
    rows = []
    for i in range(a.runs):
        for label, root in apps:
            rows.append(dict(app=label, run=i, **one_run(root=root)))
            print(rows[-1], flush=True)
    keys = ("face_s", "served_s", "image_s", "ready_s", "face_cpu_s", "served_cpu_s", "load")
    lines = [f"Time to first image, `python app.py` on the bundled model, {a.runs} runs (median), "
             f"{os.cpu_count()} CPU cores.", "Reproduce: `python -m benchmarks.first_image"
             + (" --baseline DIR`, DIR an older commit's checkout" if a.baseline else "`"), "",
             "| app | face visible in the browser (goal <= 3 s) | app answers | the app's own image | "
             "the page takes clicks | app CPU s until the face / until it answers | load |",
             "|---|---|---|---|---|---|---|"]
    medians = {}
    for label, _ in apps:
        med = medians[label] = {k: st.median(r[k] for r in rows if r["app"] == label) for k in keys}
        lines.append(f"| {label} | {med['face_s']:.1f} s | {med['served_s']:.1f} s | {med['image_s']:.1f} s | "
                     f"{med['ready_s']:.1f} s | {med['face_cpu_s']:.1f} / {med['served_cpu_s']:.1f} | "
                     f"{med['load']:.1f} |")
    write(a.out, "first_image", dict(median=medians["this checkout"], medians=medians, rows=rows), rows, lines)
    return medians


if __name__ == "__main__":
    sys.exit(cli.run(main))
