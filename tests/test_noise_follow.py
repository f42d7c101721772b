"""Noise maps that follow a drag (dragcore.noise_follow): real maps of a real (small) StyleGAN, real sessions."""
import pytest
import torch

from dragcore.errors import DragInputError
from dragcore.noise_follow import NoiseFollower
from draggan.engine import DragGANSession
from tests.drag_testing import small_G, tiny_G


def test_maps_follow_the_handles_and_the_generator_keeps_its_own():
    G = small_G()
    syn = G.synthesis
    tuned = [m.clone() for m in syn.noise_maps()]
    for m in syn.noise_maps():   # a flat map with one bright pixel where the handle starts (20, 30)
        m.zero_()
        r = m.shape[-1]
        m[..., round(30 * r / 64), round(20 * r / 64)] = 1.0
    f = NoiseFollower(syn, (64, 64), sigma=8)
    f.update(torch.tensor([[20.0, 30.0]]), torch.tensor([[28.0, 30.0]]))   # content moved 8 px right
    m64 = f.maps()[-1]
    y, x = divmod(int(m64.argmax()), m64.shape[-1])
    assert (x, y) == (28, 30)            # the bright pixel went with the handle
    assert float(m64[..., :, 50:].abs().max()) == 0.0   # far from it nothing changed
    with f.applied():
        assert syn.noise_maps()[-1] is f.maps()[-1]
    assert float(syn.noise_maps()[-1].argmax()) == float(30 * 64 + 20)   # the generator's own maps are back
    for m, t in zip(syn.noise_maps(), tuned):
        m.copy_(t)


def test_a_drag_with_following_maps_starts_where_the_plain_one_does_and_moves_the_maps():
    G = tiny_G()
    for layer in G.synthesis._noisy():   # a fresh network adds no noise (scale 0); a trained one does
        layer.noise_scale.data.fill_(0.5)
    h, t = [[12.0, 16.0]], [[20.0, 16.0]]
    before = [m.clone() for m in G.synthesis.noise_maps()]
    plain = DragGANSession(G, h, t, DragGANSession.Config(seed=3, max_steps=3, lr=0.05))
    follow = DragGANSession(G, h, t, DragGANSession.Config(seed=3, max_steps=3, lr=0.05)).follow_noise(mode="bilinear")
    assert torch.allclose(plain.render(), follow.render(), atol=1e-5)   # no motion yet: the same image
    for _ in range(3):
        follow.step()
    assert float((follow.handles - follow.handles0).abs().max()) > 0.1     # the content moved
    expected = NoiseFollower(G.synthesis, (32, 32), sigma=32 / 8, min_res=2 * follow.feature_res, mode="bilinear")
    expected.update(follow.handles0, follow.handles, follow.targets)
    for a, b in zip(follow.gen.follower.maps(), expected.maps()):
        assert torch.equal(a, b)                    # the session's maps went where its handles went
    with expected.applied():
        want = plain.render(follow.latent)
    assert torch.allclose(follow.render(), want, atol=1e-6)             # its images are made with them
    assert not torch.allclose(plain.render(follow.latent), want, atol=1e-4)   # which the image shows
    for m, b in zip(G.synthesis.noise_maps(), before):
        assert torch.equal(m, b)                    # the generator itself still has its maps


def test_the_maps_move_only_along_the_request_and_never_past_its_target():
    """A handle tracked sideways or beyond its target moves the maps by its motion along the request, at most
    the request's length: a tracker that reads the picture cannot drag the maps on by itself."""
    G = small_G()
    syn = G.synthesis
    tuned = [m.clone() for m in syn.noise_maps()]
    m64 = syn.noise_maps()[-1]
    m64.zero_()
    m64[..., 30, 20] = 1.0
    f = NoiseFollower(syn, (64, 64), sigma=8, min_res=64)
    h0, target = torch.tensor([[20.0, 30.0]]), torch.tensor([[26.0, 30.0]])
    for tracked, lands in (([[35.0, 30.0]], (26, 30)),    # past the target: stops there
                           ([[23.0, 39.0]], (23, 30)),    # sideways: only the part along the request
                           ([[14.0, 30.0]], (20, 30))):   # backwards: nothing
        f.update(h0, torch.tensor(tracked), target)
        y, x = divmod(int(f.maps()[-1].argmax()), 64)
        assert (x, y) == lands
    for m, t in zip(syn.noise_maps(), tuned):
        m.copy_(t)


def test_following_needs_a_stylegan():
    from dcgan.model import Generator
    from draggan.engine import DragGANSession as S
    sess = S(Generator(nz=8, ngf=8), [[10.0, 10.0]], [[12.0, 10.0]], S.Config(max_steps=1, space="z"))
    with pytest.raises(DragInputError, match="StyleGAN"):
        sess.follow_noise()


def test_field_mode_moves_the_maps_with_the_warp_pathway_s_own_displacement():
    """Mode 'field' (a generator with a warp pathway): the maps finer than the warp's stage are resampled by the
    displacement the pathway applies for the latent's deformation code; the coarser maps, which the pathway
    warps with the features already, stay; a latent without the code leaves every map as it is."""
    import stylegan
    torch.manual_seed(0)
    G = stylegan.Generator(z_dim=32, w_dim=32, resolution=64, mapping_layers=2, channel_base=512, channel_max=16,
                           warp_res=32, warp_grid=4, warp_gain=0.1).eval().requires_grad_(False)
    syn = G.synthesis
    own = [m.clone() for m in syn.noise_maps()]
    m64 = syn.noise_maps()[-1]
    m64.zero_()
    m64[..., 30, 20] = 1.0
    f = NoiseFollower(syn, (64, 64), sigma=8, mode="field")
    ws = G.mapping(torch.randn(1, 32))
    f.update(None, None, latent=ws)                      # no code row: nothing moves
    assert all(torch.equal(a, b) for a, b in zip(f.maps(), syn.noise_maps()))
    code = torch.zeros(1, 1, 32)
    code[0, 0, 0::2] = 1.0                               # every bump pushes right: u_x = gain * sum of bumps
    f.update(None, None, latent=torch.cat([ws, code], 1))
    u = syn.warp.field(code[:, 0], 64, 64)[0, 30, 20] * 32   # px at the bright pixel's destination row
    y, x = divmod(int(f.maps()[-1].argmax()), 64)
    assert y == 30 and abs(x - (20 + float(u[0]))) <= 1.0 and x > 20   # it went where the content goes
    assert sum(not torch.equal(a, b) for a, b in zip(f.maps(), syn.noise_maps())) == 2   # the two 64 px maps only
    with pytest.raises(ValueError, match="warp pathway"):
        NoiseFollower(small_G().synthesis, (64, 64), sigma=8, mode="field")
    for m, t in zip(syn.noise_maps(), own):
        m.copy_(t)


@pytest.mark.parametrize("resample,tol", [("bilinear", 1e-3), ("bicubic", 0.1)])
def test_field_mode_reads_the_maps_at_sub_pixel_positions(resample, tol):
    """`resample` (mode 'field'): an interpolating read moves a map by the field's own sub-pixel displacement, where
    'nearest' rounds it to whole pixels (the rounding left the tuned detail up to half a pixel off the content it
    was tuned against: grain on a dragged photo, docs/benchmarks.md, session 22). A ramp in x shows it: read at
    x - u_x it is ramp - u_x, exactly for a bilinear read away from the borders (bicubic's kernel, A = -0.75, bends
    a ramp by a few hundredths of a pixel), up to half a pixel off for 'nearest'."""
    import stylegan
    torch.manual_seed(0)
    G = stylegan.Generator(z_dim=32, w_dim=32, resolution=64, mapping_layers=2, channel_base=512, channel_max=16,
                           warp_res=32, warp_grid=4, warp_gain=0.1).eval().requires_grad_(False)
    syn = G.synthesis
    own = [m.clone() for m in syn.noise_maps()]
    ramp = torch.arange(64, dtype=torch.float32).expand(64, 64)
    for m in syn.noise_maps():
        if m.shape[-1] == 64:
            m.copy_(ramp.reshape(m.shape))
    code = torch.zeros(1, 1, 32)
    code[0, 0, 0::2] = 0.3                               # every bump pushes right, by a pixel or two
    latent = torch.cat([G.mapping(torch.randn(1, 32)), code], 1)
    ux = syn.warp.field(code[:, 0], 64, 64)[0, ..., 0] * 32   # px
    inner = (slice(4, 60), slice(4, 60))
    assert 0.5 < float(ux[inner].max()) < 3.0 and float((ux[inner] % 1).sub(0.5).abs().min()) < 0.1   # sub-pixel parts
    got = {}
    for mode in ("nearest", resample):
        f = NoiseFollower(syn, (64, 64), sigma=8, mode="field", resample=mode)
        f.update(None, None, latent=latent)
        got[mode] = f.maps()[-1].reshape(64, 64)
    assert torch.allclose(got[resample][inner], (ramp - ux)[inner], atol=tol)   # content-true to the sub-pixel
    assert float((got["nearest"] - (ramp - ux))[inner].abs().max()) > 0.4     # whole pixels: off by the rounding
    with pytest.raises(ValueError, match="resample"):
        NoiseFollower(syn, (64, 64), sigma=8, mode="field", resample="area")
    for m, t in zip(syn.noise_maps(), own):
        m.copy_(t)
