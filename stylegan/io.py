"""Loading and saving generators.

Formats read: official pickles (with the restricted unpickler, never executed) and our
safetensors files. Version 2 (written by `save`) holds our tensor names and our
`GeneratorConfig` as JSON metadata; version 1 (earlier releases) held the official names and
the official constructor arguments and is read through the converter. A
pickle is converted once and cached as safetensors next to nothing the user owns
(`$LATENTLAB_CACHE/converted/<sha256>.safetensors`, default `~/.cache/latentlab`), so later
loads never unpickle.
"""
import hashlib
import json
import os
import pickle
import struct
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .convert import build, from_official
from .errors import CheckpointError, UnsafeCheckpointError
from .pickles import generator_from_pickle_data
from .safe_pickle import safe_load

FORMAT = "latentlab.stylegan2"
VERSION = "2"


def cache_dir():
    return Path(os.environ.get("LATENTLAB_CACHE", Path.home() / ".cache" / "latentlab"))


def save(G, path, **extra_metadata):
    """Write G as safetensors (format version 2): state dict + config (JSON) in the header metadata."""
    meta = {"format": FORMAT, "version": VERSION, "config": json.dumps(G.config.to_dict())}
    meta.update({k: str(v) for k, v in extra_metadata.items()})
    state = {k: v.detach().contiguous().cpu() for k, v in G.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_file(state, str(tmp), metadata=meta)
    os.replace(tmp, path)  # never leave a half-written file under the final name


def read_metadata(path):
    """The safetensors header metadata of a file written by `save`."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: file is empty or truncated")
        (n,) = struct.unpack("<Q", head)
        if n > 100_000_000:
            raise CheckpointError(f"{path}: not a safetensors file (header size {n})")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise CheckpointError(f"{path}: corrupt safetensors header") from None
    return header.get("__metadata__") or {}


def _load_safetensors(path):
    meta = read_metadata(path)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: safetensors file is not a Latent Lab StyleGAN2 generator "
                              f"(format {meta.get('format')!r})")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{path}: truncated or corrupt safetensors file ({e})") from None
    # Built on the CPU, not the meta device: the first meta op imports torch's Python meta
    # registrations (~2-5 s), far more than the random init it would save.
    version = meta.get("version")
    try:
        if version == VERSION:
            return build(json.loads(meta["config"]), state, str(path))
        if version == "1":
            return from_official(state, json.loads(meta["init_kwargs"]), str(path))
    except (KeyError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: corrupt generator metadata ({type(e).__name__}: {e})") from None
    raise CheckpointError(f"{path}: unknown Latent Lab safetensors version {version!r} (this release reads 1 and 2)")


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_pickle(path):
    """Convert an official pickle (safely) without touching the cache."""
    try:
        with open(path, "rb") as f:
            data = safe_load(f)
    except UnsafeCheckpointError:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, RuntimeError, TypeError, AttributeError,
            IndexError, KeyError, struct.error, MemoryError) as e:
        raise CheckpointError(f"{path}: truncated or corrupt pickle ({type(e).__name__}: {e})") from None
    return generator_from_pickle_data(data, source=str(path))


def load(path, device=None, use_cache=True):
    """Generator from an official pickle or our safetensors file, in eval mode (no grads)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(16)
    if not head:
        raise CheckpointError(f"{path}: file is empty")
    if head[:1] == b"\x80" or head[:1] in (b"(", b"}", b"]"):  # pickle protocol 2+ or 0/1
        cached = cache_dir() / "converted" / f"{_sha256(path)}.safetensors" if use_cache else None
        if cached is not None and cached.is_file():
            try:
                G = _load_safetensors(cached)
            except CheckpointError:
                cached.unlink(missing_ok=True)  # a damaged cache entry is rebuilt, never trusted
                G = None
            if G is not None:
                return G.to(device) if device is not None else G
        G = load_pickle(path)
        if cached is not None:
            save(G, cached, source=path.name)
    elif head[:2] == b"PK":
        raise CheckpointError(f"{path}: this is a torch.save zip archive, not an official StyleGAN2 pickle or a "
                              f"Latent Lab safetensors file")
    elif len(head) >= 9 and head[8:9] == b"{":
        G = _load_safetensors(path)
    else:
        raise CheckpointError(f"{path}: not a checkpoint (expected an official .pkl or a .safetensors file)")
    return G.to(device) if device is not None else G
