"""Issue 31, the command-line and file side: every CLI checks its inputs and size knobs first (one
line, exit 2), Ctrl-C is one line and 130, outputs are complete or absent (clisafe), weights files are
counted by the bytes they store, and image files come in their real levels (imagefile)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, PngImagePlugin

import clisafe
import imagefile
import stylegan
from drags.drag_cli import main as drag_main
from draggan import DragGANSession
from benchmarks.hostile_cli import bomb_png, overlapping_safetensors, views_pickle
from drag_testing import saved_small_G, small_G

ROOT = Path(__file__).resolve().parents[1]
ASTRONAUT = ROOT / "ui" / "examples" / "astronaut.jpg"   # the shipped public-domain photo


def one_line_error(capsys, match):
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert match in err, err


# --- images: real levels per mode, and a message per refusal ------------------------------------------
def _png(im, path, **kw):
    im.save(path, **kw)
    return path


@pytest.mark.parametrize("mode", ["I;16", "I", "F", "LA", "P", "PA-trns", "CMYK", "1", "RGBA", "exif", "text"])
def test_every_mode_comes_in_with_its_real_levels(tmp_path, mode):
    """A known picture saved in each mode reads back as the RGB a user sees."""
    grey = np.full((8, 12), 128, np.uint8)
    if mode == "I;16":
        im, want = Image.fromarray(np.full((8, 12), 32896, np.uint16)), (128, 128, 128)   # 16-bit mid-grey
        assert Image.open(_png(im, tmp_path / "x.png")).mode == "I;16"
    elif mode == "I":
        im, want = Image.fromarray(np.full((8, 12), 65535, np.int32), "I"), (255, 255, 255)
    elif mode == "F":
        im, want = Image.fromarray(np.full((8, 12), 0.5, np.float32), "F"), (128, 128, 128)
    elif mode == "LA":
        a = np.stack([grey, np.full_like(grey, 255)], -1)
        a[:, :6, 1] = 0   # left half transparent: white
        im, want = Image.fromarray(a, "LA"), None
    elif mode == "P":
        im, want = Image.new("RGB", (12, 8), (200, 40, 10)).convert("P", palette=Image.ADAPTIVE), (200, 40, 10)
    elif mode == "PA-trns":
        im = Image.new("P", (12, 8), 0)
        im.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
        im.info["transparency"] = 0   # index 0 transparent: white
        im, want = im, (255, 255, 255)
    elif mode == "CMYK":
        im, want = Image.new("RGB", (12, 8), (0, 128, 255)).convert("CMYK"), (0, 128, 255)
    elif mode == "1":
        im, want = Image.new("1", (12, 8), 1), (255, 255, 255)
    elif mode == "RGBA":
        im, want = Image.new("RGBA", (12, 8), (10, 20, 30, 0)), (255, 255, 255)
    elif mode == "exif":   # stored 12 wide x 8 high, EXIF orientation 6: stands 8 wide x 12 high
        im = Image.new("RGB", (12, 8), (0, 0, 0))
        im.paste((255, 0, 0), (0, 0, 12, 2))   # a red top band, which turns into the right-hand column
        exif = Image.Exif()
        exif[0x0112] = 6
        path = tmp_path / "x.jpg"
        im.save(path, exif=exif, quality=100)
        got = imagefile.read_rgb(path)
        assert got.size == (8, 12)
        a = np.asarray(got).astype(int)
        assert a[:, -1, 0].mean() > 200 and a[:, 0, 0].mean() < 60
        return
    else:   # text: a 20 MB comment (20 KB compressed), more than Pillow reads even with imagefile's limit
        info = PngImagePlugin.PngInfo()
        info.add_text("comment", "x" * 20_000_000, zip=True)
        im, want = Image.new("RGB", (12, 8), (10, 20, 30)), (10, 20, 30)
        with pytest.raises(ValueError):
            Image.open(_png(im, tmp_path / "y.png", pnginfo=info))
        path = _png(im, tmp_path / "x.png", pnginfo=info)
        assert np.asarray(imagefile.read_rgb(path))[0, 0].tolist() == list(want)
        return
    path = _png(im, tmp_path / ("x.tif" if mode in ("CMYK", "F", "I") else "x.png"))
    got = np.asarray(imagefile.read_rgb(path)).astype(int)
    assert got.shape == (8, 12, 3)
    if mode == "LA":
        assert got[0, 0].tolist() == [255] * 3 and got[0, -1].tolist() == [128] * 3
    else:
        assert np.abs(got - np.array(want)).max() <= 1, (mode, got[0, 0])


def test_each_image_refusal_has_its_message(tmp_path):
    os.mkfifo(tmp_path / "fifo.png")
    bomb_png(tmp_path / "bomb.png")
    Image.new("L", (500, 500)).save(tmp_path / "big.png")
    (tmp_path / "junk.png").write_bytes(b"\x89PNG not really")
    for name, limit, match in (("fifo.png", None, "not a regular file"), (".", None, "not a regular file"),
                               ("bomb.png", None, "too many pixels"), ("big.png", 1000, "too large (500x500 pixels"),
                               ("junk.png", None, "not an image file or corrupt"), ("nope.png", None, "not found")):
        with pytest.raises(imagefile.ImageFileError, match=match.replace("(", r"\(")) as e:
            imagefile.open_image(tmp_path / name, max_pixels=limit or imagefile.MAX_PIXELS)
        assert "\n" not in str(e.value)


def test_a_refusal_is_its_one_line_only(tmp_path):
    """Pillow's own DecompressionBombWarning (12000x12000: over its warning limit, under its error limit) is not
    printed beside the refusal, and a refused file is closed at once (no 'unclosed file' ResourceWarning later)."""
    import gc
    import warnings

    def ours(seen):   # a file another test left unclosed may be collected here too: only this test's files count
        return [str(w.message) for w in seen
                if not (issubclass(w.category, ResourceWarning) and str(tmp_path) not in str(w.message))]
    gc.collect()
    bomb_png(tmp_path / "warn.png", 12000, 12000)
    Image.new("RGB", (64, 64), (200, 10, 10)).save(tmp_path / "whole.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "whole.png").read_bytes()[:60])   # truncated mid-data
    for name, match in (("warn.png", "too large (12000x12000 pixels"), ("cut.png", "not an image file or corrupt")):
        for read in (imagefile.open_image, imagefile.probe):
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                with pytest.raises(imagefile.ImageFileError, match=match.replace("(", r"\(")):
                    read(tmp_path / name)
                gc.collect()
            assert not ours(seen), ours(seen)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert imagefile.probe(tmp_path / "whole.png") == (64, 64)
        gc.collect()
    assert not ours(seen), ours(seen)


def test_latent_photo_16_bit_grey_is_mid_grey():
    from latent import load_image
    im = Image.fromarray(np.full((64, 64), 32768, np.uint16))
    x = load_image(im, 32)
    assert abs(float(x.mean()) - 0.0) < 0.01   # mid-grey, not clipped to white (1.0)


# --- clisafe: atomic outputs ---------------------------------------------------------------------------
def test_atomic_dir_swaps_whole_sets_and_keeps_the_old_one_on_failure(tmp_path):
    out = tmp_path / "out"
    with clisafe.atomic_dir(out) as d:
        (d / "start.png").write_text("1"), (d / "result.json").write_text("1")
    for exc in (KeyboardInterrupt, ValueError):   # interrupted or failed halfway: the old set stays whole
        with pytest.raises(exc):
            with clisafe.atomic_dir(out) as d:
                (d / "start.png").write_text("2")
                raise exc()
        assert {p.name: p.read_text() for p in out.iterdir()} == {"start.png": "1", "result.json": "1"}
    with clisafe.atomic_dir(out) as d:
        (d / "start.png").write_text("3")
    assert {p.name: p.read_text() for p in out.iterdir()} == {"start.png": "3"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]   # no temporary folder left
    with pytest.raises(KeyboardInterrupt):
        with clisafe.atomic_file(tmp_path / "a.png") as f:
            f.write_text("half")
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    (out / ".start.png.partial-0123abcd.png").write_text("a killed write's")   # ours: it does not block a swap
    assert clisafe.check_replaceable(out, ("start.png",)) == out
    (out / ".thesis.pdf.partial-0123abcd.pdf").write_text("not ours")
    with pytest.raises(clisafe.InputError, match="did not write .e.g. .thesis.pdf"):
        clisafe.check_replaceable(out, ("start.png",))
    (out / "thesis.pdf").write_text("mine")
    with pytest.raises(clisafe.InputError, match="did not write"):
        clisafe.check_replaceable(out, ("start.png",))


def test_json_nesting_is_bounded_before_parsing(tmp_path, monkeypatch):
    import checkpoints
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(clisafe.InputError, match="nested more than"):
        clisafe.json_file(tmp_path / "deep.json", "x")
    monkeypatch.setenv("LATENTLAB_MODELS", str(tmp_path / "deep.json"))
    with pytest.raises(ValueError, match="LATENTLAB_MODELS file .* nested more than 8 levels"):
        checkpoints.list_models()


# --- weights counted by the bytes they store -------------------------------------------------------------
def test_views_and_overlaps_are_refused(tmp_path):
    stride0, shared = views_pickle(tmp_path / "s0.pkl", "stride0"), views_pickle(tmp_path / "sh.pkl", "shared")
    assert stride0.stat().st_size < 200_000
    with pytest.raises(stylegan.CheckpointError, match="repeats its bytes"):
        stylegan.load(stride0, use_cache=False)
    with pytest.raises(stylegan.CheckpointError, match="share .* bytes of storage"):
        stylegan.load(shared, use_cache=False)
    # safetensors: every tensor's byte range moved to offset 0 (two names for the same bytes)
    stylegan.save(small_G(), tmp_path / "g.safetensors")
    overlapping_safetensors(tmp_path / "o.safetensors", tmp_path / "g.safetensors")
    with pytest.raises(stylegan.CheckpointError, match="share the same bytes"):
        stylegan.load(tmp_path / "o.safetensors")


# --- the command lines, in process -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return saved_small_G(tmp_path_factory.mktemp("m"))


def test_latent_cli_checks_everything_first(tmp_path, capsys):
    from latent.__main__ import main
    (tmp_path / "afile").write_text("x")
    os.mkfifo(tmp_path / "fifo.png")
    Image.new("RGB", (1, 1), (128, 100, 90)).save(tmp_path / "dot.png")   # centre-cropped, it would be upscaled 64x
    png = str(tmp_path / "a.png")
    for argv, match in (
            (["interp", "--scale", "400", "--out", png], "--scale must be a whole number from 1 to 16, got 400 (it "
                                                          "would need ~188.7 GB"),
            (["interp", "--scale", "0", "--out", png], "--scale must be"),
            (["interp", "--psi", "nan", "--out", png], "--psi must be a number from -2 to 2, got nan"),
            (["interp", "--seeds", "1", "--out", png], "give two different seeds, e.g. --seeds 1 2 (got --seeds 1)"),
            (["interp", "--seeds", "4", "4", "--out", png], "(got --seeds 4 4)"),
            (["interp", "--seeds", "1", "2", "3", "--out", png], "give two different seeds"),
            (["mix", "--seeds", "3", "--out", png], "give two or more seeds, e.g. --seeds 1 2 3 (got --seeds 3)"),
            (["truncation", "--seeds", "1", "2", "--out", png], "truncation shows one seed's face: give one seed"),
            (["sefa", "--seeds", "5", "6", "--out", png], "give one seed, e.g. --seeds 5 (got --seeds 5 6)"),
            (["mix", "--k", "5", "--out", png], "--k is for `latent sefa`, not `latent mix`: leave it out"),
            (["truncation", "--steps", "4", "--out", png], "--steps is for `latent interp`, not `latent truncation`"),
            (["interp", "--strength", "2", "--out", png], "--strength is for `latent sefa`"),
            (["interp", "--out", str(tmp_path)], "is a folder; give the file to write"),
            (["interp", "--out", str(tmp_path / "a.txt")], "unknown file extension '.txt'"),
            (["interp", "--out", "/proc/x.png"], "cannot be created (/proc is a system folder)"),
            (["mix", "--seeds", *map(str, range(20)), "--out", png], "the number of --seeds must be"),
            (["mix", "--model", "dcgan-faces-64", "--out", png], "latent mix needs a StyleGAN2 model"),
            (["invert", str(tmp_path / "fifo.png"), "--out", str(tmp_path / "i")], "not a regular file"),
            (["invert", png, "--steps-w", "-1", "--out", str(tmp_path / "i")], "--steps-w must be a whole number"),
            (["invert", png, "--steps-wplus", "1000000000", "--out", str(tmp_path / "i")], "--steps-wplus must be"),
            (["invert", png, "--steps-w", "0", "--steps-wplus", "0", "--no-pti", "--out", str(tmp_path / "i")],
             "every stage has 0 steps"),
            (["invert", str(tmp_path / "afile"), "--out", str(tmp_path / "afile")], "exists and is not a folder"),
            (["invert", str(tmp_path / "afile"), "--out", "/proc/x"], "/proc is a system folder"),
            (["invert", str(ASTRONAUT), "--model", "dcgan-faces-64", "--out", str(tmp_path / "i")],
             "latent invert needs a StyleGAN2 model"),
            (["invert", str(tmp_path / "dot.png"), "--no-align", "--out", str(tmp_path / "i")],
             "the picture is 1x1 px: too small to invert at the model's 64x64 (at least 16x16 px of that aspect)"),
            (["invert", str(ASTRONAUT), "--no-align", "--crop", "100", "40", "110", "50", "--out", str(tmp_path / "i")],
             "the picture in the crop box is 10x10 px: too small to invert"),
            # the photo is decoded before the model is loaded: a model to download is never fetched for it
            (["invert", str(tmp_path / "afile"), "--model", "cats-256", "--out", str(tmp_path / "i")],
             "cannot read the photo: not an image file or corrupt")):
        assert main(argv) == 2, argv
        one_line_error(capsys, match)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "dot.png", "fifo.png"]   # nothing written
    assert main(["interp", "--model", "dcgan-faces-64", "--steps", "3", "--scale", "1", "--out", png]) == 0
    assert Image.open(png).size == (3 * 64, 2 * 64)   # a DCGAN interpolates in Z: lerp and slerp rows


def test_latent_layout_writes_into_a_new_folder(tmp_path):
    """--out in folders that do not exist yet: made, and the file written whole (before: measured, then failed)."""
    from latent.__main__ import main
    out = tmp_path / "new" / "sub" / "layout.json"
    assert main(["layout", "--n", "30", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["samples"] >= 15 and [p.name for p in out.parent.iterdir()] == ["layout.json"]


def test_memory_budget_is_checked_against_the_model_before_drawing(tmp_path, capsys, monkeypatch):
    from latent.__main__ import main
    monkeypatch.setenv("LATENTLAB_CLI_MEMORY_GB", "0.05")
    assert main(["interp", "--scale", "16", "--steps", "16", "--out", str(tmp_path / "a.png")]) == 2
    one_line_error(capsys, "latent interp at --scale 16 (64 images of 64x64 px) needs ~0.7 GB of memory, more than "
                           "the 0.05 GB budget (LATENTLAB_CLI_MEMORY_GB)")
    assert not list(tmp_path.iterdir())


def test_dcgan_and_training_clis_check_everything_first(tmp_path, capsys, monkeypatch):
    from dcgan.__main__ import main as dcgan_main
    from training.__main__ import main as training_main
    from checkpoints.__main__ import main as checkpoints_main
    os.mkfifo(tmp_path / "fifo.pt")
    (tmp_path / "data").mkdir()
    os.mkfifo(tmp_path / "data" / "a.png")
    bomb_png(tmp_path / "data" / "b.png")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.pdf").write_text("x")
    s = str(tmp_path / "s.png")
    for argv, match in ((["sample", "--n", "100000", "--out", s], "--n must be a whole number from 1 to 1024, got "
                                                                   "100000 (it would need ~12.3 GB of memory)"),
                        (["sample", "--n", "0", "--out", s], "--n must be"),
                        (["sample", "--out", str(tmp_path / "s.txt")], "unknown file extension"),
                        (["sample", "--checkpoint", str(tmp_path / "fifo.pt"), "--out", s], "not a regular file"),
                        (["make-faces", "--n", "1000000", "--out", str(tmp_path / "f")], "--n must be"),
                        (["train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "mine")], "did not write"),
                        (["train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "r")], "not a folder")):
        assert dcgan_main(argv) == 2, argv
        one_line_error(capsys, match)
    assert dcgan_main(["train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "r")]) == 2
    one_line_error(capsys, "no usable images in")   # the reasons in the one line, no warning besides
    assert not (tmp_path / "r").exists()
    assert training_main(["--figures-from", str(tmp_path / "missing"), "--out", str(tmp_path / "figs")]) == 2
    one_line_error(capsys, "--figures-from")
    assert training_main(["--figures-from", str(tmp_path / "fifo.pt"), "--out", str(tmp_path / "figs")]) == 2
    one_line_error(capsys, "not a regular file")
    (tmp_path / "deep.json").write_text("{" * 100_000)
    monkeypatch.setenv("LATENTLAB_MODELS", str(tmp_path / "deep.json"))
    assert checkpoints_main(["list"]) == 2
    one_line_error(capsys, "nested more than")


def test_benchmark_parsers_check_their_flags(tmp_path):
    from benchmarks import cli
    ap = cli.parser("x", model=False, seeds="1-3", steps=10, out=str(tmp_path / "r.json"))
    for argv, match in ((["--threads", "0"], "--threads must be"), (["--steps", "-5"], "--steps must be"),
                        (["--seeds", "1-100000000"], "at most 1000 seeds"), (["--out", str(tmp_path)], "is a folder"),
                        (["--out", "/proc/r.json"], "/proc")):
        with pytest.raises(ValueError, match=match):
            ap.parse_args(argv)
    assert ap.parse_args([]).steps == 10


def test_drag_refuses_nan_and_huge_latents_and_deltas_before_writing(model_path, tmp_path, capsys):
    from safetensors.torch import save_file
    G = stylegan.load(model_path)
    ws = G.mapping(torch.randn(1, G.z_dim))
    for value, match in ((float("nan"), "NaN or Inf"), (1e38, "holds 1e+38, not a latent")):
        save_file({"latent": ws.clone().fill_(value)}, str(tmp_path / "l.safetensors"), metadata={"model": model_path})
        assert drag_main(DragGANSession, argv=["--latent", str(tmp_path / "l.safetensors"), "--point", "20,30,26,30",
                                               "--out", str(tmp_path / "o")]) == 2
        one_line_error(capsys, match)
    inv = tmp_path / "inv"
    inv.mkdir()
    save_file({"ws": ws}, str(inv / "latent.safetensors"), metadata={"model": model_path})
    name, w = next((k, v) for k, v in G.state_dict().items() if v.is_floating_point() and v.ndim > 1)
    save_file({name: torch.full_like(w, 1e38)}, str(inv / "generator_delta.safetensors"))
    assert drag_main(DragGANSession, argv=["--inverted", str(inv), "--point", "20,30,26,30", "--out",
                                           str(tmp_path / "o")]) == 2
    one_line_error(capsys, "not a generator delta")
    (inv / "generator_delta.safetensors").unlink()
    save_file({}, str(inv / "generator_delta.safetensors"))
    save_file({"ws": ws}, str(inv / "latent.safetensors"))   # no model recorded: metrics.json is read for it
    (inv / "metrics.json").write_text("[" * 100_000 + "]" * 100_000)
    assert drag_main(DragGANSession, argv=["--inverted", str(inv), "--point", "20,30,26,30", "--out",
                                           str(tmp_path / "o")]) == 2
    one_line_error(capsys, "metrics.json is nested more than 8 levels deep")
    assert not (tmp_path / "o").exists()


@pytest.mark.integration   # one drag subprocess, interrupted
def test_ctrl_c_leaves_the_finished_drag_whole(model_path, tmp_path, capsys):
    """The reported bug: a drag stopped with Ctrl-C in a folder holding a finished drag left a new
    start.png beside the old result. Now: one line, exit 130, the old set byte for byte."""
    out = tmp_path / "drag"
    assert drag_main(DragGANSession, argv=["--seed", "1", "--point", "20,30,26,30", "--steps", "1", "--model",
                                           model_path, "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"start.png", "result.png", "result.json", "latent.safetensors"} <= set(before)
    # lr 1e-5: the picture (and so the tracked point) barely moves, so the drag cannot arrive before the Ctrl-C.
    # The child gets SIGINT's default back: a runner started in the background by a shell without job control
    # ignores SIGINT, and Python then never raises KeyboardInterrupt (the drag ran to its end, exit 0)
    p = subprocess.Popen([sys.executable, "-m", "draggan", "--seed", "2", "--point", "20,30,40,30", "--steps", "1000",
                          "--lr", "1e-5", "--model", model_path, "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=dict(os.environ, OMP_NUM_THREADS="1",
                                                                     PYTHONUNBUFFERED="1"),
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert "precision" in p.stdout.readline()   # the run has started
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        err = p.communicate(timeout=60)[1]
    finally:
        p.kill()
    assert p.returncode == 130 and err.count("\n") == 1 and "interrupted" in err and "Traceback" not in err, err
    assert {q.name: q.read_bytes() for q in out.iterdir()} == before
    assert sorted(q.name for q in tmp_path.iterdir()) == ["drag"]   # no temporary folder left behind


def test_hostile_cli_probes_are_named_and_expect_an_outcome(tmp_path):
    from benchmarks import hostile_cli
    ps = hostile_cli.probes(tmp_path)
    assert len({p.name for p in ps}) == len(ps) >= 40
    assert all(p.expect in (0, 2, 130) and p.match for p in ps)
    assert {p.argv[0] for p in ps} >= {"latent", "dcgan", "draggan", "checkpoints", "training", "training.warp",
                                       "benchmarks.drag_back"}


# --- the benchmarks' command lines: the same one line and exit 2, before any work ------------------------
_MP = sys.executable   # an interpreter file: what the up-front check asks (mediapipe is the worker's concern)
BENCH_REFUSALS = [
    ("benchmarks.adapt", ["--steps", "-1"], "--steps must be a whole number"),
    ("benchmarks.adapt", ["--seeds", "-1", "--mp-python", _MP], "--seeds: each a whole number"),
    ("benchmarks.adapt", ["--drag-seeds", "x", "--mp-python", _MP], "--drag-seeds must be 'A-B'"),
    ("benchmarks.adapt", ["--drag-variant", "zz", "--mp-python", _MP], "--drag-variant 'zz'"),
    ("benchmarks.adapt", ["--mp-python", "/nope/python"], "--mp-python /nope/python: no such file"),
    ("benchmarks.adapt", ["--wheel", "/nope.whl", "--mp-python", _MP], "--wheel /nope.whl: no such file"),
    ("benchmarks.real_photos", ["--ids", "1", "--mp-python", "/nope/python"], "--mp-python /nope/python"),
    ("benchmarks.real_photos", ["--ids", "1", "--mp-python", _MP, "--wheel", "/nope.whl"], "--wheel /nope.whl"),
    ("benchmarks.poster_edits", ["--mp-python", "/nope/python"], "--mp-python /nope/python"),
    ("benchmarks.landmarks", ["--mp-python", "/nope/python"], "--mp-python /nope/python"),
    ("benchmarks.engine_cost", ["--steps", "-1"], "--steps must be a whole number"),
    ("benchmarks.tracker_distractors", ["--threads", "0"], "--threads must be a whole number from 1"),
    ("benchmarks.hostile", ["--idle", "nan"], "--idle must be a finite number"),
    ("benchmarks.hostile", ["--requests", "0"], "--requests must be above 0"),
    ("benchmarks.face_detect", ["--n", "0"], "--n must be 1-100000"),
    ("docs.screenshots", ["--height", "-1"], "--height 240-4320 px"),   # it drew the photo figure first
]


@pytest.mark.parametrize("module,args,match", BENCH_REFUSALS, ids=[f"{m.split('.')[-1]} {' '.join(a[:2])}"
                                                                    for m, a, _ in BENCH_REFUSALS])
def test_a_benchmark_refuses_bad_input_in_one_line_with_exit_2_before_its_work(module, args, match, capsys,
                                                                                  monkeypatch, tmp_path):
    """Run as `python -m MODULE ARGS` (its __main__ entry, in this process): a bad value, a missing wheel or a
    missing landmark interpreter is one line and exit 2, found before the work (no model measured, no photo
    read), where it used to be a traceback, exit 1 or a failure minutes in."""
    import runpy
    monkeypatch.setattr(sys, "argv", [module, *args, *(["--out", str(tmp_path)] if "face_detect" not in module
                                                       else [])])
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))   # no wheel download is reached
    t0 = time.time()
    with pytest.raises(SystemExit) as e:
        runpy.run_module(module, run_name="__main__")
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) >= 1 and match in err[-1] and "Traceback" not in "\n".join(err), err
    assert err[-1].startswith("error: ") or ": error: " in err[-1], err   # clisafe's line, or argparse's usage error
    assert time.time() - t0 < 20                                      # refused before the work, not after it
    assert not (tmp_path / "cache").exists()
