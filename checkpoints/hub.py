"""Getting a registry model onto this machine: its sources tried in order, every failure said in
one line, nothing corrupt left in the cache.

Downloads go only through `huggingface_hub.hf_hub_download` (its cache, resume, progress bars,
token and HF_HUB_OFFLINE); the endpoint is read from HF_ENDPOINT at call time. A cached copy of
any source is used with no network at all. Otherwise the sources are tried in order, all under one
`hubguard.Transfer`, so a dead or hanging Hub is reported within $LATENTLAB_HUB_TIMEOUT s however
many sources there are. What moves on to the next source: the file or repo is not there (404, a
renamed file), the repo needs a token (gated or private), the Hub refuses the request, or the
downloaded file is not a loadable generator. What stops at once: the Hub itself cannot be reached,
hangs or stalls (the next source is on the same Hub). Each move is reported through `report` as
one line naming the model, the source tried and the next one.
"""
import logging
import os
from pathlib import Path

from .registry import DEFAULT_MODEL, ROOT, get_info, list_models

_SUFFIXES = (".pkl", ".safetensors", ".pt")
log = logging.getLogger("latentlab.checkpoints")


class HubUnavailableError(RuntimeError):
    pass


def _endpoint():
    return os.environ.get("HF_ENDPOINT") or None


def _hub_cache():
    # read at call time (huggingface_hub reads its env once at import)
    return os.environ.get("HF_HUB_CACHE") or None


def _offline_mode():
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def _note(report, text):
    (report or log.warning)(text)


def cached_source(info, exclude=()):
    """(path, source) of the first source already in the Hub cache, else (None, None)."""
    from huggingface_hub import try_to_load_from_cache
    for src in (s for s in info.sources if s not in exclude):
        p = try_to_load_from_cache(src.repo_id, src.filename, cache_dir=_hub_cache(), revision=src.revision)
        if isinstance(p, str):
            return Path(p), src
    return None, None


def cached_path(info):
    """Local path if the model needs no download, else None."""
    if info.offline:
        p = ROOT / info.local_path
        return p if p.is_file() else None
    return cached_source(info)[0]


def is_cached(model_id):
    return cached_path(get_info(model_id)) is not None


def forget(path):
    """Remove a rejected download from the Hub cache: the snapshot link and the blob it points to."""
    path = Path(path)
    blob = path.resolve()
    path.unlink(missing_ok=True)
    if blob != path:
        blob.unlink(missing_ok=True)


def probe_hub(what, timeout=3.0, hint=True):
    """Fail in seconds, not after huggingface_hub's retries, when nothing listens at the endpoint."""
    import socket
    from urllib.parse import urlparse
    import limits
    timeout = min(timeout, limits.setting("hub_timeout"))
    tail = f". The offline model {DEFAULT_MODEL!r} works with no download." if hint else ""
    if _offline_mode():
        raise HubUnavailableError(f"{what}: HF_HUB_OFFLINE is set" + (" and the file is not cached" if hint else "")
                                  + tail)
    url = urlparse(_endpoint() or "https://huggingface.co")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError as e:
        raise HubUnavailableError(f"{what}: the Hugging Face Hub ({url.hostname}) cannot be reached ({e})"
                                  + tail) from None


def classify(e, src):
    """(hub_level, reason) for a failed Hub call on `src`: hub_level = the Hub itself failed (no point
    trying another source on it)."""
    import hubguard
    from huggingface_hub import errors as hf
    cause = e if isinstance(e, hubguard.HubTimeout) else (e.__cause__ or e.__context__)
    status = getattr(getattr(e, "response", None), "status_code", None)
    if isinstance(cause, hubguard.HubTimeout):
        return True, str(cause) + ("; the partial file was removed" if "stalled" in str(cause) else "")
    if isinstance(e, hf.GatedRepoError):
        return False, f"{src.repo_id} is gated: it needs a token (accept its terms on the Hub, then set HF_TOKEN)"
    if isinstance(e, hf.RepositoryNotFoundError):
        return False, (f"{src.repo_id} needs a token or does not exist (HTTP {status}; set HF_TOKEN if it is private)"
                       if status == 401 else f"repository {src.repo_id} was not found on the Hub")
    if isinstance(e, hf.RevisionNotFoundError):
        return False, f"revision {src.revision} of {src.repo_id} was not found"
    if isinstance(e, hf.RemoteEntryNotFoundError) or status == 404:
        return False, f"{src.filename} was not found in {src.repo_id} (renamed or removed?)"
    if isinstance(e, hf.HfHubHTTPError) and status in (401, 403):
        return False, f"{src.repo_id} refused access (HTTP {status}): it needs a token with access (HF_TOKEN)"
    if isinstance(e, hf.HfHubHTTPError) and status is not None:
        return False, f"the Hub answered HTTP {status} for {src}"
    if isinstance(e, hf.LocalEntryNotFoundError):  # no connection and nothing cached
        return True, ("HF_HUB_OFFLINE is set and the file is not cached" if _offline_mode() else
                      "the Hugging Face Hub could not be reached and the file is not cached")
    return True, f"the Hugging Face Hub could not be reached ({type(e).__name__})"


def _download(src):
    from huggingface_hub import hf_hub_download
    return Path(hf_hub_download(src.repo_id, src.filename, revision=src.revision, endpoint=_endpoint(),
                                cache_dir=_hub_cache()))


def _failure(info, failures, hub_reason=None):
    where = "; ".join(f"{s}: {why}" for s, why in failures)
    n = len(info.sources)
    head = f"cannot download model {info.id!r} ({info.display_name})"
    if hub_reason:
        text = f"{head}: {hub_reason}" + (f" (earlier: {where})" if failures else "")
    elif n == 1:
        text = f"{head}: {failures[0][1]}"
    else:
        text = f"{head} from any of its {n} sources: {where}"
    return HubUnavailableError(f"{text}. The offline model {DEFAULT_MODEL!r} works with no download.")


def fetch(info, transfer=None, report=None, progress=True, exclude=(), earlier=()):
    """(path, source): the first cached source, else the first of `info.sources` (minus `exclude`)
    that downloads. Raises HubUnavailableError naming every source tried."""
    path, src = cached_source(info, exclude)
    if path is not None:  # released checkpoints never change: no network needed
        return path, src
    todo = [s for s in info.sources if s not in exclude]
    failures = list(earlier)
    if not todo:
        raise _failure(info, failures)
    probe_hub(f"cannot download model {info.id!r} ({info.display_name})")
    import hubguard
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars
    (enable_progress_bars if progress else disable_progress_bars)()
    transfer = transfer or hubguard.Transfer(info.id)
    for i, src in enumerate(todo):
        try:
            with hubguard.guarded(transfer):
                return _download(src), src
        except Exception as e:  # noqa: BLE001 - every network / HTTP / offline failure becomes one line
            hub_level, why = classify(e, src)
            if hub_level:
                raise _failure(info, failures, why) from e
            failures.append((src, why))
            if i + 1 < len(todo):
                _note(report, f"{info.id}: {src}: {why}; trying {todo[i + 1]} next")
    raise _failure(info, failures)


def looks_like_path(text):
    """A path rather than a registry id: registry ids have no folders and no checkpoint suffix."""
    text = str(text)
    return "/" in text or os.sep in text or text.startswith(("~", ".")) or Path(text).suffix in _SUFFIXES


def resolve(id_or_path, progress=True, transfer=None, report=None):
    """Local file for a registry id (downloading it if needed) or an existing file path.
    `transfer` (a hubguard.Transfer) bounds the download and reports its progress."""
    p = Path(str(id_or_path)).expanduser()
    if p.suffix in _SUFFIXES and p.is_file():
        return p
    if str(id_or_path) not in {m.id for m in list_models()} and looks_like_path(id_or_path):
        raise FileNotFoundError(f"no such file: {id_or_path}" if not p.exists() else
                                f"{id_or_path} is not a checkpoint file (expected {', '.join(_SUFFIXES)})")
    info = get_info(str(id_or_path))
    if info.offline:
        path = ROOT / info.local_path
        if not path.is_file():
            raise FileNotFoundError(f"model {info.id!r} is not built yet: {info.local_path} is missing from this checkout")
        return path
    return fetch(info, transfer, report, progress)[0]


def load(id_or_path, device=None, transfer=None, report=None, progress=True):
    """A ready generator: stylegan.Generator for 'stylegan' entries and files, the DCGAN for 'dcgan'.
    A registry model whose downloaded file is not a loadable generator (truncated, corrupt, unsafe)
    has that file removed from the cache and its next source tried."""
    import stylegan
    key, info = str(id_or_path), None
    if not Path(key).expanduser().is_file() and key in {m.id for m in list_models()}:
        info = get_info(key)
    if info is None or info.offline or info.kind == "dcgan":
        path = resolve(id_or_path, progress=progress, transfer=transfer, report=report)
        if info is not None and info.kind == "dcgan":
            import dcgan
            return dcgan.load_pretrained(device=device, path=path)   # the entry's file, override or not
        return stylegan.load(path, device=device)
    rejected, failures = [], []
    path, src = fetch(info, transfer, report, progress)
    while True:
        try:
            G = stylegan.load(path, device=device)
        except stylegan.CheckpointError as e:  # UnsafeCheckpointError is one kind
            forget(path)  # a truncated/corrupt/unsafe download must not stay in the Hub cache
            rejected.append(src)
            failures.append((src, " ".join(str(e).split())))
            rest = [s for s in info.sources if s not in rejected]
            if not rest:
                if len(failures) == 1:
                    raise
                raise type(e)(f"model {info.id!r}: no source gave a loadable file: "
                              + "; ".join(f"{s}: {why}" for s, why in failures)) from e
            _note(report, f"{info.id}: {src}: the file was rejected ({failures[-1][1]}); trying {rest[0]} next")
            if transfer is not None:
                transfer.restart()
            path, src = fetch(info, transfer, report, progress, exclude=rejected, earlier=failures)
            continue
        _check_shape(info, G, src, report)
        return G


def _check_shape(info, G, src, report):
    shape = tuple(getattr(G, "img_shape", (G.img_resolution, G.img_resolution)))
    if shape != info.shape:
        _note(report, f"{info.id}: {src} makes {shape[0]}x{shape[1]} (HxW) images, the registry says "
                      f"{info.shape_text}; the file's shape is used")
