"""Where a headless drag starts (dragcore.sources): `--inverted DIR` drags a real photo inverted by the
real `python -m latent invert`, `--latent FILE` continues from an exported latent, result.json says
which, and every bad start is one stderr line and exit code 2 with nothing written.

The photo is tests/data/astronaut_64.png (see tests/data/README.md): NASA's public-domain portrait of
Eileen Collins, as scikit-image ships it (`skimage.data.astronaut()`), cropped to the face."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

import checkpoints
from drags import in_photo as in_photo_settings
from drags.drag_cli import main
from dragcore.config import DragConfig
from draggan import DragGANSession
from drag_testing import face_model, small_G
from latent import generator_delta
from stylegan.imageops import to_uint8
from stylegan.seeds import seed_z

pytestmark = pytest.mark.integration   # the drag CLI from inverted photos and exported latents, 4-15 s each

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "tests" / "data" / "astronaut_64.png"
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))


def _run(*args):
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=ENV, capture_output=True, text=True,
                          timeout=300)


def _png(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(np.int16)


def _cli(method, *args):
    """`python -m METHOD ARGS` as its main() in this process (the real processes are
    test_bad_starts_are_one_line_and_exit_2's last case, tests/test_dragcore_cli.py and test_invert.py)."""
    from drags.engine_options import main as drag_main
    from latent.__main__ import main as latent_main
    return latent_main(list(args)) if method == "latent" else drag_main(method, list(args))


@pytest.fixture(scope="module")
def inverted(tmp_path_factory):
    """A real (short) inversion of the example photo on the bundled model, by the real command's main()."""
    out = tmp_path_factory.mktemp("inv") / "astronaut"
    assert _cli("latent", "invert", str(PHOTO), "--out", str(out), "--steps-w", "10", "--steps-wplus", "10",
                "--pti-steps", "10", "--device", "cpu") == 0
    return out


def test_inverted_photo_is_dragged_with_its_tuned_generator_and_continues(inverted, tmp_path):
    out = tmp_path / "dg"
    assert _cli("draggan", "--inverted", str(inverted), "--point", "32,40,37,40", "--steps", "8", "--out", str(out),
                "--device", "cpu") == 0
    # the drag starts from the inversion's own reconstruction: its latent through the tuned generator ...
    start = _png(out / "start.png")
    assert np.array_equal(start, _png(inverted / "reconstruction.png"))
    # ... not the latent through the untouched generator (the delta is really applied)
    ws = load_file(str(inverted / "latent.safetensors"))["ws"]
    with torch.no_grad():
        untuned = to_uint8(face_model().synthesis(ws)[0]).astype(np.int16)
    assert np.abs(untuned - start).mean() > 1.0
    r = json.loads((out / "result.json").read_text())
    assert r["source"] == {"kind": "inverted", "dir": str(inverted)} and r["model"] == checkpoints.DEFAULT_MODEL
    assert r["seed"] is None and r["space"] == "w+" and 0 < r["steps"] <= 8
    assert r["files"][:2] == ["latent.safetensors", "generator_delta.safetensors"]
    assert not np.array_equal(start, _png(out / "result.png"))
    # the tuned noise maps followed the drag by the warp pathway's field: they are the latent's, so the output's
    # delta is the inversion's (the continued drag below derives them again and starts from the result exactly)
    assert r["noise_maps"] == "follow the warp field"
    # the warp guard's twist term on a photo's drag (drags.in_photo.SETTINGS), recorded once, as the setting it is
    assert r["params"]["warp_twist"] == in_photo_settings.SETTINGS["draggan"]["warp_twist"] and "warp_twist" not in r
    d0, d1 = (load_file(str(d / "generator_delta.safetensors")) for d in (inverted, out))
    assert d0.keys() == d1.keys() and all(torch.equal(d0[k], d1[k]) for k in d0)
    assert r["picture"] == "field"   # DragGAN's own on a photo: the reconstruction moved (drags.in_photo.PICTURE)
    renders = {}
    for name, extra in (("fixed", ["--fixed-noise"]), ("follow", [])):   # the tuned generator's render, asked for
        assert _cli("draggan", "--inverted", str(inverted), "--point", "32,40,37,40", "--steps", "8", "--out",
                    str(tmp_path / name), "--device", "cpu", "--picture", "render", *extra) == 0
        renders[name] = json.loads((tmp_path / name / "result.json").read_text())
    rf = renders["fixed"]
    assert (rf["noise_maps"], rf["picture"], renders["follow"]["picture"]) == ("fixed", "render", "render")
    assert rf["params"]["warp_twist"] == r["params"]["warp_twist"]   # without the maps too
    fixed, follow = (_png(tmp_path / name / "result.png") for name in ("fixed", "follow"))
    assert not np.array_equal(fixed, follow)   # in the render the maps made a difference
    assert not np.array_equal(follow, _png(out / "result.png"))   # and the render is not the field's picture
    # the inversion aligned the face and kept the transform: the drag is pasted back into the photo
    assert "result_in_photo.png" in r["files"] and (inverted / "aligned.png").is_file()
    photo, in_photo = _png(inverted / "photo.png"), _png(out / "result_in_photo.png")
    assert photo.shape == in_photo.shape == _png(PHOTO).shape
    changed = np.abs(in_photo - photo).max(-1) > 8
    assert changed.any()     # the edit shows in the photo ...
    alignment = json.loads((inverted / "alignment.json").read_text())
    x, y, w, h = alignment["face"]   # ... inside the face the aligner found, nowhere else
    ys, xs = np.nonzero(changed)
    assert xs.min() >= x - w * 0.3 and xs.max() <= x + w * 1.3 and ys.min() >= y - h * 0.3 and ys.max() <= y + h * 1.3
    # the output folder is itself an inverted photo: FreeDrag continues where DragGAN stopped
    out2 = tmp_path / "fd"
    assert _cli("freedrag", "--inverted", str(out), "--point", "35,40,38,40", "--steps", "3", "--out", str(out2),
                "--device", "cpu") == 0
    assert np.array_equal(_png(out2 / "start.png"), _png(out / "result.png"))
    # ... showing what DragGAN's drag showed (kept in the latent's metadata), so it starts from the image shown
    assert json.loads((out2 / "result.json").read_text())["picture"] == "field"
    assert json.loads((out2 / "result.json").read_text())["source"] == {"kind": "inverted", "dir": str(out)}
    assert _png(out2 / "result_in_photo.png").shape == photo.shape   # the continued drag: the same photo


def test_a_photo_s_stabledrag_moves_the_warp_code_alone_unless_told(inverted, tmp_path):
    """drags.in_photo.presets reaches the session the CLI builds: rows 0 on a photo (the presets' 2 on a seed);
    a --rows given on the command line still wins."""
    rows = {}
    for name, extra in (("photo", []), ("told", ["--rows", "2"])):
        assert _cli("stabledrag", "--inverted", str(inverted), "--point", "32,40,36,40", "--steps", "1",
                    "--out", str(tmp_path / name), "--device", "cpu", *extra) == 0
        rows[name] = json.loads((tmp_path / name / "result.json").read_text())["params"]["rows"]
    assert rows == {"photo": 0, "told": 2} and checkpoints.presets(checkpoints.DEFAULT_MODEL)["stabledrag"]["rows"] == 2


def test_a_photo_s_twist_term_is_its_setting_and_a_user_s_own_wins(inverted, tmp_path):
    """DragGAN's twist term on a photo comes from drags.in_photo.SETTINGS (the model's presets have none); a
    --warp-twist given on the command line wins over it, and result.json records the weight the drag used."""
    assert checkpoints.presets(checkpoints.DEFAULT_MODEL)["draggan"].get("warp_twist", 0) == 0
    assert _cli("draggan", "--inverted", str(inverted), "--point", "32,40,36,40", "--steps", "1", "--out",
                str(tmp_path / "told"), "--device", "cpu", "--warp-twist", "0") == 0
    r = json.loads((tmp_path / "told" / "result.json").read_text())
    assert r["params"]["warp_twist"] == 0 and "warp_twist" not in r


def test_latent_from_the_app_export_and_from_a_drag_continue(tmp_path, capsys):
    G = face_model()
    with torch.no_grad():
        ws = G.mapping(seed_z(5, G.z_dim), truncation_psi=DragConfig.psi)   # seed 5's latent, as a session makes it
    torch.save(ws.cpu(), tmp_path / "freedrag_latent.pt")   # what the app's Export writes (ui/export.py)
    a, b, s = tmp_path / "a", tmp_path / "b", tmp_path / "s"
    assert main(DragGANSession, argv=["--seed", "5", "--point", "20,32,26,32", "--steps", "1", "--out", str(s),
                                      "--device", "cpu"]) == 0
    assert json.loads((s / "result.json").read_text())["source"] == {"kind": "seed", "seed": 5, "psi": DragConfig.psi}
    assert main(DragGANSession, argv=["--latent", str(tmp_path / "freedrag_latent.pt"), "--point", "20,32,26,32",
                                      "--steps", "4", "--out", str(a), "--device", "cpu"]) == 0
    with torch.no_grad():
        expected = to_uint8(G.synthesis(ws)[0]).astype(np.int16)
    assert np.array_equal(_png(a / "start.png"), expected)
    assert np.array_equal(_png(a / "start.png"), _png(s / "start.png"))   # the same image as from --seed 5
    r = json.loads((a / "result.json").read_text())
    assert r["source"] == {"kind": "latent", "file": str(tmp_path / "freedrag_latent.pt")} and r["seed"] is None
    saved = load_file(str(a / "latent.safetensors"))["latent"]
    # the dragged latent (with the bundled model's deformation code row, stylegan.warp), not the start
    start = torch.cat([ws, ws.new_zeros(1, G.config.code_rows, ws.shape[2])], 1)   # the start, with a zero code
    assert saved.shape == start.shape and not torch.equal(saved, start)
    # continue from the drag's own latent: the next drag starts at the first one's result
    assert main(DragGANSession, argv=["--latent", str(a / "latent.safetensors"), "--point", "21,32,26,32",
                                      "--steps", "4", "--out", str(b), "--device", "cpu"]) == 0
    assert np.array_equal(_png(b / "start.png"), _png(a / "result.png"))
    # a W latent (one row) is dragged in W
    torch.save(ws[:, 0].clone(), tmp_path / "w.pt")
    assert main(DragGANSession, argv=["--latent", str(tmp_path / "w.pt"), "--point", "20,32,26,32", "--steps", "2",
                                      "--out", str(tmp_path / "w"), "--device", "cpu"]) == 0
    assert json.loads((tmp_path / "w" / "result.json").read_text())["space"] == "w"
    capsys.readouterr()


class _Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_bad_starts_are_one_line_and_exit_2(inverted, tmp_path, capsys):
    G = face_model()
    other = small_G()   # a real generator of another shape (w 64)
    with torch.no_grad():
        other_ws = other.mapping(torch.randn(1, other.z_dim))
    torch.save(other_ws, tmp_path / "other.pt")
    torch.save({"a": torch.zeros(1, 256), "b": torch.zeros(1, 256)}, tmp_path / "two.pt")
    torch.save(torch.zeros(1, G.num_ws, G.w_dim, dtype=torch.int64), tmp_path / "ints.pt")
    torch.save(torch.full((1, G.num_ws, G.w_dim), float("nan")), tmp_path / "nan.pt")
    torch.save(_Boom(), tmp_path / "evil.pt")   # weights_only refuses it; nothing runs
    (tmp_path / "garbage.pt").write_bytes(b"not a latent at all")
    (tmp_path / "big.safetensors").write_bytes(b"\0" * (17 * 2**20))
    # an inversion whose delta belongs to another generator (same layer names, other shapes)
    wrong = tmp_path / "wrong_delta"
    shutil.copytree(inverted, wrong)
    tuned = small_G(seed=1)
    save_file(generator_delta(other, tuned), str(wrong / "generator_delta.safetensors"))
    foreign = tmp_path / "foreign_delta"
    shutil.copytree(inverted, foreign)
    save_file({"not.a.layer": torch.zeros(3)}, str(foreign / "generator_delta.safetensors"))
    no_delta = tmp_path / "no_delta"
    shutil.copytree(inverted, no_delta)
    (no_delta / "generator_delta.safetensors").unlink()
    out = tmp_path / "never"
    pt = ["--point", "20,32,26,32", "--out", str(out), "--device", "cpu"]
    cases = [
        ([], "say where the drag starts"),
        (["--inverted", str(inverted), "--latent", str(tmp_path / "other.pt")], "--inverted and --latent: give only one"),
        (["--seed", "3", "--latent", str(tmp_path / "other.pt")], "--seed and --latent"),
        (["--latent", str(tmp_path / "missing.pt")], "file not found"),
        (["--latent", str(tmp_path / "other.pt")], "another model"),
        (["--latent", str(tmp_path / "two.pt")], "no latent in it"),
        (["--latent", str(tmp_path / "ints.pt")], "floating-point"),
        (["--latent", str(tmp_path / "nan.pt")], "NaN"),
        (["--latent", str(tmp_path / "evil.pt")], "not a latent file"),
        (["--latent", str(tmp_path / "garbage.pt")], "not a latent file"),
        (["--latent", str(tmp_path / "big.safetensors")], "is not a latent"),
        (["--latent", str(inverted / "latent.safetensors")], "use --inverted"),
        (["--latent", str(tmp_path / "other.pt"), "--psi", "0.5"], "--psi"),
        (["--inverted", str(tmp_path / "missing")], "not a folder"),
        (["--inverted", str(no_delta)], "no generator_delta.safetensors"),
        (["--inverted", str(tmp_path)], "no latent.safetensors"),
        (["--inverted", str(wrong)], "does not fit model"),
        (["--inverted", str(foreign)], "'not.a.layer'"),
        (["--inverted", str(inverted), "--model", "faces-ffhq-512"], "made with model"),
        (["--inverted", str(inverted), "--space", "w"], "--space"),
        (["--seed", "3", "--fixed-noise"], "--fixed-noise: only a drag of an inverted photo"),
        (["--seed", "3", "--mask-weight", "50"], "--mask-weight weighs the region a --mask keeps still"),
        (["--latent", str(tmp_path / "other.pt"), "--picture", "field"], "--picture: only a drag of an inverted"),
    ]
    for args, msg in cases:
        assert main(DragGANSession, argv=args + pt) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, (args, err)
        assert msg in err, (args, err)
    assert not out.exists()   # nothing half-written
    # as a real process: the same one line
    p = _run("freedrag", "--latent", str(tmp_path / "other.pt"), *pt)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "another model" in p.stderr, p.stderr
