"""Latent explorer: interpolation endpoints and slerp, smoothness, style mixing, truncation, SeFa."""
import numpy as np
import pytest
import torch

import dcgan
import stylegan
from latent import (LatentError, apply_direction, interpolate, layer_ranges, sefa_directions, slerp, smoothness,
                    style_mix_grid, truncation_sweep)
from drag_testing import tiny_G
from stylegan.seeds import seed_z


@pytest.fixture(scope="module")
def G():
    return tiny_G(res=32, channel_base=512)


def test_interpolation_endpoints_and_slerp_norms(G):
    for space in ("z", "w"):
        for method in ("lerp", "slerp"):
            frames, _ = interpolate(G, 1, 2, steps=5, space=space, method=method, psi=1.0)
            with torch.no_grad():
                a = G.synthesis(G.mapping(seed_z(1, 32)))
                b = G.synthesis(G.mapping(seed_z(2, 32)))
            assert frames.shape == (5, 3, 32, 32)
            assert (frames[0] - a[0]).abs().max() < 1e-4 and (frames[-1] - b[0]).abs().max() < 1e-4
    x, y = torch.randn(1, 8) * 3, torch.randn(1, 8)
    mid = slerp(x, y, torch.tensor([[0.5]]))
    assert torch.allclose(mid.norm(), (x.norm() + y.norm()) / 2, atol=1e-5)
    s = smoothness(frames)
    assert len(s["steps"]) == 4 and s["max"] >= s["mean"] > 0 and s["unevenness"] >= 1


def test_mixing_ranges_and_grid(G):
    assert [list(r) for r in layer_ranges(18).values()] == [list(range(0, 4)), list(range(4, 8)), list(range(8, 18))]
    assert [list(r) for r in layer_ranges(10).values()] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with pytest.raises(LatentError, match="at least 64 px"):
        style_mix_grid(G, [3], [4, 5], psi=0.7)  # the 32 px test model has no fine blocks
    torch.manual_seed(1)
    G = stylegan.Generator(z_dim=32, w_dim=32, resolution=64, mapping_layers=2, channel_base=512, channel_max=32).eval()
    rows, labels = style_mix_grid(G, [3], [4, 5], psi=0.7)
    assert len(rows) == 4 and rows[0].shape == (2, 64, 64, 3)
    assert (rows[1].astype(int) - rows[3].astype(int)).__abs__().mean() > 0  # coarse vs fine mixing differ
    with pytest.raises(LatentError, match="unknown layer range"):
        style_mix_grid(G, [3], [4], ranges=("everything",))


def test_truncation_sweep_starts_at_w_avg(G):
    imgs = truncation_sweep(G, 7, psis=(0.0, 1.0))
    with torch.no_grad():
        avg = G.synthesis(G.mapping.w_avg[None, None].repeat(1, G.num_ws, 1))
    assert torch.allclose(imgs[0], avg[0], atol=1e-5)
    with pytest.raises(LatentError, match="psi"):
        truncation_sweep(G, 7, psis=(5.0,))


def test_sefa_is_top_eigenvectors(G):
    dirs, vals = sefa_directions(G, layers=[0, 1, 2], k=3)
    assert torch.allclose(dirs @ dirs.t(), torch.eye(3), atol=1e-4)
    A = torch.cat([G.synthesis.stage(4).conv.style.weight, G.synthesis.stage(8).up.style.weight,
                   G.synthesis.stage(8).conv.style.weight])
    A = A / A.norm(dim=1, keepdim=True)
    ref = torch.linalg.eigvalsh(A.t() @ A).flip(0)[:3]
    assert torch.allclose(vals, ref, rtol=1e-4)
    ws = G.mapping(seed_z(1, 32))
    moved = apply_direction(ws, dirs[0], 2.0, [0, 1])
    assert torch.allclose((moved - ws)[0, 0], 2 * dirs[0]) and torch.equal(moved[:, 2:], ws[:, 2:])
    with pytest.raises(LatentError, match="layers must lie"):
        sefa_directions(G, layers=[99])


def test_dcgan_is_z_only():
    D = dcgan.load_pretrained()
    frames, _ = interpolate(D, 1, 2, steps=3, space="z", method="slerp")
    assert frames.shape == (3, 3, 64, 64)
    with pytest.raises(LatentError, match="no mapping network"):
        interpolate(D, 1, 2, space="w")
    with pytest.raises(LatentError, match="no mapping network"):
        sefa_directions(D)


def test_the_latent_tab_fills_its_panels_once_and_on_a_large_cpu_model_says_which_button_draws_them(monkeypatch):
    """ui.tab_latent.latent_fill (the tab's first opening): the three panels, each what its button draws with the same
    settings; nothing once filled; over FILL_MAX_RES on the CPU, no picture and one line per panel naming its button."""
    import gradio as gr
    from ui import tab_latent as tl
    from ui.context import default_model
    m = default_model()
    args = (m, 0.7, 1, 2, 5, 3, "4 5", 3, 2, 5, "all")
    out = tl.latent_fill(False, *args)
    assert out[0] is True
    parts = (tl.latent_interp(m, 1, 2, 5, 0.7), tl.latent_mix(m, 3, "4 5", 0.7), tl.latent_sefa(m, 3, 2, 5, "all", 0.7))
    for (pic, md), want in zip((out[1:3], out[3:5], out[5:7]), parts):
        assert np.array_equal(np.asarray(pic), np.asarray(want[0])) and md == want[1]
    assert all(isinstance(o, type(gr.skip())) for o in tl.latent_fill(True, *args)[1:])
    monkeypatch.setattr(tl, "FILL_MAX_RES", 32)
    big = tl.latent_fill(False, *args)
    assert big[0] is True and all(isinstance(o, type(gr.skip())) for o in big[1::2])
    assert [b.split("**")[1] for b in big[2::2]] == ["Interpolate", "Style mixing", "SeFa"]
    assert all("A 64 px model on the CPU" in b for b in big[2::2])
