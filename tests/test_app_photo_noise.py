"""An inverted photo dragged in the app, through its handlers: the shipped astronaut inverted on the bundled
model (a short inversion), sent to the Drag tab and dragged. The tuned 64 px noise maps follow each drag, as
on the command line (dragcore.noise_follow); each result keeps its maps, the chain's next drag starts from
them, undo and Reset give the earlier ones back, Compare runs each engine from its own result's maps (one
generator, two sessions), and the exports show the result as it was made."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import checkpoints
from dragcore.protocol import StyleGANAdapter
from drags import in_photo
from stylegan.imageops import to_uint8
from ui import drag_handlers, drag_settings, tab_invert
from ui.state import DragState

MODEL = checkpoints.DEFAULT_MODEL


def _drag(state, methods, steps=4):
    values = dict(zip(drag_settings.NAMES, drag_settings.field_values(state.model, state.generator, photo=True)),
                  max_steps=steps, precision="fp32")   # what "Drag this photo" shows: a photo drag's settings
    for _ in drag_handlers.run_drag(methods, state, None, list(values.values())):
        pass


def _field_picture(G, latent):
    """What a DragGAN photo drag shows (drags.in_photo.PICTURE, dragcore.field_picture): the reconstruction (the
    latent with its deformation code set to zero, PTI's own maps) moved by the warp pathway's field for its code."""
    zero = latent.detach().clone()
    zero[:, -1] = 0
    with torch.no_grad():
        start = StyleGANAdapter(G).image(zero)
        warp = G.synthesis.warp
        return to_uint8(warp.apply(start, warp.field(latent[:, -1], *start.shape[-2:])))[0]


def _close(a, b):
    return int(np.abs(a.astype(int) - b.astype(int)).max()) <= 1   # the same picture, up to a float's rounding


def _render(G, latent, maps):
    """The image of `latent` with every noise map of G's synthesis set to `maps` (G's own put back)."""
    layers = list(G.synthesis._noisy())
    own = [layer.noise for layer in layers]
    try:
        for layer, m in zip(layers, maps):
            layer.noise = m
        with torch.no_grad():   # the drag's own view of the generator (the deformation code row included)
            return to_uint8(StyleGANAdapter(G).image(latent))[0]
    finally:
        for layer, m in zip(layers, own):
            layer.noise = m


@pytest.fixture(scope="module")
def photo_state():
    """The astronaut inverted (W 5 / W+ 5 / PTI 15 steps: the maps are tuned, the person roughly there), sent
    to the Drag tab, with one handle on the nose pulled sideways."""
    inv, *_ = tab_invert.invert_photo(Image.open(tab_invert.EXAMPLE), MODEL, 5, 5, 15, None, progress=lambda *a, **k: 0)
    state = tab_invert.send_to_drag(inv, DragState())[0]
    assert state.generator is inv["generator"] and state.photo is not None
    return state


def test_a_photo_s_maps_follow_its_drags_through_the_chain_undo_compare_and_export(photo_state, monkeypatch):
    # every engine shows the field picture by default (drags.in_photo.PICTURE); here FreeDrag renders, as it did
    # until session 25, so that a chain mixes the two pictures and a continued drag must show what its source showed
    monkeypatch.setattr(in_photo, "PICTURE", {"draggan": "field", "stabledrag": "field"})
    state = photo_state
    G = state.generator
    own = [m.clone() for m in G.synthesis.noise_maps()]
    state.points = [[32.0, 36.0], [38.0, 36.0]]
    _drag(state, ["draggan"])
    run1 = state.results["draggan"]
    assert run1.noise is not None and len(run1.noise) == len(own)
    moved = [k for k, (a, b) in enumerate(zip(run1.noise, own)) if not torch.equal(a, b)]
    assert moved and all(own[k].shape[-1] == 64 for k in moved)   # the 64 px maps moved, the coarser ones not
    for m, o in zip(G.synthesis.noise_maps(), own):
        assert torch.equal(m, o)                                 # the generator keeps its own between passes
    # the result shown is DragGAN's picture of a photo drag: the reconstruction moved by the code's field, not
    # the tuned generator's render (with the moved maps or with the maps where PTI left them)
    assert in_photo.picture("draggan") == "field" and in_photo.picture("freedrag") == "render"
    assert _close(run1.image, _field_picture(G, run1.latent))
    for maps in (run1.noise, own):
        assert not _close(run1.image, _render(G, run1.latent, maps))

    # the chain's next drag starts from drag 1's moved maps: its sessions render drag 1's image at step 0
    record = drag_handlers.plan(state, ["draggan"], None)
    configs = drag_settings.configs(["draggan"], state.model, state.seed, state.psi, state.space,
                                    drag_settings.field_values(state.model, G, photo=True), photo=G)
    s = drag_handlers.make_sessions(configs, state, record)["draggan"]
    with torch.no_grad():
        assert np.array_equal(to_uint8(s.render())[0], run1.image)
    assert all(torch.equal(a, b) for a, b in zip(s.gen.follower.maps(), run1.noise))
    # a photo drag's warp guard bounds the swirl: its settings' twist term, at drags.in_photo.prepare's angle
    assert (s.guard.twist, s.guard.twist_max) == (in_photo.SETTINGS["draggan"]["warp_twist"], in_photo.TWIST_MAX)
    _drag(state, ["draggan"], steps=3)
    run2 = state.results["draggan"]
    assert len(state.chain) == 2 and not all(torch.equal(a, b) for a, b in zip(run2.noise, run1.noise))
    assert _close(run2.image, _field_picture(G, run2.latent))
    # undo: drag 1's result with its maps is the head again; Reset: the photo's own maps
    state.undo()
    assert state.head_noise(state.source("draggan")) is run1.noise and np.array_equal(state.image, run1.image)

    # Compare from drag 1: each engine starts from drag 1's maps and keeps its own, on the one generator, and shows
    # what drag 1 showed (DragGAN's field picture: the image the drag starts from), FreeDrag too
    _drag(state, ["draggan", "freedrag"], steps=3)
    for m in ("draggan", "freedrag"):
        run = state.results[m]
        assert state.chain[-1].sources[m] == "draggan" and run.picture == "field"
        assert _close(run.image, _field_picture(G, run.latent))
    # the exports carry them: the result PNG and the result back in the photo are the images made with them
    files = drag_handlers.export_files(state)
    for m in ("draggan", "freedrag"):
        png = next(f for f in files if f.endswith(f"{m}_result.png"))
        assert np.array_equal(np.asarray(Image.open(png).convert("RGB")), state.results[m].image)
        assert any(f.endswith(f"{m}_result_in_photo.png") for f in files)
        edit = json.loads(Path(next(f for f in files if f.endswith(f"{m}_edit.json"))).read_text())
        assert [d["picture"] for d in edit["drags"]] == ["field", "field"]   # what each drag of the chain showed
    state.reset()
    assert state.head_noise(state.source("draggan")) is None
    for m, o in zip(G.synthesis.noise_maps(), own):
        assert torch.equal(m, o)
    # from the reconstruction FreeDrag shows its own picture: the tuned generator's render with the maps it moved
    state.points = [[32.0, 36.0], [38.0, 36.0]]
    _drag(state, ["freedrag"], steps=3)
    free = state.results["freedrag"]
    assert free.picture == "render" and np.array_equal(free.image, _render(G, free.latent, free.noise))


def test_a_seed_s_drag_keeps_its_maps_fixed():
    from ui.drag_image import start_image
    state, _ = start_image(MODEL, 3, 0.7, "w+", None)
    state.points = [[20.0, 30.0], [26.0, 30.0]]
    _drag(state, ["draggan"], steps=2)
    assert state.results["draggan"].noise is None   # a generated face: nothing tuned, nothing follows
    assert state.results["draggan"].picture is None
