"""The StyleGAN2 generator itself: its arithmetic against the paper's definitions, the API the
rest of the repo uses, non-square generators, reduced precision and devices.
(Loaders and the converter: test_stylegan_formats.py.)"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import stylegan
from stylegan.imageops import to_uint8
from stylegan.ops import demod_scale, fir_2d, modulate, rgb_projection, styled_epilogue, up_conv3x3, upsample2x
from stylegan.seeds import seed_z


def small_G(seed=0, res=32, arch="skip", c_dim=0, conv_clamp=256, width=None):
    torch.manual_seed(seed)
    G = stylegan.Generator(z_dim=32, c_dim=c_dim, w_dim=32, resolution=res, width=width, mapping_layers=2,
                           channel_base=512, channel_max=32, conv_clamp=conv_clamp, architecture=arch)
    with torch.no_grad():  # non-zero noise strengths and biases so every path is exercised
        for name, p in G.named_parameters():
            if name.endswith("noise_scale"):
                p.fill_(0.3)
            elif name.endswith(".bias") and ".style." not in name:
                p.normal_(0, 0.1)
        G.mapping.w_avg.normal_()
    return G.eval()


def test_modulated_conv_equals_per_sample_weights():
    # The paper's definition: w'_ijk = s_i w_ijk, w''_ijk = w'_ijk / sqrt(sum_ik w'^2 + eps), per sample.
    torch.manual_seed(0)
    x, w, s = torch.randn(3, 8, 9, 9), torch.randn(5, 8, 3, 3), torch.randn(3, 8)
    wp = w[None] * s[:, None, :, None, None]
    wpp = wp / wp.pow(2).sum((2, 3, 4), keepdim=True).add(1e-8).sqrt()
    ref = torch.cat([F.conv2d(x[i:i + 1], wpp[i], padding=1) for i in range(3)])
    ours = F.conv2d(modulate(x, s), w, padding=1) * demod_scale(s, w)[:, :, None, None]
    assert (ours - ref).abs().max() < 1e-5


def test_upsampling_equals_zero_insertion_and_fir():
    torch.manual_seed(0)
    x, f = torch.randn(2, 3, 5, 5), fir_2d([1, 3, 3, 1])
    z = torch.zeros(2, 3, 10, 10)
    z[:, :, ::2, ::2] = x
    ref = F.conv2d(F.pad(z, [2, 1, 2, 1]), (f * 4)[None, None].repeat(3, 1, 1, 1), groups=3)
    assert (upsample2x(x, f) - ref).abs().max() < 1e-6
    assert torch.allclose(upsample2x(torch.ones(1, 1, 4, 4), f)[..., 2:-2, 2:-2], torch.ones(1, 1, 4, 4))
    # the up-sampling conv: zero insertion, a 3x3 conv (transposed: kernel mirrored) and the FIR
    w = torch.randn(4, 3, 3, 3)
    full = F.conv2d(F.pad(z, [2, 2, 2, 2]), w.flip(2, 3))[..., :11, :11]  # 2H+1: a stride-2 transposed conv
    ref = F.conv2d(F.pad(full, [1, 1, 1, 1]), (f * 4)[None, None].repeat(4, 1, 1, 1), groups=4)
    assert (up_conv3x3(x, w, f) - ref).abs().max() < 1e-5


def test_rgb_projection_and_epilogue_equal_their_definitions():
    torch.manual_seed(0)
    x, w, s = torch.randn(2, 6, 5, 7), torch.randn(3, 6, 1, 1), torch.randn(2, 6)
    ref = F.conv2d(x * s[:, :, None, None], w)
    assert (rgb_projection(x, w, s) - ref).abs().max() < 1e-5
    # lrelu(y * d + noise + b) * sqrt(2) * g, clamped to +-c * g, with gradients
    y = (torch.randn(2, 4, 5, 5) * 3).requires_grad_(True)
    d, noise, b = torch.rand(2, 4) + 0.5, torch.randn(5, 5), torch.randn(4)
    g, c = math.sqrt(0.5), 2.0
    ref = F.leaky_relu(y * d[:, :, None, None] + noise + b[:, None, None], 0.2) * math.sqrt(2) * g
    ref = ref.clamp(-c * g, c * g)
    k = math.sqrt(2) * g
    out = styled_epilogue(y, d * k, (noise + b[:, None, None]) * k, c * g)
    assert (out - ref).abs().max() < 1e-5 and (ref.abs() == c * g).any()
    (gy_ref,), (gy,) = torch.autograd.grad(ref.sum(), y), torch.autograd.grad(out.sum(), y)
    assert (gy - gy_ref).abs().max() < 1e-5


def test_api_shapes_truncation_and_features():
    G = small_G()
    assert (G.z_dim, G.w_dim, G.c_dim, G.num_ws, G.img_resolution, G.img_channels) == (32, 32, 0, 8, 32, 3)
    assert G.img_shape == (32, 32) and G.synthesis.block_resolutions == [4, 8, 16, 32]
    z = torch.randn(2, 32)
    ws = G.mapping(z)
    assert ws.shape == (2, 8, 32) and torch.equal(ws[:, 0], ws[:, 7])
    ws0 = G.mapping(z, truncation_psi=0.0)
    assert torch.allclose(ws0, G.mapping.w_avg.expand_as(ws0))
    ws_cut = G.mapping(z, truncation_psi=0.5, truncation_cutoff=3)
    assert torch.allclose(ws_cut[:, 3:], ws[:, 3:]) and not torch.allclose(ws_cut[:, :3], ws[:, :3])
    img, feat = G.synthesis(ws, feature_res=16)
    assert img.shape == (2, 3, 32, 32) and feat.shape == (2, 32, 16, 16)
    assert torch.equal(G.synthesis.features(ws, 16), feat)
    assert torch.equal(G.synthesis(ws, noise_mode="const"), img)
    assert not torch.equal(G.synthesis(ws, noise_mode="random"), img)
    assert not torch.equal(G.synthesis(ws, noise_mode="none"), img)
    img2, feats = G.synthesis.image_and_features(ws, [4, 16])
    assert torch.equal(img2, img) and torch.equal(feats[16], feat) and feats[4].shape == (2, 32, 4, 4)


def test_w_avg_tracking_and_conditional_mapping():
    G = small_G(c_dim=4).train()
    before = G.mapping.w_avg.clone()
    G.mapping(torch.randn(8, 32), torch.eye(4)[:2].repeat(4, 1), update_w_avg=True)
    assert not torch.equal(before, G.mapping.w_avg)
    with pytest.raises(ValueError, match="conditional"):
        G.mapping(torch.randn(1, 32))
    z = torch.randn(1, 32)
    assert not torch.equal(G.mapping(z, torch.eye(4)[:1]), G.mapping(z, torch.eye(4)[1:2]))


def test_features_do_not_depend_on_stages_above():
    G = small_G()
    ws = G.mapping(torch.randn(1, 32))
    before = G.synthesis.features(ws, 8)
    with torch.no_grad():
        G.synthesis.stage(16).conv.weight.mul_(3)  # stages above 8 px must not run
    assert torch.equal(G.synthesis.features(ws, 8), before)


def test_a_pass_started_from_a_stage_output_is_the_whole_pass():
    """run(start=(res, x, img)) runs only the stages above res, from an earlier pass's output there: the same
    values as one whole pass; an `upto` below the start is refused."""
    G = small_G()
    ws = G.mapping(torch.randn(2, 32))
    with torch.no_grad():
        img, feats = G.synthesis.run(ws, keep=(8, 16), images=(8,))
        x, im8 = feats[8], feats[("image", 8)]
        G.synthesis.stage(8).conv.weight.mul_(3)   # the stages up to the start must not run again
        again, kept = G.synthesis.run(ws, keep=(8, 16), start=(8, x, im8))
        assert torch.equal(again, img) and torch.equal(kept[16], feats[16]) and kept[8] is x
        assert G.synthesis.run(ws, upto=8, keep=(8,), start=(8, x, im8))[0] is im8   # nothing above runs
        with pytest.raises(ValueError, match="below the start"):
            G.synthesis.run(ws, upto=4, start=(8, x, im8))


def test_style_affines_and_noise_accessors():
    G = small_G()
    affines = G.synthesis.style_affines()
    assert len(affines) == G.num_ws
    ws = G.mapping(torch.randn(1, 32))
    with torch.no_grad():  # the style layer of row k is the only one that reads row k
        for k in (0, 3, G.num_ws - 1):
            moved = ws.clone()
            moved[:, k] += 1
            seen = [a(moved[:, j]) for j, a in enumerate(affines)]
            base = [a(ws[:, j]) for j, a in enumerate(affines)]
            assert [not torch.equal(a, b) for a, b in zip(seen, base)] == [j == k for j in range(G.num_ws)]
    maps = G.synthesis.noise_maps()
    assert [tuple(m.shape) for m in maps] == [(4, 4)] + [(r, r) for r in (8, 16, 32) for _ in range(2)]
    img = G.synthesis(ws)
    G.synthesis.set_noise_maps([torch.zeros_like(m) for m in maps])
    assert torch.equal(G.synthesis(ws), G.synthesis(ws, noise_mode="none")) and not torch.equal(G.synthesis(ws), img)
    with pytest.raises(ValueError, match="noise maps"):
        G.synthesis.set_noise_maps(maps[:2])


def test_noise_swapped_puts_the_maps_back():
    G = small_G()
    syn, ws = G.synthesis, G.mapping(torch.randn(1, 32))
    with torch.no_grad():
        img, kept = syn(ws), syn.noise_maps()
        with syn.noise_swapped([torch.zeros_like(m) for m in kept]):
            assert torch.equal(syn(ws), syn(ws, noise_mode="none")) and not torch.equal(syn(ws), img)
        assert all(a is b for a, b in zip(syn.noise_maps(), kept)) and torch.equal(syn(ws), img)
        with pytest.raises(RuntimeError, match="mid-block"):   # an error inside the block: the maps still go back
            with syn.noise_swapped([torch.randn_like(m) for m in kept]):
                raise RuntimeError("mid-block")
        assert all(a is b for a, b in zip(syn.noise_maps(), kept)) and torch.equal(syn(ws), img)
        for bad in (kept[:2], [torch.zeros_like(m) for m in kept[:-1]] + [torch.zeros(3, 3)]):
            with pytest.raises(ValueError, match="noise map"):   # a wrong list is refused before anything is swapped
                with syn.noise_swapped(bad):
                    pass
        assert all(a is b for a, b in zip(syn.noise_maps(), kept))


@pytest.mark.parametrize("arch", ["skip", "resnet", "orig"])
def test_non_square_generator(arch):
    G = small_G(res=32, width=16, arch=arch)
    assert G.img_shape == (32, 16) and G.img_resolution == 32 and G.synthesis.const.shape[1:] == (4, 2)
    ws = G.mapping(torch.randn(2, 32))
    img, feat = G.synthesis(ws, feature_res=16)
    assert img.shape == (2, 3, 32, 16) and feat.shape == (2, 32, 16, 8)
    assert G.synthesis.features(ws, 8).shape == (2, 32, 8, 4)
    assert [tuple(m.shape) for m in G.synthesis.noise_maps()][-1] == (32, 16)
    assert G.synthesis(ws, noise_mode="random").shape == img.shape
    with pytest.raises(ValueError, match="width"):
        stylegan.Generator(resolution=32, width=24)


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match="resolution must be a power of two"):
        stylegan.Generator(resolution=48)
    with pytest.raises(ValueError, match="architecture"):
        stylegan.Generator(resolution=8, architecture="unet")
    with pytest.raises(ValueError, match="channels"):
        stylegan.Generator(resolution=16, channels=[8, 8])
    with pytest.raises(TypeError, match="not both"):
        stylegan.Generator(stylegan.GeneratorConfig(resolution=8), resolution=8)


def test_nan_and_bad_shapes_rejected():
    G = small_G()
    with pytest.raises(ValueError, match="NaN"):
        G.mapping(torch.full((1, 32), float("nan")))
    ws = G.mapping(torch.randn(1, 32))
    ws[0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match="NaN or Inf"):
        G.synthesis(ws)
    with pytest.raises(ValueError, match=r"z must have shape \[N, 32\]"):
        G.mapping(torch.randn(1, 31))
    with pytest.raises(ValueError, match="ws must have shape"):
        G.synthesis(torch.randn(1, 7, 32))
    with pytest.raises(ValueError, match="noise_mode"):
        G.synthesis(G.mapping(torch.randn(1, 32)), noise_mode="sometimes")
    with pytest.raises(ValueError, match="no synthesis block at 12px"):
        G.synthesis.features(G.mapping(torch.randn(1, 32)), 12)


def test_bf16_autocast_runs_in_bf16_and_stays_close():
    G = small_G()
    ws = G.mapping(torch.randn(2, 32))
    ref_img, ref_feat = G.synthesis(ws, feature_res=16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        img, feat = G.synthesis(ws, feature_res=16)
        ws_ac = G.mapping(torch.randn(2, 32))
    assert feat.dtype == torch.bfloat16 and img.dtype == torch.float32 and ws_ac.dtype == torch.float32
    rel = (feat.float() - ref_feat).abs().mean() / ref_feat.abs().mean()
    assert torch.isfinite(img).all() and rel < 0.05
    assert (img - ref_img).abs().mean() < 0.05 * ref_img.abs().mean()


def _devices():
    out = []
    if torch.cuda.is_available():
        out.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        out.append("mps")
    return out or [pytest.param("accelerator", marks=pytest.mark.skip(reason="no CUDA or MPS device here"))]


@pytest.mark.parametrize("device", _devices())
def test_accelerator_matches_cpu(device):
    G = small_G(arch="resnet", width=16)
    z = torch.randn(2, 32)
    with torch.no_grad():
        ref = G(z)
        out = G.to(device)(z.to(device)).cpu()
        assert (out - ref).abs().max() < 1e-3
        with torch.autocast(device, dtype=torch.float16 if device == "cuda" else torch.bfloat16):
            half = G.synthesis(G.mapping(z.to(device)))
    assert torch.isfinite(half).all() and G.device.type == device


def test_pick_device_is_cpu_here_and_rejects_missing_accelerators():
    assert stylegan.pick_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            stylegan.pick_device("cuda")


def test_imageops_and_seeds_are_the_shared_conversions():
    x = torch.tensor([-1.5, -1.0, 0.0, 0.999, 2.0]).view(1, 1, 1, 5).expand(2, 3, 1, 5)
    u = to_uint8(x)
    assert u.shape == (2, 1, 5, 3) and u.dtype == np.uint8
    assert u[0, 0, :, 0].tolist() == [0, 0, 128, 255, 255]            # clamped, (x + 1) 127.5 rounded
    assert to_uint8(x[0]).shape == (1, 5, 3) and (to_uint8(x[0]) == u[0]).all()   # one image: no batch axis
    with pytest.raises(ValueError, match="expected images"):
        to_uint8(x[0, 0])
    z = seed_z(42, 8)   # the official tools' draw: numpy RandomState(seed).randn
    assert torch.equal(z, torch.from_numpy(np.random.RandomState(42).randn(1, 8)).float())
    for bad in (-1, 2 ** 32, 1.5, True, "3"):
        with pytest.raises(ValueError, match="seed must be an integer"):
            seed_z(bad, 8)
