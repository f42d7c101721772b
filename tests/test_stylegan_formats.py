"""Loading generators: official pickles (PyTorch, StyleGAN-Human, TensorFlow), our safetensors
formats v1 and v2, the bundled model, the name-mapping errors, and the safety of the pickle path.

The official-format writers in official_format.py take the official names from our converter's
table run backwards, so round trips through them check our reader against our writer only;
`benchmarks/official_parity.py` checks the table against the official code, and the files in
tests/data (written before the generator was rewritten, by code whose names matched the official
ones) pin the mapping independently.
"""
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import stylegan
from official_format import (official_record, write_malicious_pickle, write_official_pickle, write_tf_pickle,
                             write_v1_safetensors)
from test_stylegan import small_G

DATA = Path(__file__).parent / "data"
BUNDLED = Path(__file__).parent.parent / "stylegan" / "pretrained" / "faces64.safetensors"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))


def test_bundled_model_renders_its_pinned_images():
    # recorded when the re-trained model was shipped (a changed file or generator shows here); the
    # rewrite itself is pinned by the tiny files below, written before it
    ref = np.load(DATA / "faces64_expected.npz")
    assert stylegan.read_metadata(BUNDLED)["version"] == "2"
    G = stylegan.load(BUNDLED)
    z = torch.from_numpy(ref["z"])
    with torch.no_grad():
        assert np.abs(G(z, truncation_psi=0.7).numpy() - ref["img_psi07"]).max() < 1e-5
        assert np.abs(G.synthesis(G.mapping(z)).numpy() - ref["img"]).max() < 1e-5


@pytest.mark.parametrize("name", ["tiny_official.pkl", "tiny_v1.safetensors"])
def test_files_written_before_the_rewrite_render_the_same(name):
    ref = np.load(DATA / "tiny_expected.npz")  # resnet, conditional, conv_clamp 1: every path
    G = stylegan.load(DATA / name, use_cache=False)
    assert (G.config.architecture, G.c_dim, G.config.conv_clamp) == ("resnet", 3, 1.0)
    with torch.no_grad():
        img = G(torch.from_numpy(ref["z"]), torch.from_numpy(ref["c"]), truncation_psi=0.7, truncation_cutoff=3)
    assert np.abs(img.numpy() - ref["img"]).max() < 1e-5


@pytest.mark.parametrize("arch,c_dim,width", [("skip", 0, None), ("resnet", 0, None), ("orig", 0, None),
                                              ("skip", 4, None), ("skip", 0, 16), ("resnet", 0, 16)])
def test_official_pickle_roundtrip(tmp_path, arch, c_dim, width):
    """Our reader against our own writer of the official record layout: the writer mirrors the reader's
    name table, so this checks the record parsing and the configurations, not that the names are the
    official ones. The real check is `python -m benchmarks.official_parity` (the official code loads
    the same file); tests/data/tiny_official.pkl pins the mapping from before the rewrite."""
    G = small_G(arch=arch, c_dim=c_dim, width=width)
    write_official_pickle(tmp_path / "net.pkl", G)
    G2 = stylegan.load(tmp_path / "net.pkl")
    z, c = torch.randn(2, 32), (torch.eye(4)[:2] if c_dim else None)
    assert G2.config == G.config and G2.img_shape == G.img_shape
    assert torch.equal(G(z, c, truncation_psi=0.7), G2(z, c, truncation_psi=0.7))
    assert not any(p.requires_grad for p in G2.parameters())


def test_human_records_without_square_take_the_aspect_from_the_constant(tmp_path):
    G = small_G(width=16)
    rec = official_record(G)
    rec.meta["state"]["_init_kwargs"].pop("square")  # DragGAN's human pickles do not record it
    with open(tmp_path / "human.pkl", "wb") as f:
        f.write(_pickled({"G_ema": rec}))
    assert stylegan.load(tmp_path / "human.pkl").img_shape == (32, 16)
    rec.meta["state"]["_init_kwargs"]["square"] = True  # contradicts the 4x2 constant
    with open(tmp_path / "bad.pkl", "wb") as f:
        f.write(_pickled({"G_ema": rec}))
    with pytest.raises(stylegan.CheckpointError, match="square=True but the 4 px constant is 4x2"):
        stylegan.load(tmp_path / "bad.pkl")


def _pickled(data):
    from official_format import _fake_modules, _reconstruct_persistent_obj, EasyDict
    with _fake_modules(**{"torch_utils.persistence": {"_reconstruct_persistent_obj": _reconstruct_persistent_obj},
                          "dnnlib.util": {"EasyDict": EasyDict}}):
        return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)


def test_unmappable_tensors_name_the_first_missing_and_unexpected(tmp_path):
    G = small_G()
    rec = official_record(G)
    b8 = rec.meta["state"]["_modules"]["synthesis"].meta["state"]["_modules"]["b8"]
    params = b8.meta["state"]["_modules"]["conv0"].meta["state"]["_parameters"]
    params["weight_renamed"] = params.pop("weight")
    (tmp_path / "renamed.pkl").write_bytes(_pickled({"G_ema": rec}))
    with pytest.raises(stylegan.CheckpointError, match=r"first missing 'synthesis\.b8\.conv0\.weight' \(1 missing\), "
                                                       r"first unexpected 'synthesis\.b8\.conv0\.weight_renamed'"):
        stylegan.load(tmp_path / "renamed.pkl")
    from safetensors.torch import save_file
    state = {k: v.contiguous() for k, v in G.state_dict().items()}
    state["synthesis.extra"] = torch.zeros(1)
    save_file(state, str(tmp_path / "extra.safetensors"),
              metadata={"format": "latentlab.stylegan2", "version": "2", "config": json.dumps(G.config.to_dict())})
    with pytest.raises(stylegan.CheckpointError, match="first unexpected 'synthesis.extra'"):
        stylegan.load(tmp_path / "extra.safetensors")
    del state["synthesis.extra"], state["synthesis.const"]
    state["synthesis.stages.1.up.weight"] = torch.zeros(2, 2, 3, 3)
    save_file(state, str(tmp_path / "shape.safetensors"),
              metadata={"format": "latentlab.stylegan2", "version": "2", "config": json.dumps(G.config.to_dict())})
    with pytest.raises(stylegan.CheckpointError, match="first missing 'synthesis.const'"):
        stylegan.load(tmp_path / "shape.safetensors")
    state["synthesis.const"] = G.state_dict()["synthesis.const"]
    save_file(state, str(tmp_path / "shape.safetensors"),
              metadata={"format": "latentlab.stylegan2", "version": "2", "config": json.dumps(G.config.to_dict())})
    with pytest.raises(stylegan.CheckpointError, match=r"synthesis.stages.1.up.weight has shape \[2, 2, 3, 3\]"):
        stylegan.load(tmp_path / "shape.safetensors")


def test_unsupported_official_options_are_errors(tmp_path):
    G = small_G()
    for key, value, match in [("activation", "relu", "activation='relu'"), ("surprise", 1, r"\['surprise'\]")]:
        rec = official_record(G)
        rec.meta["state"]["_init_kwargs"]["mapping_kwargs"][key] = value
        (tmp_path / "opt.pkl").write_bytes(_pickled({"G_ema": rec}))
        with pytest.raises(stylegan.CheckpointError, match=match):
            stylegan.load(tmp_path / "opt.pkl", use_cache=False)
    rec = official_record(G)
    rec.add("synthesis.input.affine.weight", torch.zeros(4, 32))
    (tmp_path / "sg3.pkl").write_bytes(_pickled({"G_ema": rec}))
    with pytest.raises(stylegan.CheckpointError, match="StyleGAN3"):
        stylegan.load(tmp_path / "sg3.pkl")


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
    """Our reader against our own writer of the TensorFlow layout (the writer mirrors the reader's
    name table), so it checks parsing and the tensor transposes, not that the names are NVIDIA's.
    `python -m benchmarks.official_parity` is the real check of the official PyTorch layout; the
    TensorFlow names have no such check here (it would need TensorFlow 1 and NVIDIA's TF code)."""
    G = small_G(conv_clamp=None)
    write_tf_pickle(tmp_path / "tf.pkl", G)
    G2 = stylegan.load(tmp_path / "tf.pkl")
    z = torch.randn(2, 32)
    assert (G(z) - G2(z)).abs().max() < 1e-6


@pytest.mark.parametrize("width", [None, 16])
def test_safetensors_v2_and_v1_roundtrip(tmp_path, width):
    G = small_G(arch="resnet", res=32, width=width)
    stylegan.save(G, tmp_path / "g.safetensors")
    meta = stylegan.read_metadata(tmp_path / "g.safetensors")
    assert meta["version"] == "2" and json.loads(meta["config"])["width"] == (width or 32)
    write_v1_safetensors(tmp_path / "v1.safetensors", G)
    z = torch.randn(2, 32)
    for name in ("g.safetensors", "v1.safetensors"):
        G2 = stylegan.load(tmp_path / name)
        assert torch.equal(G(z), G2(z)) and G2.config == G.config


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
    (tmp_path / "list.pkl").write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(stylegan.CheckpointError, match="no StyleGAN2 generator"):
        stylegan.load(tmp_path / "list.pkl")


def _save_with_length_byte(G, path, byte):
    """G saved by stylegan.save with its 8-byte header length starting (low byte first) with `byte`:
    by padding the metadata where safetensors' 8-byte header alignment allows it (0x80, '('), else
    by re-padding the header with the spaces the format allows, as a writer without alignment
    would ('}', ']')."""
    import struct
    for pad in range(0, 2048, 8):
        stylegan.save(G, path, pad="x" * pad)
        if path.read_bytes()[:1] == byte:
            return path
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = data[8:8 + n].rstrip(b" ")
    header += b" " * ((byte[0] - len(header)) % 256)
    path.write_bytes(struct.pack("<Q", len(header)) + header + data[8 + n:])
    return path


@pytest.mark.parametrize("byte", [b"\x80", b"(", b"}", b"]"])
def test_safetensors_whose_length_starts_like_a_pickle_loads(tmp_path, byte):
    """A safetensors file starts with its header length: 1 length in 64 starts with a byte that also
    starts a pickle. The file is recognised by a header that parses, before any pickle test."""
    G = small_G(res=32)
    path = _save_with_length_byte(G, tmp_path / "g.safetensors", byte)
    assert path.read_bytes()[:1] == byte and path.read_bytes()[8:9] == b"{"
    z = torch.randn(2, 32)
    assert torch.equal(stylegan.load(path)(z), G(z))
    assert not (tmp_path / "cache" / "converted").exists()   # never taken for a pickle


def test_a_pickle_is_still_a_pickle(tmp_path):
    write_official_pickle(tmp_path / "net.pkl", small_G())
    assert not stylegan.io.looks_like_safetensors(tmp_path / "net.pkl")
    stylegan.load(tmp_path / "net.pkl")
    assert list((tmp_path / "cache" / "converted").glob("*.safetensors"))   # converted once, as pickles are


def test_weights_that_are_not_all_finite_are_refused_by_every_loader(tmp_path, capsys):
    """stylegan.load refuses NaN or Inf weights in one line naming the file and the first bad tensor, for our
    safetensors and an official pickle alike (before: the command lines loaded them and failed later with 'ws
    contains NaN or Inf values'; only the app's upload checked)."""
    from latent.__main__ import main as latent_main
    G = small_G()
    with torch.no_grad():
        G.synthesis.stages[0].conv.weight.view(-1)[0] = float("inf")
    stylegan.save(G, tmp_path / "inf.safetensors")
    write_official_pickle(tmp_path / "inf.pkl", G)
    for name in ("inf.safetensors", "inf.pkl"):
        with pytest.raises(stylegan.CheckpointError, match="the weights hold NaN or Inf values "
                                                           r"\(synthesis.stages.0.conv.weight\); the file is unusable"):
            stylegan.load(tmp_path / name, use_cache=False)
    assert latent_main(["truncation", "--model", str(tmp_path / "inf.safetensors"), "--out",
                        str(tmp_path / "t.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "the weights hold NaN or Inf values" in err and "\n" not in err
    assert not (tmp_path / "t.png").exists()
