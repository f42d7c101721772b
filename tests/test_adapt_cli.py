"""`python -m training.adapt`'s command line under hostile input: every bad flag, picture folder, output
path or model is one `error: ...` line with exit code 2 (never a traceback), checked before the model is
loaded where it can be; a resume on other pictures is refused; the pictures read as every other command
reads a user's image (imagefile: 16-bit levels, EXIF orientation, transparency on white).

Most cases stop before the model: their --model is a file that is not a model at all, so an error that
names the flag (and not the model) shows the check came first."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import clisafe
import stylegan
from drag_testing import saved_small_G, small_G
from training import adapt as ta


def _random_shots(folder, n=4, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


@pytest.fixture
def shots(tmp_path):
    return _random_shots(tmp_path / "shots")


@pytest.fixture
def not_a_model(tmp_path):
    """A --model file that cannot load: any error about it means the flag under test was checked too late."""
    path = tmp_path / "not_a_model.safetensors"
    path.write_bytes(b"not a model")
    return str(path)


def _run(capsys, images, out, model, *extra):
    code = ta.main(["--images", str(images), "--out", str(out), "--model", model, "--steps", "2", "--batch", "3",
                    "--threads", "1", "--no-progress", *extra])
    return code, capsys.readouterr().err.strip()


def _refused(code, err, phrase):
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: ") and phrase in err, err
    assert "Traceback" not in err and "not_a_model" not in err, err


@pytest.mark.parametrize("extra, phrase", [
    (["--anchors", "100000000"], "--anchors must be 0-4096"),
    (["--anchors", "4097"], "--anchors must be 0-4096"),
    (["--threads", "-1"], "--threads must be a whole number from 1 to 256"),
    (["--threads", "-4"], "--threads must be a whole number from 1 to 256"),
    (["--threads", "0"], "--threads must be a whole number from 1 to 256"),
    (["--seed", "99999999999999999999999"], "--seed must be a whole number from 0 to 9223372036854775807"),
    (["--seed", "-99999999999999999999999"], "--seed must be a whole number from 0 to 9223372036854775807"),
    (["--seed", "-1"], "--seed must be a whole number from 0"),
    (["--d-warmup", "100000", "--force"], "--d-warmup must be a step count from 0 to --steps - 1 (1)"),
    (["--d-warmup", "2"], "--d-warmup must be a step count from 0 to --steps - 1 (1)"),
    (["--augment", ",,"], "--augment ',,': an empty item"),
    (["--augment", "color,"], "--augment 'color,': an empty item"),
    (["--resume", "--force", "--lr", "0.002"], "--resume and --force contradict each other"),
])
def test_bad_flags_are_one_line_before_the_model(capsys, tmp_path, shots, not_a_model, extra, phrase):
    # the threads flag comes last so a bad one replaces _run's --threads 1
    _refused(*_run(capsys, shots, tmp_path / "m.safetensors", not_a_model, *extra), phrase)
    assert not (tmp_path / "m.run").exists()


def test_help_states_the_bounds(capsys):
    with pytest.raises(SystemExit):
        ta.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "0-4096" in text and "fewer than --steps" in text and "1-256" in text and "not with --resume" in text


def test_a_warm_up_must_leave_generator_steps_and_the_recipe_always_does():
    """A warm-up of --steps or more would write the source unchanged: refused. The app's recipe caps the
    warm-up at a tenth of the run, so it is never refused, whatever the step count."""
    for warmup in (2, 3, 100_000):
        with pytest.raises(ta.AdaptError, match="--d-warmup must be a step count from 0 to --steps - 1"):
            ta.check_settings(ta.Settings(steps=2, d_warmup=warmup))
    for steps in (1, 2, 9, 10, 11, 300, 20_000):
        ta.check_settings(ta.recommended(steps))
    ta.check_settings(ta.Settings(steps=2, d_warmup=1, augment=""))   # '' still means no augmentation


def test_bad_output_paths_are_one_line_before_the_model(capsys, tmp_path, shots, not_a_model, monkeypatch):
    monkeypatch.chdir(tmp_path)   # relative names: the messages stay short enough to be read whole
    (tmp_path / "one.png").write_bytes(b"a file")
    (tmp_path / "r.run").write_text("a file where the run folder goes")
    cases = [(tmp_path / "one.png" / "m.safetensors", "is under a file"),
             ("/proc/m.safetensors", "is a system folder"),
             (tmp_path / ("x" * 241 + ".safetensors"), "the name is too long (253 bytes"),   # legal, but not + .tmp
             ("x" * 300 + ".safetensors", "the name is too long (312 bytes"),
             (tmp_path / ("d" * 300) / "m.safetensors", "a folder name of 300 bytes is too long"),
             (tmp_path / "/".join(["d" * 200] * 21) / "m.safetensors", "the path is too long"),
             (tmp_path / "r.safetensors", "run folder"),
             (tmp_path / "shots", "give a .safetensors file name")]
    for out, phrase in cases:
        _refused(*_run(capsys, shots, out, not_a_model), phrase)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_model.safetensors", "one.png", "r.run", "shots"]


def test_the_longest_name_that_fits_trains_and_is_written(capsys, tmp_path, shots):
    """The longest name clisafe.check_name_fits accepts is written (with its run folder); one byte more is
    refused before the model is loaded."""
    model = saved_small_G(tmp_path)
    most = clisafe.NAME_MAX - clisafe.TMP_EXTRA - len(".safetensors")
    out = tmp_path / ("x" * (most - len(".safetensors")) + ".safetensors")
    code, err = _run(capsys, shots, out, model, "--steps", "1")
    assert code == 0, err
    stylegan.load(out)
    assert (ta.run_dir(out) / "state.pt").is_file()
    _refused(*_run(capsys, shots, tmp_path / ("y" + out.name), model), "the name is too long")


def test_bad_picture_folders_are_one_line_before_the_model(capsys, tmp_path, not_a_model):
    broken = _random_shots(tmp_path / "broken")
    os.symlink(tmp_path / "nowhere.png", broken / "b.png")
    loop = _random_shots(tmp_path / "loop")
    os.symlink("l.png", loop / "l.png")
    bad = _random_shots(tmp_path / "bad")
    (bad / "z.png").write_text("not a picture")
    for images, phrase in [(broken, "b.png is a broken link"), (loop, "l.png cannot be read (Too many levels"),
                           (bad, "z.png is not a readable image")]:
        _refused(*_run(capsys, images, tmp_path / "m.safetensors", not_a_model), phrase)


def test_a_model_whose_weights_are_nan_is_one_line(capsys, tmp_path, shots):
    G = small_G()
    with torch.no_grad():
        for p in G.parameters():
            p.fill_(float("nan"))
    stylegan.save(G, tmp_path / "nan.safetensors")
    code, err = _run(capsys, shots, tmp_path / "m.safetensors", str(tmp_path / "nan.safetensors"))
    _refused(code, err, "NaN or Inf")
    assert not (tmp_path / "m.run").exists() and not (tmp_path / "m.safetensors").exists()


def test_resume_on_other_pictures_is_refused(capsys, tmp_path, shots):
    model = saved_small_G(tmp_path)
    out = tmp_path / "m.safetensors"
    assert _run(capsys, shots, out, model, "--steps", "1")[0] == 0
    others = _random_shots(tmp_path / "others", n=5, seed=1)
    _refused(*_run(capsys, others, out, model, "--steps", "2", "--resume"),
             "--resume: the checkpoint was trained on other pictures (4 then, 5 now)")
    same_count = _random_shots(tmp_path / "same_count", n=4, seed=2)
    _refused(*_run(capsys, same_count, out, model, "--steps", "2", "--resume"), "trained on other pictures")
    assert torch.load(ta.run_dir(out) / "state.pt", weights_only=True)["step"] == 1   # untouched
    assert _run(capsys, shots, out, model, "--steps", "2", "--resume")[0] == 0          # the same pictures go on


# --- the pictures read as every command reads them (imagefile) ---------------------------------------
def test_sixteen_bit_pictures_keep_their_levels(tmp_path):
    folder = tmp_path / "grey16"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((64, 64), 33000, dtype=np.uint16)).save(folder / f"{i}.png")
    assert Image.open(folder / "0.png").mode.startswith("I")
    shots, _, _ = ta.read_shots(folder, 64)
    assert abs(float((shots.mean() + 1) * 127.5) - 33000 / 65535 * 255) < 1   # ~128, not ~255


def test_exif_orientation_is_applied(tmp_path):
    """A picture stored with its dark half on top and EXIF orientation 6 (rotate 90 degrees clockwise to view)
    is seen with the dark half on the right."""
    folder = tmp_path / "exif"
    folder.mkdir()
    a = np.full((64, 64, 3), 255, dtype=np.uint8)
    a[:32] = 0
    for i in range(3):
        im = Image.fromarray(a)
        exif = im.getexif()
        exif[0x0112] = 6
        im.save(folder / f"{i}.jpg", exif=exif, quality=95)
    shots, _, _ = ta.read_shots(folder, 64)
    left, right = shots[:, :, :, :24].mean(), shots[:, :, :, 40:].mean()
    assert right < -0.9 and left > 0.9, (float(left), float(right))


def test_transparent_areas_are_white(tmp_path):
    folder = tmp_path / "alpha"
    folder.mkdir()
    a = np.zeros((64, 64, 4), dtype=np.uint8)   # black, and transparent on the left half
    a[:, 32:, 3] = 255
    for i in range(3):
        Image.fromarray(a, "RGBA").save(folder / f"{i}.png")
    shots, _, _ = ta.read_shots(folder, 64)
    assert shots[:, :, :, :24].min() > 0.99 and shots[:, :, :, 40:].max() < -0.99


def test_large_pictures_are_kept_square_and_small_until_the_model_size_is_known(tmp_path):
    """read_pictures (before the model) keeps each picture cropped to a square of at most MAX_SIDE px, and
    to_shots gives what read_shots gives."""
    folder = tmp_path / "large"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (1100, 1300, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    pictures = ta.read_pictures(folder)
    assert [im.size for im in pictures.squares] == [(1024, 1024)] * 3 and pictures.sizes == [(1300, 1100)] * 3
    shots, names, notes = ta.to_shots(pictures, 64)
    assert shots.shape == (3, 3, 64, 64) and names == ["0.png", "1.png", "2.png"]
    assert "3 of 3 images are not 64x64 (0.png 1300x1100" in notes[0]
    assert torch.equal(shots, ta.read_shots(folder, 64)[0])
