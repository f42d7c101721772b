"""Drags on an adapted model take its source's presets, then the source's adapted section
(`presets/<source>.adapted.json`, checkpoints.presets), through every caller: the lookup, the drag
command line, the app's upload box. The source's own presets stay as they are. Small networks only."""
import json

import pytest
import torch

import checkpoints
import stylegan
from checkpoints.presets import PresetError, adapted_section
from dragcore import config
from drag_testing import small_G
from drags.engines import ENGINES
from training.warp import with_warp

SOURCE = checkpoints.DEFAULT_MODEL


def _adapted_file(folder, from_model=SOURCE, name="adapted.safetensors", presets=None):
    """small_G written with an adapted model's card (training.adapt.model_card's keys)."""
    card = dict(from_model=from_model, shots=10, steps=4, settings={}, command="test")
    path = folder / name
    stylegan.save(small_G(), path, adapted=json.dumps(card),
                  presets=json.dumps(checkpoints.presets(SOURCE) if presets is None else presets))
    return path


def test_adapted_file_takes_the_sources_adapted_section(tmp_path, monkeypatch):
    own = tmp_path / "presets"
    own.mkdir()
    (own / f"{SOURCE}.json").write_text(json.dumps({"draggan": {"lr": 0.01, "warp_guard": 1.0}}))
    (own / f"{SOURCE}.adapted.json").write_text(json.dumps(
        {"draggan": {"warp_guard": 0.5}, "command": "python -m benchmarks.poster_edits ...", "seeds": "5000-5011"}))
    monkeypatch.setenv("LATENTLAB_PRESETS_DIR", str(own))
    path = _adapted_file(tmp_path, presets={"draggan": {"lr": 0.01, "warp_guard": 1.0}, "freedrag": {"l": 0.2}})
    got = checkpoints.presets(str(path))
    assert got["draggan"] == {"lr": 0.01, "warp_guard": 0.5}      # the section wins, the card's other settings stay
    assert got["freedrag"] == {"l": 0.2} and got["stabledrag"] == {}
    assert checkpoints.presets(SOURCE)["draggan"]["warp_guard"] == 1.0   # the source keeps its own
    assert checkpoints.adapted_presets(SOURCE)["draggan"] == {"lr": 0.01, "warp_guard": 0.5}
    from drags.drag_cli import model_presets                   # the drag command line reads the same
    assert model_presets(str(path), "draggan") == {"lr": 0.01, "warp_guard": 0.5}
    from ui import models                                      # and an upload through the app's model box
    up = models.register_upload(str(path), str(tmp_path))
    assert models.presets(f"{models.UPLOAD}:{up['sha256'][:12]}")["draggan"]["warp_guard"] == 0.5
    # a file adapted from another file (or a source with no section) keeps what its card carries
    other = _adapted_file(tmp_path, from_model="mine.safetensors", name="b.safetensors",
                          presets={"draggan": {"warp_guard": 1.0}})
    assert checkpoints.presets(str(other))["draggan"] == {"warp_guard": 1.0}
    # a card that is not JSON: the presets it carries, no section
    broken = tmp_path / "c.safetensors"
    stylegan.save(small_G(), broken, adapted="{not json", presets=json.dumps({"draggan": {"warp_guard": 1.0}}))
    assert checkpoints.presets(str(broken))["draggan"] == {"warp_guard": 1.0}
    # a malformed section is one clear error naming the file
    (own / f"{SOURCE}.adapted.json").write_text('{"draggan": 3}')
    with pytest.raises(PresetError, match=r"adapted\.json: presets must be an object"):
        checkpoints.presets(str(path))


def test_a_model_adapted_from_the_bundled_file_names_the_bundled_model():
    """`python -m training.adapt --model stylegan/pretrained/faces64.safetensors` (the app started on that file
    adapts from it too): the card names the registry model, so drags on the result find its adapted section."""
    from types import SimpleNamespace
    from benchmarks.app_process import BUNDLED
    from training import adapt as ta
    meta = ta.model_card(SimpleNamespace(step_n=4, s=ta.Settings()), str(BUNDLED), 10, ["a.png"], 1.0, "test")
    assert json.loads(meta["adapted"])["from_model"] == SOURCE and meta["source"].startswith(f"adapted from {SOURCE}")
    assert json.loads(meta["presets"]) == checkpoints.presets(SOURCE)   # the bundled model's, calibrated


def test_shipped_adapted_section_builds_every_engine_and_drags(monkeypatch):
    """The shipped section names real settings of real engines, in range; a drag on a small network (with a
    warp pathway) with each engine's adapted presets runs and moves its handle toward the target."""
    monkeypatch.delenv("LATENTLAB_PRESETS_DIR", raising=False)
    section = adapted_section(SOURCE)
    assert section, "presets/faces-64-offline.adapted.json is shipped"
    assert set(section) <= set(ENGINES)
    mine = checkpoints.adapted_presets(SOURCE)
    for engine, chosen in section.items():
        assert set(chosen) <= set(config.names(config.CONFIGS[engine]))
        cfg = config.with_presets(engine, mine[engine], seed=3, max_steps=4)
        for name, value in chosen.items():
            spec = config.spec(name)
            assert getattr(cfg, name) == value
            assert spec["choices"] is not None or spec["low"] <= value <= spec["high"]   # the app and CLIs take it
    G = with_warp(small_G(), res=16, grid=4, gain=1.0)   # a warp pathway, as the bundled model's (rows 0)
    torch.manual_seed(0)
    for engine in section:
        cfg = config.with_presets(engine, mine[engine], seed=3, max_steps=4)
        sess = ENGINES[engine].session(G, [[30.0, 30.0]], [[34.0, 30.0]], cfg)
        r = sess.run()
        assert r.steps >= 1 and sess.handles[0, 0] > 29.0
