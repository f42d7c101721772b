"""Where one app edit's time goes: `python app.py` launched for real, a real browser clicks a handle
and its target and presses a drag button, and the time from the click to the final image on screen
is split into what the server did and what was left to the queue and the transport.

    python -m benchmarks.profile_edit [--edits 3] [--engines draggan freedrag] [--points 1]

The app runs in its own process with timers put around the functions an edit passes through (the
app's code is not changed: `serve` wraps them, then runs app.py): Gradio's inputs and outputs, the
sessions' setup, the engine's steps (and the tracker's share of them), the previews (`preview render`:
every call, a cached one too; `renders`: the generator passes really run, a tracker's too), the
overlay drawing, Gradio's image encoding, the final report (optical flow, fidelity), the GIF frames
and the chain view that follows the drag. Each part is its wall time summed over its calls; parts
run in different threads at once (the steps go on while a preview is drawn and sent), so they do not
add up to the edit. The drag handler is timed as it streams: `computing` while it makes a frame,
`held` while Gradio post-processes and sends it. The browser (Debian's chromium via Playwright)
records, in the page, the click on the button and the moment the final image has loaded, on the
same clock as the server:

    click -> handler starts        queue and transport in (queue_in_s)
    handler starts -> it ends      computing + held by Gradio (computing_s, held_s)
    handler ends -> final image    transport out, the browser fetches and shows the image (transport_out_s)

The app shows the final image as soon as the steps end ("done. Measuring what moved…") and the
report's verdict (the table) after it: `verdict_s` is the click to that verdict, `wall_s` the click
to the final image.

Printed per edit and as medians over `--edits` edits of each engine; CPU time of the app process
and the machine's load are printed with every wall figure (the machine may be shared). Writes
benchmarks/results/profile_edit.{json,md}.
"""
import functools
import json
import os
import runpy
import statistics as st
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PARTS = ["inputs (Gradio)", "sessions setup", "step", "tracking", "sync", "preview render", "renders", "overlay drawing",
         "image encoding (Gradio)", "outputs (Gradio)", "final report", "GIF frames", "chain view"]


# --- the app side: timers around the functions an edit passes through --------------------------------
class Timers:
    """Seconds and calls per part, and the drag handler's spans; written to `path` after each call."""

    def __init__(self, path):
        self.path, self.lock = path, threading.Lock()
        self.parts, self.handlers = {}, []

    def add(self, name, seconds):
        with self.lock:
            total, calls = self.parts.get(name, (0.0, 0))
            self.parts[name] = (total + seconds, calls + 1)

    def dump(self):
        with self.lock:
            data = dict(parts=self.parts, handlers=self.handlers, cpu_s=time.process_time())
            tmp = self.path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(data, f)
            os.replace(tmp, self.path)

    def wrap(self, owner, attr, name, dump=False):
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - t0)
                if dump:
                    self.dump()
        setattr(owner, attr, timed)

    def wrap_async(self, owner, attr, name):
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        async def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - t0)
        setattr(owner, attr, timed)

    def wrap_stream(self, owner, attr):
        """A generator handler: time spent computing its frames vs held while Gradio sends them."""
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            span = dict(start=time.time(), computing=0.0, held=0.0, frames=0)
            gen, last = fn(*args, **kwargs), None
            try:
                while True:
                    t0 = time.perf_counter()
                    if last is not None:
                        span["held"] += t0 - last
                    try:
                        item = next(gen)
                    except StopIteration:
                        return
                    finally:
                        last = time.perf_counter()
                        span["computing"] += last - t0
                    span["frames"] += 1
                    yield item
            finally:
                span["end"] = time.time()
                with self.lock:
                    self.handlers.append(span)
                self.dump()
        setattr(owner, attr, timed)


def _subclasses(cls):
    import drags.engines  # noqa: F401 - every engine declared
    found = {cls}
    for sub in cls.__subclasses__():
        found |= _subclasses(sub)
    return found


def install(path):
    """Put the timers around the app's functions (before app.py builds the interface)."""
    from gradio import blocks, processing_utils
    from dragcore import report, session, tracking
    from ui import drag_chain, drag_handlers, draw, export, gradio_cache
    t = Timers(path)
    t.wrap(session.DragSession, "step", "step")
    for cls in {c for c in vars(tracking).values() if isinstance(c, type) and issubclass(c, tracking.Tracker)}:
        if "locate" in vars(cls):
            t.wrap(cls, "locate", "tracking")
    for cls in _subclasses(session.DragSession):
        if "sync" in vars(cls):
            t.wrap(cls, "sync", "sync")
    t.wrap(drag_handlers, "make_sessions", "sessions setup")
    t.wrap(report.Reporter, "preview", "preview render")
    t.wrap(session.DragSession, "render_and_features", "renders")   # the generator passes a preview really runs
    t.wrap(report.Reporter, "result", "final report")
    t.wrap(draw, "render", "overlay drawing")
    gradio_cache.install()   # the app's image save (app.build installs it too, and keeps this timer around it)
    t.wrap(processing_utils, "save_pil_to_cache", "image encoding (Gradio)")
    t.wrap_async(blocks.Blocks, "preprocess_data", "inputs (Gradio)")
    t.wrap_async(blocks.Blocks, "postprocess_data", "outputs (Gradio)")
    t.wrap(export, "gif_frame", "GIF frames")
    t.wrap(drag_chain, "view", "chain view", dump=True)
    t.wrap_stream(drag_handlers, "run_drag")
    t.dump()
    return t


def serve(path, app_args, root=ROOT):
    """The app with timers: what `python app.py APP_ARGS` runs in the checkout `root`, in this process."""
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [str(root)] + [p for p in sys.path if p != here]   # run as a script: its folder is not the app's
    install(path)
    sys.argv = ["app.py", *app_args]
    runpy.run_path(str(Path(root) / "app.py"), run_name="__main__")


# --- the browser side ----------------------------------------------------------------------------------
# In the page: the click on a drag button and the first load of a result image after the status says
# "done." (or the "done." itself when the image did not change), on the server's clock (Date.now()).
WATCH = """() => {
  const w = window.__edit = {click: null, running: false, done: null, image: null, verdict: null};
  document.addEventListener('pointerdown', e => {
    if (e.target.closest('button[id^="btn-"]')) Object.assign(w, {click: Date.now(), running: false, done: null, image: null, verdict: null});
  }, true);
  document.addEventListener('load', e => {
    if (w.done !== null && w.image === null && e.target.closest && e.target.closest('[id^="out-"]')) w.image = Date.now();
  }, true);
  new MutationObserver(() => {
    const s = document.querySelector('#drag-status');
    if (w.click === null || w.verdict !== null || !s) return;
    const text = s.innerText;
    if (!text.includes('done.')) { w.running = true; return; }   // the run's first frame replaced the last status
    if (!w.running) return;
    if (w.done === null) w.done = Date.now();
    if (!text.includes('Measuring what moved')) w.verdict = Date.now();   // the report's verdict follows the final image
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def wait_ready(page, timeout=60_000):
    """The page's first New image has run: the session has its image (the hint replaces "Preparing")."""
    from ui.drag_image import HINT
    page.get_by_text(HINT, exact=True).first.wait_for(timeout=timeout)


def open_app(page, url, timeout=60_000):
    """Open the app and wait until it can be clicked (its image shown, its first New image run)."""
    page.goto(url)
    page.locator("#drag-image img").first.wait_for(state="visible", timeout=timeout)
    wait_ready(page, timeout)
    page.evaluate(WATCH)


def click_pair(page, handle, target, timeout=60_000):
    """Click a handle and its target (fractions of the displayed image); a click that lands while
    Gradio swaps the image is dropped, so the target is clicked again only while the app asks for it."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    image = page.locator("#drag-image img").first
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    for attempt in range(3):   # the handle's click too can land while the image is swapped
        page.mouse.click(box["x"] + handle[0] * box["width"], box["y"] + handle[1] * box["height"])
        try:
            page.get_by_text("click the target").wait_for(timeout=timeout // 3)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            box = image.bounding_box()
    for attempt in range(3):
        page.wait_for_timeout(500)
        image = page.locator("#drag-image img").first
        image.scroll_into_view_if_needed()   # mouse clicks land only inside the viewport
        box = image.bounding_box()
        page.mouse.click(box["x"] + target[0] * box["width"], box["y"] + target[1] * box["height"])
        try:
            page.get_by_text("click the target").wait_for(state="detached", timeout=20_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def timed_edit(page, method, timeout=120_000):
    """Press the engine's drag button; seconds from the click to the final image, and the page's
    timestamps (epoch ms: click, done, image)."""
    page.locator(f"#btn-{method}").click()
    page.wait_for_function("() => window.__edit.done !== null", timeout=timeout)
    page.wait_for_function("() => window.__edit.image !== null || Date.now() - window.__edit.done > 1500",
                           timeout=timeout)
    page.wait_for_function("() => window.__edit.verdict !== null", timeout=timeout)
    marks = page.evaluate("() => window.__edit")
    shown = marks["image"] if marks["image"] is not None else marks["done"]
    return (shown - marks["click"]) / 1000, marks


def process_cpu(pid):
    """CPU seconds (user + system) a process has used so far (Linux /proc; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load():
    return round(os.getloadavg()[0], 1)


def start_app(timers_json, app_args=(), threads=None, timeout=120, root=ROOT):
    """(process, url): the profiled app of the checkout `root` on a free port, answering; `threads`:
    its OMP_NUM_THREADS."""
    import urllib.request
    from benchmarks.app_process import free_port
    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False")
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "serve", timers_json, str(root), "--",
                             *app_args, "--server-port", str(port)], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url, t0 = f"http://127.0.0.1:{port}/", time.perf_counter()
    while True:
        if proc.poll() is not None:
            raise RuntimeError("the app exited before serving")
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            if time.perf_counter() - t0 > timeout:
                proc.terminate()
                raise RuntimeError("the app did not answer in time") from None
            time.sleep(0.1)


def read_timers(path):
    with open(path) as f:
        return json.load(f)


def diff(after, before):
    """The parts and CPU time of what happened between two reads of the timers."""
    parts = {k: (v[0] - before["parts"].get(k, (0, 0))[0], v[1] - before["parts"].get(k, (0, 0))[1])
             for k, v in after["parts"].items()}
    return dict(parts=parts, handler=after["handlers"][-1], cpu_s=after["cpu_s"] - before["cpu_s"])


def profile_one(page, method, timers_json, points):
    """One edit: fresh points, the drag, and where its time went."""
    page.get_by_text("Clear points").click()
    page.get_by_text("Points cleared.").wait_for(timeout=30_000)
    for handle, target in points:
        click_pair(page, handle, target)
    time.sleep(0.3)
    before = read_timers(timers_json)
    wall, marks = timed_edit(page, method)
    time.sleep(1.0)   # the chain view that follows the drag
    d = diff(read_timers(timers_json), before)
    h = d["handler"]
    row = dict(method=method, points=len(points), wall_s=round(wall, 3), cpu_s=round(d["cpu_s"], 3), load=load(),
               queue_in_s=round(h["start"] - marks["click"] / 1000, 3),
               verdict_s=round((marks["verdict"] - marks["click"]) / 1000, 3), computing_s=round(h["computing"], 3), held_s=round(h["held"], 3), frames=h["frames"],
               transport_out_s=round((marks["image"] or marks["done"]) / 1000 - h["end"], 3))
    for name in PARTS:
        sec, calls = d["parts"].get(name, (0.0, 0))
        row[name] = round(sec, 3)
        row[name + " calls"] = calls
    return row


POINTS = {1: [((0.45, 0.55), (0.58, 0.55))], 2: [((0.45, 0.55), (0.58, 0.55)), ((0.5, 0.3), (0.5, 0.22))]}


def run_edits(a, root, label):
    """The app of checkout `root` with timers, one browser, `a.edits` edits per engine; the rows."""
    from playwright.sync_api import sync_playwright
    import tempfile
    from benchmarks.app_process import CHROMIUM
    timers_json = os.path.join(tempfile.mkdtemp(prefix="profile_edit_"), "timers.json")
    proc, url = start_app(timers_json, ["--model", a.model] if a.model else [], threads=a.app_threads, root=root)
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(120_000)   # a shared, loaded machine: clicks may wait for the page
            open_app(page, url)
            page.wait_for_timeout(3000)   # what the app does once the page is open (a checkout without the ready sign)
            for _ in range(a.edits):
                for m in a.engines:
                    rows.append(dict(app=label, **profile_one(page, m, timers_json, POINTS[a.points])))
                    print(json.dumps(rows[-1]), flush=True)
                    page.locator("#btn-reset").click()   # every edit from the same start image
                    page.get_by_text("the chain is empty").wait_for(timeout=30_000)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return rows


COLS = ["wall_s", "verdict_s", "cpu_s", "queue_in_s", "computing_s", "held_s", "transport_out_s", *PARTS]


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["serve"]:   # serve TIMERS_JSON ROOT -- APP_ARGS (start_app)
        rest = argv[3:]
        return serve(argv[1], rest[1:] if rest[:1] == ["--"] else rest, Path(argv[2]))
    from benchmarks import cli
    from benchmarks.app_process import checkouts, require_chromium
    from benchmarks.report import write
    ap = cli.parser(__doc__, threads=None, out=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--app-threads", type=int, default=None, help="the app's OMP_NUM_THREADS (default: unset)")
    ap.add_argument("--edits", type=int, default=3, help="edits per engine")
    ap.add_argument("--engines", nargs="+", default=["draggan", "freedrag"], help="engines profiled (default draggan freedrag)")
    ap.add_argument("--points", type=int, choices=sorted(POINTS), default=1, help="handle/target pairs per edit (default 1)")
    ap.add_argument("--model", default=None, help="the app's --model (default: the bundled one)")
    ap.add_argument("--baseline", default=None, help="another checkout (e.g. a `git worktree` of an older "
                    "commit) whose app is profiled the same way in the same run, first")
    a = ap.parse_args(argv)
    require_chromium()
    apps = checkouts(a.baseline)
    rows = [r for label, root in apps for r in run_edits(a, root, label)]
    lines = [f"Where one app edit's time goes ({a.points}-point edit, the bundled model unless --model, "
             f"{a.edits} edits per engine, medians; {os.cpu_count()} CPU cores, load {load()} at the end). "
             "Seconds; parts are wall time summed over calls and overlap (threads).",
             "Reproduce: `python -m benchmarks.profile_edit" + (f" --points {a.points}" if a.points != 1 else "")
             + (" --baseline DIR`, DIR an older commit's checkout" if a.baseline else "`"),
             "", "| app | engine | " + " | ".join(COLS) + " | steps | frames |", "|---" * (len(COLS) + 4) + "|"]
    summary = {}
    for label, _ in apps:
        for m in a.engines:
            mine = [r for r in rows if r["method"] == m and r["app"] == label]
            med = {c: round(st.median(r[c] for r in mine), 3) for c in COLS}
            med["steps"] = st.median(r["step calls"] for r in mine)
            med["frames"] = st.median(r["frames"] for r in mine)
            summary[f"{label}: {m}"] = med
            lines.append(f"| {label} | {m} | " + " | ".join(f"{med[c]:.2f}" for c in COLS) +
                         f" | {med['steps']:.0f} | {med['frames']:.0f} |")
    print("\n".join(lines))
    write(a.out, "profile_edit" + ("" if a.points == 1 else f"_{a.points}pt"), dict(summary=summary, rows=rows),
          rows, lines)
    return summary


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        sys.exit(main())
    from benchmarks import cli
    sys.exit(cli.run(main))
