"""Loading and saving generators.

Formats read: official pickles (with the restricted unpickler, never executed) and our
safetensors files. Version 2 (written by `save`) holds our tensor names and our
`GeneratorConfig` as JSON metadata; version 1 (earlier releases) held the official names and
the official constructor arguments and is read through the converter. A
pickle is converted once and cached as safetensors next to nothing the user owns
(`$LATENTLAB_CACHE/converted/<sha256>.safetensors`, default `~/.cache/latentlab`), so later
loads never unpickle.

Before any network is built, the constructor arguments a file asks for are checked against
`LIMITS` (`check_generator_args`): a few hundred bytes of metadata must not make us allocate
gigabytes. The limits are far above every official StyleGAN2 model (<= 1024 px, 512 channels,
8 mapping layers, ~30 M parameters).
"""
import json
import math
import os
import pickle
import struct
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

import filehash

from .convert import build, from_official
from .errors import CheckpointError, UnsafeCheckpointError
from .config import GeneratorConfig
from .pickles import generator_from_pickle_data
from .safe_pickle import PersistentRecord, TFNetworkRecord, safe_load

FORMAT = "latentlab.stylegan2"
VERSION = "2"
MAX_HEADER_BYTES = 16_000_000   # a 1024 px generator's safetensors header is ~40 KB
LIMITS = dict(dim=1024, img_channels=4, resolution=2048, channels=1024, mapping_layers=16, kernel_size=7,
              params=100_000_000, list_len=16, int_max=1 << 20, depth=6)


def _scan(x, source, depth=0):
    """Generic bounds on any constructor argument: small containers, bounded numbers, short strings."""
    if depth > LIMITS["depth"]:
        raise CheckpointError(f"{source}: generator arguments are nested too deeply")
    if isinstance(x, dict):
        if len(x) > 64:
            raise CheckpointError(f"{source}: generator arguments hold a dict of {len(x)} entries")
        for k, v in x.items():
            _scan(k, source, depth + 1), _scan(v, source, depth + 1)
    elif isinstance(x, (list, tuple)):
        if len(x) > LIMITS["list_len"]:
            raise CheckpointError(f"{source}: generator argument list of {len(x)} items (at most {LIMITS['list_len']})")
        for v in x:
            _scan(v, source, depth + 1)
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        if not abs(x) <= LIMITS["int_max"]:
            raise CheckpointError(f"{source}: generator argument {x!r} is out of range")
    elif isinstance(x, str) and len(x) > 64:
        raise CheckpointError(f"{source}: generator argument string of {len(x)} characters")


def _int_arg(kwargs, name, lo, hi, source, default=None):
    v = kwargs.get(name, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise CheckpointError(f"{source}: {name} must be an integer in [{lo}, {hi}], got {v!r}")
    return v


def check_generator_args(kwargs, source, stored_params=None):
    """Refuse generator arguments beyond LIMITS, before anything is allocated. Returns a lower
    bound of the parameter count they imply; with `stored_params` (what the file holds), a file
    whose metadata asks for far more weights than it stores is refused too."""
    if not isinstance(kwargs, dict):
        raise CheckpointError(f"{source}: generator arguments must be a dict, got {type(kwargs).__name__}")
    _scan(kwargs, source)
    dim, L = LIMITS["dim"], LIMITS
    z, c, w = (_int_arg(kwargs, n, lo, dim, source) for n, lo in (("z_dim", 0), ("c_dim", 0), ("w_dim", 1)))
    res = _int_arg(kwargs, "img_resolution", 4, L["resolution"], source)
    img_ch = _int_arg(kwargs, "img_channels", 1, L["img_channels"], source)
    if res & (res - 1):
        raise CheckpointError(f"{source}: img_resolution must be a power of two, got {res}")
    m = kwargs.get("mapping_kwargs") or {}
    s = {**(kwargs.get("synthesis_kwargs") or {}), **{k: v for k, v in kwargs.items() if k not in _TOP_ARGS}}
    if not isinstance(m, dict) or not isinstance(s, dict):
        raise CheckpointError(f"{source}: mapping_kwargs and synthesis_kwargs must be dicts")
    n_map = _int_arg(m, "num_layers", 1, L["mapping_layers"], source, default=8)
    feat = _int_arg(m, "layer_features", 1, dim, source, default=w) if m.get("layer_features") is not None else w
    emb = 0 if c == 0 else (_int_arg(m, "embed_features", 1, dim, source) if m.get("embed_features") else w)
    k = _int_arg(s, "kernel_size", 1, L["kernel_size"], source, default=3)
    resolutions = [2 ** i for i in range(2, res.bit_length())]
    channels = s.get("channels")
    if channels is None:
        base = _int_arg(s, "channel_base", 1, L["int_max"], source, default=32768)
        top = _int_arg(s, "channel_max", 1, L["channels"], source, default=512)
        channels = {r: min(base // r, top) for r in resolutions}
    try:
        channels = {int(r): channels[r] if r in channels else channels[str(r)] for r in resolutions}
    except (TypeError, KeyError, AttributeError):
        raise CheckpointError(f"{source}: synthesis channels must give a width for every resolution") from None
    for r, ch in channels.items():
        _int_arg({f"channels[{r}]": ch}, f"channels[{r}]", 1, L["channels"], source)
    # a lower bound of the parameter and buffer count (weights only, no biases or affines)
    n = c * emb + (z + emb) * feat + max(n_map - 2, 0) * feat * feat + feat * w
    for r in resolutions:
        cin, cout = (channels[r // 2] if r > 4 else 0), channels[r]
        n += k * k * cin * cout + k * k * cout * cout + cout * img_ch + (16 * cout if r == 4 else 0) + 2 * r * r
    if n > L["params"]:
        raise CheckpointError(f"{source}: the generator would have more than {n:,} parameters "
                              f"(at most {L['params']:,} are accepted)")
    if stored_params is not None and n > 2 * stored_params + 100_000:
        raise CheckpointError(f"{source}: the metadata asks for a generator of at least {n:,} parameters but the file "
                              f"stores only {stored_params:,}")
    return n


_TOP_ARGS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "synthesis_kwargs")


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


def _read_header(path):
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: file is empty or truncated")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER_BYTES:
            raise CheckpointError(f"{path}: not a safetensors file (header size {n})")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise CheckpointError(f"{path}: corrupt safetensors header") from None
    if not isinstance(header, dict) or not isinstance(header.get("__metadata__") or {}, dict):
        raise CheckpointError(f"{path}: corrupt safetensors header")
    return header


def _data_bytes(path):
    """Bytes after a safetensors file's header: what its tensors can hold."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
    return os.path.getsize(path) - 8 - n


def read_metadata(path):
    """The safetensors header metadata of a file written by `save`."""
    return _read_header(path).get("__metadata__") or {}


_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
                "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1}


def _stored_params(header, path, data_bytes=None):
    """Weights the file really stores, counted by its bytes: each tensor's byte range must hold exactly
    its shape, the ranges may not overlap (two names for the same bytes) and must lie in the file."""
    spans = []
    try:
        for k, v in header.items():
            if k == "__metadata__":
                continue
            n = math.prod(int(d) for d in v["shape"])
            begin, end = (int(x) for x in v["data_offsets"])
            size = _DTYPE_BYTES[v["dtype"]]
            if n < 0 or begin < 0 or end - begin != n * size:
                raise CheckpointError(f"{path}: tensor {k!r} claims {n:,} values of {v['dtype']} but the file "
                                      f"stores {max(end - begin, 0):,} bytes for it")
            spans.append((begin, end, n))
    except (TypeError, KeyError, ValueError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{path}: corrupt safetensors header (tensor shapes)") from None
    spans.sort()
    for (b0, e0, _), (b1, e1, _) in zip(spans, spans[1:]):
        if b1 < e0:
            raise CheckpointError(f"{path}: two tensors share the same bytes (overlapping data offsets)")
    if data_bytes is not None and spans and spans[-1][1] > data_bytes:
        raise CheckpointError(f"{path}: truncated or corrupt: the header claims {spans[-1][1]:,} bytes of "
                              f"weights, the file stores {data_bytes:,}")
    return sum(n for _, _, n in spans)


def _load_safetensors(path):
    header = _read_header(path)
    meta = header.get("__metadata__") or {}
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: safetensors file is not a Latent Lab StyleGAN2 generator "
                              f"(format {meta.get('format')!r})")
    version = meta.get("version")
    if version not in ("1", VERSION):
        raise CheckpointError(f"{path}: unknown Latent Lab safetensors version {version!r} (this release reads 1 and 2)")
    key = "config" if version == VERSION else "init_kwargs"
    try:
        args = json.loads(meta[key])
    except (KeyError, TypeError, json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{path}: the generator arguments in the metadata are missing or corrupt") from None
    stored = _stored_params(header, path, _data_bytes(path))
    if version == VERSION:
        check_generator_args(_official_view(args, path), path, stored)
    else:
        check_generator_args(args, path, stored)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{path}: truncated or corrupt safetensors file ({e})") from None
    # Built on the CPU, not the meta device: the first meta op imports torch's Python meta
    # registrations (~2-5 s), far more than the random init it would save.
    if version == VERSION:
        return build(args, state, str(path))
    return from_official(state, args, str(path))


def _official_view(cfg, source):
    """Our config (version 2 metadata) in the official layout `check_generator_args` bounds."""
    _scan(cfg, source)
    if not isinstance(cfg, dict):
        raise CheckpointError(f"{source}: generator config must be a dict, got {type(cfg).__name__}")
    try:
        c = GeneratorConfig.from_dict(cfg)  # cheap: sizes only, nothing allocated
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{source}: unsupported generator configuration ({e})") from None
    if c.width > LIMITS["resolution"]:
        raise CheckpointError(f"{source}: width must be at most {LIMITS['resolution']}, got {c.width}")
    mapping = {k: v for k, v in (("num_layers", c.mapping_layers), ("layer_features", c.mapping_width),
                                 ("embed_features", c.embed_dim)) if v is not None}
    return dict(z_dim=c.z_dim, c_dim=c.c_dim, w_dim=c.w_dim, img_resolution=c.resolution,
                img_channels=c.img_channels, mapping_kwargs=mapping,
                synthesis_kwargs=dict(channels={str(r): ch for r, ch in zip(c.resolutions, c.channels)}))


def _dense(t):
    """A tensor whose elements occupy distinct memory (no stride 0, no dimension stepping over another)."""
    dims = sorted((st, sz) for st, sz in zip(t.stride(), t.shape) if sz > 1)
    span = 1
    for st, sz in dims:
        if st < span:
            return False
        span = st * sz
    return True


def _record_tensors(record, depth=0):
    """Every tensor of a persistence record tree (parameters and buffers)."""
    if depth > 32:
        raise CheckpointError("network records are nested too deeply")
    state = record.state
    for g in ("_parameters", "_buffers"):
        yield from (t for t in (state.get(g) or {}).values() if isinstance(t, torch.Tensor))
    for m in (state.get("_modules") or {}).values():
        if isinstance(m, PersistentRecord):
            yield from _record_tensors(m, depth + 1)


def _record_params(record, source="checkpoint"):
    """Tensor elements a persistence record tree really stores, counted by the bytes of its storages:
    a tensor that is a stride-0 or overlapping view, or tensors that share bytes (so they claim more
    weights than the file holds), are refused."""
    claimed, storages = 0, {}
    for t in _record_tensors(record):
        if not _dense(t):
            raise CheckpointError(f"{source}: a tensor of shape {list(t.shape)} is a view that repeats its bytes "
                                  f"(stride {list(t.stride())}): refused, the file does not store those weights")
        st = t.untyped_storage()
        storages[st.data_ptr()] = max(storages.get(st.data_ptr(), 0), st.nbytes())
        claimed += t.numel() * t.element_size()
    stored = sum(storages.values())
    if claimed > stored:
        raise CheckpointError(f"{source}: its tensors claim {claimed:,} bytes of weights but share {stored:,} bytes "
                              f"of storage (views of the same bytes): refused")
    return sum(t.numel() for t in _record_tensors(record))


def _check_pickle_data(data, source):
    """Sanity limits on what an unpickled official file asks us to build."""
    if isinstance(data, tuple) and len(data) == 3 and isinstance(data[2], TFNetworkRecord):
        return  # TensorFlow: every size is read from the stored arrays, so it cannot exceed the file
    record = data.get("G_ema") or data.get("G") if isinstance(data, dict) else data
    if isinstance(record, PersistentRecord):
        kwargs = dict(record.state.get("_init_kwargs") or {})
        kwargs.update(zip(_TOP_ARGS[:5], tuple(record.state.get("_init_args") or ())))
        check_generator_args(kwargs, source, _record_params(record, source))


def load_pickle(path):
    """Convert an official pickle (safely) without touching the cache."""
    try:
        with open(path, "rb") as f:
            data = safe_load(f)
    except UnsafeCheckpointError:
        raise
    except pickle.UnpicklingError as e:
        if "weights only load failed" in str(e).lower():  # torch's own restricted loader refused a nested stream
            raise UnsafeCheckpointError(f"{path}: refusing to load: a tensor stream inside the pickle references "
                                        f"something that is not a tensor (nothing was executed)") from None
        raise CheckpointError(f"{path}: truncated or corrupt pickle ({type(e).__name__}: {e})") from None
    except (EOFError, ValueError, RuntimeError, TypeError, AttributeError, IndexError, KeyError, struct.error,
            MemoryError, RecursionError) as e:
        raise CheckpointError(f"{path}: truncated or corrupt pickle ({type(e).__name__}: {e})") from None
    _check_pickle_data(data, str(path))
    return generator_from_pickle_data(data, source=str(path))


def looks_like_safetensors(path):
    """A safetensors file by its structure, not one byte: an 8-byte little-endian header length
    that fits in the file, then a header that parses as a JSON object. (Its first byte is the low
    byte of that length, which is 0x80, '(', '}' or ']' for 1 length in 64: a pickle's opcodes.)"""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(9)
            if len(head) < 9 or head[8:9] != b"{":
                return False
            (n,) = struct.unpack("<Q", head[:8])
            if n > MAX_HEADER_BYTES or 8 + n > size:
                return False
            f.seek(8)
            header = json.loads(f.read(n))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    return isinstance(header, dict)


def finite(G, source):
    """G, or CheckpointError when any of its weights is NaN or Inf (such a model draws nothing): every loader
    (the command lines, the app's uploads, the Hub's downloads) refuses it in one line naming `source`."""
    bad = [name for name, t in G.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise CheckpointError(f"{source}: the weights hold NaN or Inf values ({bad[0][:60]}{more}); the file is unusable")
    return G


def load(path, device=None, use_cache=True):
    """Generator from an official pickle or our safetensors file, in eval mode (no grads); weights that are not
    all finite are refused (`finite`)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(16)
    if not head:
        raise CheckpointError(f"{path}: file is empty")
    if looks_like_safetensors(path):   # first: its 8-byte header length may start with a pickle opcode
        G = finite(_load_safetensors(path), path)
    elif head[:1] == b"\x80" or head[:1] in (b"(", b"}", b"]"):  # pickle protocol 2+ or 0/1
        cached = cache_dir() / "converted" / f"{filehash.sha256(path)}.safetensors" if use_cache else None
        if cached is not None and cached.is_file():
            try:
                G = _load_safetensors(cached)
            except CheckpointError:
                cached.unlink(missing_ok=True)  # a damaged cache entry is rebuilt, never trusted
                G = None
            if G is not None:
                finite(G, path)   # an entry an older version cached from a NaN pickle
                return G.to(device) if device is not None else G
        G = finite(load_pickle(path), path)   # before it is cached
        if cached is not None:
            save(G, cached, source=path.name)
    elif head[:2] == b"PK":
        raise CheckpointError(f"{path}: this is a torch.save zip archive, not an official StyleGAN2 pickle or a "
                              f"Latent Lab safetensors file")
    elif len(head) >= 9 and head[8:9] == b"{":
        G = finite(_load_safetensors(path), path)
    else:
        raise CheckpointError(f"{path}: not a checkpoint (expected an official .pkl or a .safetensors file)")
    return G.to(device) if device is not None else G
