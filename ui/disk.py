"""Gradio's folder: where Gradio keeps uploads and the images it serves, and what the app may take there.

- **One folder per app process** (`use_own_folder`): `$GRADIO_TEMP_DIR` (default <system temp>/gradio)
  gets a subfolder `latentlab_gradio_<pid>_<random>` and Gradio is pointed at it, so everything Gradio
  writes for this app (uploads, every image it serves, the examples) is in one place that the app
  alone owns. It is removed when the app exits, by Ctrl-C (SIGINT) and by SIGTERM alike
  (`on_sigterm` makes SIGTERM end the app exactly as Ctrl-C does); a folder left by a killed app
  is removed at the next start.
- **A refused upload is deleted** (`discard`): a model file or edit JSON that a handler refuses is removed
  before the message is sent. A refused picture goes GRACE_S seconds later (`discard_later`): the page fetches
  what was just put in its box to show it, and a file deleted at once raced that fetch (Gradio's file route
  saw the file, then failed to open it: a FileNotFoundError traceback in the server log).
- **A total cap** (`$LATENTLAB_GRADIO_CAP_MB`, default 2048 MB: `limits.SETTINGS["gradio_cap_mb"]`):
  an upload that would take the folder past it is refused before any of it is written (HTTP 413, one
  sentence; `Uploads`, an ASGI middleware installed through `launch(app_kwargs=...)`), and after
  every upload and every session sweep the oldest files go until the rest fit (`enforce_cap`).
"""
import atexit
import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import compat
import limits
from ui.scratch import alive

PREFIX = "latentlab_gradio_"
_LOCK = threading.Lock()         # one cap pass at a time
_COUNT = threading.Lock()        # guards _IN_FLIGHT only (taken on the event loop: never held long)
_IN_FLIGHT = [0]    # uploads being received now
_OWN = []           # this process's folder, once made
GRACE_S = 3.0       # a refused picture stays this long for the page's fetch of it (`discard_later`)


def folder():
    return Path(compat.upload_folder())


def cap_bytes():
    return int(limits.setting("gradio_cap_mb") * 1_000_000)


def use_own_folder():
    """Point Gradio at a new folder of this process under $GRADIO_TEMP_DIR (removed at exit); remove
    the folders of app processes that are gone. Call before the Blocks are built."""
    base = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")
    base.mkdir(parents=True, exist_ok=True)
    for p in base.glob(PREFIX + "*"):
        pid = p.name[len(PREFIX):].split("_")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
    atexit.register(remove_own_folder)   # before the folder exists: no moment where it exists unregistered
    with _held():                         # a SIGTERM here ends the app right after, with the folder known
        own = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}_", dir=base)
        _OWN[:] = [own]
    os.environ["GRADIO_TEMP_DIR"] = own
    return Path(own)


def remove_own_folder():
    if _OWN:
        shutil.rmtree(_OWN[0], ignore_errors=True)


def _inside(path, root):
    try:
        real, top = os.path.realpath(path), os.path.realpath(root)
    except (TypeError, ValueError):
        return False
    return real != top and os.path.commonpath([real, top]) == top


def discard(path):
    """Delete a refused upload (only a file inside Gradio's folder), and its folder once empty."""
    path = getattr(path, "path", path)
    if not isinstance(path, (str, os.PathLike)) or not _inside(path, folder()):
        return False
    try:
        os.remove(path)
    except OSError:
        return False
    parent = os.path.dirname(os.path.realpath(path))
    if _inside(parent, folder()):
        try:
            os.rmdir(parent)
        except OSError:
            pass   # not empty: another file of the same upload folder
    return True


def discard_later(path, after=None):
    """`discard` after `after` seconds (default GRACE_S), on a daemon timer (the app's exit removes the whole folder anyway):
    for a refused picture the page may still be fetching. -> the timer (started)."""
    path = getattr(path, "path", path)
    timer = threading.Timer(GRACE_S if after is None else after, discard, args=(path,))
    timer.daemon = True
    timer.start()
    return timer


def _files():
    """(path, bytes, mtime) of every file in Gradio's folder, oldest first."""
    out = []
    for dirpath, _, names in os.walk(folder()):
        for n in names:
            p = os.path.join(dirpath, n)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            out.append((p, st.st_size, st.st_mtime))
    return sorted(out, key=lambda t: t[2])


def usage():
    """(files, bytes) in Gradio's folder."""
    files = _files()
    return len(files), sum(size for _, size, _ in files)


def _kept(blocks):
    keep = set()
    for component in getattr(blocks, "blocks", {}).values():
        keep.update(os.path.realpath(f) for f in getattr(component, "keep_in_cache", set()))
    return keep


def enforce_cap(blocks=None, cap=None):
    """The oldest files go until the rest fit the cap (the examples Gradio keeps stay); the empty
    staging files Gradio leaves beside finished uploads go too. -> bytes freed."""
    cap = cap_bytes() if cap is None else cap
    top = os.path.realpath(folder())
    with _LOCK:
        files, keep, freed = _files(), _kept(blocks), 0
        if not _IN_FLIGHT[0]:   # no upload is being received: a top-level empty tmp file is a leftover
            for p, size, _ in files:
                if size == 0 and os.path.dirname(os.path.realpath(p)) == top and os.path.basename(p).startswith("tmp"):
                    discard(p)
        total = sum(size for _, size, _ in files)
        for p, size, mtime in files:
            if total - freed <= cap:
                break
            if os.path.realpath(p) in keep or (_IN_FLIGHT[0] and time.time() - mtime < 60):
                continue
            if discard(p):
                freed += size
        return freed


class Uploads:
    """ASGI middleware: an upload that would take Gradio's folder past the cap (by its Content-Length)
    is refused before any of it is written; after each upload the cap is enforced."""

    blocks = None   # set by app.py once the Blocks are built

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http" or scope.get("method") != "POST" \
                or not scope.get("path", "").rstrip("/").endswith("/upload"):
            return await self.app(scope, receive, send)
        import anyio
        headers = dict(scope.get("headers") or [])
        try:
            incoming = int(headers.get(b"content-length", b"0"))
        except ValueError:
            incoming = 0
        _, used = await anyio.to_thread.run_sync(usage)
        if used + incoming > cap_bytes():
            from starlette.responses import PlainTextResponse
            text = (f"The server's upload folder is full ({used / 1e6:.0f} of {cap_bytes() / 1e6:.0f} MB in use): "
                    f"try again later or upload a smaller file.")
            more = True
            while more:   # read and drop the body (nothing is written), so the client hears the answer
                msg = await receive()
                more = msg.get("type") == "http.request" and msg.get("more_body", False)
            return await PlainTextResponse(text, status_code=413)(scope, receive, send)
        with _COUNT:
            _IN_FLIGHT[0] += 1
        try:
            return await self.app(scope, receive, send)
        finally:
            with _COUNT:
                _IN_FLIGHT[0] -= 1
            await anyio.to_thread.run_sync(enforce_cap, Uploads.blocks)


TERMINATED = threading.Event()   # set by the first SIGTERM (app.main then exits 0, wherever the signal landed)
_HOLD = {"depth": 0, "pending": False}   # a SIGTERM within `_held()` ends the app when the block is done


@contextlib.contextmanager
def _held():
    """A block SIGTERM does not cut in two (a folder made and not yet recorded would be left behind)."""
    _HOLD["depth"] += 1
    try:
        yield
    finally:
        _HOLD["depth"] -= 1
        if not _HOLD["depth"] and _HOLD["pending"]:
            _HOLD["pending"] = False
            raise KeyboardInterrupt


def on_sigterm(before=None):
    """SIGTERM becomes Ctrl-C in the main thread: Gradio closes its server the same way and the app
    exits normally (removing its folders); `before()` runs first (ui.scratch's folder). Once one has
    come, SIGTERM is ignored (SIG_IGN, which Python keeps through its own shutdown, where it puts a
    handler of ours back to the default): a second one would cut the folders' removal short or kill
    the process mid-exit (SIGKILL still ends it at once)."""
    def handle(*_):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        TERMINATED.set()
        if before is not None:
            before()
        if _HOLD["depth"]:   # within `_held()`: at its end
            _HOLD["pending"] = True
            return
        raise KeyboardInterrupt
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handle)
