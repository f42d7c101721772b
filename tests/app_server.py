"""Launch `python app.py` in a subprocess on 127.0.0.1 for tests; stop it afterwards."""
import collections
import os
import socket
import threading
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "stylegan" / "pretrained" / "faces64.safetensors"


def model_for_tests(tmp_dir):
    """The bundled face model; its absence is a failure, never a silent swap for another model."""
    if not BUNDLED.is_file():
        raise FileNotFoundError(f"the bundled model {BUNDLED} is missing from this checkout")
    return str(BUNDLED)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    def __init__(self, model, extra_env=None, timeout=90, root=None):
        """`root`: the checkout whose app.py runs (default: this one; benchmarks compare another)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = dict(os.environ, OMP_NUM_THREADS="1", GRADIO_ANALYTICS_ENABLED="False", **(extra_env or {}))
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "app.py", "--model", model, "--server-port", str(self.port)],
                                     cwd=root or ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output = collections.deque(maxlen=400)   # the app's last lines; drained so its pipe never fills
        threading.Thread(target=lambda: self.output.extend(self.proc.stdout), daemon=True).start()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                time.sleep(0.2)
                raise RuntimeError("app exited early:\n" + "".join(self.output))
            try:
                urllib.request.urlopen(self.url, timeout=2)
                self.ready_seconds = time.perf_counter() - self.t0
                return
            except OSError:
                time.sleep(0.3)
        self.close()
        raise RuntimeError("app did not start in time")

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
