"""The face before the lab. `python app.py` spends seconds importing Gradio and torch; this module
(the standard library only, so it is up within a blink of the start) serves the app's port meanwhile:

- `start(host, port, model)`: a tiny HTTP server on the port the app will use, answering every
  request with `503 Service Unavailable` and one page: the model's first image and "Starting the
  lab…". The page polls its own address and reloads as soon as the real app answers 200, so it
  ends on the app whatever the timing (a failed poll during the hand-over is just polled again).
  A 503 also keeps anything that waits for the app (benchmarks.app_process, a Space's health
  check) waiting for the app itself, never for this page.
- `Splash.close()`: the port released, right before Gradio binds it.
- `ListenError`: a port that is sure not to serve (taken, or kept for the system), said in one line
  before the app loads anything.
- `find(model)` / `remember(model, settings, frame)`: the first image itself. The bundled model's
  is shipped next to this file (tests/test_splash.py proves it equals what the generator renders);
  any other model's is the PNG the previous run rendered, in `$LATENTLAB_CACHE/first-image`, keyed
  by the model (a file by its path, size and time) and the start image's settings. No image (a
  model's first run): the page says "Starting the lab…" alone.
"""
import base64
import errno
import hashlib
import html
import http.server
import ipaddress
import json
import os
import socket
import struct
import threading
from pathlib import Path

BUNDLED_ID = "faces-64-offline"                  # checkpoints.DEFAULT_MODEL (tests keep them equal)
DEFAULT_ENV = "LATENTLAB_DEFAULT_MODEL"          # checkpoints.DEFAULT_ENV
BUNDLED_FILE = Path(__file__).resolve().parents[1] / "stylegan" / "pretrained" / "faces64.safetensors"
SHIPPED = Path(__file__).with_name("first_image_faces64.png")   # the bundled model's first image
FIRST_PORT, TRY_PORTS = 7860, 100                # where Gradio looks for a port when none is given
DISPLAY = 512                                    # ui.draw.DISPLAY: the page shows the image this large
STARTING = "Starting the lab…"
HEADER = "X-Latent-Lab"                          # "starting" on every answer of this server


def model_named(model=None):
    """The model `python app.py` will open: --model, else $LATENTLAB_DEFAULT_MODEL, else the bundled one
    (checkpoints.default_model decides for real and checks it; this only names the picture to show)."""
    return str(model or os.environ.get(DEFAULT_ENV, "").strip() or BUNDLED_ID).strip()


def is_bundled(model):
    model = str(model)
    return model == BUNDLED_ID or (Path(model).is_file() and Path(model).resolve() == BUNDLED_FILE)


def cache_dir():
    """As stylegan.io.cache_dir: $LATENTLAB_CACHE, default ~/.cache/latentlab."""
    return Path(os.environ.get("LATENTLAB_CACHE", Path.home() / ".cache" / "latentlab")) / "first-image"


def model_key(model):
    """A file name for the model: a registry id by its name, a file by its resolved path, size and
    modification time (a replaced file is another model)."""
    model = str(model).strip()
    path = Path(model).expanduser()
    if path.is_file():
        st = path.stat()
        model = f"file:{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    return hashlib.sha256(model.encode()).hexdigest()[:24]


def _write(path, data):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def remember(model, settings, frame):
    """Keep `frame` (HxWx3 uint8: the model's first image with `settings`, a dict such as seed, psi
    and space) for the next start's page; the PNG's path, or None for the bundled model (shipped).
    OSError when the cache cannot be written."""
    if is_bundled(model):
        return None
    folder, key = cache_dir(), model_key(model)
    settings_key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    png = folder / f"{key}-{settings_key}.png"
    pointer = folder / f"{key}.json"
    try:
        if png.is_file() and json.loads(pointer.read_text()).get("png") == png.name:
            return png
    except (OSError, ValueError, AttributeError):   # none yet, or damaged: written anew
        pass
    import io

    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="png")
    _write(png, buf.getvalue())
    _write(pointer, json.dumps(dict(model=str(model), settings=settings, png=png.name)).encode())
    return png


def find(model):
    """The PNG bytes of `model`'s first image (shipped, else remembered by an earlier run), or None."""
    try:
        if is_bundled(model):
            return SHIPPED.read_bytes()
        folder = cache_dir()
        pointer = json.loads((folder / f"{model_key(model)}.json").read_text())
        return (folder / Path(pointer["png"]).name).read_bytes()
    except (OSError, ValueError, KeyError, TypeError):   # none yet, or a damaged entry: no picture
        return None


def png_size(data):
    """(width, height) from a PNG's header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Latent Lab</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}
#splash-face{{display:block;max-width:100%;height:auto;margin-top:1rem;{rendering}}}</style></head>
<body><h1>Latent Lab</h1><p id="splash-status">{starting}</p>{image}
<script>
const status = document.getElementById("splash-status");
let lost = null;
async function poll() {{
  try {{
    const r = await fetch(location.href, {{cache: "no-store"}});
    if (lost !== null) status.textContent = "{starting}";
    lost = null;
    if (r.ok && r.headers.get("{header}") !== "starting") {{ location.reload(); return; }}
  }} catch (e) {{   // the hand-over (no server for a moment), or the app stopped
    lost = lost || Date.now();
    if (Date.now() - lost > 60000)
      status.textContent = "The lab is not answering: see the terminal that started it (this page keeps trying).";
  }}
  setTimeout(poll, 250);
}}
setTimeout(poll, 250);
</script></body></html>
"""


def page(png=None):
    """The splash page (bytes), with `png` (the first image's bytes) shown at the app's display size."""
    image, rendering = "", ""
    if png:
        w, h = png_size(png)
        scale = max(1, DISPLAY // max(w, h))
        rendering = "image-rendering:pixelated" if scale >= 4 else ""   # as ui.draw.render upscales
        image = (f'<img id="splash-face" alt="the first image" width="{w * scale}" height="{h * scale}" '
                 f'src="data:image/png;base64,{base64.b64encode(png).decode()}">')
    return PAGE.format(starting=html.escape(STARTING), image=image, rendering=rendering, header=HEADER).encode()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True   # Gradio can bind the port the moment this one closes


class Splash:
    """The splash server, serving in a daemon thread; `port` is where it listens."""

    def __init__(self, server):
        self.server, self.port = server, server.server_address[1]
        self.thread = threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.05),
                                       name="splash", daemon=True)
        self.thread.start()
        self.closed = False

    def close(self):
        """Stop answering and release the port (again: nothing)."""
        if not self.closed:
            self.closed = True
            self.server.shutdown()
            self.server.server_close()


def _handler(body):
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, with_body):
            self.send_response(503)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Retry-After", "1")
            self.send_header(HEADER, "starting")
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_GET(self):   # noqa: N802 - http.server's name
            self._answer(True)

        def do_HEAD(self):   # noqa: N802
            self._answer(False)

        def log_message(self, *args):   # the terminal is the app's
            pass
    return Handler


class ListenError(Exception):
    """The app's port cannot be had (one line, naming the flag that chooses another)."""


def _refusal(host, port, e):
    """The one line for an OSError of binding (host, port), or None when it is not sure to stop Gradio too
    (an address the splash's socket family could not take: Gradio resolves names its own way and may)."""
    if e.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is in use (another Latent Lab, or another program): choose another with "
                f"--server-port N (or GRADIO_SERVER_PORT)")
    if e.errno == errno.EACCES:
        return (f"port {port} on {host} needs privileges this user does not have: choose one from 1024 up with "
                f"--server-port N (or GRADIO_SERVER_PORT)")
    if isinstance(e, socket.gaierror) and not _resolves(host):
        return (f"{host!r} is not a host name this machine can resolve: serve on 127.0.0.1 (this machine only) or "
                f"0.0.0.0 (every network) with --server-name (or GRADIO_SERVER_NAME)")
    if e.errno == errno.EADDRNOTAVAIL and _is_address(host):
        return (f"{host} is not an address of this machine: serve on 127.0.0.1 (this machine only) or 0.0.0.0 "
                f"(every network) with --server-name (or GRADIO_SERVER_NAME)")
    return None


def _resolves(host):
    try:
        return bool(socket.getaddrinfo(host, None))
    except OSError:
        return False


def _is_address(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def start(host, port, model):
    """A Splash on (host, port) showing `model`'s first image; port None: the first free one from 7860
    (as Gradio would look). ListenError when the port is sure not to serve: taken or kept for the system, or
    every port of Gradio's range taken. None when the splash cannot listen there for another reason (the app
    then starts as it would without it, and Gradio says what it finds)."""
    try:
        body = page(find(model))
    except ValueError:   # a damaged cache entry: the page without a picture
        body = page(None)
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = type("Server", (_Server,), dict(address_family=family))
    for p in [port] if port is not None else range(FIRST_PORT, FIRST_PORT + TRY_PORTS):
        try:
            return Splash(server_class((host, p), _handler(body)))
        except OSError as e:
            if port is None and e.errno == errno.EADDRINUSE:
                continue   # the next port, as Gradio would
            why = _refusal(host, p, e)
            if why is not None:
                raise ListenError(why) from None
            return None
    raise ListenError(f"every port from {FIRST_PORT} to {FIRST_PORT + TRY_PORTS - 1} on {host} is in use: choose "
                      f"one with --server-port N (or GRADIO_SERVER_PORT)")
