"""The StyleGAN2 generator, its loaders and the safety of the pickle path."""
import os

import pytest
import torch
import torch.nn.functional as F

import stylegan
from stylegan.ops import modulated_conv2d, setup_filter, upsample2d
from official_format import write_malicious_pickle, write_official_pickle, write_tf_pickle


def small_G(seed=0, res=32, arch="skip", c_dim=0, conv_clamp=256):
    torch.manual_seed(seed)
    G = stylegan.Generator(32, c_dim, 32, res, 3, mapping_kwargs=dict(num_layers=2),
                           synthesis_kwargs=dict(channel_base=512, channel_max=32, conv_clamp=conv_clamp,
                                                 architecture=arch))
    with torch.no_grad():  # non-zero noise strengths and biases so every path is exercised
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.3)
        G.mapping.w_avg.normal_()
    return G.eval()


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))


def test_modulated_conv_equals_per_sample_weights():
    # The paper's definition: w'_ijk = s_i w_ijk, w''_ijk = w'_ijk / sqrt(sum_ik w'^2 + eps), per sample.
    torch.manual_seed(0)
    x, w, s = torch.randn(3, 8, 9, 9), torch.randn(5, 8, 3, 3), torch.randn(3, 8)
    wp = w[None] * s[:, None, :, None, None]
    wpp = wp * (wp.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    ref = torch.cat([F.conv2d(x[i:i + 1], wpp[i], padding=1) for i in range(3)])
    assert (modulated_conv2d(x, w, s) - ref).abs().max() < 1e-5


def test_upsample_equals_zero_insertion_and_fir():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 5)
    f = setup_filter()
    z = torch.zeros(2, 3, 10, 10)
    z[:, :, ::2, ::2] = x
    ref = F.conv2d(F.pad(z, [2, 1, 2, 1]), (f * 4)[None, None].repeat(3, 1, 1, 1), groups=3)
    assert (upsample2d(x, f) - ref).abs().max() < 1e-6
    assert torch.allclose(upsample2d(torch.ones(1, 1, 4, 4), f)[..., 2:-2, 2:-2], torch.ones(1, 1, 4, 4))


def test_api_shapes_truncation_and_features():
    G = small_G()
    assert (G.z_dim, G.w_dim, G.c_dim, G.num_ws, G.img_resolution, G.img_channels) == (32, 32, 0, 8, 32, 3)
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


def test_features_do_not_depend_on_blocks_above():
    G = small_G()
    ws = G.mapping(torch.randn(1, 32))
    before = G.synthesis.features(ws, 8)
    with torch.no_grad():
        G.synthesis.b32.conv1.weight.mul_(3)  # blocks above b8 must not be run
    assert torch.equal(G.synthesis.features(ws, 8), before)


@pytest.mark.parametrize("arch,c_dim", [("skip", 0), ("resnet", 0), ("orig", 0), ("skip", 4)])
def test_official_pickle_roundtrip(tmp_path, arch, c_dim):
    G = small_G(arch=arch, c_dim=c_dim)
    write_official_pickle(tmp_path / "net.pkl", G)
    G2 = stylegan.load(tmp_path / "net.pkl")
    z, c = torch.randn(2, 32), (torch.eye(4)[:2] if c_dim else None)
    assert torch.equal(G(z, c, truncation_psi=0.7), G2(z, c, truncation_psi=0.7))
    assert not any(p.requires_grad for p in G2.parameters())


def test_pickle_is_cached_as_safetensors(tmp_path):
    G = small_G()
    write_official_pickle(tmp_path / "net.pkl", G)
    stylegan.load(tmp_path / "net.pkl")
    cached = list((tmp_path / "cache" / "converted").glob("*.safetensors"))
    assert len(cached) == 1 and stylegan.read_metadata(cached[0])["source"] == "net.pkl"
    cached[0].write_bytes(cached[0].read_bytes()[:100])  # a damaged cache entry is rebuilt, not trusted
    z = torch.randn(1, 32)
    assert torch.equal(stylegan.load(tmp_path / "net.pkl")(z), G(z))
    assert cached[0].stat().st_size > 1000


def test_tf_pickle_roundtrip(tmp_path):
    G = small_G(conv_clamp=None)
    write_tf_pickle(tmp_path / "tf.pkl", G)
    G2 = stylegan.load(tmp_path / "tf.pkl")
    z = torch.randn(2, 32)
    assert (G(z) - G2(z)).abs().max() < 1e-6


def test_safetensors_roundtrip(tmp_path):
    G = small_G(arch="resnet", res=16)
    stylegan.save(G, tmp_path / "g.safetensors")
    G2 = stylegan.load(tmp_path / "g.safetensors")
    z = torch.randn(2, 32)
    assert torch.equal(G(z), G2(z)) and G2.init_kwargs == G.init_kwargs


@pytest.mark.parametrize("kind", ["os.system", "eval", "exec", "subprocess"])
def test_malicious_pickle_refused_and_nothing_runs(tmp_path, kind):
    marker = tmp_path / "pwned"
    write_malicious_pickle(tmp_path / "evil.pkl", marker, kind)
    with pytest.raises(stylegan.UnsafeCheckpointError, match="refusing to load"):
        stylegan.load(tmp_path / "evil.pkl")
    assert not marker.exists()


def test_embedded_network_source_is_never_executed(tmp_path):
    marker = tmp_path / "ran"
    write_official_pickle(tmp_path / "net.pkl", small_G(), marker=marker)  # the source would `touch` it
    stylegan.load(tmp_path / "net.pkl")
    assert not marker.exists()


def test_bad_files_give_clear_errors(tmp_path):
    write_official_pickle(tmp_path / "net.pkl", small_G())
    data = (tmp_path / "net.pkl").read_bytes()
    (tmp_path / "trunc.pkl").write_bytes(data[: len(data) // 2])
    with pytest.raises(stylegan.CheckpointError, match="truncated or corrupt"):
        stylegan.load(tmp_path / "trunc.pkl")
    (tmp_path / "text.pkl").write_text("hello, I am not a network")
    with pytest.raises(stylegan.CheckpointError, match="not a checkpoint"):
        stylegan.load(tmp_path / "text.pkl")
    (tmp_path / "empty.pkl").write_bytes(b"")
    with pytest.raises(stylegan.CheckpointError, match="empty"):
        stylegan.load(tmp_path / "empty.pkl")
    with pytest.raises(stylegan.CheckpointError, match="no such file"):
        stylegan.load(tmp_path / "missing.pkl")
    torch.save({"a": torch.ones(1)}, tmp_path / "zip.pt")
    with pytest.raises(stylegan.CheckpointError, match="zip"):
        stylegan.load(tmp_path / "zip.pt")
    stylegan.save(small_G(), tmp_path / "g.safetensors")
    st = (tmp_path / "g.safetensors").read_bytes()
    (tmp_path / "t.safetensors").write_bytes(st[: len(st) - 1000])
    with pytest.raises(stylegan.CheckpointError, match="truncated or corrupt"):
        stylegan.load(tmp_path / "t.safetensors")
    import pickle
    (tmp_path / "list.pkl").write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(stylegan.CheckpointError, match="no StyleGAN2 generator"):
        stylegan.load(tmp_path / "list.pkl")


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


def test_pick_device_is_cpu_here_and_rejects_missing_accelerators():
    assert stylegan.pick_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            stylegan.pick_device("cuda")
