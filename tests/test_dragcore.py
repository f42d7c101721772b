"""dragcore: feature sampling, radii, points, masks, the generator protocol and the base session."""
import threading

import numpy as np
import pytest
import torch

import dcgan

from dragcore import DCGANAdapter, DragInputError, StyleGANAdapter, adapt, default_feature_res
from stylegan.seeds import seed_z
from dragcore.features import (disc_offsets, patch_offsets, resize_to_image, sample, sample_resized,
                               scaled_radius, square_offsets)
from dragcore.mask import fixed_weight, load_mask, mask_loss, validate_mask
from dragcore.points import validate_points
from draggan import DragGANSession
from drag_testing import small_G
from dragcore.config import DragGANConfig


def test_sampling_small_map_equals_reading_the_resized_map():
    torch.manual_seed(0)
    feat = torch.randn(1, 5, 16, 16)
    big = resize_to_image(feat, 64)
    pts = torch.tensor([[0.0, 0.0], [63.0, 63.0], [10.0, 7.0], [31.0, 2.0], [12.25, 40.5]])
    ints = pts[:4].long()
    # integer pixels of the resized map are read exactly ...
    assert torch.equal(sample(big, pts[:4], 64), big[0, :, ints[:, 1], ints[:, 0]].t())
    # ... and reading the small map at the same image points gives the same numbers (fast == reference)
    assert torch.allclose(sample(feat, pts[:4], 64), big[0, :, ints[:, 1], ints[:, 0]].t(), atol=1e-5)
    # shapes: any leading dims
    assert sample(feat, torch.zeros(3, 7, 2), 64).shape == (3, 7, 5)


def test_sample_resized_is_a_bilinear_read_of_the_resized_map():
    g = torch.Generator().manual_seed(0)
    feat = torch.randn(1, 6, 32, 32, generator=g)
    pts = torch.rand(5, 7, 2, generator=g) * 63  # sub-pixel points, edges included below
    pts = torch.cat([pts, torch.tensor([[[0.0, 0.0], [63.0, 63.0], [62.5, 0.3], [0.0, 63.0], [31.0, 12.0],
                                         [10.25, 40.75], [63.0, 0.5]]])])
    big = resize_to_image(feat, 64)
    assert torch.allclose(sample_resized(feat, pts, 64), sample(big, pts, 64), atol=1e-5)
    assert not torch.allclose(sample(feat, pts, 64), sample(big, pts, 64), atol=1e-2)  # a direct read is not it
    assert torch.equal(sample_resized(big, pts, 64), sample(big, pts, 64))  # at image size: a plain read


def test_radii_scale_with_resolution_and_never_drop_below_one_feature_pixel():
    # from 256 px up: round(r res / 512), as the official DragGAN
    assert [scaled_radius(3, r, 128) for r in (256, 512, 1024)] == [2.0, 3.0, 6.0]
    assert [scaled_radius(12, r, 128) for r in (256, 512, 1024)] == [6.0, 12.0, 24.0]
    assert scaled_radius(3, 64, 32) == 2.0          # small models: one feature pixel of the 32 block
    assert scaled_radius(3, 64, 16) == 4.0
    # strictly less than r (the paper's "distance less than r1"): 3x3 at r 2, 25 px at r 3
    assert len(disc_offsets(3)) == 25 and len(disc_offsets(2)) == 9 and len(disc_offsets(1)) == 1
    assert len(square_offsets(2)) == 25
    assert set(map(tuple, patch_offsets(1.5).tolist())) == {(x, y) for x in (-1.5, 0, 1.5) for y in (-1.5, 0, 1.5)}


def test_feature_block_choice():
    assert [default_feature_res(r) for r in (64, 128, 256, 512, 1024)] == [32, 64, 128, 128, 128]
    G = small_G()
    a = StyleGANAdapter(G)
    assert (a.resolution, a.feature_res) == (64, 32)
    with pytest.raises(DragInputError, match="not a synthesis block"):
        StyleGANAdapter(G, feature_res=48)


def test_points_validation():
    h, t = validate_points([(1, 2), (3.5, 4)], [[5, 6], [7, 8]], 64)
    assert h.shape == t.shape == (2, 2) and h.dtype == torch.float32
    bad = [
        (([],), "no points"), (([(1, 2)], []), "needs a target"), (([(1, 2)], [(3, 4), (5, 6)]), "needs a target"),
        (([(64, 2)], [(3, 4)]), "outside"), (([(1, 2)], [(-1, 4)]), "outside"),
        (([(float("nan"), 2)], [(3, 4)]), "not finite"), (([(1, 2, 3)], [(3, 4)]), "pair"),
        (([("a", 2)], [(3, 4)]), "numeric"),
    ]
    for args, msg in bad:
        args = args + ([],) if len(args) == 1 else args
        with pytest.raises(DragInputError, match=msg):
            validate_points(*args, 64)


def test_mask_validation_and_loss(tmp_path):
    m = np.zeros((8, 8), bool)
    m[:, :4] = True
    mask = validate_mask(m, 8)
    assert mask.dtype == torch.bool and mask.sum() == 32
    assert validate_mask(m.astype(np.float32), 8).equal(mask)
    for bad, msg in [(np.zeros((8, 8)), "all zeros"), (np.ones((8, 4)), "8x8"), (np.ones(8), "2-D"),
                     (np.full((8, 8), 2.0), "0/1"), (np.full((8, 8), np.nan), "NaN")]:
        with pytest.raises(DragInputError, match=msg):
            validate_mask(bad, 8)
    # area reduction: a feature cell half editable counts half fixed
    m2 = np.zeros((8, 8), bool)
    m2[:, :3] = True
    w = fixed_weight(validate_mask(m2, 8), 4)
    assert torch.allclose(w[0, 0, 0], torch.tensor([0.0, 0.5, 1.0, 1.0]))
    torch.manual_seed(0)
    f, f0 = torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)
    wfix = fixed_weight(mask, 4)  # left half editable
    assert torch.allclose(mask_loss(f, f0, wfix), (f - f0)[..., 2:].abs().mean())
    # from a PNG (white = editable)
    from PIL import Image
    Image.fromarray((m * 255).astype(np.uint8)).save(tmp_path / "m.png")
    assert load_mask(tmp_path / "m.png", 8).equal(mask)
    with pytest.raises(DragInputError, match="not found"):
        load_mask(tmp_path / "missing.png", 8)
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(DragInputError, match="cannot read"):
        load_mask(tmp_path / "junk.png", 8)


def test_stylegan_adapter_latents_and_features():
    G = small_G()
    a = adapt(G)
    wp = a.latent_init(5, 0.7, "w+")
    assert wp.shape == (1, G.num_ws, G.w_dim) and torch.equal(wp, a.latent_init(5, 0.7, "w+"))
    assert not torch.equal(wp, a.latent_init(6, 0.7, "w+"))
    w = a.latent_init(5, 0.7, "w")
    assert w.shape == (1, G.w_dim) and torch.allclose(w, wp[:, 0])
    tr, fr = a.split(wp)
    assert tr.shape[1] == 6 and fr.shape[1] == G.num_ws - 6 and torch.equal(a.join(tr, fr), wp)
    tr, fr = a.split(w)
    assert torch.equal(tr, w) and fr.numel() == 0
    with torch.no_grad():
        img, feat = a.image_and_features(wp)
        assert feat.shape == (1, G.synthesis.channels[32], 32, 32) and img.shape == (1, 3, 64, 64)
        assert torch.allclose(a.features(wp), feat) and torch.allclose(a.image(wp), img)
        assert torch.allclose(a.image(w), a.image(a.ws(w)))  # W broadcasts to every layer
    assert not any(p.requires_grad for p in G.parameters())  # only the latent is optimised
    for bad, msg in [(dict(space="z"), "space"), (dict(psi=float("nan")), "psi"), (dict(seed=-1), "seed"),
                     (dict(seed=1.5), "seed")]:
        kw = dict(seed=0, psi=0.7, space="w+")
        kw.update(bad)
        with pytest.raises(DragInputError, match=msg):
            a.latent_init(**kw)
    with pytest.raises(DragInputError, match="latent must be"):
        a.check_latent(torch.zeros(1, 3, G.w_dim))
    with pytest.raises(DragInputError, match="cannot drag"):
        adapt(torch.nn.Linear(2, 2))


@pytest.mark.integration   # ~5 s
def test_session_stop_flag_preview_and_explicit_latent():
    G = small_G()
    s = DragGANSession(G, [(20, 30)], [(40, 30)], DragGANConfig(seed=1, max_steps=50), device="cpu")
    seen = []
    s.run(callback=lambda sess, r: (seen.append(r.step), sess.stop() if r.step == 3 else None))
    assert s.steps == 3 and s.stop_reason == "stopped" and s.done and seen[-1] == 3
    assert s.step().step == 3  # a stopped session does not step again
    img = s.report.preview()
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    # stop from another thread while running
    s2 = DragGANSession(G, [(20, 30)], [(40, 30)], DragGANConfig(max_steps=10_000), latent=s.latent, device="cpu")
    timer = threading.Timer(0.3, s2.stop)
    timer.start()
    s2.run()
    timer.join()
    assert s2.stop_reason == "stopped" and 0 < s2.steps < 10_000
    assert torch.equal(s2.latent0, s.latent)
    with pytest.raises(DragInputError, match="max_steps"):
        DragGANSession(G, [(20, 30)], [(40, 30)], DragGANConfig(max_steps=-1), device="cpu")
    with pytest.raises(DragInputError, match="lr"):
        DragGANSession(G, [(20, 30)], [(40, 30)], DragGANConfig(lr=0), device="cpu")


def test_dcgan_adapter_on_the_pretrained_dcgan():
    G = dcgan.load_pretrained()
    a = adapt(G)
    assert isinstance(a, DCGANAdapter) and (a.resolution, a.feature_res, a.default_lr) == (64, 16, 0.01)
    z = a.latent_init(4, 0.7, "z")
    assert z.shape == (1, 100) and torch.allclose(z, 0.7 * seed_z(4, 100))
    tr, fr = a.split(z)
    assert torch.equal(tr, z) and fr.numel() == 0 and torch.equal(a.join(tr, fr), z)
    with torch.no_grad():
        img, feat = a.image_and_features(z)
        assert img.shape == (1, 3, 64, 64) and feat.shape == (1, 128, 16, 16)
        assert torch.allclose(a.features(z), feat) and torch.allclose(a.image(z), img)
    with pytest.raises(DragInputError, match="Z space"):
        a.latent_init(4, 0.7, "w+")
    with pytest.raises(DragInputError, match="latent must be z"):
        a.check_latent(torch.zeros(1, 3))
