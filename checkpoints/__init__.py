"""Models: the registry of generators the lab knows (`registry`), getting one onto this machine from
its Hub sources in order (`hub`), and checking those sources against the Hub (`verify`).

    python -m checkpoints              # list models: shape, licence, state, cached or not, presets
    python -m checkpoints fetch ID     # download (trying its sources in order) and convert one
    python -m checkpoints verify [ID]  # which sources exist on the Hub, and their sizes

`load(id_or_path)` is the entry point: a registry id (bundled, cached, or downloaded) or a file.

Errors: `UnknownModelError` (a ValueError: an id the registry does not know), `PresetError` (a
ValueError: a malformed presets/<id>.json), `HubUnavailableError` (a RuntimeError: no source could
be downloaded), and ValueErrors naming $LATENTLAB_MODELS for a malformed override file. A file that
is not a usable generator raises its loader's error: stylegan.CheckpointError or
dcgan.DCGANCheckpointError (for `kind: "dcgan"` entries).
"""
from .hub import (HubUnavailableError, cached_path, cached_source, fetch, forget, is_cached, load,
                  looks_like_path, resolve)
from .presets import (PresetError, adapted_path, adapted_presets, layout_file, layout_path, presets, presets_path,
                      registry_id)
from .registry import (DEFAULT_ENV, DEFAULT_MODEL, DEFAULTS, DRAGGAN_HUB, MIRROR, ModelInfo, Source,
                       UnknownModelError, default_model, get_info, list_models)

