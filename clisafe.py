"""What every command line (and every export) shares: exit codes, one-line errors, input files that
cannot hang, bounded JSON, and outputs that never look finished when they are not.

Exit codes: 0 done, 2 bad input (one `error: ...` line on stderr, never a traceback), 130
interrupted (Ctrl-C: one line). `run(main, argv, prog)` applies them around an entry point.

Atomic outputs: `atomic_dir(out)` yields a fresh temporary folder beside `out`; when the block ends
normally the folder is renamed into place (an older `out` is swapped out and removed), and when it
ends by an error or Ctrl-C the temporary folder is deleted and `out` is untouched. So a user who runs
again into the same folder finds the old complete set or the new one, never a mix.
`atomic_file(path)` is the same for one file; `trim_log` rewrites a training run's CSV log through it, keeping
the rows up to the checkpoint a resume starts from. `check_replaceable` refuses, before any work, an
existing folder holding files the command did not write (a swap would delete them).

Inputs: `regular_file` refuses what is not a regular file (a FIFO would block its reader forever,
a device would never end) and `json_file` / `check_json_depth` bound nesting before parsing.
Imports nothing of ours (the lowest layer).
"""
import contextlib
import csv
import json
import os
import re
import shutil
import signal
import stat
import sys
import threading
import uuid
from pathlib import Path

EXIT_OK, EXIT_INPUT, EXIT_INTERRUPTED = 0, 2, 130
MAX_JSON_DEPTH = 64          # our JSON files need at most 4 levels
MAX_JSON_BYTES = 16_000_000  # metrics.json, LATENTLAB_MODELS: a few KB


class InputError(ValueError):
    """A command line's input or output path cannot be used (one line, exit 2)."""


def one_line(e, limit=400):
    """An exception's message as one line of at most `limit` characters."""
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def run(main, argv=None, prog="latentlab", errors=(ValueError, OSError)):
    """Call `main(argv)` and turn its end into an exit code: its return value (None: 0); an error of
    `errors` (and RecursionError, MemoryError) -> one line and 2; Ctrl-C -> one line and 130.
    argparse's own usage errors (SystemExit 2) pass through."""
    try:
        rc = main(argv)
    except KeyboardInterrupt:
        _quiet_interrupts()
        print(f"{prog}: interrupted; no output was left half-written", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except (RecursionError, MemoryError) as e:
        print(f"error: the input is too deeply nested or too large ({type(e).__name__})", file=sys.stderr)
        return EXIT_INPUT
    except errors as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK if rc is None else rc


def _quiet_interrupts():
    """A second Ctrl-C while Python shuts down prints nothing more."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


# --- inputs ---------------------------------------------------------------------------------------
def path_kind(path):
    """What is at `path`, from stat alone (nothing is opened, so a FIFO never blocks): "file",
    "folder", "a FIFO", "a device", "a socket", "a special file", or None when nothing is there. Any
    other OSError (no permission, a name too long) propagates."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    return ("file" if stat.S_ISREG(mode) else "folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a special file")


def unreadable(path):
    """Why `path` cannot be read as a regular file, as a phrase ("not found (no such file)", "not a regular file (a
    FIFO)", "cannot be read (Permission denied)"); None when it can. Nothing is opened."""
    try:
        kind = path_kind(path)
    except OSError as e:
        return f"cannot be read ({e.strerror or type(e).__name__})"
    if kind is None:
        return "not found (no such file)"
    return None if kind == "file" else f"not a regular file ({kind}: only a file can be read here)"


def regular_file(path, flag):
    """`path` as a Path if it is a regular file; else InputError naming the flag (checked with stat:
    nothing is opened)."""
    p = Path(path).expanduser()
    why = unreadable(p)
    if why:
        raise InputError(f"{flag} {path}: {why}")
    return p


def json_depth(text, limit=None):
    """Deepest [ / { nesting of a JSON text, strings skipped, measured before parsing (json.loads
    recurses once per level); the count stops as soon as it passes `limit`."""
    depth = deepest = 0
    in_str = escaped = False
    for ch in text:
        if in_str:
            escaped, in_str = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if limit is not None and depth > limit:
                break
        elif ch in "]}":
            depth -= 1
    return deepest


def check_json_depth(text, where, limit=MAX_JSON_DEPTH):
    """InputError if a JSON text nests [ / { deeper than `limit`; else its depth."""
    deepest = json_depth(text, limit)
    if deepest > limit:
        raise InputError(f"{where} is nested more than {limit} levels deep")
    return deepest


def json_file(path, where, max_bytes=MAX_JSON_BYTES, max_depth=MAX_JSON_DEPTH):
    """A JSON file read with bounded size and nesting; InputError naming `where` otherwise."""
    p = regular_file(path, where)
    if p.stat().st_size > max_bytes:
        raise InputError(f"{where} {path}: {p.stat().st_size:,} bytes is too large (at most {max_bytes:,})")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{where} {path}: cannot be read ({type(e).__name__})") from None
    check_json_depth(text, f"{where} {path}", max_depth)
    try:
        return json.loads(text)
    except ValueError as e:
        raise InputError(f"{where} {path} is not valid JSON: {one_line(e, 120)}") from None


# --- outputs --------------------------------------------------------------------------------------
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")


NAME_MAX = 255                         # bytes in one path component (Linux, macOS)
TMP_EXTRA = len("..partial-") + 8      # what `_tmp_name` adds to a name (a file's also repeats its suffix)


def check_name_fits(path, flag="--out", extra=""):
    """The output's name, and the temporary name beside it that `atomic_dir` / `atomic_file` write first (`extra`:
    what else that name repeats, a file's suffix), each fit in one path component: else the command would do all
    its work and fail at the end."""
    name = Path(path).name.encode()
    most = NAME_MAX - TMP_EXTRA - len(extra.encode())
    if len(name) > most:
        text = str(path)
        shown = text if len(text) <= 160 else f"{text[:60]}...{text[-40:]}"   # the reason stays on the one line
        raise InputError(f"{flag} {shown}: the name is too long ({len(name)} bytes; at most {most}, so that the "
                         f"temporary name written beside it first fits too)")
    return path


def check_out_file(path, flag="--out", suffixes=IMAGE_SUFFIXES):
    """An output file that can be written: not a folder, a known extension, a name that fits
    (`check_name_fits`), its folder writable or creatable. Checked before any work; nothing is created."""
    p = Path(path).expanduser()
    if str(path).endswith(os.sep) or p.is_dir():
        raise InputError(f"{flag} {path} is a folder; give the file to write (e.g. {Path(path) / ('out' + (suffixes[0] if suffixes else '.png'))})")
    if suffixes and p.suffix.lower() not in suffixes:
        raise InputError(f"{flag} {path}: unknown file extension {p.suffix or '(none)'!r}; "
                         f"use one of {', '.join(suffixes)}")
    if p.exists() and not p.is_file():
        raise InputError(f"{flag} {path} exists and is not a regular file")
    check_name_fits(p, flag, p.suffix)
    _writable_parent(p.parent, flag, path)
    return p


def _writable_parent(folder, flag, path):
    parent = Path(folder)
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{flag} {path} is under a file ({parent})")
    if parent.resolve().parts[1:2] in (("proc",), ("sys",)):   # kernel interfaces, not folders
        raise InputError(f"{flag} {path} cannot be created ({parent} is a system folder)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {path} cannot be written (no permission in {parent})")


def leftover_of(name):
    """The name an `atomic_file` / `atomic_dir` temporary was written for (`.NAME.partial-1a2b3c4d[.png]`, `.NAME.old-...`),
    or None: such a file is what a write killed before its rename (SIGKILL, power loss) leaves."""
    m = re.fullmatch(r"\.(.+)\.(?:partial|old)-[0-9a-f]{8}(?:\.[^.]+)?", name)
    return m.group(1) if m else None


def owned(name, ours):
    """Whether `name` is one of `ours` (names, or prefixes ending in '*'), or a killed write's leftover of one."""
    base = leftover_of(name) or name
    return any(base == o or (o.endswith("*") and base.startswith(o[:-1])) for o in ours)


def check_replaceable(out, ours, flag="--out"):
    """An existing output folder may be replaced only when it is empty or holds only entries this
    command writes (`ours`: names or name prefixes ending in '*'); a folder of the user's own files is
    refused before any work, since the swap would remove them."""
    out = Path(out).expanduser()
    if not out.is_dir():
        return out
    foreign = sorted(p.name for p in out.iterdir() if not owned(p.name, ours))
    if foreign:
        raise InputError(f"{flag} {out} holds files this command did not write (e.g. {foreign[0]}); give a new or "
                         f"empty folder (the output replaces the whole folder when it is done)")
    return out


class StopAfterStep:
    """SIGINT and SIGTERM during a long run (a trainer): the first sets `hit`, so the run stops after its current
    step and keeps a checkpoint there, printing `said` if given; a second one raises KeyboardInterrupt (abort at
    once). A signal the process was started ignoring (`cmd &` in a script, nohup) stays ignored."""

    def __init__(self, said=None):
        self.hit, self.said = False, said

    def __call__(self, signum, frame):
        if self.hit:
            raise KeyboardInterrupt
        self.hit = True
        if self.said:
            print(self.said, file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def installed(self):
        """The handler for the block (in the main thread only: elsewhere signals cannot be caught)."""
        ours = threading.current_thread() is threading.main_thread()
        old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)} if ours else {}
        for s, handler in old.items():
            if handler is not signal.SIG_IGN:
                signal.signal(s, self)
        try:
            yield self
        finally:
            for s, handler in old.items():
                signal.signal(s, signal.SIG_DFL if handler is None else handler)


def _tmp_name(path, tag):
    return f".{path.name}.{tag}-{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def _no_interrupts():
    """SIGINT held back for the few renames that publish a result (the main thread only)."""
    main = threading.current_thread() is threading.main_thread() and hasattr(signal, "pthread_sigmask")
    if main:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if main:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def atomic_dir(out):
    """Yield a new temporary folder beside `out`; on success it becomes `out` (replacing an older one),
    on any exception (Ctrl-C included) it is deleted and `out` is left as it was."""
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / _tmp_name(out, "partial")
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    with _no_interrupts():
        old = None
        if out.exists():
            old = out.parent / _tmp_name(out, "old")
            os.rename(out, old)
        os.rename(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()


@contextlib.contextmanager
def atomic_file(path):
    """Yield a temporary path beside `path` with the same extension (so writers pick the format from
    it); on success it replaces `path`, on any exception it is deleted."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / (_tmp_name(path, "partial") + path.suffix)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if not tmp.exists():
        return
    with _no_interrupts():
        os.replace(tmp, path)


def trim_log(path, key, upto, fields):
    """A training run's CSV log, rewritten whole (`atomic_file`) with its header and the rows whose `key` column is
    a whole number <= `upto` (a missing log: the header alone). A resumed run restarts at its checkpoint, so the
    rows an interrupted run logged after it go and each step is logged once. -> path."""
    path = Path(path)
    rows = []
    if upto and path.is_file():
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if (r.get(key) or "").isdigit() and int(r[key]) <= upto]
    with atomic_file(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def publish_files(folder, out):
    """Move every file of `folder` (a finished temporary folder) into the existing folder `out`, then
    remove `folder`: for exports that add a set of files to a folder shared with other sets."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with _no_interrupts():
        names = sorted(os.listdir(folder))
        for name in names:
            os.replace(Path(folder) / name, out / name)
    shutil.rmtree(folder, ignore_errors=True)
    return [out / n for n in names]
