"""The Drag tab's settings fields: one per engine setting a user can change, built from
dragcore.config (defaults, ranges, labels) and filled with the model's presets on New image.

`FIELDS` is the order of the drag endpoints' API parameters after `editor` (new fields go at the
end, so positional gradio_client calls keep working). An engine's
own field (its learning rate, rows, feature block, radii, l, d, ...) goes to that engine only;
a shared one (mask weight, max steps, precision) to both. The two engines' learning rates, rows
and feature blocks are separate fields because a calibrated preset may choose them differently; a
shared field whose presets differ between the engines is left empty, and each engine keeps its own.
Settings of a preset that have no field (FreeDrag's feature scale) still reach the engine: a drag starts from
`with_presets(engine, checkpoints.presets(model))` and the fields override it.
"""
from dataclasses import dataclass, replace

import checkpoints
import limits
from apps.engines import ENGINES
from dragcore import adapt, config
from draggan.engine import default_stop_distance


@dataclass(frozen=True)
class Field:
    name: str          # the API parameter
    engine: str | None  # None: both engines
    setting: str       # the dragcore.config setting
    label: str         # the component's label (unique: gradio_client names /new_image's outputs after it)
    bounded: bool = False   # the component itself refuses values outside the range

    def error_label(self):
        """The name an out-of-range value is reported with ('DragGAN: Learning rate')."""
        base = config.spec(self.setting)["label"]
        if self.engine is None or base.startswith(ENGINES[self.engine].label):
            return base
        return f"{ENGINES[self.engine].label}: {base}"


FIELDS = [
    Field("draggan_lr", "draggan", "lr", "DragGAN lr"),
    Field("mask_weight", None, "mask_weight", "Mask weight λ"),
    Field("r1", "draggan", "r1", "r1 (px at 512)"),
    Field("r2", "draggan", "r2", "r2 (px at 512)"),
    Field("max_steps", None, "max_steps", "Max steps"),
    Field("l", "freedrag", "l", "l (expected initial loss)", bounded=True),
    Field("d", "freedrag", "d", "d (max move per sub-motion, feature px)", bounded=True),
    Field("precision", None, "precision", "Precision"),
    Field("freedrag_lr", "freedrag", "lr", "FreeDrag lr"),
    Field("stop_distance", "draggan", "stop_distance", "Stop distance (image px)"),
    Field("track_step", "draggan", "track_step", "Tracking step (image px, ≤ 1)"),
    Field("arrival", "freedrag", "arrival", "Arrival distance (image px)"),
    Field("draggan_rows", "draggan", "rows", "DragGAN W+ rows"),
    Field("draggan_feature_res", "draggan", "feature_res", "DragGAN feature block (px)"),
    Field("freedrag_rows", "freedrag", "rows", "FreeDrag W+ rows"),
    Field("freedrag_feature_res", "freedrag", "feature_res", "FreeDrag feature block (px)"),
    Field("draggan_tracker", "draggan", "tracker", "DragGAN tracker"),
    Field("freedrag_tracker", "freedrag", "tracker", "FreeDrag tracker"),
]
NAMES = [f.name for f in FIELDS]
GROUPS = {None: "Shared settings", "draggan": "DragGAN settings", "freedrag": "FreeDrag settings"}


def model_configs(model_id, gen=None):
    """{engine: config} for a model: its presets over the defaults, with what the model decides
    (lr, rows, feature block, stop distance) resolved on `gen` (a dragcore adapter) when given."""
    presets = checkpoints.presets(model_id)
    out = {}
    for name, engine in ENGINES.items():
        cfg = config.with_presets(name, presets[name])
        if gen is not None:
            model = dict(lr=gen.default_lr, rows=getattr(gen, "rows", None), feature_res=gen.feature_res,
                         stop_distance=default_stop_distance(gen.resolution))
            cfg = replace(cfg, **{k: v for k, v in model.items() if hasattr(cfg, k) and getattr(cfg, k) is None})
        out[name] = cfg
    return out


def field_values(model_id, G=None, device="cpu"):
    """The value of every field (FIELDS order) for a model: its presets, else the engines' defaults,
    with what the model decides resolved on the generator G when given."""
    return values_of(model_configs(model_id, adapt(G, device) if G is not None else None))


def values_of(cfgs):
    """The fields' values (FIELDS order) for {engine: config}. An engine's field shows its own
    config's value; a shared field shows the value both configs agree on, else nothing (None: each
    engine keeps its own preset, see `configs`)."""
    values = []
    for f in FIELDS:
        if f.engine is not None:
            values.append(getattr(cfgs[f.engine], f.setting))
        else:
            own = {getattr(c, f.setting) for c in cfgs.values()}
            values.append(own.pop() if len(own) == 1 else None)
    return values


def _checked(f, value):
    spec = config.spec(f.setting)
    if value is None:
        return None   # not given: the model's preset, else the engine's default
    if spec["choices"] is not None:
        return limits.check_choice(f.setting, value, f.error_label())
    return limits.check(f.setting, value, f.error_label())


def configs(methods, model_id, seed, psi, space, values):
    """{method: config} for a drag: the model's presets, then the fields' values (checked, each
    error naming its field; None: not given), then the start image's seed, psi and space."""
    presets = checkpoints.presets(model_id)
    checked = {f.name: _checked(f, v) for f, v in zip(FIELDS, values)}
    out = {}
    for m in methods:
        given = {f.setting: checked[f.name] for f in FIELDS if f.engine in (None, m)}
        out[m] = config.with_presets(m, presets[m], seed=seed, psi=psi, space=space, **given)
    return out
