"""The model registry: every generator the lab knows, where each one can be downloaded from, and
what its sources say about it (shape, licence, FreeDrag preset, size).

A Hub entry has an ordered list of `Source`s (Hub repo id, file name, optional revision): the
loader tries them in that order. Each source records the public evidence that names exactly that
repo + path (`evidence`); a source without it was inferred (e.g. from DragGAN's download script)
and may 404. Nothing here was checked against the live Hub (it is unreachable from the machines
this was built on): `verified_on` stays empty until someone runs `python -m checkpoints verify`
with the Hub reachable and records the date.

Users override or add entries with a JSON file named by $LATENTLAB_MODELS (see `overrides`).
"""
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import clisafe

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "faces-64-offline"
DEFAULT_ENV = "LATENTLAB_DEFAULT_MODEL"

DRAGGAN_HUB = "DragGan/DragGan-Models"   # the official DragGAN Space downloads this repo (snapshot_download)
MIRROR = "aaronb/StyleGAN2-pkl"          # the `draggan` pip package downloads from this repo


@dataclass(frozen=True)
class Source:
    repo_id: str
    filename: str
    revision: str | None = None
    evidence: str = ""   # public code or page naming exactly this repo + path; "" = inferred, unverified

    @property
    def evidenced(self):
        return bool(self.evidence)

    def __str__(self):
        rev = f"@{self.revision[:8]}" if self.revision else ""
        return f"{self.repo_id}{rev}:{self.filename}"


@dataclass(frozen=True)
class ModelInfo:
    id: str
    display_name: str
    resolution: int                  # image height (px), as G.img_resolution
    category: str
    kind: str = "stylegan"           # 'stylegan' (W / W+) or 'dcgan' (Z only)
    presets: dict = field(default_factory=dict, compare=False)   # engine -> settings from the sources' tables
    sources: tuple = ()              # Hub models: Source, tried in order
    local_path: str | None = None    # models shipped in this repository (relative to it)
    licence: str = ""                # short label, as the model's source states it
    width: int | None = None         # image width (px); None = square
    size_mb: float | None = None     # download size (bundled: exact; Hub: estimate, `verify` gives the real one)
    licence_note: str = field(default="", compare=False)   # where the licence is stated, contradictions
    preset_from: str = field(default="", compare=False)    # where `presets` comes from
    notes: str = field(default="", compare=False)          # rendering notes (letterboxing, padding)
    verified_on: str = field(default="", compare=False)    # date the sources were checked on the live Hub

    @property
    def offline(self):
        return self.local_path is not None

    @property
    def shape(self):
        """(height, width) of the images, as G.img_shape."""
        return self.resolution, self.width or self.resolution

    @property
    def shape_text(self):
        return "{}x{}".format(*self.shape)

    @property
    def repo_id(self):   # the first source (what older code and LATENTLAB_MODELS files call the model's repo)
        return self.sources[0].repo_id if self.sources else None

    @property
    def filename(self):
        return self.sources[0].filename if self.sources else None

    @property
    def state(self):
        """'bundled', 'verified DATE', or how far the source names are evidenced."""
        if self.offline:
            return "bundled"
        if self.verified_on:
            return f"verified {self.verified_on}"
        n = sum(s.evidenced for s in self.sources)
        return f"unverified ({n}/{len(self.sources)} named in public code)"


class UnknownModelError(ValueError):
    pass


# --- what the sources say ------------------------------------------------------------------------
# FreeDrag presets (l, d) from the official FreeDrag app's model table; categories it does not list
# get the faces preset.
FREEDRAG_APP = {"faces": (0.3, 3.0), "horses": (0.3, 3.0), "elephants": (0.4, 4.0), "lions": (0.4, 4.0),
                "dogs": (0.4, 4.0), "bicycles": (0.3, 3.0), "giraffes": (0.4, 4.0), "cats": (0.3, 3.0),
                "cars": (0.3, 3.0), "churches": (0.3, 3.0), "metfaces": (0.3, 3.0)}


def _preset(category, l=None, d=None):
    """(the registry's presets {engine: settings}, where they come from) for a category; l / d: a
    LATENTLAB_MODELS entry's own FreeDrag values (its `freedrag_l` / `freedrag_d` keys)."""
    table, source = {}, "not in FreeDrag's table: the engine's defaults (dragcore.config, the faces preset)"
    if category in FREEDRAG_APP:
        table, source = dict(zip("ld", FREEDRAG_APP[category])), "the official FreeDrag app"
    given = {k: float(v) for k, v in (("l", l), ("d", d)) if v is not None}
    if given:
        table, source = {**table, **given}, "your LATENTLAB_MODELS file"
    return ({"freedrag": table} if table else {}), source


# Download size estimate for every official StyleGAN2 / ADA / self-distilled / StyleGAN-Human pickle: it
# holds G, G_ema and D in float32, ~30.0-30.4 M parameters each for G (channel_base 32768, max 512,
# 8 mapping layers) and ~28.9-29.0 M for D (256 px: 356 MB, 512: 358 MB, 1024: 359 MB).
_SIZE_MB = {256: 356, 512: 358, 1024: 359}   # another resolution: no estimate (None)

PIP = "the draggan pip package (1.1.6: draggan/utils.py downloads huggingface.co/aaronb/StyleGAN2-pkl/resolve/main/PATH)"
SPACE = "the DragGan/DragGan Space offers it (the Space downloads DragGan/DragGan-Models with snapshot_download)"
INVERSION = "the DragGan-Inversion Space loads it from its snapshot_download of DragGan/DragGan-Models"
README_LINK = "linked at this revision (huggingface.co/DragGan/DragGan-Models/blob/20dedd02...) in a public README"
SCRIPT = ""   # file name from DragGAN's scripts/download_models.json: the repo itself is not evidenced

NVIDIA_ADA = ("NVIDIA Source Code License (non-commercial)",
              "stylegan2-ada-pytorch README: 'made available under the Nvidia Source Code License'")
NVIDIA_TF = ("NVIDIA Source Code License-NC (non-commercial)",
             "NVlabs/stylegan2 (TensorFlow) README: 'Nvidia Source Code License-NC'")
SELF_DISTILLED = ("contradictory: Apache-2.0 (README) vs CC BY-NC 4.0 (LICENSE)",
                  "self-distilled-internet-photos README: 'pre-trained models are made available under Apache-2.0'; "
                  "its LICENSE file: Creative Commons Attribution-NonCommercial 4.0; treat as non-commercial")
HUMAN = ("not stated (SHHQ data: non-commercial research only)",
         "the StyleGAN-Human README states no licence for the models; its code carries NVIDIA's "
         "all-rights-reserved notice and the SHHQ dataset it was trained on is for non-commercial research only")


def _hub(id, name, category, sources, licence, res, width=None, notes=""):
    presets, preset_from = _preset(category)
    return ModelInfo(id, name, res, category, presets=presets, sources=tuple(sources), licence=licence[0],
                     licence_note=licence[1], width=width, size_mb=_SIZE_MB.get(res), preset_from=preset_from, notes=notes)


def _bundled(id, name, path, licence, **kw):
    presets, preset_from = _preset("faces")
    size = (ROOT / path).stat().st_size / 1e6 if (ROOT / path).is_file() else None
    return ModelInfo(id, name, 64, "faces", local_path=path, licence=licence, size_mb=size, presets=presets,
                     preset_from=preset_from, **kw)


S = Source
DEFAULTS = [
    _bundled(DEFAULT_MODEL, "Faces 64px (bundled, offline)", "stylegan/pretrained/faces64.safetensors",
             "MIT (distilled from gan-face-generate)",
             notes="drags move content through the model's warp pathway (stylegan.warp): a deformation code, "
                   "zero in every sampled image, that the engines optimise, alone or with the W+ rows their "
                   "presets name (each engine's \"W+ rows\" setting; on an inverted photo the code alone)"),
    _bundled("dcgan-faces-64", "DCGAN faces 64px (bundled, offline, Z space)",
             "dcgan/pretrained/dcgan_faces_64.safetensors", "MIT (gan-face-generate)", kind="dcgan"),
    _hub("faces-ffhq-512", "Faces (FFHQ 512, StyleGAN2)", "faces", [
        S(DRAGGAN_HUB, "stylegan2-ffhq-512x512.pkl", "20dedd0259ff3009fceefa531c3be8ae4f11cd82", README_LINK),
        S(DRAGGAN_HUB, "stylegan2-ffhq-512x512.pkl", None, SCRIPT)], NVIDIA_ADA, 512),
    _hub("faces-ffhq-1024", "Faces (FFHQ 1024, StyleGAN2)", "faces", [
        S(MIRROR, "ada/ffhq.pkl", None, PIP),
        S(MIRROR, "stylegan2/stylegan2-ffhq-config-f.pkl", None, PIP),
        S(DRAGGAN_HUB, "stylegan2-ffhq1024x1024.pkl", None, INVERSION)], NVIDIA_ADA, 1024,
         notes="ada/ffhq.pkl is 'FFHQ at 1024x1024, trained using original StyleGAN2' (stylegan2-ada-pytorch "
               "README): the TensorFlow config-f model of source 2 in PyTorch form"),
    _hub("faces-metfaces-1024", "MetFaces (1024, StyleGAN2-ADA)", "metfaces", [
        S(MIRROR, "ada/metfaces.pkl", None, PIP)], NVIDIA_ADA, 1024,
         notes="1024 px per NVIDIA's README and the FreeDrag app; the draggan package's size table says 512"),
    _hub("cats-afhq-512", "Cats (AFHQ 512, StyleGAN2-ADA)", "cats", [
        S(MIRROR, "ada/afhqcat.pkl", None, PIP),
        S(DRAGGAN_HUB, "stylegan2-afhqcat-512x512.pkl", None, SCRIPT)], NVIDIA_ADA, 512),
    _hub("dogs-afhq-512", "Dogs (AFHQ 512, StyleGAN2-ADA)", "afhq-dogs", [
        S(MIRROR, "ada/afhqdog.pkl", None, PIP)], NVIDIA_ADA, 512),
    _hub("wild-afhq-512", "Wild animals (AFHQ 512, StyleGAN2-ADA)", "wild", [
        S(MIRROR, "ada/afhqwild.pkl", None, PIP)], NVIDIA_ADA, 512),
    _hub("cats-256", "Cats (LSUN 256, StyleGAN2 config-f, TensorFlow)", "lsun-cats", [
        S(MIRROR, "stylegan2/stylegan2-cat-config-f.pkl", None, PIP),
        S(DRAGGAN_HUB, "stylegan2-cat-config-f.pkl", None, SCRIPT)], NVIDIA_TF, 256),
    _hub("cars-512", "Cars (LSUN 512, StyleGAN2 config-f, TensorFlow)", "cars", [
        S(MIRROR, "stylegan2/stylegan2-car-config-f.pkl", None, PIP),
        S(DRAGGAN_HUB, "stylegan2-car-config-f.pkl", None, SCRIPT)], NVIDIA_TF, 512,
         notes="384x512 (HxW) cars letterboxed in a 512x512 image; shown and dragged whole, as the official "
               "DragGAN renders it (the draggan package's size table says 256)"),
    _hub("churches-256", "Churches (LSUN 256, StyleGAN2 config-f, TensorFlow)", "churches", [
        S(MIRROR, "stylegan2/stylegan2-church-config-f.pkl", None, PIP)], NVIDIA_TF, 256),
    _hub("horses-lsun-256", "Horses (LSUN 256, StyleGAN2 config-f, TensorFlow)", "lsun-horses", [
        S(MIRROR, "stylegan2/stylegan2-horse-config-f.pkl", None, PIP)], NVIDIA_TF, 256),
    _hub("horses-256", "Horses (self-distilled 256)", "horses", [
        S(MIRROR, "self_distill/horses_256_pytorch.pkl", None, PIP),
        S(DRAGGAN_HUB, "stylegan2_horses_256_pytorch.pkl", None, SCRIPT)], SELF_DISTILLED, 256),
    _hub("lions-512", "Lions (self-distilled 512)", "lions", [
        S(MIRROR, "self_distill/lions_512_pytorch.pkl", None, PIP),
        S(DRAGGAN_HUB, "stylegan2_lions_512_pytorch.pkl", None, SCRIPT)], SELF_DISTILLED, 512),
    _hub("elephants-512", "Elephants (self-distilled 512)", "elephants", [
        S(MIRROR, "self_distill/elephants_512_pytorch.pkl", None, PIP),
        S(DRAGGAN_HUB, "stylegan2_elephants_512_pytorch.pkl", None, SCRIPT)], SELF_DISTILLED, 512),
    _hub("dogs-1024", "Dogs (self-distilled 1024)", "dogs", [
        S(DRAGGAN_HUB, "stylegan2_dogs_1024_pytorch.pkl", None, SPACE),
        S(MIRROR, "self_distill/dogs_1024_pytorch.pkl", None, PIP)], SELF_DISTILLED, 1024),
    _hub("giraffes-512", "Giraffes (self-distilled 512)", "giraffes", [
        S(MIRROR, "self_distill/giraffes_512_pytorch.pkl", None, PIP)], SELF_DISTILLED, 512),
    _hub("parrots-512", "Parrots (self-distilled 512)", "parrots", [
        S(MIRROR, "self_distill/parrots_512_pytorch.pkl", None, PIP)], SELF_DISTILLED, 512),
    _hub("bicycles-256", "Bicycles (self-distilled 256)", "bicycles", [
        S(MIRROR, "self_distill/bicycles_256_pytorch.pkl", None, PIP)], SELF_DISTILLED, 256),
    _hub("humans-512", "Humans (StyleGAN-Human v2, 512x256)", "humans", [
        S(DRAGGAN_HUB, "stylegan_human_v2_512.pkl", None, SPACE),
        S(MIRROR, "human/stylegan_human_v2_512.pkl", None, PIP)], HUMAN, 512, width=256,
         notes="full-body 512x256 (HxW) images, shown and dragged as they are; the official DragGAN pads them to "
               "512x512 with white bars"),
    _hub("humans-1024", "Humans (StyleGAN-Human v2, 1024x512)", "humans", [
        S(MIRROR, "human/stylegan_human_v2_1024.pkl", None, PIP)], HUMAN, 1024, width=512,
         notes="full-body 1024x512 (HxW) images, shown and dragged as they are"),
]
del S


# --- $LATENTLAB_MODELS: override or add entries --------------------------------------------------
_FIELDS = {"display_name": str, "resolution": int, "width": int, "category": str, "kind": str,
           "freedrag_l": (int, float), "freedrag_d": (int, float), "repo_id": str, "filename": str, "revision": str,
           "sources": list, "local_path": str, "licence": str, "size_mb": (int, float)}


def _read_overrides():
    path = os.environ.get("LATENTLAB_MODELS")
    if not path:
        return {}
    if not Path(path).exists():
        raise ValueError(f"LATENTLAB_MODELS points at {path}, which does not exist")
    data = clisafe.json_file(path, "LATENTLAB_MODELS file", max_depth=8)   # regular, bounded size and nesting
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
        for k in ("resolution", "width"):   # a size a model can have (the checks on loading allow up to 4096 px)
            if k in fields and not 4 <= fields[k] <= 4096:
                raise ValueError(f"LATENTLAB_MODELS: entry {mid!r} field {k!r} must be a whole number of px from 4 "
                                 f"to 4096, got {fields[k]}")
    return data


def _sources_field(mid, items):
    out = []
    for s in items:
        if not (isinstance(s, dict) and isinstance(s.get("repo_id"), str) and isinstance(s.get("filename"), str)
                and set(s) <= {"repo_id", "filename", "revision"}):
            raise ValueError(f"LATENTLAB_MODELS: entry {mid!r}: each of 'sources' must be an object with repo_id, "
                             f"filename and optionally revision")
        out.append(Source(s["repo_id"], s["filename"], s.get("revision"), "your LATENTLAB_MODELS file"))
    return tuple(out)


def _apply(mid, base, fields):
    """An entry with the override's fields. `sources` replaces the list; `repo_id` (+ `filename`,
    `revision`) puts that source first, keeping the registry's as fallbacks."""
    fields = dict(fields)
    first = {k: fields.pop(k) for k in ("repo_id", "filename", "revision") if k in fields}
    sources = _sources_field(mid, fields.pop("sources")) if "sources" in fields else (base.sources if base else ())
    if first:
        known = sources[0] if sources else None
        filename = first.get("filename") or (known.filename if known else None)
        if not filename or "repo_id" not in first and not known:
            raise ValueError(f"LATENTLAB_MODELS: entry {mid!r} needs repo_id and filename")
        mine = Source(first.get("repo_id") or known.repo_id, filename, first.get("revision"),
                      "your LATENTLAB_MODELS file")
        sources = (mine,) + tuple(s for s in sources if (s.repo_id, s.filename, s.revision) !=
                                  (mine.repo_id, mine.filename, mine.revision))
    l, d = fields.pop("freedrag_l", None), fields.pop("freedrag_d", None)
    if base is not None:
        if l is not None or d is not None or "category" in fields:
            fields["presets"], fields["preset_from"] = _preset(fields.get("category", base.category),
                                                               *(v if v is not None else base.presets.get("freedrag", {}).get(k)
                                                                 for k, v in (("l", l), ("d", d))))
        return replace(base, sources=sources, **fields)
    missing = {"display_name", "resolution", "category"} - set(fields)
    if missing or not (sources or "local_path" in fields):
        raise ValueError(f"LATENTLAB_MODELS: new entry {mid!r} needs display_name, resolution, category and "
                         f"either repo_id + filename, sources, or local_path")
    presets, preset_from = _preset(fields["category"], l, d)
    return ModelInfo(mid, **{"presets": presets, "preset_from": preset_from, "sources": sources, **fields})


def list_models():
    models = {m.id: m for m in DEFAULTS}
    for mid, fields in _read_overrides().items():
        models[mid] = _apply(mid, models.get(mid), fields)
    return list(models.values())


def get_info(model_id):
    models = list_models()
    for m in models:
        if m.id == model_id:
            return m
    raise UnknownModelError(f"unknown model {str(model_id)[:80]!r}; known models: {', '.join(m.id for m in models)}")


def default_model():
    """The app's default model: $LATENTLAB_DEFAULT_MODEL (a registry id or a checkpoint file), else the
    bundled offline face model. A bad value is a ValueError naming the variable."""
    value = os.environ.get(DEFAULT_ENV, "").strip()
    if not value:
        return DEFAULT_MODEL
    if value in {m.id for m in list_models()}:
        return value
    p = Path(value).expanduser()
    if p.suffix in (".pkl", ".safetensors", ".pt") and p.is_file():
        return value
    raise ValueError(f"{DEFAULT_ENV}={value[:80]!r} is neither a registry id nor an existing .pkl/.safetensors file; "
                     f"known models: {', '.join(m.id for m in list_models())}")
