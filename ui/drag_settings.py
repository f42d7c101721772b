"""The Drag tab's settings fields: one per engine setting a user can change, derived from the
declared engines (dragcore.engine: each engine's `options`) and dragcore.config (defaults, ranges,
labels), and filled with the model's presets on New image.

`FIELDS` is the order of the drag endpoints' API parameters after `editor`. Shared fields (mask
weight, max steps, precision) go to every engine; each engine has its own learning rate, rows,
feature block and tracker (`<engine>_lr`, ...: a calibrated preset may choose them differently),
and a field per own setting, named after the setting (`r1`, `l`) unless an engine declared earlier
already has that name (`stabledrag_r1`). The fields of the first two engines keep the positional
order gradio_client callers have used (`API_ORDER`); every other field follows in declaration
order, so a new engine's fields go at the end; after them each engine's warp guard, heading and twist weights, the guard's band and its reach weight (`WARP`,
`<engine>_warp_guard`, ...: for a model with a warp pathway, the presets and the adapted section set them; a
value out of range, in a field or in the presets, is one line naming it). A shared field whose presets differ between the
engines is left empty, and each engine keeps its own. Settings an engine keeps out of the app
(`app_hidden`: FreeDrag's feature scale) still reach it: a drag starts from
`with_presets(engine, models.presets(model))` (ui.models: an upload's own presets too) and the fields override it.
"""
from dataclasses import dataclass, replace

import limits
from drags import in_photo
from drags.engines import ENGINES
from dragcore import adapt, config
from draggan.engine import default_stop_distance
from ui import models


@dataclass(frozen=True)
class Field:
    name: str          # the API parameter
    engine: str | None  # None: every engine
    setting: str       # the dragcore.config setting
    label: str         # the component's label (unique: gradio_client names /new_image's outputs after it)
    bounded: bool = False   # the component itself refuses values outside the range

    def error_label(self):
        """The name an out-of-range value is reported with ('DragGAN: Learning rate')."""
        base = config.spec(self.setting)["label"]
        if self.engine is None or base.startswith(ENGINES[self.engine].label):
            return base
        return f"{ENGINES[self.engine].label}: {base}"


SHARED = ("mask_weight", "max_steps", "precision")   # one field for every engine
PER_ENGINE = ("lr", "rows", "feature_res", "tracker")   # one field per engine
BOUNDED = ("l", "d")   # refused by the component itself, like the sliders these were
WARP = ("warp_guard", "warp_heading", "warp_twist", "warp_floor", "warp_reach")   # one field per engine, after every other field (dragcore.warpguard)
# the positional order of the first fields (the app's API since its first release); later fields follow
API_ORDER = ("draggan_lr", "mask_weight", "r1", "r2", "max_steps", "l", "d", "precision", "freedrag_lr",
             "stop_distance", "track_step", "arrival", "draggan_rows", "draggan_feature_res", "freedrag_rows",
             "freedrag_feature_res", "draggan_tracker", "freedrag_tracker")


def fields():
    """Every settings field of the declared engines, in API order."""
    made = [Field(s, None, s, config.spec(s)["app_label"]) for s in SHARED]
    taken = set(SHARED)
    for engine in ENGINES.values():
        for s in PER_ENGINE:
            made.append(Field(f"{engine.name}_{s}", engine.name, s, f"{engine.label} {config.spec(s)['app_label']}"))
        for s in engine.options:
            if s in engine.app_hidden:
                continue
            plain = s not in taken
            taken.add(s)
            label = config.spec(s)["app_label"]
            made.append(Field(s if plain else f"{engine.name}_{s}", engine.name, s,
                              label if plain else f"{engine.label} {label}", bounded=s in BOUNDED))
    rank = {n: i for i, n in enumerate(API_ORDER)}
    made = sorted(made, key=lambda f: rank.get(f.name, len(rank)))   # stable: the rest in declaration order
    return made + [Field(f"{e.name}_{s}", e.name, s, f"{e.label} {config.spec(s)['app_label'].lower()}")
                   for e in ENGINES.values() for s in WARP]


def groups():
    """{engine name or None: accordion title}."""
    return {None: "Shared settings", **{e.name: f"{e.label} settings" for e in ENGINES.values()}}


def __getattr__(name):
    """FIELDS, NAMES and GROUPS, derived from the engines declared now (a later declaration joins them)."""
    if name == "FIELDS":
        return fields()
    if name == "NAMES":
        return [f.name for f in fields()]
    if name == "GROUPS":
        return groups()
    raise AttributeError(name)


def model_configs(model_id, gen=None, photo=None):
    """{engine: config} for a model: its presets over the defaults (`photo`: an inverted photo's generator, whose
    drags take drags.in_photo.presets), with what the model decides (lr, rows, feature block, stop distance)
    resolved on `gen` (a dragcore adapter) when given."""
    presets = _presets(model_id, photo)
    out = {}
    for name, engine in ENGINES.items():
        for s in WARP:   # the weights the panel shows: a bad one in the presets is refused here, by name
            if s in presets[name]:
                limits.check(s, presets[name][s], f"{engine.label}: {config.spec(s)['label']} (the model's presets)")
        cfg = config.with_presets(name, presets[name])
        if gen is not None:
            model = dict(lr=gen.default_lr, rows=getattr(gen, "rows", None), feature_res=gen.feature_res,
                         stop_distance=default_stop_distance(gen.resolution))
            cfg = replace(cfg, **{k: v for k, v in model.items() if hasattr(cfg, k) and getattr(cfg, k) is None})
        out[name] = cfg
    return out


def field_values(model_id, G=None, device="cpu", photo=False):
    """The value of every field (`fields()` order) for a model: its presets (with `photo`, G being an inverted
    photo's generator: a photo drag's, drags.in_photo.presets), else the engines' defaults, with what the model
    decides resolved on the generator G when given."""
    return values_of(model_configs(model_id, adapt(G, device) if G is not None else None, G if photo else None))


def _presets(model_id, photo=None):
    """The model's presets; with `photo` (an inverted photo's generator) a photo drag's (drags.in_photo.presets)."""
    presets = models.presets(model_id)
    return presets if photo is None else in_photo.presets(presets, photo)


def values_of(cfgs):
    """The fields' values (FIELDS order) for {engine: config}. An engine's field shows its own
    config's value; a shared field shows the value both configs agree on, else nothing (None: each
    engine keeps its own preset, see `configs`)."""
    values = []
    for f in fields():
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


def configs(methods, model_id, seed, psi, space, values, photo=None):
    """{method: config} for a drag: the model's presets (`photo`: an inverted photo's generator, a photo drag's:
    drags.in_photo.presets), then the fields' values (checked, each error naming its field; None: not given), then
    the start image's seed, psi and space."""
    presets = _presets(model_id, photo)
    every = fields()
    checked = {f.name: _checked(f, v) for f, v in zip(every, values)}
    out = {}
    for m in methods:
        given = {f.setting: checked[f.name] for f in every if f.name in checked and f.engine in (None, m)}
        out[m] = config.with_presets(m, presets[m], seed=seed, psi=psi, space=space, **given)
    return out
