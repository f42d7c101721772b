"""The benchmark scripts run end to end on a tiny configuration, so their code cannot rot."""
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from drags.engines import ENGINES
import torch

import stylegan
from benchmarks import drag_back
from drag_testing import tiny_G
from stylegan.precision import cpu_has_bf16

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.integration   # ~2 s
def test_drag_back_tiny(tmp_path):
    stylegan.save(tiny_G(), tmp_path / "g.safetensors")
    summary = drag_back.main(["--pairs", "1", "--steps", "3", "--model", str(tmp_path / "g.safetensors"),
                              "--out", str(tmp_path)])
    data = json.loads((tmp_path / "drag_back.json").read_text())
    assert {r["method"] for r in data["rows"]} == set(ENGINES)
    for m in ("draggan", "freedrag"):
        mine = [r for r in data["rows"] if r["method"] == m]
        # the summary is the mean of the rows (one pair here), and each row's PSNR is finite: the round
        # trip changed the image (3 steps each way), so a PSNR of inf would mean nothing was measured
        assert summary[m]["psnr"] == pytest.approx(sum(r["psnr"] for r in mine) / len(mine))
        assert summary[m]["feature_l1"] == pytest.approx(sum(r["feature_l1"] for r in mine) / len(mine))
        assert all(0 < r["psnr"] < float("inf") and r["feature_l1"] > 0 for r in mine)
        assert summary[m]["forward_reached"] <= summary[m]["forward_tracked_reached"]  # reached needs both
    for r in data["rows"]:  # the motion achieved is reported beside the consistency
        assert isinstance(r["forward_moved"], float)
        assert isinstance(r["back_moved"], float) or r["back_moved"] is None  # None: nothing to drag back
    assert "content moved" in (tmp_path / "drag_back.md").read_text()
    assert (tmp_path / "drag_back.md").read_text().count("|") > 10
    h, t = drag_back.pair(5, 64)
    assert abs(((t[0] - h[0]) ** 2 + (t[1] - h[1]) ** 2) ** 0.5 - 64 / 6) < 1e-6 or min(t) in (1, 62)


def test_drag_motion_tiny(tmp_path):
    from benchmarks import drag_motion
    stylegan.save(tiny_G(), tmp_path / "g.safetensors")
    summary = drag_motion.main(["--drags", "2", "--steps", "3", "--model", str(tmp_path / "g.safetensors"),
                                "--out", str(tmp_path)])
    rows = json.loads((tmp_path / "drag_motion.json").read_text())["rows"]
    assert len(rows) == 2 * len(ENGINES) and all(isinstance(r["moved_fraction"], float) for r in rows)
    assert all(r["reached"] == (r["tracked_reached"] and r["moved_fraction"] >= 0.5) for r in rows)
    assert summary["draggan"]["drags"] == 2
    from PIL import Image
    with Image.open(tmp_path / "drag_motion.png") as im:
        assert im.size[0] == (1 + len(ENGINES)) * 96 + 4 * len(ENGINES)   # the start, then one column per engine
    assert drag_motion.held_out_drags(3, 32) == drag_motion.held_out_drags(3, (32, 32))
    for _, h, t in drag_motion.held_out_drags(8, (64, 16)):   # height x width: x within the 16 px width
        assert all(0 <= p[0] <= 15 and 0 <= p[1] <= 63 for p in (h, t)) and 4 <= h[0] <= 12


def test_landmark_point_sets():
    from benchmarks import landmarks
    assert len(landmarks.SUBSET_68) == 68 and len(set(landmarks.SUBSET_68)) == 68
    assert all(0 <= i < 478 for s in landmarks.SUBSETS.values() for i in s)
    assert set(landmarks.SUBSET_1) <= set(landmarks.SUBSET_5)
    a = np.zeros((478, 2))
    b = a.copy()
    b[landmarks.SUBSET_5] = [3.0, 4.0]
    assert landmarks.md(a, b, landmarks.SUBSET_5) == 5.0 and landmarks.md(a, b, [0, 2]) == 0.0


def _mp_python():
    p = os.environ.get("LATENTLAB_MP_PYTHON")
    if not p or not Path(p).exists():
        if os.environ.get("LATENTLAB_REQUIRE_MEDIAPIPE") == "1":
            pytest.fail("LATENTLAB_REQUIRE_MEDIAPIPE=1 but LATENTLAB_MP_PYTHON does not name a Python with mediapipe")
        pytest.skip("no mediapipe interpreter (set LATENTLAB_MP_PYTHON)")
    return p


@pytest.mark.integration   # the mediapipe interpreter in a subprocess
def test_landmarks_tiny_on_bundled_model(tmp_path):
    """One pair, a few steps, on the bundled face model with the real mediapipe face mesh. The pair is
    seeds 0 and 1, whose faces the mesh finds (pair 0 of benchmarks/results/landmarks.json, which lists no
    failed pair): both engines drag both point sets and every result is measured."""
    from benchmarks import landmarks
    summary, failed = landmarks.main(["--pairs", "1", "--steps", "5", "--points", "1,5", "--out", str(tmp_path),
                                      "--mp-python", _mp_python()])
    data = json.loads((tmp_path / "landmarks.json").read_text())
    assert data["resolution"] == 64
    assert failed == [] and data["failed"] == []
    assert {(r["method"], r["points"]) for r in data["rows"]} == {(m, k) for m in (*ENGINES, landmarks.IDEAL)
                                                                    for k in (1, 5)}
    for r in data["rows"]:
        assert 0 < r["md_before"] < 64 and r["steps"] <= 5
        assert (r["seconds"] > 0) == (r["method"] != landmarks.IDEAL)   # the reference row runs no engine
    ideal = [r for r in data["rows"] if r["method"] == landmarks.IDEAL]
    assert all(r["md_after"] is not None for r in ideal)   # seeds 0 and 1: the warped A is still a face
    assert (tmp_path / "landmarks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["freedrag/5"]["edits"] == 1
    assert "detection failed on A or B: 0" in (tmp_path / "landmarks.md").read_text()


def test_landmarks_reports_a_pair_without_a_face(tmp_path):
    """A pair whose B has no detectable face is reported as failed, not dropped, and nothing is dragged.
    The detector is a stand-in for the mediapipe interpreter that answers as landmark_worker.py does:
    478 points for every A image, null (no face) for every B image."""
    from benchmarks import landmarks
    fake = tmp_path / "fake-mp-python"
    fake.write_text(f"#!{sys.executable}\n"
                    "import json, sys\n"
                    "from pathlib import Path\n"
                    "folder, out = Path(sys.argv[2]), Path(sys.argv[4])   # WORKER DIR --json OUT\n"
                    "face = [[0.5, 0.5]] * 478\n"
                    "out.write_text(json.dumps({f.name: face if f.name.startswith('A') else None\n"
                    "                           for f in folder.glob('*.png')}))\n")
    fake.chmod(0o755)
    out = tmp_path / "out"
    summary, failed = landmarks.main(["--pairs", "1", "--steps", "5", "--points", "1,5", "--out", str(out),
                                      "--mp-python", str(fake)])
    assert failed == [dict(pair=0, seed_a=0, seed_b=1, reason="no face found on B")]
    data = json.loads((out / "landmarks.json").read_text())
    assert data["failed"] == failed and data["rows"] == [] and summary == {}
    assert ("detection failed on A or B: 1\n- pair 0 (seeds 0, 1): no face found on B"
            in (out / "landmarks.md").read_text())
    assert not (out / "landmarks.png").exists()   # no edits: no plot


def test_landmarks_needs_mediapipe_python(tmp_path):
    """A missing landmark interpreter is the benchmarks' bad input (one line, exit 2 through cli.run), naming it."""
    from benchmarks import landmarks
    with pytest.raises(ValueError, match="no-such-python: no such file; .*mediapipe"):
        landmarks.detect({"a": torch.zeros(1, 3, 8, 8)}, str(tmp_path / "no-such-python"))
    with pytest.raises(ValueError, match="^the landmark benchmark needs"):
        landmarks.check_mp_python(None)


@pytest.mark.integration   # ~12 s, real fits on the bundled model
def test_reachability_the_pathway_moves_what_w_plus_cannot(tmp_path):
    """One held-out face, four local moves, 20 Adam steps each. The reference rows score what they
    must (no edit: 0; the ideal move: reached 1), and the optical flow, not the fit's loss, sees the
    deformation code move the content while the W+ rows alone (the model without its pathway) do not."""
    from benchmarks import reachability
    summary = reachability.main(["--seeds", "3000", "--steps", "20", "--out", str(tmp_path)])
    assert list(summary) == ["no edit", "ideal local move", "W+ rows 0-5", "code only", "W+ rows 0-5 + code"]
    assert summary["no edit"]["moved"] == 0 and summary["no edit"]["reached"] == 0
    assert summary["ideal local move"]["reached"] == 1 and summary["ideal local move"]["moved"] > 0.8
    assert summary["code only"]["moved"] > 0.6 > 0.3 > summary["W+ rows 0-5"]["moved"]
    assert summary["code only"]["reached"] > summary["W+ rows 0-5"]["reached"]
    rows = json.loads((tmp_path / "reachability.json").read_text())["rows"]
    assert len(rows) == 4 * 5 and "| code only |" in (tmp_path / "reachability.md").read_text()


@pytest.mark.integration   # a subprocess
def test_step_time_edit_alone_counts_its_render_in_strips(tmp_path):
    from benchmarks.step_time import main
    assert main(["--res", "512", "--tiny", "--edits-only", "--edit-steps", "3", "--threads", "1", "--mask", "none",
                 "--out", str(tmp_path)]) == 0
    row = json.loads((tmp_path / "step_time_edit_tiny.json").read_text())["rows"][0]
    assert row["engine"] == "ours-edit" and row["full_renders"] == 1   # the final render (in strips); previews: the steps' own
    assert set(row["rss_mb"]) >= {"model", "session", "final image", "report"}
    assert row["edit_peak_mb"] <= row["peak_rss_mb"] and row["fixed_parts"]["start_pass"] > 0
    assert "| 512 |" in (tmp_path / "step_time_edit_tiny.md").read_text()


@pytest.mark.integration   # ~1-10 s
def test_fixed_cost_reads_the_kept_passes(tmp_path):
    from benchmarks.fixed_cost import main
    assert main(["--res", "512", "--tiny", "--repeats", "1", "--threads", "1", "--out", str(tmp_path)]) == 0
    row = json.loads((tmp_path / "fixed_cost.json").read_text())["rows"][0]
    med = row["median_s"]
    assert row["tiny"] and row["start_ratio"] == round(med["start own pass"] / med["start kept"], 2)
    assert med["start kept"] < med["start own pass"]   # reading the kept pass skips a pass to the feature block
    assert "| 512 |" in (tmp_path / "fixed_cost.md").read_text()


@pytest.mark.integration   # ~8-14 s, a subprocess per engine
def test_step_time_benchmark_smoke(tmp_path):
    from benchmarks.step_time import main
    # a non-square shape (height x width, as StyleGAN-Human) runs the same code as a square one
    assert main(["--res", "64x32", "--tiny", "--steps", "1", "--warmup", "1", "--threads", "1", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "step_time_tiny.json").read_text())
    rows = {r["engine"]: r for r in data["rows"]}
    assert set(rows) == {"draggan-fast", "draggan-reference", "freedrag-fast", "freedrag-reference"}
    for r in rows.values():
        assert r["seconds_per_step"] > 0 and r["peak_rss_mb"] >= r["rss_after_model_mb"] > 0 and r["feature_res"] == 32
    for method in ("draggan", "freedrag"):   # the ratios are those of the recorded times and peaks
        fast, ref = rows[f"{method}-fast"], rows[f"{method}-reference"]
        s = data["summary"][f"{method}/64x32"]
        assert s["speedup"] == round(ref["seconds_per_step"] / fast["seconds_per_step"], 2)
        assert s["memory_ratio"] == round(ref["peak_rss_mb"] / fast["peak_rss_mb"], 2)
    md = (tmp_path / "step_time_tiny.md").read_text()
    assert "| 64x32 | freedrag |" in md and "python -m benchmarks.step_time" in md


def test_psnr_is_the_analytic_value():
    """benchmarks' PSNR (float images) and the inversion's (8-bit images): one implementation, two modes."""
    from benchmarks.report import psnr
    from latent import psnr as psnr_8bit
    a = torch.rand(1, 3, 16, 16) * 1.6 - 0.8
    assert psnr(a, a.clone()) == float("inf") and psnr_8bit(a, a.clone()) == float("inf")
    # a constant offset of d on the [-1, 1] scale is 127.5 d on the 0-255 scale: PSNR = 20 log10(255 / (127.5 d))
    d = 0.01
    assert psnr(a, a + d) == pytest.approx(20 * np.log10(255 / (127.5 * d)), abs=1e-3)
    # +-1 grey level on alternate pixels (exactly on the 8-bit grid): mse 0.5, 51.14 dB in both modes
    grid = (torch.randint(0, 254, (1, 3, 16, 16)).float()) / 127.5 - 1
    step = torch.zeros_like(grid)
    step[..., ::2] = 1 / 127.5
    assert psnr_8bit(grid, grid + step) == pytest.approx(10 * np.log10(255 ** 2 / 0.5), abs=1e-3)
    assert psnr(grid, grid + step) == pytest.approx(10 * np.log10(255 ** 2 / 0.5), abs=1e-3)
    # below half a grey level the 8-bit PSNR sees nothing (a saved PNG would not), the float one does
    assert psnr_8bit(grid, grid + 0.3 / 127.5) == float("inf") and psnr(grid, grid + 0.3 / 127.5) < 60


def test_readme_blocks_are_filled_from_results(tmp_path):
    from benchmarks import readme
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "speed.md").write_text("| a | b |\n|---|---|\n| 1 | 2 |\n")
    text = "intro\n<!-- results:speed -->\nold table\n<!-- /results:speed -->\nend\n"
    out = readme.fill(text, tmp_path / "res")
    assert out == "intro\n<!-- results:speed -->\n| a | b |\n|---|---|\n| 1 | 2 |\n<!-- /results:speed -->\nend\n"
    assert readme.fill(out, tmp_path / "res") == out  # idempotent
    with pytest.raises(SystemExit, match="landmarks"):
        readme.fill(text + "<!-- results:landmarks -->\n<!-- /results:landmarks -->\n", tmp_path / "res")


@pytest.mark.integration   # ~2 s
def test_inversion_benchmark_tiny(tmp_path):
    from benchmarks import inversion
    inversion.main(["--n", "1", "--steps", "2", "2", "2", "--out", str(tmp_path / "inversion.json")])
    data = json.loads((tmp_path / "inversion.json").read_text())
    for kind in ("generated", "teacher"):
        s = data["summary"][kind]
        assert 5 < s["w"] < 60 and 5 < s["pti"] < 60
        assert s == pytest.approx(data["rows"][kind][0])   # n=1: the summary is that one inversion
    assert set(data["smoothness"]) == {"z-lerp", "z-slerp", "w-lerp", "w-slerp"}
    md = (tmp_path / "inversion.md").read_text()
    assert "| teacher (n=1) |" in md and "| w-slerp |" in md


def test_generator_speed_feature_pass_tiny():
    from benchmarks import generator_speed
    r = generator_speed.feature_pass(1, res=32, feature_res=16, z_dim=32, w_dim=32, mapping_layers=2,
                                     channel_base=512, channel_max=32)
    assert r["speedup_cpu"] == r["median_cpu_s"]["fp32"] / r["median_cpu_s"]["bf16"]   # the ratio of the recorded times
    assert r["runs_s"]["cpu"] == {k: [m] for k, m in r["median_cpu_s"].items()}  # repeat 1
    assert 0 < r["mean_rel_feature_diff"] < 0.05  # bf16 runs and stays close to fp32


@pytest.mark.integration   # ~13 s, training
@pytest.mark.skipif(not cpu_has_bf16(), reason="needs a CPU with bfloat16 arithmetic")
def test_training_precision_tiny(tmp_path):
    from benchmarks import training_precision
    training_precision.main(["--steps", "2", "--every", "1", "--heldout", "20", "--out", str(tmp_path)])
    s = json.loads((tmp_path / "training_precision.json").read_text())["summary"]
    assert [r["step"] for r in s["mae"]] == [1, 2]
    # same weights and z stream: bf16 tracks fp32 far closer than an fp32 run from another seed does
    assert all(r["bf16_gap"] < 0.2 * r["fp32_noise"] for r in s["mae"])
    assert s["bf16_speedup"] == s["median_step_cpu_s"]["fp32 seed 0"] / s["median_step_cpu_s"]["bf16 seed 0"]
    assert "| 2 |" in (tmp_path / "training_precision.md").read_text()


@pytest.mark.integration   # a subprocess
@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="ONEDNN_MAX_CPU_ISA names x86 ISAs")
def test_training_precision_refuses_emulated_bf16(tmp_path):
    p = subprocess.run([sys.executable, "-m", "benchmarks.training_precision", "--out", str(tmp_path)],
                       cwd=ROOT, env=dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX512_CORE"),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.startswith("error: training_precision: this CPU has no bfloat16")
    assert "Traceback" not in p.stderr and not list(tmp_path.iterdir())


def test_warp_layout_tiny(tmp_path):
    """benchmarks.warp_layout: a layout is the bundled weights plus that pathway; 'none' has none."""
    from benchmarks import warp_layout
    rows = warp_layout.main(["--seeds", "5000-5000", "--steps", "2", "--layouts", "none", "16:4:0.5",
                             "--out", str(tmp_path)])
    assert [(r["layout"], r["engine"]) for r in rows] == [(lay, m) for lay in ("none", "16:4:0.5") for m in ENGINES]
    assert all(r["colour_cast"] is not None and r["seconds"] > 0 for r in rows)
    assert "| 16:4:0.5 | draggan |" in (tmp_path / "warp_layout.md").read_text()
    G = warp_layout.layout_model(warp_layout.without_warp(stylegan.load(ROOT / "stylegan/pretrained/faces64.safetensors")),
                                 "16:4:0.5")
    assert (G.config.warp_res, G.config.warp_grid, G.config.warp_gain) == (16, 4, 0.5)


def test_tracking_cost_tiny(tmp_path):
    from benchmarks import tracking_cost
    rows = tracking_cost.main(["--res", "64", "--steps", "1", "--out", str(tmp_path)])
    r = rows[0]
    assert r["res"] == 64 and r["flow_s"] > 0 and r["features_s"] > 0
    # whole flow periods: the flow session's mean includes its flows
    assert r["rounds"] == r["flow_every"] and r["flows"] >= 1


@pytest.mark.integration   # the mediapipe interpreter in a subprocess
def test_detection_margin_keeps_a_face_and_not_a_blank():
    """landmark_worker --margins through landmarks.detect: the bundled model's seed 0 face (found by the mesh,
    as the test above relies on) has a margin >= 0.5, the kept side; a flat grey picture 0."""
    import torch
    from benchmarks import landmarks
    from dragcore.protocol import adapt
    from drag_testing import face_model
    gen = adapt(face_model(), "cpu")
    with torch.no_grad():
        face = gen.image(gen.latent_init(0, 0.7, "w+"))
    got = landmarks.detect({"face": face, "blank": torch.zeros_like(face)}, _mp_python(), margins=True)
    assert 0.5 <= got["face"] <= 1 and got["blank"] == 0


def test_command_time_refuses_a_baseline_that_is_not_a_checkout_before_running_anything(tmp_path):
    from benchmarks import command_time
    with pytest.raises(ValueError, match="--baseline .*: no app.py there"):
        command_time.main(["--baseline", str(tmp_path), "--out", str(tmp_path / "r")])
    with pytest.raises(ValueError, match="--repeats must be at least 1"):
        command_time.main(["--repeats", "0", "--out", str(tmp_path / "r")])
    assert not (tmp_path / "r").exists()


def test_folder_usage_counts_a_folder_the_app_empties_while_it_counts(tmp_path):
    """benchmarks.hostile.folder_usage walks Gradio's folder while the app removes a refused upload's folder (CI at
    session 27: Path.rglob raised FileNotFoundError for a folder listed, then gone). A thread makes and removes
    nested folders as fast as it can while the count runs 300 times: every count finishes, and a quiet folder's
    count is exact."""
    import shutil
    import threading
    from benchmarks.hostile import folder_usage
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "a.bin").write_bytes(b"x" * 10)
    stop = threading.Event()

    def churn():
        i = 0
        while not stop.is_set():
            d = tmp_path / f"upload_{i % 4}" / "inner" / "deeper"
            d.mkdir(parents=True, exist_ok=True)
            (d / "f.bin").write_bytes(b"y")
            shutil.rmtree(tmp_path / f"upload_{i % 4}", ignore_errors=True)
            i += 1

    t = threading.Thread(target=churn)
    t.start()
    try:
        for _ in range(300):
            files, size = folder_usage(tmp_path)
            assert files >= 1 and size >= 10
    finally:
        stop.set()
        t.join()
    for i in range(4):
        shutil.rmtree(tmp_path / f"upload_{i}", ignore_errors=True)
    assert folder_usage(tmp_path) == (1, 10)
