"""Per-model engine settings: what a caller (the app, the CLIs, the benchmarks) hands each engine
for a model. The engines never read the registry.

Two sources, the second winning:
  1. the registry: `ModelInfo.presets`, per engine (FreeDrag's l / d for the model's category, the
     official FreeDrag app's table); every other setting stays at the engine's default, which is
     the official hyper-parameter;
  2. `presets/<model id>.json`, written by `python -m benchmarks.calibrate --model ID` from drags
     on training seeds (the file also records the command, the seeds and every trial). Its engine
     sections are the objects named by an engine name (lower-case letters and digits,
     dragcore.engine); its other keys (`<engine>_score`, `<engine>_trials`, ...) are the record.
Official Hub models have no file: they keep the official hyper-parameters. $LATENTLAB_PRESETS_DIR
replaces the `presets/` folder (read at call time: tests, or an operator's own calibrations).

`presets(id)` holds a section for every engine the registry or the file names, and answers {} for
any other engine: an engine declared anywhere (dragcore.engine) gets its defaults, and this
module needs no list of engines (nor torch).
A model *file* (not a registry id) gets the presets its metadata carries (`presets`: an adapted
model keeps its source's, `training.adapt`), else the engines' defaults.

An adapted file (its card has `adapted`, training.adapt) also takes its source's *adapted section*:
`presets/<source id>.adapted.json`, engine sections in the same form, calibrated by drags on models
adapted from that source (`python -m benchmarks.poster_edits --model ADAPTED.safetensors --set ...`;
the file records the command, the seeds and the models). It is applied over the card's presets when
the file is looked up, so a file adapted before the section existed drags with it too; a source with
no such file (an official Hub model) keeps the card's presets. The source's own presets never change.
"""
import functools
import json
import os
from pathlib import Path

import filehash

from .registry import get_info

ROOT = Path(__file__).resolve().parent.parent
DIR = ROOT / "presets"


class PresetError(ValueError):
    """A presets file that cannot be used."""


RECORD = ("model", "models", "seeds", "steps", "objective", "command")   # a presets file's record, not engines


class Presets(dict):
    """{engine: {setting: value}}; an engine without a section gets a fresh {} (its defaults)."""

    def __missing__(self, engine):
        return {}


def presets_path(model_id):
    return Path(os.environ.get("LATENTLAB_PRESETS_DIR") or DIR) / f"{model_id}.json"


def is_engine_key(key):
    return key.isascii() and key.isalnum() and key.islower()


def layout_path(model_id):
    """`presets/<model id>.layout.json`: where the model draws a face (latent.align.Layout, written by
    `python -m latent layout --model ID`), which photos are aligned to before inversion."""
    return Path(os.environ.get("LATENTLAB_PRESETS_DIR") or DIR) / f"{model_id}.layout.json"


def registry_id(model):
    """The registry id `model` stands for: the id itself, or the id of the bundled model whose shipped file it
    is (the app or a command line started with --model FILE on that file), or whose exact bytes it holds (a
    copy elsewhere, the same file uploaded into the app: `same_bytes`); None for any other file or name."""
    from .registry import list_models
    models = list_models()
    if any(m.id == model for m in models):
        return model
    try:
        path = Path(model).resolve()
    except (TypeError, OSError, ValueError):
        return None
    bundled = [(m.id, (ROOT / m.local_path).resolve()) for m in models if m.local_path]
    for model_id, shipped in bundled:
        if shipped == path:
            return model_id
    for model_id, shipped in bundled:
        if same_bytes(path, shipped):
            return model_id
    return None


def same_bytes(path, shipped):
    """Whether the regular file `path` holds exactly the bytes of the shipped file (same size, same sha256;
    only a file of the shipped file's size is read, and each file once until it changes)."""
    try:
        if not path.is_file() or not shipped.is_file():
            return False
        a, b = path.stat(), shipped.stat()
        return a.st_size == b.st_size and \
            _sha256(str(path), a.st_size, a.st_mtime_ns) == _sha256(str(shipped), b.st_size, b.st_mtime_ns)
    except OSError:
        return False


@functools.lru_cache(maxsize=16)
def _sha256(path, size, mtime_ns):   # keyed by the file's size and time: a changed file is hashed again
    return filehash.sha256(path)


def layout_file(model):
    """The layout file of a registry id or of a file holding a bundled model's weights (the app started
    with --model FILE); None for any other file (its layout is unknown)."""
    model_id = registry_id(model)
    return None if model_id is None else layout_path(model_id)


def presets(model_id, calibrated=True):
    """`Presets` ({'draggan': {setting: value}, ...}) for a registry id, or for the shipped file of a bundled
    model (`registry_id`: the same model by its path takes the same presets); for any other file, the presets its
    metadata carries (`file_presets`: empty, every engine's defaults, when none).
    calibrated=False: the registry's settings only (what calibration starts from)."""
    known = registry_id(model_id)
    if known is None:
        return file_presets(model_id)
    info = get_info(known)
    out = Presets({e: {k: float(v) for k, v in table.items() if v is not None} for e, table in info.presets.items()})
    path = presets_path(info.id)
    if calibrated and path.is_file():
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise PresetError(f"{path}: unreadable presets ({e}); re-run python -m benchmarks.calibrate") from None
        if not isinstance(data, dict):
            raise PresetError(f"{path}: presets must be an object of engine sections")
        for engine, chosen in data.items():
            if not is_engine_key(engine) or engine in RECORD:
                continue
            if not isinstance(chosen, dict):
                raise PresetError(f"{path}: '{engine}' must be an object of settings")
            out[engine] = {**out[engine], **chosen}
    return out


def adapted_path(source_id):
    """`presets/<source id>.adapted.json`: the engine settings drags on a model adapted from it take."""
    return Path(os.environ.get("LATENTLAB_PRESETS_DIR") or DIR) / f"{source_id}.adapted.json"


def adapted_section(source_id):
    """{engine: {setting: value}} of `adapted_path(source_id)`; {} when the source has none (or is not a
    plain id). A malformed file is a PresetError naming it."""
    if not isinstance(source_id, str) or not source_id or not is_model_id(source_id):
        return {}
    path = adapted_path(source_id)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise PresetError(f"{path}: unreadable presets ({e})") from None
    engines = {k: v for k, v in data.items() if is_engine_key(k) and k not in RECORD} if isinstance(data, dict) else None
    if engines is None or not all(isinstance(v, dict) for v in engines.values()):
        raise PresetError(f"{path}: presets must be an object of engine sections")
    return {k: dict(v) for k, v in engines.items()}


def is_model_id(text):
    """A registry-style id (letters, digits, '-', '_', '.'; no path separator), not a file name."""
    return all(c.isalnum() or c in "-_." for c in text) and not text.endswith(".safetensors")


def adapted_presets(source_id):
    """What a model adapted from `source_id` drags with: the source's presets, then its adapted section."""
    out = presets(source_id)
    for engine, chosen in adapted_section(source_id).items():
        out[engine] = {**out[engine], **chosen}
    return out


def file_presets(path):
    """The presets a .safetensors file's metadata carries (`Presets`: empty when none or not a file), with
    its source's adapted section over them when the file is an adapted model."""
    out = Presets()
    p = Path(str(path)).expanduser()
    if p.suffix != ".safetensors" or not p.is_file():
        return out
    from stylegan import CheckpointError, read_metadata   # lazy: torch only when a file is asked about
    try:
        meta = read_metadata(p)
        data = json.loads(meta.get("presets") or "{}")
    except (CheckpointError, OSError, json.JSONDecodeError, RecursionError):
        return out
    if isinstance(data, dict):
        for engine, chosen in data.items():
            if is_engine_key(engine) and isinstance(chosen, dict):
                out[engine] = dict(chosen)
    try:
        card = json.loads(meta.get("adapted") or "{}")
    except (json.JSONDecodeError, RecursionError):   # an unreadable card: the presets it carries, no section
        card = None
    source = card.get("from_model") if isinstance(card, dict) else None
    for engine, chosen in adapted_section(source).items():
        out[engine] = {**out[engine], **chosen}
    return out
