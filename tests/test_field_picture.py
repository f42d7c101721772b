"""A photo drag's picture as the reconstruction moved by the warp pathway's field (dragcore.field_picture,
DragSession.field_picture, drags.in_photo.PICTURE), on the bundled model's real network: every picture the session
makes is its start picture resampled by the field of its latent's code, the drag still moves the content, and it
is installed by the photo path for the engines drags.in_photo.PICTURE names (DragGAN, StableDrag)."""
import pytest
import torch

import checkpoints
from benchmarks.report import make_session
from dragcore.errors import DragInputError
from dragcore.field_picture import FieldPicture
from drag_testing import face_model
from drags import in_photo

TURN = ([[28.2967, 42.1038]], [[34.6967, 42.1038]])   # seed 5002's nose tip, 6.4 px right (the poster's turn)


def _session(G, steps=20):
    preset = in_photo.presets(checkpoints.presets(checkpoints.DEFAULT_MODEL), G)["draggan"]
    return make_session("draggan", G, *TURN, preset, seed=5002, psi=0.7, max_steps=steps)


def test_every_picture_of_the_drag_is_the_start_moved_by_its_codes_field():
    G = face_model()
    s = _session(G).field_picture()
    start = s.render().clone()
    with torch.no_grad():
        assert torch.allclose(start, G.synthesis(s.latent), atol=1e-5)   # a zero code: the generator's own picture
    while not s.done:
        s.step()
    code = s.latent[:, -1]
    assert float(code.abs().max()) > 0
    expect = G.synthesis.warp.apply(start, G.synthesis.warp.field(code, *start.shape[-2:]))
    assert torch.equal(s.render(), expect)
    with torch.no_grad():
        own = G.synthesis(s.latent)   # what the generator itself draws there: not the picture
    assert float((own - expect).abs().mean()) > 1e-3
    feats, preview = s.gen.features_and_preview(s.latent)
    assert preview.shape[-2:] == feats.shape[-2:]
    assert torch.allclose(preview, torch.nn.functional.interpolate(expect, size=feats.shape[-2:], mode="area"))
    r = s.report.result()
    assert r.moved_fraction[0] > 0.5   # the content moved, as the report's optical flow reads the picture


def test_the_photo_path_installs_it_for_the_engines_picture_names(monkeypatch):
    G = face_model()
    assert in_photo.PICTURE == dict.fromkeys(("draggan", "freedrag", "stabledrag"), "field")   # sessions 23-25's tuning
    s = _session(G, steps=1)
    in_photo.prepare(s, follow=False)
    assert isinstance(s.gen.picture, FieldPicture)
    preset = in_photo.presets(checkpoints.presets(checkpoints.DEFAULT_MODEL), G)["freedrag"]
    free = make_session("freedrag", G, *TURN, preset, seed=5002, psi=0.7, max_steps=1)
    in_photo.prepare(free, follow=False)
    assert isinstance(free.gen.picture, FieldPicture)
    # an engine PICTURE does not name renders (as real_photos --photo-picture render sets every one)
    monkeypatch.setattr(in_photo, "PICTURE", {"draggan": "field"})
    free = make_session("freedrag", G, *TURN, preset, seed=5002, psi=0.7, max_steps=1)
    in_photo.prepare(free, follow=False)
    assert free.gen.picture is None   # the tuned generator's render
    monkeypatch.setattr(in_photo, "PICTURE", {"draggan": "render"})
    s = _session(G, steps=1)
    in_photo.prepare(s, follow=False)
    assert s.gen.picture is None


def test_a_generator_without_a_warp_pathway_says_so():
    from drag_testing import small_G
    s = make_session("draggan", small_G(), [[10.0, 10.0]], [[12.0, 10.0]], {"rows": 2}, seed=1, max_steps=1)
    with pytest.raises(DragInputError, match="only a StyleGAN with a warp pathway"):
        s.field_picture()


def test_the_picture_is_read_by_its_mode():
    """The picture is the start read along the field by its mode; a bicubic read keeps more of the start's detail
    than a bilinear one (mean absolute Laplacian); an unknown mode is refused."""
    G = face_model()
    s = _session(G, steps=1)
    start = s.render().clone()
    n = G.num_ws
    latent = s.latent.detach().clone()
    latent[:, -1] = 0
    latent[:, -1, 0::2] = 0.3   # a field of fractions of a pixel
    lap = lambda x: float((4 * x[..., 1:-1, 1:-1] - x[..., :-2, 1:-1] - x[..., 2:, 1:-1] - x[..., 1:-1, :-2]
                           - x[..., 1:-1, 2:]).abs().mean())
    warp = G.synthesis.warp
    u = warp.field(latent[:, -1], *start.shape[-2:])
    pics = {}
    for mode in ("bilinear", "bicubic"):
        pics[mode] = FieldPicture(warp, start, n, mode)(latent)
        assert torch.equal(pics[mode], warp.apply(start, u, mode=mode))
    assert lap(pics["bilinear"]) < lap(pics["bicubic"])
    with pytest.raises(ValueError, match="picture mode 'nearest'"):
        FieldPicture(warp, start, n, "nearest")
