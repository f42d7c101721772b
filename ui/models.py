"""The app's generators: which models a request may name, a bounded cache shared by all
sessions, and Hub downloads that never block anyone else.

A request names a model by a *choice*: a registry id, the file the operator started the app with
(`python app.py --model PATH`), or `upload` / `upload:<sha256 prefix>` for the file this session
uploaded through the model upload. Nothing else: a path written in an edit JSON or typed into a
field is refused before any file is touched.

Generators are cached by canonical path (`os.path.realpath`, so `./a/../a/g.pkl` and `g.pkl`
are one entry), least recently used out first, at most $LATENTLAB_MODEL_CACHE (4) of them; the
app's default model is pinned (never evicted). One
lock per path serialises loading the same file; the store's own lock guards only its dictionaries
and is never held while reading or downloading. A Hub model that is not cached is downloaded by a
background thread (one per model, bounded by `hubguard`); a request waits for it at most
$LATENTLAB_DOWNLOAD_WAIT s (25) and is then told it is still coming.

An uploaded .safetensors file brings its own engine presets (an adapted model carries its source's,
training.adapt): `presets(choice)` answers them for `upload:<sha256 prefix>`, as checkpoints.presets
does for a registry id or a file.
"""
import os
import threading
from collections import OrderedDict

import checkpoints
import filehash
import hubguard
import limits
import stylegan
from checkpoints import describe
from checkpoints.presets import Presets

UPLOAD = "upload"
_UPLOAD_PRESETS = OrderedDict()   # sha256 of an uploaded file -> the presets in its metadata (bounded)


class ModelChoiceError(ValueError):
    """The request names a model that is neither in the registry nor this session's upload."""


class ModelPending(RuntimeError):
    """The model is still downloading; the request should come back later."""


def canonical(path):
    return os.path.realpath(os.fspath(path))


class Download:
    """One background download of a registry model, bounded by its hubguard.Transfer. It loads
    (validates) what it downloaded, so a rejected file moves on to the model's next source here,
    in the background, not in a request."""

    def __init__(self, info, device):
        self.info, self.device, self.path, self.G, self.error = info, device, None, None, None
        self.notes = []                   # one line per source that failed before the one used
        self.transfer = hubguard.Transfer(info.id)
        self.done = threading.Event()
        threading.Thread(target=self._run, name=f"download-{info.id}", daemon=True).start()

    def _run(self):
        try:
            self.G = checkpoints.load(self.info.id, device=self.device, transfer=self.transfer, progress=False,
                                      report=self.notes.append)
            self.path = checkpoints.cached_path(self.info)
        except Exception as e:  # noqa: BLE001 - reported to every request that waits for it
            self.error = e
        finally:
            self.done.set()

    def progress(self):
        t = self.transfer
        note = f"; {self.notes[-1]}" if self.notes else ""
        if not t.received:
            return "waiting for the Hub" + note
        total = f" of {t.expected / 1e6:.1f}" if t.expected else ""
        return f"{t.received / 1e6:.1f}{total} MB{note}"


class ModelStore:
    def __init__(self, device, size=None):
        self.device = device
        self._size = size   # None: $LATENTLAB_MODEL_CACHE, read when needed (a bad value is reported at start)
        self.trusted = {}                 # choice -> canonical path: the operator's --model file
        self._cache = OrderedDict()       # canonical path -> generator
        self._lock = threading.Lock()     # guards the dicts only; never held during I/O
        self._path_locks = {}             # canonical path -> Lock held while that file loads
        self._downloads = {}              # registry id -> Download
        self._pinned = set()              # canonical paths never evicted (the app's default model)

    @property
    def size(self):
        return int(self._size or limits.setting("model_cache"))

    def trust(self, choice):
        """The operator's --model: a registry id needs nothing, a file path becomes a choice."""
        if checkpoints.looks_like_path(choice):
            self.trusted[str(choice)] = canonical(choice)

    def pin(self, choice):
        """Load a model now and keep it for good: the default model is always one image away."""
        G = self.get(choice)
        with self._lock:
            self._pinned.update(k for k, v in self._cache.items() if v is G)
        return G

    def get(self, choice, uploads=None, wait=None):
        """The generator for a choice (see the module docstring); loads it at most once at a time."""
        key, load = self._source(choice, uploads, wait)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            lock = self._path_locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            try:
                G = load()
            except BaseException:
                with self._lock:
                    self._path_locks.pop(key, None)
                raise
            with self._lock:
                self._cache[key] = G
                evictable = [k for k in self._cache if k not in self._pinned]
                while len(self._cache) > self.size and evictable:
                    old = evictable.pop(0)
                    del self._cache[old]
                    self._path_locks.pop(old, None)
            return G

    def _source(self, choice, uploads, wait):
        """(canonical path, loader) for a choice, downloading a registry model if needed."""
        choice = str(choice)
        if choice in self.trusted:
            path = self.trusted[choice]
            return path, lambda: checkpoints.load(path, device=self.device)
        if choice == UPLOAD or choice.startswith(UPLOAD + ":"):
            path = upload_path(choice, uploads)
            return path, lambda: stylegan.load(path, device=self.device, use_cache=False)   # NaN weights refused there
        if choice not in {m.id for m in checkpoints.list_models()}:
            raise ModelChoiceError(f"Model: unknown model {choice[:80]!r}; choose one from the list "
                                   f"(paths are not accepted; upload your own file instead)")
        info = checkpoints.get_info(choice)
        if info.offline or info.kind == "dcgan":
            path = checkpoints.cached_path(info)
            if path is None:
                raise FileNotFoundError(f"model {info.id!r} is not built yet: {info.local_path} is missing")
            return canonical(path), lambda: checkpoints.load(info.id, device=self.device)
        path = checkpoints.cached_path(info)
        if path is not None:
            return canonical(path), lambda: self._load_cached(path)
        d = self._await_download(info, limits.setting("download_wait") if wait is None else wait)
        G, d.G = d.G, None   # handed over to the cache; the download keeps no second reference
        return canonical(d.path), (lambda: G) if G is not None else (lambda: self._load_cached(d.path))

    def _load_cached(self, path):
        """A registry file already in the Hub cache. A bad one is removed, so the next request
        downloads again (in the background, trying the model's sources in order)."""
        try:
            return stylegan.load(path, device=self.device)
        except stylegan.CheckpointError:
            checkpoints.forget(path)
            raise

    def _await_download(self, info, wait):
        with self._lock:
            d = self._downloads.get(info.id)
            if d is None:
                d = self._downloads[info.id] = Download(info, self.device)
        if not d.done.wait(wait):
            raise ModelPending(f"{info.id} is still downloading ({d.progress()}); the download continues in the "
                               f"background: choose it again in a moment. Other models work meanwhile.")
        with self._lock:
            if self._downloads.get(info.id) is d:
                del self._downloads[info.id]   # a failure is reported once; the next request retries
        if d.error is not None:
            raise d.error
        return d


def upload_path(choice, uploads):
    """The canonical path of this session's upload named by `upload` or `upload:<sha prefix>`."""
    if not uploads or not uploads.get("path"):
        raise ModelChoiceError("Model: no model was uploaded in this session; upload a .pkl or .safetensors first")
    want = choice.split(":", 1)[1] if ":" in choice else None
    if want is not None and not uploads["sha256"].startswith(want.lower()):
        raise ModelChoiceError(f"Model: this edit needs the uploaded model {want[:16]!r}; upload that file first "
                               f"(this session's upload is {uploads['sha256'][:12]})")
    return uploads["path"]


def register_upload(path, gradio_root, max_bytes=None):
    """Validate a file Gradio saved for this session's model upload -> the session's `uploads` dict.
    Only files inside Gradio's upload folder are accepted, by canonical path."""
    if not path:
        raise ModelChoiceError("Model upload: choose a .pkl or .safetensors file")
    real = canonical(path)
    if os.path.commonpath([real, canonical(gradio_root)]) != canonical(gradio_root) or not os.path.isfile(real):
        raise ModelChoiceError("Model upload: only a file uploaded through this field can be used")
    if os.path.splitext(real)[1].lower() not in (".pkl", ".safetensors"):
        raise ModelChoiceError("Model upload: the file must be an official .pkl or a Latent Lab .safetensors")
    limits.check_size("model_upload_bytes", os.path.getsize(real), "Model upload: the file")
    sha = filehash.sha256(real)
    _UPLOAD_PRESETS[sha] = checkpoints.presets(real)   # by content: a bundled model's bytes take its presets
    while len(_UPLOAD_PRESETS) > 256:
        _UPLOAD_PRESETS.popitem(last=False)
    return dict(path=real, sha256=sha, name=os.path.basename(real))


def presets(choice):
    """checkpoints.presets for a choice; for `upload:<sha256 prefix>`, the presets the uploaded file
    carries (empty: every engine's defaults, for a file that carries none)."""
    choice = str(choice)
    if choice.startswith(UPLOAD + ":") and len(choice) > len(UPLOAD) + 1:
        want = choice.split(":", 1)[1].lower()
        for sha, found in reversed(_UPLOAD_PRESETS.items()):
            if sha.startswith(want):
                return Presets({k: dict(v) for k, v in found.items()})
        return Presets()
    return checkpoints.presets(choice)


def choices(default=None):
    """The model dropdown: (label with shape, licence and cached state, choice) for every registry
    model, the operator's --model file if it is one (labelled by its file name: a label never shows
    a server path), and this session's upload."""
    models = checkpoints.list_models()
    out = [] if default is None or default in {m.id for m in models} else [
        (f"{os.path.basename(str(default))} (the file the app was started with)", default)]
    out += [(describe.choice_label(m), m.id) for m in models]
    return out + [("Your uploaded model (see 'Your own model' below)", UPLOAD)]


def card(model):
    """Markdown about the chosen model: shape, where it comes from (and whether it is cached), licence."""
    choice = str(model or "")
    if choice == UPLOAD or choice.startswith(UPLOAD + ":"):
        return "Your uploaded model: used in this session only; its shape is read from the file."
    if choice not in {m.id for m in checkpoints.list_models()}:
        adapted = _adapted_card(choice)
        return adapted or f"The file the app was started with ({os.path.basename(choice)})."
    return describe.card(checkpoints.get_info(choice))


def _adapted_card(path):
    """One line about an adapted model file (training.adapt's card in its metadata), else None."""
    import json
    try:
        card = json.loads(stylegan.read_metadata(path).get("adapted") or "null")
    except (OSError, ValueError):
        return None
    if not isinstance(card, dict):
        return None
    return (f"An adapted model ({os.path.basename(path)}): {card.get('from_model')} fine-tuned on {card.get('shots')} "
            f"pictures for {card.get('steps')} steps; drags use its source's presets.")
