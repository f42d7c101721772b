"""Per-model engine settings: what a caller (the app, the CLIs, the benchmarks) hands each engine
for a model. The engines never read the registry.

Two sources, the second winning:
  1. the registry: FreeDrag's l / d for the model's category (the official FreeDrag app's table);
     every other setting stays at the engine's default, which is the official hyper-parameter;
  2. `presets/<model id>.json`, written by `python -m benchmarks.calibrate --model ID` from drags
     on training seeds (the file also records the command, the seeds and every trial).
Official Hub models have no file: they keep the official hyper-parameters. $LATENTLAB_PRESETS_DIR
replaces the `presets/` folder (read at call time: tests, or an operator's own calibrations).
A model *file* (not a registry id) gets the presets its metadata carries (`presets`: an adapted
model keeps its source's, `training.adapt`), else the engines' defaults.
"""
import json
import os
from pathlib import Path

from .registry import get_info

ROOT = Path(__file__).resolve().parent.parent
DIR = ROOT / "presets"
ENGINES = ("draggan", "freedrag")   # apps.engines' names, kept here so `checkpoints` imports no torch


class PresetError(ValueError):
    """A presets file that cannot be used."""


def presets_path(model_id):
    return Path(os.environ.get("LATENTLAB_PRESETS_DIR") or DIR) / f"{model_id}.json"


def presets(model_id, calibrated=True):
    """{'draggan': {setting: value}, 'freedrag': {...}} for a registry id; {} for each engine when
    the id is not in the registry (a file path or an uploaded model: the engines' defaults).
    calibrated=False: the registry's settings only (what calibration starts from)."""
    try:
        info = get_info(model_id)
    except ValueError:
        return file_presets(model_id)
    table = {"l": info.freedrag_l, "d": info.freedrag_d}
    out = {"draggan": {}, "freedrag": {k: float(v) for k, v in table.items() if v is not None}}
    path = presets_path(info.id)
    if calibrated and path.is_file():
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise PresetError(f"{path}: unreadable presets ({e}); re-run python -m benchmarks.calibrate") from None
        for engine in ENGINES:
            chosen = data.get(engine) or {}
            if not isinstance(chosen, dict):
                raise PresetError(f"{path}: '{engine}' must be an object of settings")
            out[engine].update(chosen)
    return out


def file_presets(path):
    """The presets a .safetensors file's metadata carries ({} per engine when none or not a file)."""
    out = {e: {} for e in ENGINES}
    p = Path(str(path)).expanduser()
    if p.suffix != ".safetensors" or not p.is_file():
        return out
    from stylegan import CheckpointError, read_metadata   # lazy: torch only when a file is asked about
    try:
        data = json.loads(read_metadata(p).get("presets") or "{}")
    except (CheckpointError, OSError, json.JSONDecodeError, RecursionError):
        return out
    if isinstance(data, dict):
        for engine in ENGINES:
            chosen = data.get(engine)
            if isinstance(chosen, dict):
                out[engine].update(chosen)
    return out
