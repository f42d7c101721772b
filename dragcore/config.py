"""Every drag setting once: its default and the range a user may ask for, per engine.

`DragConfig` holds what every engine takes (the start image: seed, psi, space; the optimisation:
lr, mask weight, max steps, the supervised feature block, the trainable W+ rows, mode, precision,
tracker, warp guard, its band, heading and twist); `DragGANConfig`, `FreeDragConfig` and `StableDragConfig` add each bundled engine's own.
`CONFIGS` is the registry by engine name: these three, and any config an engine declares
(`dragcore.engine.declare`, which may keep its config class in its own module). Everything else reads from here:
the sessions' keyword defaults, the command lines' defaults and checks, the app's fields, the edit
JSON (what it records and what a replay accepts), `limits.RANGES` (the README's table of ranges)
and the benchmarks. A default of None means "the model decides" (lr: the adapter's, 0.002 in
W/W+ and 0.01 in Z; feature_res: `protocol.default_feature_res`; rows: 6, the papers' (a model's
presets may choose 0 on a model with a warp pathway: then only its deformation code moves);
stop_distance: max(2 res/512, 2) px; feature_scale: measured on the start image).

Ranges bound what a *user* may ask for (app fields, command lines, edit JSON, presets); the
sessions themselves only refuse what cannot work (a non-positive lr, l outside its paper range),
so tests and benchmarks can still probe beyond the user ranges.

Max steps: 300, the budget of the papers' evaluations.

Units: a setting keeps one unit everywhere. DragGAN's r1 / r2 are px at 512 and stay so in every
config and export; the session's derived values carry their unit in their name (`r1_px`, image px).

Per-model values (the registry's FreeDrag l / d, calibrated `presets/<id>.json`) are not defaults:
the caller gets them from `checkpoints.presets(model_id)` and applies them with `with_presets`.
"""
from dataclasses import MISSING, dataclass, field, fields, replace

from stylegan.precision import PRECISIONS

from .tracking import TRACKERS, covered
from .warpguard import DET_FLOOR

SEED_MAX = 2 ** 32 - 1  # numpy's RandomState, which turns seeds into z, takes 32-bit seeds
MODES = ("fast", "reference")
WARP_WEIGHTS = ("warp_guard", "warp_heading", "warp_twist", "warp_reach")   # the warp guard's terms (0: off)
SPACES = ("w+", "w", "z")
IMAGE = ("seed", "psi", "space")   # what makes the start image; the rest is how the drag runs


def setting(default, label, kind, low=None, high=None, choices=None, help="", app_label=None):
    """A dataclass field with its user-facing label, kind, range (or choices), what it means (`help`,
    shown by the command line) and its app field's label (`app_label`, default: the label) as metadata."""
    return field(default=default, metadata=dict(label=label, kind=kind, low=low, high=high, choices=choices, help=help,
                                                app_label=app_label or label))


@dataclass(frozen=True)
class DragConfig:
    """The settings every engine takes."""
    seed: int = setting(0, "Seed", int, 0, SEED_MAX)
    psi: float = setting(0.7, "Truncation ψ", float, -2.0, 2.0)
    space: str = setting("w+", "Latent space", str, choices=SPACES)
    max_steps: int = setting(300, "Max steps", int, 1, 1000)
    lr: float = setting(None, "Learning rate", float, 1e-5, 1.0, app_label="lr")
    mask_weight: float = setting(10.0, "Mask weight λ", float, 0.0, 1000.0)
    rows: int = setting(None, "Trainable W+ rows", int, 0, 32, app_label="W+ rows")   # 0: the warp code only
    feature_res: int = setting(None, "Feature block (px)", int, 4, 1024, app_label="feature block (px)")
    mode: str = setting("fast", "Mode", str, choices=MODES)
    precision: str = setting("auto", "Precision", str, choices=PRECISIONS)
    tracker: str = setting("features", "Tracker", str, choices=TRACKERS, app_label="tracker")   # dragcore.tracking
    warp_guard: float = setting(0.0, "Warp guard", float, 0.0, 1000.0,   # dragcore.warpguard; 0: off
                                help="weight of the penalty that keeps a warp-pathway drag from folding (0: off)")
    warp_heading: float = setting(0.0, "Warp heading", float, 0.0, 1000.0,   # dragcore.warpheading; 0: off
                                  help="weight of the penalty on a warp-pathway drag's displacement across "
                                       "the request (0: off)")
    warp_twist: float = setting(0.0, "Warp twist", float, 0.0, 1000.0,   # dragcore.warpguard's twist term; 0: off
                                help="weight of the penalty on a warp-pathway drag's local rotation beyond the ideal "
                                     "turn's (0: off)")
    warp_reach: float = setting(0.0, "Warp reach", float, 0.0, 1000.0,   # dragcore.warpreach; 0: off
                                help="weight of the penalty on a warp-pathway drag's displacement far from its "
                                     "request (0: off)")
    warp_floor: float = setting(DET_FLOOR, "Warp floor", float, 0.3, 0.95,   # dragcore.warpguard's band
                                help="the warp guard's band: the area and stretch of the picture it lets through, "
                                     "from this to its inverse (default 0.75)")
    fallback: str | None = field(default=None, compare=False)   # not a setting: why `with_presets` changed the tracker

    def engine_settings(self):
        """The settings of the drag itself (not the start image), as a dict."""
        return {k: getattr(self, k) for k in names(type(self)) if k not in IMAGE}


@dataclass(frozen=True)
class DragGANConfig(DragConfig):
    """DragGAN's own: radii in px at 512 (scaled with the model), stop distance and tracking grid in image px."""
    r1: float = setting(3.0, "r1", float, 0.5, 64.0, help="motion-supervision radius, px at 512 px",
                        app_label="r1 (px at 512)")
    r2: float = setting(12.0, "r2", float, 1.0, 64.0, help="tracking radius, px at 512 px",
                        app_label="r2 (px at 512)")   # the search square grows with r2 squared
    stop_distance: float = setting(None, "Stop distance (px)", float, 0.1, 64.0,
                                   help="stop within this many image px of the target (auto: max(2 res/512, 2))",
                                   app_label="Stop distance (image px)")
    track_step: float = setting(1.0, "Tracking step (px)", float, 0.05, 1.0,
                                help="tracking grid in image px, <= 1; below 1 tracks at sub-pixel positions",
                                app_label="Tracking step (image px, ≤ 1)")
    approach: float = setting(0.0, "Approach (px)", float, 0.0, 64.0,
                              help="within this many image px of its target a step's learning rate shrinks with the "
                                   "farthest handle's distance, never below a quarter of it (0: off)",
                              app_label="Approach (image px, 0 = off)")


@dataclass(frozen=True)
class FreeDragConfig(DragConfig):
    """FreeDrag's own: l (expected initial loss), d (feature px per sub-motion), arrival (image px),
    feature_scale (features are divided by it before losses are compared with l)."""
    l: float = setting(0.3, "FreeDrag l", float, 0.1, 0.5, help="expected initial loss",
                        app_label="l (expected initial loss)")   # the paper's range
    d: float = setting(3.0, "FreeDrag d", float, 1.0, 6.0, help="max move per sub-motion in feature px",
                        app_label="d (max move per sub-motion, feature px)")
    arrival: float = setting(1.0, "Arrival distance (px)", float, 0.1, 8.0, help="arrival distance in image px",
                             app_label="Arrival distance (image px)")
    feature_scale: float = setting(None, "Feature scale", float, 1e-6, 1e6,   # None: auto, measured on the start image
                                   help="divide features by this before comparing with l (auto: calibrated on the start image)")


@dataclass(frozen=True)
class StableDragConfig(DragGANConfig):
    """StableDrag-GAN's own, on top of DragGAN's radii: the tracker is the discriminative one by default,
    tau is the confidence below which motion supervision reads the initial template, confirm whether the
    picture (optical flow) must agree with a claimed arrival (stabledrag.engine)."""
    tracker: str = setting("discriminative", "Tracker", str, choices=TRACKERS, app_label="tracker")
    tau: float = setting(0.4, "Confidence threshold τ", float, 0.0, 1.0,
                         help="below this tracking confidence, motion supervision reads the initial template",
                         app_label="τ (confidence threshold)")
    confirm: str = setting("none", "Arrival confirmed by", str, choices=("none", "flow"),
                           help="flow: a claimed arrival counts only where optical flow sees the content at the "
                                "target too (else tracking resumes from the content)", app_label="arrival confirmed by")


# the bundled engines' configs (their modules declare them again, dragcore.engine), so a library caller needs
# no engine imported for `with_presets`; an engine declared elsewhere adds its own
CONFIGS = {"draggan": DragGANConfig, "freedrag": FreeDragConfig, "stabledrag": StableDragConfig}


def spec(name):
    """The metadata of a setting (label, kind, low, high, choices) and its default, by name."""
    for cls in (DragConfig, *CONFIGS.values()):
        for f in fields(cls):
            if f.name == name:
                return dict(f.metadata, default=None if f.default is MISSING else f.default)
    raise KeyError(name)


def names(cls=None):
    """Setting names of one config class, or of all (each once, common ones first)."""
    classes = [cls] if cls is not None else [DragConfig, *CONFIGS.values()]
    return list(dict.fromkeys(f.name for c in classes for f in fields(c) if "label" in f.metadata))


def ranges():
    """{name: (label, kind, low, high)} for every numeric setting: what limits.RANGES serves."""
    out = {}
    for name in names():
        s = spec(name)
        if s["choices"] is None:
            out[name] = (s["label"], s["kind"], s["low"], s["high"])
    return out


def with_presets(engine, preset=None, **given):
    """The engine's config: its defaults, then the model's preset (`checkpoints.presets(id)[engine]`),
    then `given` (None values in `given` are skipped). An unknown setting is a ValueError naming it.
    A tracker the preset does not cover falls back to `features` (`dragcore.tracking.covered`), and
    `fallback` says so (the drag's report carries it as its tracker note)."""
    cls = CONFIGS[engine]
    known = set(names(cls))
    for source, values in (("preset", preset or {}), ("setting", given)):
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{engine}: unknown {source} {', '.join(map(repr, unknown))} (known: {sorted(known)})")
    cfg = replace(cls(), **{**dict(preset or {}), **{k: v for k, v in given.items() if v is not None}})
    tracker, note = covered(cfg.tracker, (preset or {}).get("tracker"), official=cls().tracker)   # dragcore.tracking: the fallback rule
    if note is not None:
        cfg = replace(cfg, tracker=tracker, fallback=note)
    return cfg
