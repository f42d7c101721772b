"""The issue-14 command-line probes: each ends with exit code 2 and one stderr line, no traceback,
and nothing half-written."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import limits
from drags.drag_cli import main as drag_main
from dcgan.__main__ import main as dcgan_main
from draggan import DragGANSession
from drag_testing import saved_small_G

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return saved_small_G(tmp_path_factory.mktemp("m"))


def one_line_error(capsys, match):
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert match in err, err


@pytest.mark.integration   # ~2 s of drags
def test_drag_out_probes(model_path, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    base = ["--seed", "1", "--point", "20,30,28,30", "--model", model_path, "--steps", "2"]
    for out, match in (("/proc/nope", "--out /proc/nope cannot be created"),
                       (str(tmp_path / "afile"), "exists and is not a folder"),
                       (str(tmp_path / "afile" / "sub"), "is under a file")):
        assert drag_main(DragGANSession, argv=base + ["--out", out]) == 2
        one_line_error(capsys, match)
    for args, match in ((["--steps", "1000000000"], "--steps must be a whole number from 1 to 1000"),
                        (["--lr", "nan"], "--lr must be a number"), (["--seed", "-5"], "--seed must be")):
        assert drag_main(DragGANSession, argv=base + ["--out", str(tmp_path / "o")] + args) == 2
        one_line_error(capsys, match)
    assert drag_main(DragGANSession, argv=base[:4] + ["--model", str(tmp_path / "missing.safetensors")]) == 2
    one_line_error(capsys, "no such file")
    assert not (tmp_path / "o").exists()


def test_dcgan_train_probes(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    base = ["train", "--data", str(tmp_path), "--out", str(tmp_path / "run")]
    for args, match in ((["--batch-size", "0"], "--batch-size must be a whole number from 1 to 4096, got 0"),
                        (["--lr", "nan"], "--lr must be a number from 1e-07 to 1, got nan"),
                        (["--epochs", "-1"], "--epochs must be")):
        assert dcgan_main(base + args) == 2
        one_line_error(capsys, match)
    assert dcgan_main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "afile" / "run")]) == 2
    one_line_error(capsys, "is under a file")
    assert dcgan_main(["sample", "--out", str(tmp_path), "--n", "4"]) == 2
    one_line_error(capsys, "is a folder")
    assert not (tmp_path / "run").exists()


@pytest.mark.integration   # the CLIs in subprocesses
def test_as_real_processes(tmp_path):
    """The same probes as separate processes: what a user sees on the terminal."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for cmd in (["draggan", "--seed", "1", "--point", "20,30,28,30", "--steps", "1", "--out", "/proc/nope"],
                ["dcgan", "train", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--batch-size", "0"]):
        p = subprocess.run([sys.executable, "-m", *cmd], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr, p.stderr


@pytest.mark.integration   # ~3 s
def test_mask_bomb_fifo_and_folder(model_path, tmp_path, capsys):
    """Issue 25 C2/C3: a decompression bomb (30000x30000, a few KB of PNG) and non-regular files as
    --mask: one line and exit code 2; the FIFO is refused before it is opened (opening one blocks)."""
    from PIL import Image
    Image.new("1", (30000, 30000)).save(tmp_path / "bomb.png")
    assert (tmp_path / "bomb.png").stat().st_size < 200_000
    Image.new("L", (5000, 4000)).save(tmp_path / "big.png")   # under Pillow's limit, over the app's 16 MP
    os.mkfifo(tmp_path / "fifo.png")
    base = ["--seed", "1", "--point", "20,30,28,30", "--model", model_path, "--steps", "1", "--out", str(tmp_path / "o")]
    for mask, match in (("bomb.png", "too many pixels"), ("big.png", "5000x4000 pixels, at most 16,000,000"),
                        ("fifo.png", "not a regular file"), (".", "not a regular file")):
        assert drag_main(DragGANSession, argv=base + ["--mask", str(tmp_path / mask)]) == 2
        one_line_error(capsys, match)
    assert not (tmp_path / "o").exists()


def test_unusable_device_and_too_many_points(model_path, tmp_path, capsys):
    """Issue 25 C4/C5: a device this machine cannot run on is one line; the points limit is the app's."""
    base = ["--seed", "1", "--model", model_path, "--steps", "1", "--out", str(tmp_path / "o")]
    import torch
    cuda = "but is not available" if not torch.cuda.is_available() else "CUDA device(s)"
    for device, match in (("cuda:9", cuda), ("meta", "unknown device 'meta'"), ("garbage", "unknown device 'garbage'"),
                          ("cpu:x", "unknown device")):
        assert drag_main(DragGANSession, argv=base + ["--point", "20,30,28,30", "--device", device]) == 2
        one_line_error(capsys, match)
    most = limits.RANGES["point_pairs"][3]
    assert drag_main(DragGANSession, argv=base + ["--point", "20,30,28,30"] * (most + 1)) == 2
    one_line_error(capsys, f"the number of --point pairs must be a whole number from 1 to {most}, got {most + 1}")
    assert not (tmp_path / "o").exists()


@pytest.mark.integration   # a subprocess
def test_fifo_mask_as_a_real_process(tmp_path):
    """What hung before: a FIFO as --mask, in a process of its own (killed by the timeout if it blocks)."""
    os.mkfifo(tmp_path / "m.png")
    p = subprocess.run([sys.executable, "-m", "draggan", "--seed", "1", "--point", "20,30,28,30", "--steps", "1",
                        "--mask", str(tmp_path / "m.png"), "--out", str(tmp_path / "o")], cwd=ROOT,
                       env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "not a regular file" in p.stderr, p.stderr
