"""The model registry: which generators the lab knows, where they come from, and loading them.

Every entry has an id, a display name, resolution, category, kind ('stylegan' or 'dcgan'),
the FreeDrag preset (l, d) for its category, and either a file shipped in this repository
(the offline models) or a Hugging Face Hub repo_id + filename (the DragGAN model zoo).
Downloads go only through `huggingface_hub.hf_hub_download` (its cache, resume, progress
bars, token and HF_HUB_OFFLINE); the Hub endpoint is read from HF_ENDPOINT at call time.
`hubguard` bounds every download: a dead or hanging Hub is reported within
$LATENTLAB_HUB_TIMEOUT s (15), a transfer slower than the floor is abandoned (see limits.py).
A downloaded pickle is validated by loading it (safely: `stylegan.load`); a file that fails
is removed from the Hub cache so no corrupt entry survives.

Users override or add entries with a JSON file named by $LATENTLAB_MODELS:
    {"faces-ffhq-512": {"repo_id": "me/my-mirror", "filename": "ffhq.pkl"},
     "my-model": {"display_name": "Mine", "repo_id": "me/x", "filename": "g.pkl", "resolution": 256,
                  "category": "faces"}}

    python -m checkpoints              # list models and whether they are cached
    python -m checkpoints fetch ID     # download (and convert) one
"""
import json
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_MODEL = "faces-64-offline"

# The DragGAN zoo as hosted on the Hub by the public "DragGan/DragGan" Space, which downloads
# the repository DragGan/DragGan-Models (snapshot_download in its app.py). File names follow
# DragGAN's own scripts/download_model.sh. Not reachable from this workplace: override with
# $LATENTLAB_MODELS if a file moves.
ZOO_REPO = "DragGan/DragGan-Models"


@dataclass(frozen=True)
class ModelInfo:
    id: str
    display_name: str
    resolution: int
    category: str
    kind: str = "stylegan"           # 'stylegan' (W / W+) or 'dcgan' (Z only)
    freedrag_l: float = 0.3
    freedrag_d: float = 3.0
    repo_id: str | None = None       # Hub models
    filename: str | None = None
    local_path: str | None = None    # models shipped in this repository (relative to it)
    licence: str = ""
    notes: str = field(default="", compare=False)

    @property
    def offline(self):
        return self.local_path is not None


class UnknownModelError(ValueError):
    pass


class HubUnavailableError(RuntimeError):
    pass


def _preset(category):
    # FreeDrag presets (l, d): large animals need a larger expected loss and step.
    return (0.4, 4.0) if category in ("elephants", "lions", "dogs", "giraffes") else (0.3, 3.0)


def _zoo(id, name, res, category, filename, licence):
    l, d = _preset(category)
    return ModelInfo(id, name, res, category, freedrag_l=l, freedrag_d=d, repo_id=ZOO_REPO, filename=filename,
                     licence=licence)


NVIDIA = "NVIDIA Source Code License (non-commercial)"
SELF_DISTILLED = "Self-Distilled StyleGAN (Mokady et al.), research use"
DEFAULTS = [
    ModelInfo(DEFAULT_MODEL, "Faces 64px (bundled, offline)", 64, "faces", local_path="stylegan/pretrained/faces64.safetensors",
              licence="MIT (distilled from gan-face-generate)"),
    ModelInfo("dcgan-faces-64", "DCGAN faces 64px (bundled, offline, Z space)", 64, "faces", kind="dcgan",
              local_path="dcgan/pretrained/dcgan_faces_64.safetensors", licence="MIT (gan-face-generate)"),
    _zoo("faces-ffhq-512", "Faces (FFHQ 512)", 512, "faces", "stylegan2-ffhq-512x512.pkl", NVIDIA),
    _zoo("cats-afhq-512", "Cats (AFHQ 512)", 512, "cats", "stylegan2-afhqcat-512x512.pkl", NVIDIA),
    _zoo("dogs-1024", "Dogs (self-distilled 1024)", 1024, "dogs", "stylegan2_dogs_1024_pytorch.pkl", SELF_DISTILLED),
    _zoo("horses-256", "Horses (self-distilled 256)", 256, "horses", "stylegan2_horses_256_pytorch.pkl", SELF_DISTILLED),
    _zoo("lions-512", "Lions (self-distilled 512)", 512, "lions", "stylegan2_lions_512_pytorch.pkl", SELF_DISTILLED),
    _zoo("elephants-512", "Elephants (self-distilled 512)", 512, "elephants", "stylegan2_elephants_512_pytorch.pkl",
         SELF_DISTILLED),
    _zoo("cars-512", "Cars (LSUN config-f, TensorFlow)", 512, "cars", "stylegan2-car-config-f.pkl", NVIDIA),
    _zoo("cats-256", "Cats (LSUN config-f 256, TensorFlow)", 256, "cats", "stylegan2-cat-config-f.pkl", NVIDIA),
]
_FIELDS = {"display_name": str, "resolution": int, "category": str, "kind": str, "freedrag_l": (int, float),
           "freedrag_d": (int, float), "repo_id": str, "filename": str, "local_path": str, "licence": str}


def _overrides():
    path = os.environ.get("LATENTLAB_MODELS")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"LATENTLAB_MODELS points at {path}, which does not exist") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"LATENTLAB_MODELS file {path} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"LATENTLAB_MODELS file {path} must hold an object of id -> fields")
    for mid, fields in data.items():
        if not isinstance(fields, dict):
            raise ValueError(f"LATENTLAB_MODELS: entry {mid!r} must be an object")
        for k, v in fields.items():
            if k not in _FIELDS:
                raise ValueError(f"LATENTLAB_MODELS: entry {mid!r} has unknown field {k!r} (known: {sorted(_FIELDS)})")
            if not isinstance(v, _FIELDS[k]) or isinstance(v, bool):
                raise ValueError(f"LATENTLAB_MODELS: entry {mid!r} field {k!r} has the wrong type")
        if fields.get("kind", "stylegan") not in ("stylegan", "dcgan"):
            raise ValueError(f"LATENTLAB_MODELS: entry {mid!r} kind must be 'stylegan' or 'dcgan'")
    return data


def list_models():
    models = {m.id: m for m in DEFAULTS}
    for mid, fields in _overrides().items():
        if mid in models:
            models[mid] = replace(models[mid], **fields)
        else:
            missing = {"display_name", "resolution", "category"} - set(fields)
            if missing or not (("repo_id" in fields and "filename" in fields) or "local_path" in fields):
                raise ValueError(f"LATENTLAB_MODELS: new entry {mid!r} needs display_name, resolution, category and "
                                 f"either repo_id + filename or local_path")
            l, d = _preset(fields["category"])
            models[mid] = ModelInfo(mid, **{"freedrag_l": l, "freedrag_d": d, **fields})
    return list(models.values())


def get_info(model_id):
    for m in list_models():
        if m.id == model_id:
            return m
    raise UnknownModelError(f"unknown model {model_id!r}; known models: {', '.join(m.id for m in list_models())}")


def _endpoint():
    return os.environ.get("HF_ENDPOINT") or None


def _hub_cache():
    # read at call time (huggingface_hub reads its env once at import)
    return os.environ.get("HF_HUB_CACHE") or None


def cached_path(info):
    """Local path if the model needs no download, else None."""
    if info.offline:
        p = ROOT / info.local_path
        return p if p.is_file() else None
    from huggingface_hub import try_to_load_from_cache
    p = try_to_load_from_cache(info.repo_id, info.filename, cache_dir=_hub_cache())
    return Path(p) if isinstance(p, str) else None


def is_cached(model_id):
    return cached_path(get_info(model_id)) is not None


def _forget(path):
    """Remove a rejected download from the Hub cache: the snapshot link and the blob it points to."""
    path = Path(path)
    blob = path.resolve()
    path.unlink(missing_ok=True)
    if blob != path:
        blob.unlink(missing_ok=True)


def _probe_hub(info, timeout=3.0):
    """Fail in seconds, not after hf_hub_download's retries, when nothing listens at the endpoint."""
    import socket
    from urllib.parse import urlparse
    import limits
    timeout = min(timeout, limits.setting("hub_timeout"))
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return  # hf_hub_download itself reports offline mode
    url = urlparse(_endpoint() or "https://huggingface.co")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError as e:
        raise HubUnavailableError(f"cannot download model {info.id!r} ({info.display_name}): the Hugging Face Hub "
                                  f"({url.hostname}) cannot be reached ({e}). "
                                  f"The offline model {DEFAULT_MODEL!r} works with no download.") from None


def looks_like_path(text):
    """A path rather than a registry id: registry ids have no folders and no checkpoint suffix."""
    text = str(text)
    return "/" in text or os.sep in text or text.startswith(("~", ".")) or Path(text).suffix in _SUFFIXES


_SUFFIXES = (".pkl", ".safetensors", ".pt")


def resolve(id_or_path, progress=True, transfer=None):
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
    cached = cached_path(info)
    if cached is not None:  # released checkpoints never change: a cache hit needs no network at all
        return cached
    _probe_hub(info)
    import hubguard
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars
    (enable_progress_bars if progress else disable_progress_bars)()
    try:
        with hubguard.guarded(transfer or hubguard.Transfer(info.id)):
            return Path(hf_hub_download(info.repo_id, info.filename, endpoint=_endpoint(), cache_dir=_hub_cache()))
    except Exception as e:  # any network / HTTP / offline-mode failure becomes one clear message
        from huggingface_hub import errors as hf_errors
        status = getattr(getattr(e, "response", None), "status_code", None)
        cause = e if isinstance(e, hubguard.HubTimeout) else e.__cause__ or e.__context__
        if isinstance(cause, hubguard.HubTimeout):
            why = str(cause) + ("; the partial file was removed" if "stalled" in str(cause) else "")
        elif isinstance(e, hf_errors.LocalEntryNotFoundError):  # no connection and nothing cached
            why = f"the Hugging Face Hub could not be reached and the file is not cached"
        elif isinstance(e, (hf_errors.RemoteEntryNotFoundError, hf_errors.RepositoryNotFoundError)) or status == 404:
            why = f"{info.repo_id}/{info.filename} was not found on the Hub"
        elif isinstance(e, hf_errors.HfHubHTTPError) and status is not None:
            why = f"the Hub answered HTTP {status}"
        else:
            why = f"the Hugging Face Hub could not be reached ({type(e).__name__})"
        raise HubUnavailableError(f"cannot download model {info.id!r} ({info.display_name}): {why}. "
                                  f"The offline model {DEFAULT_MODEL!r} works with no download.") from e


def load(id_or_path, device=None):
    """A ready generator: stylegan.Generator for 'stylegan' entries and files, the DCGAN for 'dcgan'."""
    import stylegan
    path = resolve(id_or_path)
    kind = "stylegan"
    if not Path(str(id_or_path)).is_file():
        kind = get_info(str(id_or_path)).kind
    if kind == "dcgan":
        import dcgan
        return dcgan.load_pretrained(device=device)
    try:
        return stylegan.load(path, device=device)
    except stylegan.CheckpointError:  # UnsafeCheckpointError is one kind
        if not Path(str(id_or_path)).is_file() and not get_info(str(id_or_path)).offline:
            _forget(path)  # a truncated/corrupt download must not stay in the Hub cache
        raise


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(prog="python -m checkpoints", description="List and fetch Latent Lab models.")
    sub = ap.add_subparsers(dest="cmd")
    sub.add_parser("list")
    f = sub.add_parser("fetch")
    f.add_argument("id")
    args = ap.parse_args(argv)
    import stylegan
    from huggingface_hub.utils import logging as hf_logging
    hf_logging.set_verbosity_error()  # its retry warnings would add stderr lines to our one-line errors
    try:
        if args.cmd == "fetch":
            G = load(args.id)
            print(f"{args.id}: ready ({G.img_resolution}px)")
            return 0
        rows = [(m.id, m.display_name, f"{m.resolution}px", m.kind, f"l={m.freedrag_l} d={m.freedrag_d}",
                 "cached" if cached_path(m) else ("not built" if m.offline else "not downloaded")) for m in list_models()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
        return 0
    except (UnknownModelError, HubUnavailableError, stylegan.CheckpointError, OSError, ValueError) as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2


def _one_line(e):
    return " ".join(str(e).split())


if __name__ == "__main__":
    sys.exit(main())
