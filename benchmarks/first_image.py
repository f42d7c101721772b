"""Time to first image: `python app.py` started, a real browser opens the page, the Drag tab's
first image is visible. Default model (the bundled one), no network.

    python -m benchmarks.first_image [--runs 3]

Needs Playwright and Debian's chromium (the test requirements). Each run opens the browser first
(its start-up is not the app's), then starts a fresh app process on a free port and polls it from
the moment the process starts; reported per run: seconds until the server answers, until the
image is on screen (the page carries it) and until the page takes clicks (its first New image has
run: the points hint replaces "Preparing"), the app process's CPU seconds until it answers and until
the face shows, and the machine's load (`--baseline DIR`: another checkout, alternating, same run). Writes
benchmarks/results/first_image.{json,md}.
"""
import os
import statistics as st
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchmarks import cli
from benchmarks.app_process import CHROMIUM, checkouts, free_port, require_chromium
from benchmarks.profile_edit import process_cpu
from benchmarks.report import write
from ui.drag_image import HINT

ROOT = Path(__file__).resolve().parents[1]


def one_run(timeout=120, root=ROOT):
    """The browser is already open (its own start-up is not the app's); the clock starts with the app process."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "app.py", "--server-port", str(port)], cwd=root, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError("the app exited before serving")
                try:
                    urllib.request.urlopen(url, timeout=2)
                    break
                except OSError:
                    if time.perf_counter() - t0 > timeout:
                        raise RuntimeError("the app did not answer in time") from None
                    time.sleep(0.05)
            served, served_cpu = time.perf_counter() - t0, process_cpu(proc.pid)
            try:
                page.goto(url)
            except PlaywrightError:
                raise RuntimeError("the page did not load") from None
            page.locator("#drag-image img").first.wait_for(state="visible", timeout=timeout * 1000)
            shown, shown_cpu = time.perf_counter() - t0, process_cpu(proc.pid)
            page.get_by_text(HINT, exact=True).first.wait_for(timeout=timeout * 1000)   # its New image has run
            ready = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            browser.close()
    return dict(served_s=round(served, 2), image_s=round(shown, 2), ready_s=round(ready, 2),
                served_cpu_s=round(served_cpu, 2), image_cpu_s=round(shown_cpu, 2), load=round(os.getloadavg()[0], 1))


def main(argv=None):
    ap = cli.parser(__doc__, threads=None, out=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--runs", type=int, default=3)
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
    keys = ("served_s", "image_s", "ready_s", "served_cpu_s", "image_cpu_s", "load")
    lines = [f"Time to first image, `python app.py` on the bundled model, {a.runs} runs (median), "
             f"{os.cpu_count()} CPU cores.", "Reproduce: `python -m benchmarks.first_image"
             + (" --baseline DIR`, DIR an older commit's checkout" if a.baseline else "`"), "",
             "| app | server answers | first image visible in the browser | the page takes clicks | goal | "
             "app CPU s until it answers / until the face | load |", "|---|---|---|---|---|---|---|"]
    medians = {}
    for label, _ in apps:
        med = medians[label] = {k: st.median(r[k] for r in rows if r["app"] == label) for k in keys}
        lines.append(f"| {label} | {med['served_s']:.1f} s | {med['image_s']:.1f} s | {med['ready_s']:.1f} s | "
                     f"face <= 3 s | {med['served_cpu_s']:.1f} / {med['image_cpu_s']:.1f} | {med['load']:.1f} |")
    write(a.out, "first_image", dict(median=medians["this checkout"], medians=medians, rows=rows), rows, lines)
    return medians


if __name__ == "__main__":
    sys.exit(cli.run(main))
