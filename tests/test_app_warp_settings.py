"""The Drag tab's settings show each engine's warp guard and heading weights for the loaded model, read from its
presets (an adapted file: its source's adapted section over them); a bad weight, typed in a field or written in
the presets, is one line naming it, and the session stays as it was. Handler level, small networks."""
import json

import pytest

import checkpoints
import stylegan
from dragcore.config import spec
from drag_testing import small_G
from drags.engines import ENGINES
from limits import LimitError
from ui import drag_image, drag_settings, models

SOURCE = checkpoints.DEFAULT_MODEL


def _upload(tmp_path):
    """A small network with an adapted model's card, through the app's upload box: (choice, uploads)."""
    path = tmp_path / "adapted.safetensors"
    card = dict(from_model=SOURCE, shots=10, steps=4, settings={}, command="test")
    stylegan.save(small_G(), path, adapted=json.dumps(card), presets=json.dumps(checkpoints.presets(SOURCE)))
    up = models.register_upload(str(path), str(tmp_path))
    return up


def _shown(outputs):
    """{field name: value} of New image's outputs (state, image, editor, the fields, note)."""
    names = drag_settings.NAMES
    return dict(zip(names, outputs[3:3 + len(names)])), outputs[-1]


def test_new_image_shows_the_warp_weights_of_the_model_and_refuses_bad_ones(tmp_path, monkeypatch):
    monkeypatch.delenv("LATENTLAB_PRESETS_DIR", raising=False)
    up = _upload(tmp_path)
    shown, note = _shown(drag_image.new_image("upload", 3, 0.7, "w+", None, up))
    assert not note.startswith("⚠")
    expected = checkpoints.adapted_presets(SOURCE)
    for engine in ENGINES:
        for s in drag_settings.WARP:
            assert shown[f"{engine}_{s}"] == float(expected[engine].get(s, spec(s)["default"])), (engine, s)
    assert shown["draggan_warp_heading"] > 0     # the adapted section's heading, which the bundled model lacks
    bundled, _ = _shown(drag_image.new_image(SOURCE, 3, 0.7, "w+", None))
    assert bundled["draggan_warp_heading"] == float(checkpoints.presets(SOURCE)["draggan"].get("warp_heading", 0.0))
    assert bundled["draggan_warp_guard"] == checkpoints.presets(SOURCE)["draggan"]["warp_guard"]

    # a field's value reaches the drag's config; a bad one is one line naming the engine and the setting
    choice = f"{models.UPLOAD}:{up['sha256'][:12]}"
    values = [None] * len(drag_settings.NAMES)
    values[drag_settings.NAMES.index("freedrag_warp_heading")] = 12.5
    cfgs = drag_settings.configs(["draggan", "freedrag"], choice, 3, 0.7, "w+", values)
    assert cfgs["freedrag"].warp_heading == 12.5 and cfgs["draggan"].warp_heading == expected["draggan"]["warp_heading"]
    values[drag_settings.NAMES.index("draggan_warp_guard")] = -1
    with pytest.raises(LimitError, match=r"^DragGAN: Warp guard must be .*got -1$"):
        drag_settings.configs(["draggan"], choice, 3, 0.7, "w+", values)

    # a bad weight in the presets: New image warns with one line and leaves the session as it was
    own = tmp_path / "presets"
    own.mkdir()
    (own / f"{SOURCE}.adapted.json").write_text(json.dumps({"freedrag": {"warp_heading": "lots"}}))
    monkeypatch.setenv("LATENTLAB_PRESETS_DIR", str(own))
    (tmp_path / "again").mkdir()
    bad = _upload(tmp_path / "again")   # read again: an upload's presets are kept by its content
    state = object()
    out = drag_image.new_image("upload", 3, 0.7, "w+", state, bad)
    assert out[0] is state
    assert out[-1].startswith("⚠ FreeDrag: Warp heading (the model's presets) must be ") and out[-1].endswith("got 'lots'")
    assert "\n" not in out[-1]
