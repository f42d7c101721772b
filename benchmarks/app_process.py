"""`python app.py` as a process of its own on 127.0.0.1: the one launcher of the tests, the benchmarks
that measure the app (first image, hostile input, an edit's profile) and the README's screenshots.

    app = AppProcess(model=BUNDLED, extra_env={...})   # returns once the server answers HTTP
    app.url, app.port, app.ready_seconds, app.tail()
    app.close()                                        # SIGTERM, then SIGKILL after `grace` s

The app's output is drained in a thread into the last `keep` lines, so its pipe never fills and a
failed start reports what the app said. `free_port()` is the one way to pick a port."""
import collections
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "stylegan" / "pretrained" / "faces64.safetensors"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"   # Debian's chromium: what drives the app in a browser


def require_chromium():
    """SystemExit with one line when Debian's chromium (and so a browser run) is not there."""
    if not os.path.exists(CHROMIUM):
        raise SystemExit("needs Debian's chromium (apt-get install chromium) and playwright (requirements-test.txt)")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def checkouts(baseline=None):
    """[(label, root)] of the apps a benchmark compares in one run: `baseline` (another checkout, e.g. a
    `git worktree` of an older commit) first, then this one. A baseline without app.py is a ValueError."""
    if baseline and not (Path(baseline) / "app.py").is_file():
        raise ValueError(f"--baseline {baseline}: no app.py there")
    return ([("baseline", Path(baseline).resolve())] if baseline else []) + [("this checkout", ROOT)]


def bundled_model():
    """The bundled face model's file; its absence is a failure, never a silent swap for another model."""
    if not BUNDLED.is_file():
        raise FileNotFoundError(f"the bundled model {BUNDLED} is missing from this checkout")
    return str(BUNDLED)


SERVED_LINE = "Running on local URL"   # what Gradio prints once this process serves (stdout)
PORT_TRIES = 3                          # AppProcess's free ports, when the one drawn is taken before the app binds it


def wait_until_served(url, proc, timeout, poll=0.3, output=None, served_line=None):
    """Poll `url` until it answers 200; RuntimeError when `proc` exits first or `timeout` s pass. The
    splash page that `python app.py` serves while it starts (ui.splash) answers 503 (an HTTPError,
    so an OSError here): this waits for the app itself. With `served_line`, a 200 counts only once `output`
    (the process's lines) holds it: two test processes that drew the same free port would otherwise each take
    the other's app for its own, the second one's exit ("port ... is in use") not yet seen."""
    deadline = time.perf_counter() + timeout
    while True:
        if proc.poll() is not None:
            time.sleep(0.2)   # the drain thread catches the last lines
            said = "".join(output or ())[-4000:]
            raise RuntimeError(f"the app exited with code {proc.returncode} before serving:\n{said}")
        try:
            urllib.request.urlopen(url, timeout=2)
            if served_line is None or any(served_line in line for line in list(output or ())):
                return
        except OSError:
            pass
        if time.perf_counter() > deadline:
            raise RuntimeError(f"the app did not answer at {url} in {timeout} s")
        time.sleep(poll)


class AppProcess:
    """`python app.py [--model MODEL] --server-port P` from `root` (default: this checkout), with
    `extra_env` on top of the environment; `threads`: its OMP_NUM_THREADS (None: inherited); `port`:
    where it serves (default: a free one)."""

    def __init__(self, model=None, extra_env=None, timeout=120, root=None, threads=1, keep=400, poll=0.3, port=None):
        env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
        env.update(extra_env or {})
        self.t0 = time.perf_counter()
        for attempt in range(1 if port else PORT_TRIES):   # a free port another process took first: the next one
            self.port = port or free_port()
            self.url = f"http://127.0.0.1:{self.port}/"
            argv = [sys.executable, "app.py", *(["--model", str(model)] if model else []), "--server-port", str(self.port)]
            self.proc = subprocess.Popen(argv, cwd=root or ROOT, env=env, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True)
            self.output = collections.deque(maxlen=keep)
            self._drain = threading.Thread(target=lambda: self.output.extend(self.proc.stdout), daemon=True)
            self._drain.start()
            try:
                wait_until_served(self.url, self.proc, timeout, poll, self.output, served_line=SERVED_LINE)
                break
            except RuntimeError:
                self.close()
                if port or attempt == PORT_TRIES - 1 or f"port {self.port} on 127.0.0.1 is in use" not in self.tail(80):
                    raise
        self.ready_seconds = time.perf_counter() - self.t0

    @property
    def model(self):
        """The --model the app was started with (None: the app's default)."""
        args = self.proc.args
        return args[args.index("--model") + 1] if "--model" in args else None

    def tail(self, words=40):
        return " ".join("".join(self.output).split()[-words:])

    def close(self, grace=10):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._drain.join(timeout=2)   # the pipe's end reached: its reader closed here, not left to the collector
        if not self._drain.is_alive():
            self.proc.stdout.close()
