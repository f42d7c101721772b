"""`python -m dcgan train` as a user drives it, on real tiny runs: Ctrl-C or SIGTERM keeps a checkpoint
that --resume continues, a run is replaced only with --force, a resumed run must have work left and
the run's own widths, and `sample` says it cannot read a checkpoint that is not one."""
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--batch-size", "4", "--ngf", "8", "--ndf", "8"]   # 8 images: 2 iterations an epoch, ~0.1 s each


@pytest.fixture
def faces(tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def train(data, out, *more):
    return main(["train", "--data", str(data), "--out", str(out), *more])


def one_error(capsys, *words):
    """The command said exactly one `error: ...` line on stderr, holding `words`."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert all(w in err for w in words), err
    return err


def logged(out):
    with open(out / "losses.csv", newline="") as f:
        return [int(r["iteration"]) for r in csv.DictReader(f)]


def iteration(out):
    return torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)["iteration"]


@pytest.mark.integration   # a real process stopped mid-run, then resumed: ~8 s each
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM],
                         ids=["ctrl-c", "sigterm"])   # SIGTERM takes the same handler (clisafe.StopAfterStep, tested)
def test_a_stop_keeps_a_checkpoint_that_resume_continues(faces, tmp_path, capsys, sig):
    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "dcgan", "train", "--data", str(faces), "--out", str(out),
                          "--epochs", "500", *TINY], cwd=ROOT, env=dict(os.environ, OMP_NUM_THREADS="1"),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 45
        while not (out / "checkpoint.pt").is_file():   # the first epoch is done: the run is under way
            assert p.poll() is None and time.monotonic() < deadline, "no checkpoint in the run folder"
            time.sleep(0.05)
        p.send_signal(sig)
        err = p.communicate(timeout=60)[1]
    finally:
        p.kill()
    n = iteration(out)
    assert p.returncode == 130 and err.count("\n") == 1, err
    assert f"interrupted at iteration {n} " in err and str(out / "checkpoint.pt") in err and "--resume" in err, err
    assert n >= 2 and logged(out) == list(range(1, n + 1))
    capsys.readouterr()
    assert train(faces, out, "--resume", "--max-iters", str(n + 3)) == 0   # its settings and --epochs: the run's
    assert f"resumed at iteration {n}," in capsys.readouterr().out
    assert iteration(out) == n + 3 and logged(out) == list(range(1, n + 4))


@pytest.mark.integration   # three tiny runs, ~4 s
def test_an_existing_run_is_replaced_only_with_force(faces, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(faces, out, "--epochs", "2", *TINY) == 0
    before = (out / "checkpoint.pt").read_bytes()
    assert train(faces, out, "--epochs", "1", *TINY) == 2
    one_error(capsys, f"--out {out} already holds a run", "--resume to continue it", "--force to start again")
    assert (out / "checkpoint.pt").read_bytes() == before
    assert train(faces, out, "--epochs", "1", "--resume", "--force", *TINY) == 2
    one_error(capsys, "--resume", "--force", "give one of them")
    assert train(faces, out, "--epochs", "1", "--force", *TINY) == 0
    assert iteration(out) == 2 and logged(out) == [1, 2]
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "loss_curves.png", "losses.csv",
                                                      "samples_epoch001.png"]   # nothing left of the old run


@pytest.mark.integration   # one tiny run, ~2 s
def test_a_write_killed_before_its_rename_does_not_block_a_fresh_run(faces, tmp_path, capsys):
    import clisafe
    out = tmp_path / "run"
    out.mkdir()   # a first run SIGKILLed while writing its first checkpoint leaves only the temporary file
    with pytest.raises(KeyboardInterrupt):   # the name atomic_file gives it, kept as a kill would keep it
        with clisafe.atomic_file(out / "checkpoint.pt") as tmp:
            tmp.write_bytes(b"half a checkpoint")
            leftover = tmp
            os.link(tmp, tmp_path / "kept")   # atomic_file deletes it on the way out; a kill would not
            raise KeyboardInterrupt
    os.rename(tmp_path / "kept", leftover)
    assert clisafe.leftover_of(leftover.name) == "checkpoint.pt"
    assert train(faces, out, "--epochs", "1", *TINY) == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "loss_curves.png", "losses.csv",
                                                      "samples_epoch001.png"]   # the leftover cleared too


@pytest.mark.integration   # one tiny run, ~2 s
def test_resume_refuses_a_run_with_nothing_left_or_other_widths(faces, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(faces, out, "--epochs", "5", "--max-iters", "2", *TINY) == 0
    before = (out / "checkpoint.pt").read_bytes()
    for limit in ("1", "2"):
        assert train(faces, out, "--resume", "--max-iters", limit) == 2
        one_error(capsys, "already at iteration 2", f"--max-iters {limit}", "nothing was run")
    assert train(faces, out, "--resume", "--max-iters", "9", "--epochs", "1") == 2
    one_error(capsys, "already done 1 epochs", "--epochs 1", "nothing was run")
    assert train(faces, out, "--resume", "--ngf", "16") == 2
    err = one_error(capsys, "--ngf 16 does not match the run's 8", "--force")
    assert len(err) < 120 and "size mismatch" not in err
    assert (out / "checkpoint.pt").read_bytes() == before and logged(out) == [1, 2]


def test_sample_names_a_checkpoint_it_cannot_read(tmp_path, capsys):
    junk = tmp_path / "rand.pkl"
    junk.write_bytes(np.random.default_rng(0).bytes(300))
    assert main(["sample", "--checkpoint", str(junk), "--out", str(tmp_path / "s.png"), "--n", "4"]) == 2
    err = one_error(capsys, f"cannot read the checkpoint {junk}")
    assert "resume" not in err and not (tmp_path / "s.png").exists()
