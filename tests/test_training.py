"""The training package (what makes the bundled model) and the shipped model itself."""
import csv
import dataclasses
from pathlib import Path

import pytest
import torch

import stylegan
from stylegan.precision import cpu_has_bf16
from training import drags
from training.__main__ import main as train_main
from training.loop import CheckpointMismatch, Trainer, mae_255, run
from training.recipe import Recipe, tiny
from training.student import build_student, load_teacher

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "stylegan" / "pretrained" / "faces64.safetensors"
# Held-out MAE of the shipped student vs the teacher (MODEL_CARD.md) plus margin; a random or
# mis-loaded student is at ~100/255.
SHIPPED_MAE_BOUND = 25.0


def _tiny_trainer(out):
    return Trainer(tiny(), out, student=build_student(channels=[32, 32, 16, 16, 8], w_dim=32, mapping_layers=2))


def _rows(out):
    with open(out / "losses.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.integration   # training, ~4 s
def test_all_phases_run_checkpoint_and_resume(tmp_path):
    tr = _tiny_trainer(tmp_path)
    run(tr, 8, "test", log_every=1, log=lambda *a: None)  # teacher phase and part of the adversarial one
    assert [r["phase"] for r in _rows(tmp_path)] == ["teacher"] * 6 + ["adversarial"] * 2
    G = stylegan.load(tmp_path / "faces64.safetensors")
    meta = stylegan.read_metadata(tmp_path / "faces64.safetensors")
    assert (G.z_dim, G.img_resolution) == (100, 64) and meta["steps"] == "8" and meta["license"] == "MIT"
    ck = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    tr2 = _tiny_trainer(tmp_path)
    tr2.resume()
    assert tr2.step_n == 8 and torch.equal(tr2.ema.G.mapping.w_mean, tr.ema.G.mapping.w_mean)
    with open(tmp_path / "losses.csv", "a") as f:  # rows an interrupted run logged after its checkpoint
        f.write("9,adversarial\n10,adversarial\n")
    run(tr2, 14, "test", log_every=1, log=lambda *a: None)
    rows = _rows(tmp_path)
    assert [int(r["step"]) for r in rows] == list(range(1, 15))
    drag_rows = [r for r in rows if r["phase"] == "drag"]
    assert len(drag_rows) == 4 and all(float(r["drag_pix"]) > 0 and r["claimed"] for r in drag_rows)
    assert all(0 < float(r["d_loss"]) < 10 for r in rows if r["phase"] != "teacher")
    ck2 = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ck2["step"] == 14 and ck2["cpu_s"] > ck["cpu_s"]
    assert not torch.equal(ck2["G"]["mapping.w_mean"], ck["G"]["mapping.w_mean"])


@pytest.mark.integration   # training, ~2 s
def test_teacher_phase_reduces_the_loss(tmp_path):
    recipe = dataclasses.replace(tiny((40, 41, 42)), phases=tiny((40, 41, 42)).phases[:1])
    tr = Trainer(recipe, tmp_path, student=build_student(channels=[32, 32, 16, 16, 8], w_dim=32, mapping_layers=2))
    run(tr, 40, "test", log_every=1, log=lambda *a: None)
    loss = [float(r["loss"]) for r in _rows(tmp_path)]
    assert sum(loss[-8:]) / 8 < 0.7 * sum(loss[:8]) / 8, loss


@pytest.mark.integration   # training, ~3 s
def test_a_run_at_or_past_until_says_nothing_is_trained(tmp_path, capsys, monkeypatch):
    """`python -m training --until N` on a run already at step N or past it: one line saying so, exit 0, nothing
    trained or rewritten (before: 'done: ... held-out MAE nan/255'). The tiny recipe stands in for the real one."""
    import training.__main__ as cli
    monkeypatch.setattr(cli, "Recipe", tiny)
    monkeypatch.setattr(cli, "Trainer", lambda recipe, out: _tiny_trainer(out))
    assert train_main(["--out", str(tmp_path), "--until", "3", "--threads", "1"]) == 0
    assert "done: step 3" in capsys.readouterr().out
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert train_main(["--out", str(tmp_path), "--until", "2", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "nothing to train: the run in" in out and "is at step 3, at or past step 2 (--until 2)" in out
    assert "done" not in out and {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


@pytest.mark.integration   # training, ~2 s
def test_resume_errors_are_clear(tmp_path, capsys):
    with pytest.raises(CheckpointMismatch, match="no checkpoint"):
        _tiny_trainer(tmp_path).resume()
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointMismatch, match="corrupt"):
        _tiny_trainer(tmp_path).resume()
    assert train_main(["--out", str(tmp_path), "--until", "2"]) == 2   # one line, exit code 2
    said = capsys.readouterr()
    assert said.err.startswith("error: ") and "corrupt" in said.err and said.err.count("\n") == 1
    # the CLI says which precision it trains in (the recipe asks for bf16 where the CPU has it)
    assert said.out.startswith("precision: bf16 autocast\n" if cpu_has_bf16() else
                                              "precision: fp32 (this CPU has no bfloat16 arithmetic)\n")


@pytest.mark.parametrize("argv", [["--until", "0"], ["--threads", "0"], ["--ckpt-minutes", "0"]])
def test_bad_arguments(tmp_path, argv, capsys):
    with pytest.raises(SystemExit):
        train_main(["--out", str(tmp_path), *argv])
    assert "must be" in capsys.readouterr().err


def test_warp_moves_content_by_the_vector():
    """A bright dot at (20, 30) warped by (+6, -4) with a wide bump lands at (26, 26)."""
    img = torch.zeros(1, 1, 64, 64)
    img[0, 0, 30, 20] = 1.0
    out = drags.warp(img, torch.tensor([[20.0, 30.0]]), torch.tensor([[6.0, -4.0]]), 16.0, 64)
    y, x = divmod(int(out[0, 0].argmax()), 64)
    assert (x, y) == (26, 26)
    assert torch.equal(drags.warp(img, torch.tensor([[20.0, 30.0]]), torch.zeros(1, 2), 16.0, 64), img)


def test_drag_latents_moves_the_tracked_handles():
    G = build_student(channels=[32, 32, 16, 16, 8], w_dim=32, mapping_layers=2).eval()
    ws = G.mapping(torch.randn(3, 100, generator=torch.Generator().manual_seed(0)))
    h = torch.tensor([[20.0, 20.0], [32.0, 32.0], [40.0, 30.0]])
    t = h + torch.tensor([[8.0, 0.0], [0.0, 8.0], [-8.0, 0.0]])
    ws2, tracked = drags.drag_latents(G, ws, h, t, steps=10, lr=0.05, feature_res=32)
    assert not torch.equal(ws2[:, :6], ws[:, :6]) and torch.equal(ws2[:, 6:], ws[:, 6:])  # rows 0-5 only
    assert tracked.shape == h.shape and ((tracked - h).abs() <= 10 * 2 + 1e-6).all()  # r2 = 2 px per step


def test_shipped_model_reproduces_the_teacher():
    G = stylegan.load(SHIPPED)
    T = load_teacher()
    assert (G.z_dim, G.c_dim, G.img_resolution, G.img_channels) == (100, 0, 64, 3)
    assert SHIPPED.stat().st_size <= 30 * 2 ** 20
    z = torch.randn(32, 100, generator=torch.Generator().manual_seed(12345))
    mae = mae_255(G, T, z)
    assert mae < SHIPPED_MAE_BOUND, mae
    # the same z gives the same face: matched pairs are much closer than unmatched ones
    other = mae_255(G, lambda zz: T(torch.randn(32, 100, generator=torch.Generator().manual_seed(99))), z)
    assert mae < 0.75 * other
    assert G.mapping.w_avg.abs().sum() > 0  # tracked during training, so truncation works


def test_recipe_phases_are_ordered():
    r = Recipe()
    assert [p.name for p in r.phases] == ["teacher", "adversarial", "drag"]
    assert all(a.until < b.until for a, b in zip(r.phases, r.phases[1:]))
    assert r.phase_at(0).name == "teacher" and r.phase_at(r.total + 5).name == "drag"
