"""Where a headless drag starts, other than a seed: an inverted photo or an exported latent.

    --inverted DIR   the folder `python -m latent invert PHOTO --out DIR` writes: latent.safetensors
                     (the W+ pivot, tensor "ws") and generator_delta.safetensors (what PTI and the
                     noise projection changed in the generator: tuned minus original weights)
    --latent FILE    a latent to continue from: the app's export (`<method>_latent.pt`, a plain tensor
                     saved with torch.save) or a `latent.safetensors` (ours or latent invert's)

Every file is untrusted: a `.pt` is read with torch.load(weights_only=True) (tensors only, nothing
runs), a file is at most MAX_LATENT_BYTES, and a delta's names and shapes are checked against the
generator from the safetensors header before any tensor is read. The model a file was made with is
recorded in latent.safetensors' metadata ("model"; an inversion also in metrics.json) and is the
default model. Every failure is a DragInputError naming the flag and the file.

A drag's output folder holds the result as latent.safetensors (metadata: model, method, source), and,
when the drag started from an inverted photo, a copy of its generator_delta.safetensors: so
`--latent OUT/latent.safetensors` continues a drag from a seed or latent, and `--inverted OUT` one
from a photo.
"""
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .errors import DragInputError
from .field_picture import PICTURES
from .protocol import generator_kind

MAX_LATENT_BYTES = 16 * 2**20      # a W+ latent of a 1024 px model is 36 KB
MAX_ABS = 1e4                      # no latent or weight change comes near: W entries are tens, weights ~1
LATENT_FILE, DELTA_FILE, METRICS_FILE = "latent.safetensors", "generator_delta.safetensors", "metrics.json"
LATENT_KEYS = ("latent", "ws")     # the tensor's name in a latent.safetensors: ours, latent invert's


@dataclass
class Start:
    """A drag's starting point: the latent (None: the seed's) and where it came from."""
    latent: object = None                       # torch.Tensor or None
    source: dict = field(default_factory=dict)  # what result.json records
    delta: Path = None                          # an inverted photo's generator delta
    model: str = None                           # the model the files were made with (None: not recorded)
    picture: str = None                         # what the photo drag it continues showed (drags.in_photo.PICTURE)


def expected_latents(G):
    """{shape: space} a generator's latents may have: W [1, w] and W+ [1, n, w] (and [1, n + 1, w] with the
    deformation code of a warp pathway, stylegan.warp), or a DCGAN's z [1, z]."""
    if generator_kind(G) == "stylegan":
        code = G.config.code_rows if hasattr(G, "config") else 0
        return {(1, G.w_dim): "w", (1, G.num_ws, G.w_dim): "w+", **({(1, G.num_ws + code, G.w_dim): "w+"} if code else {})}
    return {(1, G.z_dim): "z"}


def check_fits(latent, G, what, model):
    """The latent's shape is one of the model's (else: a latent for another model)."""
    shapes = expected_latents(G)
    if tuple(latent.shape) not in shapes:
        want = " or ".join(f"{s.upper()} {list(k)}" for k, s in shapes.items())
        raise DragInputError(f"{what} holds a latent of shape {list(latent.shape)}, but model {model!r} needs {want} "
                             f"(a latent for another model? name it with --model)")
    _finite(latent, what, "latent")
    return shapes[tuple(latent.shape)]


def _finite(t, what, kind):
    """DragInputError unless every value is finite and within MAX_ABS (1e38 overflows the first step)."""
    if not torch.isfinite(t).all():
        raise DragInputError(f"{what} holds NaN or Inf")
    big = float(t.abs().max()) if t.numel() else 0.0
    if big > MAX_ABS:
        raise DragInputError(f"{what} holds {big:.3g}, not a {kind} (its values stay within {MAX_ABS:g})")


def _size_ok(path, flag):
    if not path.is_file():
        raise DragInputError(f"{flag} {path}: file not found")
    if path.stat().st_size > MAX_LATENT_BYTES:
        raise DragInputError(f"{flag} {path}: {path.stat().st_size / 2**20:.0f} MB is not a latent "
                             f"(at most {MAX_LATENT_BYTES // 2**20} MB)")


def _tensor_from(values, flag, path):
    """The latent among a file's tensors: a single tensor, or the one named 'latent' / 'ws'."""
    if isinstance(values, torch.Tensor):
        return values
    if isinstance(values, dict):
        tensors = {k: v for k, v in values.items() if isinstance(v, torch.Tensor)}
        for key in LATENT_KEYS:
            if key in tensors:
                return tensors[key]
        if len(tensors) == 1:
            return next(iter(tensors.values()))
    raise DragInputError(f"{flag} {path}: no latent in it (expected one tensor, or one named 'latent' or 'ws')")


def read_latent(path, flag="--latent"):
    """A latent file -> (float32 CPU tensor, metadata dict). .safetensors, else a torch.save file read
    with weights_only=True."""
    from safetensors import safe_open
    path = Path(path)
    _size_ok(path, flag)
    meta = {}
    try:
        if path.suffix == ".safetensors":
            with safe_open(str(path), "pt") as f:
                meta = dict(f.metadata() or {})
                values = {k: f.get_tensor(k) for k in f.keys()}
        else:
            values = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:   # an untrusted file: any failure to parse it means "not a latent" (SafetensorError;
        # weights_only refuses anything but tensors and plain containers: UnpicklingError, RuntimeError, ...)
        raise DragInputError(f"{flag} {path}: not a latent file ({type(e).__name__}; only tensors are read); "
                             f"expected the app's .pt export or a latent.safetensors") from None
    latent = _tensor_from(values, flag, path)
    if not latent.is_floating_point():
        raise DragInputError(f"{flag} {path}: the latent must hold floating-point numbers, got {latent.dtype}")
    return latent.detach().to(torch.float32).cpu(), meta


def read_delta(path, G, model, flag="--inverted"):
    """A generator delta that fits G (names, shapes and float dtypes checked from the header first) ->
    {name: tensor}."""
    from safetensors import SafetensorError, safe_open
    path = Path(path)
    where = f"{flag} {path.parent}: {path.name}"
    if not path.is_file():
        raise DragInputError(f"{flag}: {path} not found (python -m latent invert writes it next to the latent)")
    state = G.state_dict()
    try:
        with safe_open(str(path), "pt") as f:
            for k in f.keys():
                if k not in state:
                    raise DragInputError(f"{where} does not fit model {model!r}: it changes {k!r}, "
                                         f"which the model does not have (a delta for another model?)")
                shape, want = list(f.get_slice(k).get_shape()), list(state[k].shape)
                if shape != want:
                    raise DragInputError(f"{where} does not fit model {model!r}: {k} is {shape}, "
                                         f"the model's is {want} (a delta for another model?)")
                if not state[k].is_floating_point():
                    raise DragInputError(f"{where} changes {k!r}, which is not a weight")
            delta = {k: f.get_tensor(k).to(torch.float32) for k in f.keys()}
        for k, v in delta.items():
            _finite(v, f"{where} ({k})", "generator delta")
        return delta
    except (SafetensorError, OSError) as e:
        raise DragInputError(f"{where} is not a generator delta ({str(e).splitlines()[0][:120]})") from None


def recorded_model(meta, folder=None):
    """The model a latent was made with: its metadata, else an inversion's metrics.json; None if neither
    says. A metrics.json that is not a regular file, too large, nested too deeply or not JSON is refused
    (a DragInputError), not passed over for the default model."""
    import clisafe
    if meta.get("model"):
        return meta["model"]
    metrics = Path(folder) / METRICS_FILE if folder is not None else None
    if metrics is None or not (metrics.exists() or metrics.is_symlink()):
        return None
    try:
        data = clisafe.json_file(metrics, "--inverted", max_bytes=1_000_000, max_depth=8)
    except clisafe.InputError as e:
        raise DragInputError(str(e)) from None
    model = data.get("model") if isinstance(data, dict) else None
    return model if isinstance(model, str) and model else None


def inverted(folder):
    """--inverted DIR -> Start (the latent read, the delta's path; the delta is read once the model is known)."""
    d = Path(folder)
    if not d.is_dir():
        raise DragInputError(f"--inverted {folder}: not a folder (python -m latent invert PHOTO --out DIR writes one)")
    if not (d / LATENT_FILE).is_file():
        raise DragInputError(f"--inverted {folder}: no {LATENT_FILE} in it (python -m latent invert PHOTO --out DIR "
                             f"writes {LATENT_FILE} and {DELTA_FILE})")
    if not (d / DELTA_FILE).is_file():
        raise DragInputError(f"--inverted {folder}: no {DELTA_FILE} in it, so not an inverted photo (a drag that "
                             f"started from a seed or a latent continues with --latent {d / LATENT_FILE})")
    latent, meta = read_latent(d / LATENT_FILE, "--inverted")
    picture = meta.get("picture")
    if picture not in (None, *PICTURES):
        raise DragInputError(f"--inverted {folder}: {LATENT_FILE} says its drag showed picture {picture!r}, "
                             f"not one of {', '.join(PICTURES)}")
    return Start(latent=latent, delta=d / DELTA_FILE, model=recorded_model(meta, d),
                 source=dict(kind="inverted", dir=str(folder)), picture=picture)


def exported(file):
    """--latent FILE -> Start. A latent next to a generator delta belongs to an inverted photo: refused
    (without its tuned generator it is not that photo)."""
    p = Path(file)
    if p.is_file() and (p.parent / DELTA_FILE).is_file():
        raise DragInputError(f"--latent {file}: it sits next to {DELTA_FILE} (an inverted photo); "
                             f"use --inverted {p.parent} to drag it with its tuned generator")
    latent, meta = read_latent(p, "--latent")
    return Start(latent=latent, model=recorded_model(meta), source=dict(kind="latent", file=str(file)))


def save(out, latent, model, method, start, moved_noise=None, picture=None):
    """The result's latent.safetensors (and an inverted photo's delta) in the output folder, so a
    later drag continues from it. `moved_noise` ({state_dict key: warped - tuned}, dragcore.noise_follow's
    `changes`): the noise maps as the drag left them, added to the delta. `picture`: what a photo drag showed,
    kept in the latent's metadata (a drag continued from it shows the same). Returns the names written."""
    from safetensors.torch import save_file
    out = Path(out)
    meta = dict(model=str(model), method=method, source=json.dumps(start.source))
    if picture is not None:
        meta["picture"] = picture
    tmp = out / (LATENT_FILE + ".tmp")
    save_file({"latent": latent.detach().to(torch.float32).cpu().contiguous()}, str(tmp), metadata=meta)
    tmp.replace(out / LATENT_FILE)
    names = [LATENT_FILE]
    if start.delta is not None:
        target = out / DELTA_FILE
        if moved_noise:
            from safetensors.torch import load_file
            delta = load_file(str(start.delta))
            for k, v in moved_noise.items():
                v = v.detach().to(torch.float32).cpu()
                delta[k] = (delta[k] + v if k in delta else v).contiguous()
            tmp = out / (DELTA_FILE + ".tmp")
            save_file(delta, str(tmp), metadata={"what": "tuned minus original generator weights and noise maps, "
                                                         "the maps as the drag moved them"})
            tmp.replace(target)
        elif not (target.exists() and target.samefile(start.delta)):
            shutil.copyfile(start.delta, target)
        names.append(DELTA_FILE)
    return names
