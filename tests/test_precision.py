"""Reduced precision on real networks: the choice (fp32 | bf16 | fp16 | auto) per device, the
clear refusals, bf16 drags and previews that stay close to float32, the preview cache, and the
command lines. bf16 tests run where the CPU computes bf16 natively and skip elsewhere; the
refusal is exercised on x86 by capping oneDNN below bf16 (ONEDNN_MAX_CPU_ISA), a real machine
configuration, not a mock."""
import logging
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from draggan import DragGANSession
from drag_testing import face_model, small_G
from freedrag import FreeDragSession
from stylegan.precision import AUTO_MIN_RES, PrecisionError, choose, native_dtypes
from dragcore.config import DragGANConfig, FreeDragConfig

ROOT = Path(__file__).resolve().parents[1]
CPU_BF16 = "bf16" in native_dtypes("cpu")
needs_bf16 = pytest.mark.skipif(not CPU_BF16, reason="this CPU has no bf16 arithmetic")
X86 = platform.machine().lower() in ("x86_64", "amd64")


def test_choice_and_refusals(caplog):
    assert choose("fp32", "cpu").dtype == torch.float32
    with pytest.raises(PrecisionError, match="precision must be one of auto, fp32, bf16, fp16, got 'fp64'"):
        choose("fp64", "cpu")
    with pytest.raises(PrecisionError, match="precision fp16: float16 autocast is for CUDA and MPS"):
        choose("fp16", "cpu")
    with caplog.at_level(logging.INFO, logger="latentlab"):
        small, large = choose("auto", "cpu", AUTO_MIN_RES // 4), choose("auto", "cpu", AUTO_MIN_RES)
    assert small.name == "fp32" and large.name == ("bf16" if CPU_BF16 else "fp32")
    assert "precision auto -> " in caplog.text and large.reason in caplog.text
    if CPU_BF16:
        assert choose("bf16", "cpu").dtype == torch.bfloat16
    else:
        with pytest.raises(PrecisionError, match="no bfloat16 arithmetic"):
            choose("bf16", "cpu")


@pytest.mark.integration   # ~5 s
@needs_bf16
def test_bf16_features_and_preview_close_to_fp32():
    G = face_model()
    h, t = [20.0, 32.0], [30.0, 32.0]
    s32 = DragGANSession(G, [h], [t], DragGANConfig(seed=3, precision="fp32"), device="cpu")
    s16 = DragGANSession(G, [h], [t], DragGANConfig(seed=3, precision="bf16"), device="cpu")
    assert s16.precision.name == "bf16" and s16.F0.dtype == torch.float32
    rel = (s16.F0 - s32.F0).abs().mean() / s32.F0.abs().mean()
    assert 0 < rel < 0.05  # bf16 really ran (not bit-identical) and stayed close
    a, b = s32.report.preview().astype(float), s16.report.preview().astype(float)
    assert 0 < np.abs(a - b).mean() < 3.0  # of 255
    for _ in range(5):
        s32.step(), s16.step()
    assert float((s32.handles - s16.handles).norm(dim=1).max()) <= 2.0
    assert s16.report.result().params["precision"] == "bf16"


@pytest.mark.integration   # ~5 s
@needs_bf16
def test_bf16_freedrag_runs_and_moves_its_handle():
    G = face_model()
    s = FreeDragSession(G, [[20.0, 32.0]], [[30.0, 32.0]], FreeDragConfig(seed=3, precision="bf16", max_steps=15), device="cpu")
    s.run()
    assert s.handles[0, 0] > 21.0 and s.settings()["precision"] == "bf16"


def test_preview_is_rendered_once_per_step():
    s = DragGANSession(small_G(), [[20.0, 32.0]], [[30.0, 32.0]], DragGANConfig(seed=1, precision="fp32"), device="cpu")
    first = s.report.preview()
    assert s.report.preview() is first and s.report.start_image() is first  # step 0: the start image is the current image
    assert not first.flags.writeable
    s.step()
    second = s.report.preview()
    assert second is not first and s.report.preview() is second
    assert s.report.start_image() is first and np.array_equal(s.report.preview(s.latent0), first)


def _drag_cli(precision, tmp_path, env=None):
    cmd = [sys.executable, "-m", "draggan", "--seed", "3", "--point", "20,32,26,32", "--steps", "2",
           "--out", str(tmp_path / precision), "--precision", precision]
    return subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, OMP_NUM_THREADS="1", **(env or {})),
                          capture_output=True, text=True, timeout=300)


@pytest.mark.integration   # the CLI in a subprocess
@pytest.mark.skipif(not X86, reason="ONEDNN_MAX_CPU_ISA caps are x86 ISA names")
def test_cli_refuses_bf16_where_the_cpu_only_emulates_it(tmp_path):
    capped = dict(ONEDNN_MAX_CPU_ISA="AVX512_CORE")
    p = _drag_cli("bf16", tmp_path, capped)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert p.stderr.startswith("error: precision bf16: this CPU has no bfloat16 arithmetic")
    assert not (tmp_path / "bf16").exists()
    p = _drag_cli("auto", tmp_path, capped)
    assert p.returncode == 0, p.stderr
    assert "precision fp32 (auto: " in p.stdout


@pytest.mark.integration   # a short drag of the bundled model through the command line's main()
def test_cli_precision_errors_and_choice(tmp_path, capsys):
    """The commands' own main() in this process (what `python -m draggan` / `python -m latent` run; the
    real processes, exit codes and one-line stderr, are test_cli_refuses_bf16_where_the_cpu_only_emulates_it's
    and tests/test_cli_errors.py's)."""
    from drags.engine_options import main as drag_main
    from latent.__main__ import main as latent_main
    argv = ["--seed", "3", "--point", "20,32,26,32", "--steps", "2", "--precision"]
    capsys.readouterr()
    assert drag_main("draggan", argv + ["fp16", "--out", str(tmp_path / "fp16")]) == 2
    err = capsys.readouterr().err
    assert err == "error: precision fp16: float16 autocast is for CUDA and MPS; on a CPU use bf16 (where supported) or fp32\n"
    assert not (tmp_path / "fp16").exists()
    chosen = "bf16" if CPU_BF16 else "fp32"
    assert drag_main("draggan", argv + [chosen, "--out", str(tmp_path / chosen)]) == 0
    assert f"draggan: precision {chosen}\n" in capsys.readouterr().out
    assert latent_main(["mix", "--seeds", "3", "4", "--out", str(tmp_path / "m.png"), "--precision", "half"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: precision must be one of") and err.count("\n") == 1
