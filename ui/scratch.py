"""The app's one temporary folder: exports are written in folders under it, never loose in the
system's temporary directory.

`new_folder(prefix)` makes a folder there and prunes the oldest: at most KEEP folders, none older
than MAX_AGE seconds (Gradio has already copied what a handler returned into its own cache, which
`delete_cache` empties). `clean_on_exit()` removes the whole folder when the process ends (normally,
by Ctrl-C or by SIGTERM), and at start removes the folders of earlier app processes that are gone.
"""
import atexit
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

PREFIX = "latentlab_app_"
KEEP = 16          # export folders kept at most (the newest)
MAX_AGE = 3600.0   # s: older export folders are removed

_lock = threading.Lock()
_root = None


def root():
    """This process's folder (created on first use): $TMPDIR/latentlab_app_<pid>_<random>."""
    global _root
    with _lock:
        if _root is None or not _root.is_dir():
            _root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}_"))
        return _root


def folders():
    """The folders under root(), oldest first."""
    return sorted((p for p in root().iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)


def prune(keep=KEEP, max_age=MAX_AGE):
    now = time.time()
    old = folders()
    for i, p in enumerate(old):
        if len(old) - i > keep or now - p.stat().st_mtime > max_age:
            shutil.rmtree(p, ignore_errors=True)


def new_folder(prefix):
    """A new folder under root() for one export; the oldest beyond KEEP (and any older than MAX_AGE) go."""
    prune(keep=KEEP - 1)
    return tempfile.mkdtemp(prefix=prefix, dir=root())


def remove():
    global _root
    with _lock:
        if _root is not None:
            shutil.rmtree(_root, ignore_errors=True)
            _root = None


def alive(pid):
    """Is process `pid` still running (one we may not signal counts as running)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphans():
    """Folders left by app processes that no longer run (killed before they could clean up)."""
    for p in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        pid = p.name[len(PREFIX):].split("_")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)


def clean_on_exit():
    """Remove the folder when the process ends; SIGTERM becomes a normal exit so that happens."""
    remove_orphans()
    atexit.register(remove)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(*_):
    remove()      # first: the exit below may wait for the server's threads
    sys.exit(0)
