"""DCGAN: from-scratch training on a tiny folder, logs, plots, resume, bad input, and the
converted pretrained model against the package it came from."""
import csv
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import dcgan


def make_folder(path, n=16, size=72):
    path.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (size, size + 8, 3), dtype=np.uint8)).save(path / f"{i:03d}.png")
    return path


@pytest.mark.integration   # a training run, ~15 s
def test_train_logs_plots_and_resumes(tmp_path):
    data = make_folder(tmp_path / "faces")
    out = tmp_path / "run"
    r = dcgan.train(data, out, epochs=2, batch_size=8, ngf=8, ndf=8, log=lambda *a: None)
    assert r["iterations"] == 4  # 16 images / batch 8 x 2 epochs
    rows = list(csv.DictReader(open(out / "losses.csv")))
    assert [int(x["iteration"]) for x in rows] == [1, 2, 3, 4]
    assert all(np.isfinite(float(x["loss_D"])) and np.isfinite(float(x["loss_G"])) for x in rows)
    assert Image.open(out / "loss_curves.png").format == "PNG"
    assert Image.open(out / "samples_epoch002.png").size == (8 * 64, 8 * 64)
    r = dcgan.train(data, out, epochs=3, batch_size=8, ngf=8, ndf=8, resume=True, log=lambda *a: None)
    assert r["iterations"] == 6
    assert [int(x["iteration"]) for x in csv.DictReader(open(out / "losses.csv"))] == [1, 2, 3, 4, 5, 6]


@pytest.mark.integration   # two tiny runs, ~2 s
def test_a_stop_mid_epoch_checkpoints_and_resume_ends_that_epoch(tmp_path):
    data = make_folder(tmp_path / "faces")
    out, asked = tmp_path / "run", iter(range(100))
    r = dcgan.train(data, out, epochs=2, batch_size=4, ngf=8, ndf=8, log=lambda *a: None,
                    stop=lambda: next(asked) == 2)   # asked after each iteration: stop after the third
    assert (r["iterations"], r["epoch"], r["stopped"]) == (3, 0, True)
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    assert (ck["iteration"], ck["epoch"], ck["epoch_iters"]) == (3, 0, 3)
    r = dcgan.train(data, out, epochs=2, batch_size=4, ngf=8, ndf=8, resume=True, log=lambda *a: None)
    assert (r["iterations"], r["epoch"], r["stopped"]) == (8, 2, False)   # 16 images / batch 4 x 2 epochs
    rows = list(csv.DictReader(open(out / "losses.csv")))
    assert [(int(x["iteration"]), int(x["epoch"])) for x in rows] == [(i, (i - 1) // 4) for i in range(1, 9)]


@pytest.mark.integration   # three tiny training runs, ~2 s
def test_two_plus_two_resumed_iterations_are_four_straight(tmp_path):
    """A stop after 2 iterations of an epoch, then resume: the same weights, optimisers and log as 4 straight
    (the epoch's shuffle and each iteration's z come from the seed and where the run is, not from a stream a
    resume would restart)."""
    data = make_folder(tmp_path / "faces", n=16, size=64)
    kw = dict(epochs=1, batch_size=4, ngf=8, ndf=8, log=lambda *a: None)
    dcgan.train(data, tmp_path / "straight", **kw)
    asked = iter(range(100))
    assert dcgan.train(data, tmp_path / "resumed", stop=lambda: next(asked) == 1, **kw)["iterations"] == 2
    assert dcgan.train(data, tmp_path / "resumed", resume=True, **kw)["iterations"] == 4
    a, b = (torch.load(tmp_path / run / "checkpoint.pt", weights_only=True) for run in ("straight", "resumed"))
    for key in ("G", "D"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key]), key
    assert a["optG"]["state"][0]["exp_avg"].equal(b["optG"]["state"][0]["exp_avg"])
    logs = [(tmp_path / run / "losses.csv").read_text() for run in ("straight", "resumed")]
    assert logs[0] == logs[1] and logs[0].count("\n") == 5
    # another seed draws other batches and noise
    dcgan.train(data, tmp_path / "other", seed=1, **kw)
    assert (tmp_path / "other" / "losses.csv").read_text() != logs[0]


@pytest.mark.integration   # ends with a short training run
def test_bad_inputs(tmp_path):
    with pytest.raises(dcgan.DataError, match="does not exist"):
        dcgan.train(tmp_path / "missing", tmp_path / "o")
    (tmp_path / "empty").mkdir()
    with pytest.raises(dcgan.DataError, match="no images"):
        dcgan.train(tmp_path / "empty", tmp_path / "o")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.png").write_text("not an image")
    Image.new("RGB", (32, 32)).save(bad / "small.png")
    with pytest.warns(UserWarning) as said, pytest.raises(dcgan.DataError, match="1 unreadable, 1 smaller"):
        dcgan.train(bad, tmp_path / "o")
    messages = " ".join(str(w.message) for w in said)   # each skipped kind is said once, by name
    assert "unreadable" in messages and "skipping 1 image(s) smaller than 64px: small.png" in messages
    data = make_folder(tmp_path / "faces", n=8)
    (tmp_path / "o2").mkdir()
    (tmp_path / "o2" / "checkpoint.pt").write_bytes(b"garbage")
    with pytest.raises(dcgan.DCGANCheckpointError, match="corrupt or not a checkpoint"):
        dcgan.train(data, tmp_path / "o2", epochs=1, batch_size=8, ngf=8, ndf=8, resume=True)
    cli = subprocess.run([sys.executable, "-m", "dcgan", "train", "--data", str(tmp_path / "empty"), "--out",
                          str(tmp_path / "o3")], capture_output=True, text=True, timeout=60)
    assert cli.returncode == 2 and "no images" in cli.stderr and "Traceback" not in cli.stderr


def test_pretrained_has_features():
    G = dcgan.load_pretrained()
    z = torch.randn(4, 100, generator=torch.Generator().manual_seed(0))
    img = G(z)
    assert img.shape == (4, 3, 64, 64) and img.min() >= -1 and img.max() <= 1
    x, f = G.image_and_features(z, 32)
    assert torch.equal(x, img) and f.shape == (4, 64, 32, 32)
    # the features are the ReLU outputs of the layers, computed here by slicing the network by hand:
    # (ConvTranspose, BatchNorm, ReLU) x 4, so the 16 px ReLU is layer 8 and the 32 px one layer 11
    with torch.no_grad():
        by_hand = {16: G.main[:9](z[:, :, None, None]), 32: G.main[:12](z[:, :, None, None])}
        assert isinstance(G.main[8], torch.nn.ReLU) and by_hand[16].shape == (4, 128, 16, 16)
        assert torch.equal(G.features(z, 16), by_hand[16]) and torch.equal(f, by_hand[32])
        assert not torch.equal(G.features(z, 16)[:1], G.features(-z, 16)[:1])   # they depend on z


def test_pretrained_matches_the_package_it_came_from():
    """Needs gan-face-generate (.ci/run installs it with --no-deps and sets LATENTLAB_REQUIRE_GFG=1,
    so a broken install fails there instead of skipping)."""
    try:
        from gan_face_generate.models import Generator as PackageGenerator
        import gan_face_generate
    except ImportError:
        if os.environ.get("LATENTLAB_REQUIRE_GFG") == "1":
            pytest.fail("gan-face-generate is required (LATENTLAB_REQUIRE_GFG=1) but cannot be imported")
        pytest.skip("gan-face-generate is not installed (pip install --no-deps gan-face-generate==1.1.1)")
    from pathlib import Path
    z = torch.randn(4, 100, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        img = dcgan.load_pretrained()(z)
    ref = PackageGenerator(0, 3, 100, 64)
    ref.load_state_dict(torch.load(Path(gan_face_generate.__file__).parent / "weights.tar", weights_only=True, map_location="cpu")["netG_state_dict"])
    with torch.no_grad():
        assert torch.equal(ref.eval()(z[:, :, None, None]), img)
