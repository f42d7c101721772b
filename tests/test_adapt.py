"""Few-shot adaptation (training.adapt) on generated pictures only: a few real steps move the model
toward the pictures while each latent keeps its layout, a resumed run equals a straight one bit for
bit, the written file is a first-class model (loads with --model, carries its card and its source's
presets), and every bad input is one line with exit code 2."""
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import checkpoints
import stylegan
from drag_testing import face_model, saved_small_G, small_G
from stylegan.imageops import to_uint8
from checkpoints.presets import adapted_section
from training import adapt as ta

ROOT = Path(__file__).resolve().parents[1]


def _sepia(img):
    grey = img.mean(1, keepdim=True)
    return torch.cat([grey * 0.9 + 0.25, grey * 0.8 + 0.05, grey * 0.6 - 0.15], 1).clamp(-1, 1)


def _write(images, folder):
    folder.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(to_uint8(images)):
        Image.fromarray(a).save(folder / f"{i:02d}.png")
    return folder


@pytest.fixture(scope="module")
def sepia_shots(tmp_path_factory):
    """Six sepia renderings of the shipped model's own faces (generated pictures, never photos)."""
    G = face_model()
    with torch.no_grad():
        img = G(torch.randn(6, G.z_dim, generator=torch.Generator().manual_seed(11)), truncation_psi=0.7)
    return _write(_sepia(img), tmp_path_factory.mktemp("sepia"))


def test_steps_move_toward_the_pictures_and_keep_each_latents_layout(sepia_shots, tmp_path):
    S = face_model()
    shots, names, notes = ta.read_shots(sepia_shots, 64)
    assert len(names) == 6 and not notes
    a = ta.Adapter(S, shots, ta.Settings(steps=12, batch=4, lr=0.002))
    z = torch.randn(16, S.z_dim, generator=torch.Generator().manual_seed(3))
    src, before = a.samples(z, 0.7)
    assert torch.equal(src, before)                           # a copy of the source to start with
    gap0 = ta.colour_gap(before, shots)
    out = tmp_path / "m.safetensors"
    assert ta.train(a, 12, out, lambda: {}, progress=False, save_every=100)
    _, after = a.samples(z, 0.7)
    assert ta.colour_gap(after, shots) < 0.8 * gap0           # the domain gap falls
    rows = list(__import__("csv").DictReader(open(ta.run_dir(out) / "losses.csv")))
    assert [int(r["step"]) for r in rows] == list(range(1, 13)) and (ta.run_dir(out) / "loss_curves.png").is_file()
    # correspondence: each adapted image is nearest (normalised grey layout) to its own source image
    def layout(x):
        g = x.mean(1).flatten(1)
        return (g - g.mean(1, keepdim=True)) / g.std(1, keepdim=True)
    d = torch.cdist(layout(after), layout(src))
    assert (d.argmin(1) == torch.arange(16)).float().mean() >= 0.9
    # mapping and warp pathway untouched: the latent space is the source's
    G = stylegan.load(out)
    for k, v in S.state_dict().items():
        if k.startswith("mapping.") or k.startswith("synthesis.warp."):
            assert torch.equal(G.state_dict()[k], v), k


def _tiny_shots(folder, n=4, size=(64, 64)):
    G = small_G()
    with torch.no_grad():
        img = _sepia(G(torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(5))))
    folder.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(to_uint8(img)):
        Image.fromarray(a).resize(size).save(folder / f"{i}.png")
    return folder


def test_two_plus_two_resumed_steps_equal_four_straight(tmp_path, capsys):
    model = saved_small_G(tmp_path)
    shots = _tiny_shots(tmp_path / "shots")
    common = ["--images", str(shots), "--model", model, "--batch", "4", "--no-progress", "--save-every", "1"]
    assert ta.main(common + ["--out", str(tmp_path / "a.safetensors"), "--steps", "2"]) == 0
    assert ta.main(common + ["--out", str(tmp_path / "a.safetensors"), "--steps", "4", "--resume"]) == 0
    assert ta.main(common + ["--out", str(tmp_path / "b.safetensors"), "--steps", "4"]) == 0
    a, b = stylegan.load(tmp_path / "a.safetensors"), stylegan.load(tmp_path / "b.safetensors")
    sa, sb = a.state_dict(), b.state_dict()
    assert any(not torch.equal(sa[k], small_G().state_dict()[k]) for k in sa)     # it trained
    assert all(torch.equal(sa[k], sb[k]) for k in sa)                             # bit-exact
    ca = torch.load(ta.run_dir(tmp_path / "a.safetensors") / "state.pt", weights_only=True)
    cb = torch.load(ta.run_dir(tmp_path / "b.safetensors") / "state.pt", weights_only=True)
    assert ca["step"] == cb["step"] == 4 and all(torch.equal(ca["D"][k], cb["D"][k]) for k in ca["D"])
    rows = (ta.run_dir(tmp_path / "a.safetensors") / "losses.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    # the file is a first-class model: its card and its source's presets travel in the metadata
    meta = stylegan.read_metadata(tmp_path / "a.safetensors")
    card = json.loads(meta["adapted"])
    assert card["shots"] == 4 and card["steps"] == 4 and card["from_model"] == "g.safetensors"
    assert card["settings"]["dcl"] == ta.Settings().dcl and "adapted from g.safetensors" in meta["source"]
    # stopping between checkpoints keeps the last completed step usable
    calls = iter(range(100))
    ad = ta.Adapter(stylegan.load(model), ta.read_shots(shots, 64)[0], ta.Settings(batch=4))
    assert not ta.train(ad, 10, tmp_path / "c.safetensors", lambda: {}, stop=lambda: next(calls) >= 3,
                        progress=False, save_every=50)
    assert torch.load(ta.run_dir(tmp_path / "c.safetensors") / "state.pt", weights_only=True)["step"] == 3
    stylegan.load(tmp_path / "c.safetensors")
    capsys.readouterr()


def test_adapted_model_carries_the_source_presets_into_every_cli(tmp_path, capsys):
    """An adapted file of the bundled model drags with the bundled model's presets (read from its metadata), with
    the bundled model's adapted section over them (presets/faces-64-offline.adapted.json)."""
    S = face_model()
    shots = _write(_sepia(S(torch.randn(3, S.z_dim, generator=torch.Generator().manual_seed(1)))).detach(),
                   tmp_path / "shots")
    out = tmp_path / "faces_sepia.safetensors"
    assert ta.main(["--images", str(shots), "--out", str(out), "--steps", "1", "--batch", "3", "--no-progress"]) == 0
    assert checkpoints.presets(str(out)) == checkpoints.adapted_presets(checkpoints.DEFAULT_MODEL)
    assert checkpoints.presets(str(out))["draggan"]          # the bundled model's calibrated ones, not {}
    from drags.drag_cli import model_presets
    assert model_presets(str(out), "freedrag") == checkpoints.adapted_presets(checkpoints.DEFAULT_MODEL)["freedrag"]
    # uploaded through the app's model box, it drags with its own stored presets, not the engine defaults
    from ui import drag_settings, models
    up = models.register_upload(str(out), str(tmp_path))
    choice = f"{models.UPLOAD}:{up['sha256'][:12]}"
    assert models.presets(choice) == checkpoints.adapted_presets(checkpoints.DEFAULT_MODEL)
    section = adapted_section(checkpoints.DEFAULT_MODEL)
    assert drag_settings.model_configs(choice) == {m: replace(c, **section.get(m, {})) for m, c in
                                                   drag_settings.model_configs(checkpoints.DEFAULT_MODEL).items()}
    assert drag_settings.model_configs(choice) != drag_settings.model_configs("upload:0000")  # defaults differ
    G = checkpoints.load(str(out))
    assert G.synthesis.warp is not None                      # the warp pathway carried over
    from latent.__main__ import main as latent_main
    assert latent_main(["mix", "--model", str(out), "--out", str(tmp_path / "mix.png")]) == 0
    capsys.readouterr()


def test_bad_inputs_are_one_line_exit_2(tmp_path, capsys):
    model = saved_small_G(tmp_path)

    def run(images, out=None, *extra):
        code = ta.main(["--images", str(images), "--out", str(out or tmp_path / "o.safetensors"), "--model", model,
                        "--steps", "1", "--batch", "3", "--no-progress", *extra])
        err = capsys.readouterr().err.strip()
        return code, err

    few = _tiny_shots(tmp_path / "few", n=2)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no pictures")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    in_dir = _tiny_shots(tmp_path / "withfifo", n=3)
    os.mkfifo(in_dir / "pipe.png")
    cases = [(few, "2 images; adaptation needs at least 3"), (empty, "no images in the folder"),
             (fifo, "is a FIFO"), ("/dev/null", "is a device"), (in_dir, "pipe.png is a FIFO"),
             (tmp_path / "nowhere", "no such folder")]
    for images, msg in cases:
        code, err = run(images)
        assert code == 2 and msg in err and len(err.splitlines()) == 1 and "Traceback" not in err, (images, err)
    assert not (tmp_path / "o.safetensors").exists()
    ok = _tiny_shots(tmp_path / "ok", n=3, size=(80, 60))            # another size and aspect: cropped, resized
    assert run(ok)[0] == 0
    code, err = run(ok)                                              # the output exists now
    assert code == 2 and "already exists" in err and "--force" in err
    code, err = run(ok, None, "--force")
    assert code == 0 and "centre-cropped to a square, then resized to 64x64" in err
    code, err = run(ok, tmp_path / "x.safetensors", "--resume")
    assert code == 2 and "no checkpoint" in err
    code, err = run(ok, "/dev/null")
    assert code == 2 and "give a .safetensors file name" in err
    os.mkfifo(tmp_path / "p.safetensors")
    code, err = run(ok, tmp_path / "p.safetensors")
    assert code == 2 and "is a FIFO" in err


@pytest.mark.integration   # a subprocess interrupted with SIGINT (~6 s idle, ~20 s on a loaded machine)
def test_ctrl_c_keeps_the_last_checkpoint_and_exits_130(tmp_path):
    model = saved_small_G(tmp_path)
    shots = _tiny_shots(tmp_path / "shots")
    out = tmp_path / "m.safetensors"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    p = subprocess.Popen([sys.executable, "-m", "training.adapt", "--images", str(shots), "--out", str(out),
                          "--model", model, "--steps", "20000", "--batch", "4", "--save-every", "5",
                          "--no-progress"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    csv_path = ta.run_dir(out) / "losses.csv"
    deadline = time.time() + 120
    while time.time() < deadline and not (out.is_file() and len(csv_path.read_text().splitlines()) > 3):
        time.sleep(0.2)
    p.send_signal(2)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err[-1000:]
    assert "stopped at step" in err and "Traceback" not in err
    ck = torch.load(ta.run_dir(out) / "state.pt", weights_only=True)
    card = json.loads(stylegan.read_metadata(out)["adapted"])
    assert card["steps"] == ck["step"] > 0                     # the model file is the last checkpoint
    stylegan.load(out)


def test_app_adapt_tab_streams_and_its_model_becomes_a_choice(sepia_shots):
    """The Adapt tab's handlers on the shipped model: frames stream, the end offers the file, and
    'Use this model' makes it the model box's value, loaded by the store with its source's presets."""
    from ui import tab_adapt
    from ui.context import get_model
    files = sorted(str(p) for p in Path(sepia_shots).glob("*.png"))[:3]
    frames = list(tab_adapt.start(files, 2, checkpoints.DEFAULT_MODEL, None))
    status, curves, compare, path, button = frames[-1]
    assert "Done at step 2/2" in status and Path(curves).is_file() and compare.size[0] >= 512
    assert path and json.loads(stylegan.read_metadata(path)["adapted"])["shots"] == 3
    update, mine, note = tab_adapt.use_model(path)
    assert update["value"] == path and (update["choices"][-1][1] == path) and "Drag tab" in note
    assert tab_adapt.latent_choices(mine)["choices"] == update["choices"] and mine == [(update["choices"][-1][0], path)]
    assert update["choices"][-1][0] == f"Adapted: {checkpoints.DEFAULT_MODEL} + 3 pictures, 2 steps"
    # a second adaptation, from the adapted model: named as such, and both adapted models stay choices
    second = list(tab_adapt.start(files, 2, path, None))
    assert f"Adapting Adapted: {checkpoints.DEFAULT_MODEL} + 3 pictures, 2 steps to 3 pictures" in second[0][0]
    update2, mine2, _ = tab_adapt.use_model(second[-1][3], mine)
    assert [p for _, p in mine2] == [path, second[-1][3]] and update2["choices"][-2:] == mine2
    assert mine2[-1][0] == f"Adapted: {checkpoints.DEFAULT_MODEL} + 3 pictures, 2 steps, adapted 2 times"
    assert get_model(path).synthesis.warp is not None
    assert checkpoints.presets(path) == checkpoints.adapted_presets(checkpoints.DEFAULT_MODEL)
    assert "3 to 50 pictures" in _refused(tab_adapt.start([], 2, checkpoints.DEFAULT_MODEL, None))


def _refused(frames):
    """The one frame of a Start the tab refused before any work: its status line (a warning; every other
    output left as it was), without the warning sign."""
    import gradio as gr
    with pytest.warns(UserWarning):   # gr.Warning outside a request
        frames = list(frames)
    assert len(frames) == 1 and all(isinstance(f, type(gr.skip())) for f in frames[0][1:]), frames
    assert frames[0][0].startswith("⚠ ")
    return frames[0][0][2:]


def test_variants_are_picked_by_name_or_index():
    from benchmarks.adapt import VARIANTS, pick_variants
    names = list(VARIANTS)
    assert pick_variants(f"3,{names[12]},default") == [names[3], names[12], "default"]   # names hold commas
    assert "unknown" in pick_variants("FreezeD, nothing") and "no variant" in pick_variants(str(len(names)))
    assert "unknown variant 'nothing' (" in pick_variants(f"nothing,{names[12]},default")   # the bad piece alone
    assert "unknown variant 'nothing' (" in pick_variants(f"{names[12]},nothing")
    assert "unknown" in pick_variants("") and "unknown" in pick_variants(f"{names[3]},")
    # a name that goes on from another one's end: each is picked by name, alone and beside the other
    longer = [(a, b) for a in names for b in names if b.startswith(a + ",")]
    assert longer
    for short, long in longer:
        assert pick_variants(short) == [short] and pick_variants(long) == [long]
        assert pick_variants(f"{short},{long},0") == [short, long, names[0]]
        assert pick_variants(f"{long},{short}") == [long, short]


def test_a_rendered_domain_gets_the_source_through_its_rendering_as_a_reference_row():
    """On a domain the benchmark renders (sketches), the reference rows include the source's own samples through
    that rendering: grey, bright pages, each sample's layout kept (its dark strokes where the sample's edges are),
    and nearer sketch targets than the source's samples; a photo domain has no such row."""
    from benchmarks import adapt_data
    from benchmarks.adapt import reference_rows, samples
    from benchmarks.swd import swd
    G = face_model()
    x = samples(G, 40, 1.0)
    styled = adapt_data.restyle("sketch_cal", x)
    assert styled.shape == x.shape and adapt_data.restyle("photo_cal", x) is None
    assert torch.equal(styled[:, 0], styled[:, 1]) and torch.equal(styled[:, 1], styled[:, 2])   # grey
    assert float(styled.mean()) > float(x.mean()) + 0.5           # a bright page
    edges = lambda t: (t.mean(1)[:, 1:, :] - t.mean(1)[:, :-1, :]).abs().flatten(1)
    own = torch.corrcoef(torch.stack([edges(x)[0], edges(styled)[0]]))[0, 1]
    other = torch.corrcoef(torch.stack([edges(x)[1], edges(styled)[0]]))[0, 1]
    assert own > other + 0.1                                     # its own sample's layout, not another's
    # sketch "targets": other samples through the same rendering; the source's row is far, the reference near
    held = adapt_data.restyle("sketch", samples(G, 40, 1.0, seed=5))
    shots = held[:10]
    rows = reference_rows("sketch_cal", shots, held, x)
    ref = [r for r in rows if "rendering" in r["model"]]
    assert len(ref) == 1 and ref[0]["swd"] < 0.6 * swd(x, held)["mean"]
    assert not [r for r in reference_rows("photo_cal", shots, held, x) if "rendering" in r["model"]]


def test_benchmark_measures_tell_near_from_far_and_copies_from_new(tmp_path):
    """benchmarks.swd and the copy ratio on generated images: same-kind sets are nearer than a blurred
    set, and a copier of the shots scores far below a generator's fresh samples; each domain's shots
    figure is named by the domain's full name (a `photo` run keeps `photo_cal`'s)."""
    from benchmarks.adapt import copy_ratio, figures, noise_share
    from benchmarks.swd import mean_pairwise, swd
    G = face_model()
    with torch.no_grad():
        a = G(torch.randn(60, G.z_dim, generator=torch.Generator().manual_seed(1)))
        b = G(torch.randn(60, G.z_dim, generator=torch.Generator().manual_seed(2)))
    blurred = torch.nn.functional.interpolate(torch.nn.functional.avg_pool2d(b[:30], 4), scale_factor=4,
                                              mode="bilinear")
    near, far = swd(a[:30], b[:30], patches=64), swd(a[:30], blurred, patches=64)
    assert near["levels"][0] < 0.7 * far["levels"][0]     # the finest level is what a 4x blur removes
    assert near["mean"] < far["mean"]
    # the estimator's floor (two samples of one population) falls with the images per set, ~ 1 / sqrt(n)
    few = sum(swd(a[i:i + 8], b[i:i + 8], patches=64, seed=i)["mean"] for i in (0, 8, 16)) / 3
    many = swd(a[:48], b[:48], patches=64)["mean"]
    assert 1.6 < few / many < 3.5
    shots, held = b[:10], b[10:]
    copier = shots.repeat(3, 1, 1, 1) + 0.03 * torch.randn(30, *shots.shape[1:], generator=torch.Generator().manual_seed(0))
    assert np.median(copy_ratio(copier, shots, held)) < 0.2 < 0.8 < np.median(copy_ratio(a[:30], shots, held))
    assert mean_pairwise(a) > 2 * mean_pairwise(a[:1].repeat(8, 1, 1, 1) + 0.01 * a[:8])
    share = noise_share(G, n=8)
    G = copy.deepcopy(G)                  # the loaded model may be shared
    with torch.no_grad():
        for name, p in G.synthesis.named_parameters():
            if name.endswith("noise_scale"):
                p.mul_(3.0)
    assert noise_share(G, n=8) > 2 * share > 0     # stronger noise draws more of the picture
    for name, p in G.synthesis.named_parameters():
        if name.endswith("noise_scale"):
            p.data.zero_()
    assert noise_share(G, n=8) == 0
    G = face_model()
    figures(tmp_path, "photo_cal", "photo_cal_x_1", G, G, a[:3])
    figures(tmp_path, "photo", "photo_x_1", G, G, b[:3])
    cal, rep = (np.asarray(Image.open(tmp_path / f"{d}_shots.png")) for d in ("photo_cal", "photo"))
    assert cal.shape == rep.shape and not np.array_equal(cal, rep)


def test_rgb_lr_scales_only_the_torgb_steps_and_old_checkpoints_resume(tmp_path):
    """--rgb-lr multiplies the learning rate of the toRGB layers (colour and tone) and of nothing else:
    Adam's first step moves each weight by the lr, so the toRGB weights move 5x as far; a checkpoint
    written before the setting existed resumes with its default."""
    shots = ta.read_shots(_tiny_shots(tmp_path / "shots", n=3), 64)[0]
    moved, runs = {}, {}
    for mult in (1.0, 5.0):
        a = runs[mult] = ta.Adapter(small_G(), shots, ta.Settings(batch=3, rgb_lr=mult))
        before = {n: p.detach().clone() for n, p in a.G.synthesis.named_parameters()}
        a.step()
        moved[mult] = {n: float((p.detach() - before[n]).abs().max()) for n, p in a.G.synthesis.named_parameters()}
    rgb = [n for n in moved[1.0] if ".rgb." in n and moved[1.0][n] > 0]
    other = [n for n in moved[1.0] if ".rgb." not in n and moved[1.0][n] > 0]
    assert rgb and other
    assert all(abs(moved[5.0][n] / moved[1.0][n] - 5) < 0.05 for n in rgb)
    assert all(abs(moved[5.0][n] / moved[1.0][n] - 1) < 0.05 for n in other)
    ck = runs[1.0].state()
    del ck["settings"]["rgb_lr"]                                   # as written by an earlier version
    with pytest.raises(ta.AdaptError, match="rgb_lr"):
        runs[5.0].load_state(ck)
    fresh = ta.Adapter(small_G(), shots, ta.Settings(batch=3))
    fresh.load_state(ck)
    assert fresh.step_n == 1


def test_last_lr_noise_lr_and_grey_change_only_what_they_name(tmp_path):
    """--last-lr multiplies the finest stage's steps and nothing else; --noise-lr frees the noise strengths
    (frozen by default); --grey makes every output grey (R = G = B) after training steps, on any latent;
    the 'tone' augmentation keeps a grey picture grey (the colour transform tints it)."""
    from training.diffaug import augment
    shots = ta.read_shots(_tiny_shots(tmp_path / "shots", n=3), 64)[0]
    moved = {}
    for key, s in (("base", ta.Settings(batch=3)), ("last", ta.Settings(batch=3, last_lr=4.0)),
                   ("noise", ta.Settings(batch=3, noise_lr=1.0))):
        a = ta.Adapter(small_G(), shots, s)
        before = {n: p.detach().clone() for n, p in a.G.synthesis.named_parameters()}
        a.step()
        moved[key] = {n: float((p.detach() - before[n]).abs().max()) for n, p in a.G.synthesis.named_parameters()}
    last = f"stages.{len(small_G().synthesis.stages) - 1}."
    fine = [n for n, v in moved["base"].items() if n.startswith(last) and v > 0]
    other = [n for n, v in moved["base"].items() if not n.startswith(last) and v > 0]
    assert fine and other
    assert all(abs(moved["last"][n] / moved["base"][n] - 4) < 0.05 for n in fine)
    assert all(abs(moved["last"][n] / moved["base"][n] - 1) < 0.05 for n in other)
    noise = [n for n in moved["base"] if n.endswith("noise_scale")]
    assert noise and all(moved["base"][n] == 0 for n in noise) and any(moved["noise"][n] > 0 for n in noise)
    a = ta.Adapter(small_G(), shots, ta.Settings(batch=3, grey=True))
    for _ in range(2):
        a.step()
    z = torch.randn(4, a.G.z_dim, generator=torch.Generator().manual_seed(9))
    src, img = a.samples(z)
    assert (src.max(1).values - src.min(1).values).mean() > 0.05          # the source draws colour
    assert float((img.max(1).values - img.min(1).values).max()) < 1e-5   # the grey model does not
    # 'tone' scales the tint (each pixel's offset from its grey) exactly as much as the grey image's
    # contrast; 'color' scales the tint by another random factor, so a tinted fake can pass as grey
    def tint_over_contrast(x, y):
        tint = lambda v: (v - v.mean(1, keepdim=True)).flatten(1).norm(dim=1)
        grey = lambda v: (v.mean(1) - v.mean((1, 2, 3))[:, None, None]).flatten(1).norm(dim=1)
        return (tint(y) / tint(x)) / (grey(y) / grey(x))
    t = tint_over_contrast(shots, augment(shots, torch.Generator().manual_seed(0), ("tone",)))
    c = tint_over_contrast(shots, augment(shots, torch.Generator().manual_seed(0), ("color",)))
    assert torch.allclose(t, torch.ones(3), atol=1e-4) and (c - 1).abs().max() > 0.1


def test_ema_exports_the_average_and_resumes_exactly_and_fine_d_judges_texture(tmp_path):
    """--ema writes the moving average of the trained synthesis weights (not the last ones), carried
    through a resume bit for bit; --fine-d adds a discriminator level with a logit per neighbourhood of
    the 16 x 16 map that the generator's loss and the discriminator's step both use."""
    shots = ta.read_shots(_tiny_shots(tmp_path / "shots", n=3), 64)[0]
    s = ta.Settings(batch=3, ema=0.5)
    a = ta.Adapter(small_G(), shots, s)
    a.step()
    first = {k: v.clone() for k, v in a.G.synthesis.state_dict().items()}
    a.step()
    now = a.G.synthesis.state_dict()
    exported = a.export().synthesis.state_dict()
    moved = [k for k in now if now[k].is_floating_point() and not torch.equal(now[k], first[k])]
    assert moved and all(torch.allclose(exported[k], 0.5 * first[k] + 0.5 * now[k]) for k in moved)
    b = ta.Adapter(small_G(), shots, s)
    b.load_state(copy.deepcopy(a.state()))    # as if saved and read back
    a.step(), b.step()
    ea, eb = a.export().synthesis.state_dict(), b.export().synthesis.state_dict()
    assert all(torch.equal(ea[k], eb[k]) for k in ea)
    with pytest.raises(ta.AdaptError, match="ema"):
        ta.check_settings(ta.Settings(ema=1.0))
    f = ta.Adapter(small_G(), shots, ta.Settings(batch=3, fine_d=1.0))
    assert f.D.logits(shots, "fine").shape == (3 * 16 * 16,)
    head = [p.detach().clone() for p in f.D.fine_head.parameters()]
    f.step()
    assert any(not torch.equal(p, q) for p, q in zip(head, f.D.fine_head.parameters()))
    plain = ta.Adapter(small_G(), shots, ta.Settings(batch=3))
    assert plain.D.fine_head is None and set(plain.D.state_dict()) < set(f.D.state_dict())


def test_patch_loss_tells_the_shots_kind_from_blur_and_resumes_exactly_with_a_decaying_lr(tmp_path):
    """--swd: the patch loss (training.patchloss) is lower for other pictures of the shots' kind than for
    the same pictures blurred, it reaches the generator's weights, and a run with it and with
    --lr-half-life resumes bit for bit (every draw from the run's stream; the rate a function of the step); --layout's anchor ignores tone."""
    from training.patchloss import ShotPatches
    G = face_model()
    with torch.no_grad():
        img = _sepia(G(torch.randn(16, G.z_dim, generator=torch.Generator().manual_seed(4))))
    loss = ShotPatches(img[:8])
    blurred = torch.nn.functional.interpolate(torch.nn.functional.avg_pool2d(img[8:], 4), scale_factor=4,
                                              mode="bilinear")
    gen = torch.Generator().manual_seed(0)
    assert float(loss.loss(img[8:], gen)) < 0.7 * float(loss.loss(blurred, gen))
    shots = ta.read_shots(_tiny_shots(tmp_path / "shots", n=3), 64)[0]
    s = ta.Settings(batch=3, swd=1.0, lr_half_life=2, augment="color,translation,cutout,flip")
    a = ta.Adapter(small_G(), shots, s)
    row = a.step()
    assert row["swd"] > 0
    assert _resumes_exactly(a, lambda: ta.Adapter(small_G(), shots, s))
    assert a.opt.param_groups[0]["lr"] == pytest.approx(s.lr * 0.5 ** (2 / 2))    # set for step 3 (index 2)
    assert a.opt_D.param_groups[0]["lr"] == pytest.approx(s.d_lr * 0.5)
    # the layout anchor: blind to a change of tone (brightness, contrast, tint), not to another layout
    from training.correspondence import layout_loss
    toned = (img[8:] * 0.5 + 0.3) * torch.tensor([1.0, 0.8, 0.6])[:, None, None]
    assert float(layout_loss(img[8:], toned)) < 1e-6 < 0.3 < float(layout_loss(img[8:], img[8:].flip(0)))
    anchored = ta.Adapter(small_G(), shots, ta.Settings(batch=3, layout=1.0))
    assert anchored.step()["layout"] == 0 < anchored.step()["layout"]    # the copy starts on the source's layout
    for bad, match in ((dict(swd=-1), "--swd"), (dict(swd_levels=4), "--swd-levels"), (dict(layout=-1), "--layout"),
                       (dict(lr_half_life=-5), "--lr-half-life"), (dict(augment="flip,spin"), "spin")):
        with pytest.raises(ta.AdaptError, match=match):
            ta.check_settings(ta.Settings(**bad))


def test_patch_loss_chroma_weight_blinds_it_to_colour_and_the_ramp_resumes_exactly(tmp_path):
    """--swd-chroma 0: the patch loss compares light and dark only (a tint of every band's detail costs
    nothing, a change of its light does), 1 is the plain loss; --swd-ramp raises its weight after the
    warm-up as a function of the step, so a run with it (and --swd-noise-free's second pass) resumes bit
    for bit; --noise-out scales only the written model's noise strengths; bad values are one line."""
    from training.patchloss import ShotPatches
    G = face_model()
    with torch.no_grad():
        img = G(torch.randn(16, G.z_dim, generator=torch.Generator().manual_seed(6)), truncation_psi=0.7)
    ref, other = img[:8], img[8:]
    grey = other.mean(1, keepdim=True)
    tinted = grey + 2.0 * (other - grey)                              # the same light, twice the colour
    light = ShotPatches(ref, chroma=0.0)
    plain, plain_again = ShotPatches(ref), ShotPatches(ref, chroma=1.0)
    loss = lambda lp, x: float(lp.loss(x, torch.Generator().manual_seed(0)))
    assert loss(plain, other) == loss(plain_again, other)
    # per-channel normalisation makes 'grey' the mean of the normalised channels; the tint still moves it a little
    assert abs(loss(light, tinted) - loss(light, other)) < 0.25 * abs(loss(plain, tinted) - loss(plain, other))
    assert loss(light, other * 0.3) > 1.5 * loss(light, other)      # flattened light is seen
    shots = ta.read_shots(_tiny_shots(tmp_path / "shots", n=3), 64)[0]
    s = ta.Settings(batch=3, swd=1.0, swd_chroma=0.5, swd_ramp=4, swd_directions=16, d_warmup=1, swd_noise_free=True)
    a = ta.Adapter(small_G(), shots, s)
    assert [a._swd_weight() for a.step_n in (1, 2, 4, 9)] == [0.25, 0.5, 1.0, 1.0]
    a.step_n = 0
    a.step()                                                          # the warm-up (the discriminator only)
    assert _resumes_exactly(a, lambda: ta.Adapter(small_G(), shots, s))
    # --noise-out: the written model's noise strengths scaled, the trained weights untouched
    quiet = ta.Adapter(small_G(), shots, replace(s, noise_out=0.5))
    with torch.no_grad():
        for name, p in a.G.synthesis.named_parameters():
            if name.endswith("noise_scale"):                       # the tiny model's are 0: give them strength
                p.fill_(0.2)
    quiet.G.load_state_dict(a.G.state_dict())
    out, same = dict(quiet.export().synthesis.named_parameters()), dict(a.export().synthesis.named_parameters())
    noise = [k for k in out if k.endswith("noise_scale")]
    assert noise and all(float(same[k].abs().min()) == pytest.approx(0.2) for k in noise)
    assert all(torch.equal(out[k], same[k] * (0.5 if k in noise else 1.0)) for k in out)
    for bad, match in ((dict(swd_chroma=1.5), "--swd-chroma"), (dict(swd_ramp=-1), "--swd-ramp"),
                       (dict(swd_directions=2), "--swd-directions"), (dict(noise_out=2), "--noise-out")):
        with pytest.raises(ta.AdaptError, match=match):
            ta.check_settings(ta.Settings(**bad))


def _resumes_exactly(a, make, steps=2):
    """Run `a` and a new run from `make()` given a's state (as if saved and read back), stepped on together,
    keep equal weights: what a resumed run must do."""
    b = make()
    b.load_state(copy.deepcopy(a.state()))
    for _ in range(steps):
        a.step(), b.step()
    return all(torch.equal(p, q) for p, q in zip(a.G.synthesis.parameters(), b.G.synthesis.parameters()))


def _noisy_small_G(strength=0.05):
    """small_G() with noise strengths (the tiny model's are 0), so its noise maps draw part of the picture."""
    G = small_G()
    with torch.no_grad():
        for name, p in G.synthesis.named_parameters():
            if name.endswith("noise_scale"):
                p.fill_(strength)
    return G


def _step_ws(adapter):
    """A few latents' ws and the adapter's render of them (for its per-step terms)."""
    with torch.no_grad():
        ws = adapter.src.mapping(torch.randn(4, adapter.src.z_dim, generator=torch.Generator().manual_seed(2)))
    return ws, adapter.G.synthesis(ws)


def test_noise_penalty_and_noise_train_hold_the_noise_down_while_training_and_resume_exactly(tmp_path):
    """--noise-share: a penalty on what the noise maps draw beyond the source's level (the render with them minus
    without them, in units of the source's; a hinge, 0 at or below it) lowers the share of a model whose noise
    grew, against the same run without it, and leaves a run below the level untouched; --noise-train scales the
    noise strengths from the start, so the training sees (and the written model keeps) the quieter noise; both
    resume bit for bit, are in the model card, and a bad value is one line."""
    from benchmarks.adapt import noise_share
    shots = ta.read_shots(_tiny_shots(tmp_path / "shots", n=3), 64)[0]
    base = ta.Settings(batch=4, d_warmup=0, lr=0.01, dcl=0.0, augment="")
    src_share = noise_share(_noisy_small_G(), n=8)
    runs = {}
    for label, s in (("plain", base), ("penalty", replace(base, noise_share=100.0))):
        ad = ta.Adapter(_noisy_small_G(), shots, s)
        ad.G.load_state_dict(_noisy_small_G(0.15).state_dict())   # the trained copy's noise grown to 3x the source's
        for _ in range(6):
            row = ad.step()
        runs[label] = (ad, row)
    pen, row = runs["penalty"]
    assert pen.noise_ref == pytest.approx((src_share / 127.5) ** 2, rel=0.5)   # the source's level, its unit
    assert row["noise"] > 0 and "noise" not in runs["plain"][1]                  # logged only with the penalty
    plain_share, pen_share = noise_share(runs["plain"][0].export(), n=8), noise_share(pen.export(), n=8)
    assert pen_share < 0.8 * plain_share and plain_share > 2 * src_share
    # the strengths stay frozen: the penalty moves the convolutions, not noise_scale
    assert all(float(p.abs().max()) == pytest.approx(0.15) for n, p in pen.G.synthesis.named_parameters()
               if n.endswith("noise_scale"))
    # below the source's level the hinge is 0: the same weights as without the penalty, bit for bit
    quiet = [ta.Adapter(_noisy_small_G(), shots, replace(base, noise_train=0.5, noise_share=w)) for w in (0.0, 100.0)]
    for _ in range(3):
        quiet[0].step(), quiet[1].step()
    assert all(torch.equal(p, q) for p, q in zip(quiet[0].G.synthesis.parameters(), quiet[1].G.synthesis.parameters()))
    # --noise-upto: only the maps of that resolution and coarser judged (the others kept on in the second pass)
    coarse = ta.Adapter(_noisy_small_G(), shots, replace(base, noise_share=1.0, noise_upto=8))
    maps = coarse.G.synthesis.noise_maps()
    whole, part = pen._noise_penalty(*_step_ws(pen))[1], coarse._noise_penalty(*_step_ws(coarse))[1]
    assert 0 < part < whole and 0 < coarse.noise_ref < pen.noise_ref
    assert all(m is n for m, n in zip(maps, coarse.G.synthesis.noise_maps()))   # the buffers put back
    every = ta.Adapter(_noisy_small_G(), shots, replace(base, noise_share=1.0, noise_upto=64))
    assert every.noise_ref == pytest.approx(ta.Adapter(_noisy_small_G(), shots, replace(base, noise_share=1.0)).noise_ref)
    # --noise-train: the strengths x F in training and in the written model
    half = ta.Adapter(_noisy_small_G(), shots, replace(base, noise_train=0.5))
    strengths = [p for n, p in half.export().synthesis.named_parameters() if n.endswith("noise_scale")]
    assert strengths and all(float(p.abs().max()) == pytest.approx(0.025) for p in strengths)
    assert noise_share(half.export(), n=8) == pytest.approx(0.5 * src_share, rel=0.05)
    # resumable: a run given the state after 2 steps goes on as the run itself
    s = replace(base, noise_share=1.0, noise_train=0.7, batch=3)
    a = ta.Adapter(_noisy_small_G(), shots, s)
    a.G.load_state_dict(_noisy_small_G(0.15).state_dict())           # above the level: the hinge is at work
    a.step(), a.step()
    assert a.step_n == 2 and float(a._noise_penalty(*_step_ws(a))[0].detach()) > 0
    assert _resumes_exactly(a, lambda: ta.Adapter(_noisy_small_G(), shots, s))
    # the flags reach the settings and the model card; a checkpoint of other settings is refused
    model = saved_small_G(tmp_path)
    out = tmp_path / "n.safetensors"
    assert ta.main(["--images", str(tmp_path / "shots"), "--model", model, "--out", str(out), "--steps", "2",
                    "--batch", "3", "--no-progress", "--noise-share", "0.5", "--noise-train", "0.7"]) == 0
    card = json.loads(stylegan.read_metadata(out)["adapted"])
    assert card["settings"]["noise_share"] == 0.5 and card["settings"]["noise_train"] == 0.7
    with pytest.raises(ta.AdaptError, match="noise_share"):
        ta.Adapter(_noisy_small_G(), shots, replace(s, noise_share=2.0)).load_state(a.state())
    for bad, match in ((dict(noise_share=-1), "--noise-share"), (dict(noise_share=1e5), "--noise-share"),
                       (dict(noise_train=1.5), "--noise-train"), (dict(noise_train=-0.1), "--noise-train"),
                       (dict(noise_upto=12), "--noise-upto")):
        with pytest.raises(ta.AdaptError, match=match) as e:
            ta.check_settings(ta.Settings(**bad))
        assert "\n" not in str(e.value)


def test_fresh_noise_trains_on_new_maps_every_step_keeps_the_fixed_ones_and_resumes_exactly(tmp_path):
    """--noise-fresh: each step draws with new noise maps (from the run's own random stream), so the training
    differs from the same run on the fixed maps; the fixed maps are put back after every step (the written model
    keeps them, bit for bit); a run resumes bit for bit; the flag reaches the model card."""
    shots = ta.read_shots(_tiny_shots(tmp_path / "shots", n=3), 64)[0]
    base = ta.Settings(batch=3, d_warmup=0, lr=0.01, dcl=0.0, augment="")
    fixed, fresh = (ta.Adapter(_noisy_small_G(), shots, replace(base, noise_fresh=f)) for f in (False, True))
    maps = [m.clone() for m in fresh.G.synthesis.noise_maps()]
    seen = []
    last = fresh.G.synthesis._noisy()[-1]
    hook = last.register_forward_pre_hook(lambda mod, args: seen.append(mod.noise.clone()))
    for _ in range(2):
        fixed.step(), fresh.step()
    hook.remove()
    assert all(torch.equal(m, n) for m, n in zip(maps, fresh.G.synthesis.noise_maps()))   # the fixed maps put back
    assert seen and not any(torch.equal(m, maps[-1]) for m in seen)                       # never the fixed map in a step
    assert not all(torch.equal(p, q) for p, q in zip(fixed.G.synthesis.parameters(), fresh.G.synthesis.parameters()))
    assert all(torch.equal(m, n) for m, n in zip(maps, fresh.export().synthesis.noise_maps()))
    assert _resumes_exactly(fresh, lambda: ta.Adapter(_noisy_small_G(), shots, replace(base, noise_fresh=True)))
    model = saved_small_G(tmp_path)
    out = tmp_path / "f.safetensors"
    assert ta.main(["--images", str(tmp_path / "shots"), "--model", model, "--out", str(out), "--steps", "2",
                    "--batch", "3", "--no-progress", "--noise-fresh"]) == 0
    assert json.loads(stylegan.read_metadata(out)["adapted"])["settings"]["noise_fresh"] is True


def test_noise_from_turns_the_coarse_noise_maps_off_for_training_and_the_written_model(tmp_path):
    """--noise-from R: the noise strengths of the stages coarser than R px are 0 from the start (the training draws
    without those maps) and in the written model; the finer ones are untouched; a bad value is one line."""
    from benchmarks.adapt import noise_share
    shots = ta.read_shots(_tiny_shots(tmp_path / "shots", n=3), 64)[0]
    ad = ta.Adapter(_noisy_small_G(), shots, ta.Settings(batch=3, dcl=0.0, augment="", noise_from=16))
    res = {layer.noise.shape[-1]: float(layer.noise_scale) for layer in ad.export().synthesis._noisy()}
    assert {r for r, v in res.items() if v == 0} == {r for r in res if r < 16} and {4, 8} <= set(res)
    assert all(v == pytest.approx(0.05) for r, v in res.items() if r >= 16)
    ad.step()
    assert all(float(layer.noise_scale) == 0 for layer in ad.G.synthesis._noisy() if layer.noise.shape[-1] < 16)
    assert 0 < noise_share(ad.export(), n=8) < noise_share(_noisy_small_G(), n=8)
    # --noise-lr-from R: --noise-lr frees only the strengths of R px and finer; the coarser stay as they were
    free = ta.Adapter(_noisy_small_G(), shots, ta.Settings(batch=3, dcl=0.0, augment="", lr=0.01, noise_lr=1.0,
                                                           noise_lr_from=32))
    for _ in range(2):
        free.step()
    after = {(layer.noise.shape[-1], i): float(layer.noise_scale.detach()) for i, layer in enumerate(free.G.synthesis._noisy())}
    assert all(v == pytest.approx(0.05) for (r, _), v in after.items() if r < 32)
    assert all(v != pytest.approx(0.05) for (r, _), v in after.items() if r >= 32) and any(r >= 32 for r, _ in after)
    for name, bad in (("noise_from", 12), ("noise_from", -8), ("noise_from", 3), ("noise_lr_from", 20)):
        with pytest.raises(ta.AdaptError, match="--" + name.replace("_", "-")) as e:
            ta.check_settings(ta.Settings(**{name: bad}))
        assert "\n" not in str(e.value)


def test_coarse_layout_statistic_tells_the_shots_layout_and_resumes_exactly(tmp_path):
    """--coarse (training.coarsestats): other pictures of the shots' kind score lower than the same pictures
    with their coarse layout changed (background darkened around the face), the term reaches the generator,
    and a run with it resumes bit for bit."""
    from training.coarsestats import ShotLayoutStats
    G = face_model()
    with torch.no_grad():
        img = _sepia(G(torch.randn(16, G.z_dim, generator=torch.Generator().manual_seed(5)), truncation_psi=0.7))
    stats = ShotLayoutStats(img[:8])
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 64), torch.linspace(-1, 1, 64), indexing="ij")
    dark_rim = img[8:] * (xx.square() + yy.square() < 0.5) - 1.0 * (xx.square() + yy.square() >= 0.5)
    assert float(stats.loss(img[8:])) < 0.5 * float(stats.loss(dark_rim))
    shots = ta.read_shots(_tiny_shots(tmp_path / "shots", n=3), 64)[0]
    s = ta.Settings(batch=3, coarse=1.0)
    a = ta.Adapter(small_G(), shots, s)
    before = [p.clone() for p in a.G.synthesis.parameters()]
    assert a.step()["coarse"] > 0
    assert any(not torch.equal(p, q) for p, q in zip(before, a.G.synthesis.parameters()))
    assert _resumes_exactly(a, lambda: ta.Adapter(small_G(), shots, s))
    with pytest.raises(ta.AdaptError, match="--coarse"):
        ta.check_settings(ta.Settings(coarse=-1))


def test_app_adapt_tab_passes_its_advanced_fields_and_refuses_bad_ones_in_one_line(sepia_shots):
    """The Adapt tab's Advanced fields reach training.adapt's settings (the written card says so); a bad
    value is one line naming the field, before any work starts."""
    from ui import tab_adapt
    files = sorted(str(p) for p in Path(sepia_shots).glob("*.png"))[:3]
    for args, match in (((1.0, 0, 0), "EMA decay must be in"), ((0, -1, 0), "Fine patch level must be in"),
                        ((0, 0, None), "Patch loss: give a number"), ((0, 0, 2e4), "Patch loss must be in"),
                        ((0, 0, 0, False, -1), "Coarse layout must be in"),
                        ((0, 0, 0, False, "x"), "Coarse layout: give a number")):
        said = _refused(tab_adapt.start(files, 1, checkpoints.DEFAULT_MODEL, None, *args))
        assert match in said and "\n" not in said and "--" not in said.split("(")[0], said
    *_, (status, _, _, path, _) = tab_adapt.start(files, 1, checkpoints.DEFAULT_MODEL, None, 0.5, 1.0, 0.3, True, 2.0)
    assert "Done at step 1/1" in status
    card = json.loads(stylegan.read_metadata(path)["adapted"])["settings"]
    assert (card["ema"], card["fine_d"], card["swd"], card["grey"], card["coarse"]) == (0.5, 1.0, 0.3, True, 2.0)
    # the measured recipe (training.adapt.RECOMMENDED), its grey augmentation, a warm-up within the run
    assert (card["freeze_d"], card["last_lr"], card["augment"], card["d_warmup"]) == (2, 3.0, "tone,translation,cutout", 0)
    import inspect    # the tab's defaults are the recipe's (a field left alone trains the recipe)
    defaults = inspect.signature(tab_adapt.start).parameters
    assert [defaults[k].default for k in tab_adapt.OPTIONS] == [getattr(ta.recommended(500), k) for k in tab_adapt.OPTIONS]
    assert defaults["coarse"].default == 1.0 and ta.recipe_flags() == "--freeze-d 2 --d-warmup 50 --last-lr 3 --coarse 1"


def test_patch_focus_and_relative_follow_each_latents_source_detail_and_resume_exactly(tmp_path, capsys):
    """--swd-focus / --swd-relative (training.patchfocus): a latent whose source picture draws little fine structure
    contributes few of the patch loss's patches (focus) or is judged on its band scaled up by the batch's typical
    energy over its own (relative); without them the loss and its draws are the plain loss's bit for bit; on a real
    tiny run each changes the loss and the weights, a run with both resumes bit for bit (with the distance
    consistency off, the source is rendered for them alone), the card carries them, a bad value is one line."""
    from training import patchfocus as pf
    from training.patchloss import ShotPatches
    from training.pyramid import laplacian_pyramid
    G = face_model()
    with torch.no_grad():
        img = G(torch.randn(12, G.z_dim, generator=torch.Generator().manual_seed(7)), truncation_psi=0.7)
    murky = torch.nn.functional.interpolate(torch.nn.functional.avg_pool2d(img[8:9], 4), scale_factor=4,
                                            mode="bilinear")
    source = torch.cat([murky, img[9:12]])                           # latent 0: a low-detail source picture
    energy = pf.band_energy(laplacian_pyramid(source)[0])
    assert float(energy[0]) < 0.5 * float(energy[1:].min())
    drawn = pf.draw_images(energy, 4000, 2.0, torch.Generator().manual_seed(0))
    counts = torch.bincount(drawn, minlength=4)
    assert int(counts[0]) < 0.25 * int(counts[1:].min())             # few patches from the murky latent
    assert torch.equal(torch.bincount(pf.draw_images(energy, 4000, 0.0, torch.Generator().manual_seed(0)),
                                      minlength=4).clamp_max(1), torch.ones(4, dtype=torch.long))
    gain = pf.relative_gain(energy, 1.0).flatten()
    assert float(gain[0]) == float(gain.max()) > 1                   # the murky latent's band judged louder
    fake = img[:4]
    loss = lambda **k: float(ShotPatches(img[4:8], **{k2: v for k2, v in k.items() if k2 != "src"}).loss(
        fake, torch.Generator().manual_seed(0), source=k.get("src")))
    assert loss() == loss(src=source)                                 # the plain loss ignores the source
    assert loss(focus=2.0, src=source) != loss() and loss(relative=1.0, src=source) != loss()
    shots = ta.read_shots(_tiny_shots(tmp_path / "shots", n=3), 64)[0]
    base = ta.Settings(batch=3, swd=1.0, dcl=0.0, lr=0.01, augment="", swd_directions=16)
    runs = {name: ta.Adapter(small_G(), shots, replace(base, **change)) for name, change in
            (("plain", {}), ("focus", dict(swd_focus=2.0)), ("relative", dict(swd_relative=1.0)))}
    rows = {name: [a.step()["swd"] for _ in range(2)] for name, a in runs.items()}
    for name in ("focus", "relative"):
        assert rows[name][0] != rows["plain"][0]                      # the first step: the same weights, another loss
        assert not all(torch.equal(p, q) for p, q in zip(runs[name].G.synthesis.parameters(),
                                                          runs["plain"].G.synthesis.parameters()))
    both = replace(base, swd_focus=1.0, swd_relative=0.5)
    a = ta.Adapter(small_G(), shots, both)
    a.step()
    assert _resumes_exactly(a, lambda: ta.Adapter(small_G(), shots, both))
    model = saved_small_G(tmp_path)
    out = tmp_path / "f.safetensors"
    assert ta.main(["--images", str(tmp_path / "shots"), "--model", model, "--out", str(out), "--steps", "1",
                    "--batch", "3", "--no-progress", "--swd", "0.3", "--swd-focus", "2", "--swd-relative", "0.5"]) == 0
    card = json.loads(stylegan.read_metadata(out)["adapted"])["settings"]
    assert card["swd_focus"] == 2.0 and card["swd_relative"] == 0.5
    capsys.readouterr()
    for flag, bad in (("--swd-focus", "5"), ("--swd-focus", "-1"), ("--swd-relative", "1.5")):
        code = ta.main(["--images", str(tmp_path / "shots"), "--model", model, "--out", str(tmp_path / "g.safetensors"),
                        "--steps", "1", "--batch", "3", "--no-progress", flag, bad])
        err = capsys.readouterr().err.strip()
        assert code == 2 and err.startswith(f"error: {flag} must be") and len(err.splitlines()) == 1, err


def test_benchmark_checkpoints_measure_what_a_straight_run_writes_and_medians_take_last_rows(tmp_path, monkeypatch):
    """benchmarks.adapt --measure-every: each checkpoint's row measures the model as written (`export`: the noise
    strengths x noise_out), the very weights a straight run of that many steps writes, and draws its own figure;
    with --seeds the checkpoint rows carry their seed and the median row is of each seed's last row only."""
    from benchmarks import adapt as ba
    G0 = small_G()
    with torch.no_grad():
        for name, p in G0.synthesis.named_parameters():
            if name.endswith("noise_scale"):
                p.fill_(0.2)
    model = tmp_path / "g.safetensors"
    stylegan.save(G0, model)
    shots = ta.read_shots(_tiny_shots(tmp_path / "shots", n=3), 64)[0]
    held = torch.cat([shots.flip(-1), shots.flip(-2)])
    monkeypatch.setattr(ba.adapt_data, "fetch_wheel", lambda wheel: None)
    monkeypatch.setattr(ba.adapt_data, "domain", lambda wheel, d, res: (shots, held))
    monkeypatch.setattr(ba, "reference_rows", lambda d, shots, held, source_samples=None: [])
    measured = []

    def fake_measure(G, S, shots, held, mp_python, spread=True, x=None):
        measured.append(copy.deepcopy(G.state_dict()))
        return dict(swd=float(len(measured)), swd_half=1.0, diversity=1.0, kept=30, source_faces=30, median_px=1.0)

    monkeypatch.setattr(ba, "measure", fake_measure)
    scratch = tmp_path / "scratch"   # where the run's work folder (its adapted models) goes
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    variant = "coarse 1, patch SWD 0.4, noise out 0.5"
    rows, _ = ba.main(["--model", str(model), "--domains", "photo_cal", "--steps", "4", "--measure-every", "2",
                       "--variants", variant, "--seeds", "0,1", "--no-drags", "--threads", "1",
                       "--mp-python", sys.executable, "--out", str(tmp_path / "results"),
                       "--figures", str(tmp_path / "figs")])
    assert list(scratch.glob("latentlab_adapt_*")) == []   # the adapted models went with the run
    ba.main(["--model", str(model), "--domains", "photo_cal", "--steps", "1", "--variants", variant, "--seeds", "0",
             "--no-drags", "--threads", "1", "--keep-models", "--mp-python", sys.executable,
             "--out", str(tmp_path / "results_kept"), "--figures", str(tmp_path / "figs_kept")])
    kept = list(scratch.glob("latentlab_adapt_*/*.safetensors")) + list(scratch.glob("latentlab_adapt_*/*/*.safetensors"))
    assert kept, list(scratch.rglob("*"))   # asked for: the model stays where the run said
    assert [r["model"] for r in rows[1:]] == [f"{variant}, seed {s}, step {n}" for s in (0, 1) for n in (2, 4)] + \
        [f"{variant}, median of seeds 0,1"]
    assert rows[-1]["swd"] == statistics.median([rows[2]["swd"], rows[4]["swd"]])   # the seeds' last rows, not a checkpoint
    for seed, at in ((0, 1), (1, 3)):                # measured[0] is the source
        settings = replace(ta.Settings(), **{**ba.VARIANTS[variant], "steps": 2, "seed": seed})
        straight = ta.Adapter(checkpoints.load(str(model)), shots, settings)
        ta.train(straight, 2, tmp_path / f"straight{seed}.safetensors", lambda: {}, progress=False, save_every=10)
        written = straight.export().state_dict()
        assert all(torch.equal(measured[at][k], written[k]) for k in written)
        scales = [v for k, v in measured[at].items() if k.endswith("noise_scale")]
        assert scales and all(torch.allclose(v, torch.full_like(v, 0.1)) for v in scales)   # 0.2 x noise_out 0.5
        for n in (2, 4):
            assert (tmp_path / "figs" / f"photo_cal_{''.join(c if c.isalnum() else '-' for c in variant.lower())}_{n}"
                    f"_seed{seed}_source_vs_adapted.png").is_file()


def test_picture_consistency_keeps_each_latents_relations_on_the_pictures_and_resumes_exactly(tmp_path):
    """--dcl-image (training.correspondence.picture_bands): the same faces redrawn in sepia keep their relations on
    the grey bands (a small loss), the same sepia faces given to other latents (a template redrawn per latent) do
    not; the term reaches the generator, and a run with it resumes bit for bit."""
    from training import correspondence as cc
    G = face_model()
    with torch.no_grad():
        img = G(torch.randn(8, G.z_dim, generator=torch.Generator().manual_seed(5)), truncation_psi=0.7)
    src = cc.picture_bands(img)
    assert sorted(src) == [16, 32, 64]
    same = float(cc.distance_consistency(src, cc.picture_bands(_sepia(img))))
    shuffled = float(cc.distance_consistency(src, cc.picture_bands(_sepia(img[torch.tensor([3, 7, 0, 5, 1, 6, 2, 4])]))))
    assert same < 0.1 * shuffled
    shots = ta.read_shots(_tiny_shots(tmp_path / "shots", n=3), 64)[0]
    s = ta.Settings(batch=3, dcl=0.0, dcl_image=1000.0)
    a = ta.Adapter(small_G(), shots, s)
    before = [p.clone() for p in a.G.synthesis.parameters()]
    assert a.step()["dcl_image"] >= 0
    assert any(not torch.equal(p, q) for p, q in zip(before, a.G.synthesis.parameters()))
    assert _resumes_exactly(a, lambda: ta.Adapter(small_G(), shots, s))
    with pytest.raises(ta.AdaptError, match="--dcl-image"):
        ta.check_settings(ta.Settings(dcl_image=-1))
    with pytest.raises(ta.AdaptError, match="--batch"):
        ta.check_settings(ta.Settings(batch=2, dcl=0.0, dcl_image=10.0))


def test_app_adapt_tab_says_what_a_stop_in_the_warm_up_leaves_and_names_the_users_files(sepia_shots, tmp_path):
    """A run stopped within the discriminator's warm-up has not changed the generator: the tab says so and
    offers nothing to use (the file it wrote is the source's weights, checked here); the warm-up's frames say
    what trains instead of 'G nan'. The pictures' messages name the files as uploaded, never the server's copies."""
    from ui import tab_adapt
    S = face_model()
    shots, _, _ = ta.read_shots(sepia_shots, 64)
    a = ta.Adapter(S, shots, ta.recommended(20))          # the tab's recipe: 2 warm-up steps at 20
    assert a.s.d_warmup == 2
    out = tmp_path / "m.safetensors"
    rows = []
    ta.train(a, 1, out, lambda: {}, progress=False, save_every=100, on_row=rows.append)
    assert "discriminator's warm-up" in tab_adapt._progress(a, 20, rows[-1]) and "nan" not in \
        tab_adapt._progress(a, 20, rows[-1])
    status, _, _, result, use = tab_adapt._ended(a, 20, out)
    assert "nothing to use yet" in status and result is None and use["interactive"] is False
    src, written = S.state_dict(), stylegan.load(out).state_dict()
    assert all(torch.equal(src[k], written[k]) for k in src if k in written)   # what the message says
    ta.train(a, 3, out, lambda: {}, progress=False, save_every=100, on_row=rows.append)   # past the warm-up
    status, _, _, result, use = tab_adapt._ended(a, 20, out)
    assert "Press 'Use this model'" in status and result == str(out) and use["interactive"] is True
    assert "G " in tab_adapt._progress(a, 20, rows[-1]) and "warm-up" not in tab_adapt._progress(a, 20, rows[-1])
    # the user's file names, not the copies' or the server's folder
    pics = tmp_path / "upload"
    pics.mkdir()
    names = []
    for i, p in enumerate(sorted(Path(sepia_shots).glob("*.png"))[:3]):
        names.append(pics / f"face_{i}.png")
        Image.open(p).resize((80, 120) if i == 0 else (64, 64)).save(names[-1])
    first = next(iter(tab_adapt.start([str(n) for n in names], 2, checkpoints.DEFAULT_MODEL, None)))[0]
    assert "1 of 3 images is not 64x64 (face_0.png 80x120)" in first and "/" not in first.split("pictures…")[1]
    (pics / "notes.png").write_text("not an image")
    said = _refused(tab_adapt.start([str(names[0]), str(names[1]), str(pics / "notes.png")], 2,
                                    checkpoints.DEFAULT_MODEL, None))
    assert said.startswith("Pictures: notes.png is not a readable image") and "/" not in said
    said = _refused(tab_adapt.start([str(names[0]), str(names[1])], 2, checkpoints.DEFAULT_MODEL, None))
    assert said.startswith("Pictures: 2 images; adaptation needs at least 3") and "/" not in said
