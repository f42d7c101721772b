"""Per-model engine settings: what a caller (the app, the CLIs, the benchmarks) hands each engine
for a model. The engines never read the registry.

Two sources, the second winning:
  1. the registry: FreeDrag's l / d for the model's category (the official FreeDrag app's table);
     every other setting stays at the engine's default, which is the official hyper-parameter;
  2. `presets/<model id>.json`, written by `python -m benchmarks.calibrate --model ID` from drags
     on training seeds (the file also records the command, the seeds and every trial).
Official Hub models have no file: they keep the official hyper-parameters. $LATENTLAB_PRESETS_DIR
replaces the `presets/` folder (read at call time: tests, or an operator's own calibrations).
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


def layout_path(model_id):
    """`presets/<model id>.layout.json`: where the model draws a face (latent.align.Layout, written by
    `python -m latent layout --model ID`), which photos are aligned to before inversion."""
    return Path(os.environ.get("LATENTLAB_PRESETS_DIR") or DIR) / f"{model_id}.layout.json"


def layout_file(model):
    """The layout file of a registry id or of a file holding a bundled model's weights (the app started
    with --model FILE); None for any other file (its layout is unknown)."""
    from .registry import list_models
    models = list_models()
    if any(m.id == model for m in models):
        return layout_path(model)
    try:
        path = Path(model).resolve()
    except (TypeError, OSError, ValueError):
        return None
    for m in models:
        if m.local_path and (ROOT / m.local_path).resolve() == path:
            return layout_path(m.id)
    return None


def presets(model_id, calibrated=True):
    """{'draggan': {setting: value}, 'freedrag': {...}} for a registry id; {} for each engine when
    the id is not in the registry (a file path or an uploaded model: the engines' defaults).
    calibrated=False: the registry's settings only (what calibration starts from)."""
    try:
        info = get_info(model_id)
    except ValueError:
        return {e: {} for e in ENGINES}
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
