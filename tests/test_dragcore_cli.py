"""The shared CLI (`python -m draggan` / `python -m freedrag`): real subprocesses writing real files,
and clean exit-code-2 errors for bad input."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from drags.drag_cli import main
from drags.engine_options import arguments, settings
from drags.engines import ENGINES
from draggan import DragGANSession
from freedrag import FreeDragSession
from drag_testing import saved_small_G

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return saved_small_G(tmp_path_factory.mktemp("model"), "small64.safetensors")


def _run(method, *args):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", method, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.integration   # the CLI in a subprocess
@pytest.mark.parametrize("method", ["draggan", "freedrag"])
def test_cli_writes_start_result_and_json(method, model_path, tmp_path):
    mask = np.zeros((64, 64), np.uint8)
    mask[10:50, 10:50] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "out"
    p = _run(method, "--seed", "3", "--point", "20,30,28,30", "--point", "40,40,40,34", "--model", model_path,
             "--steps", "12", "--mask", str(tmp_path / "mask.png"), "--out", str(out), "--device", "cpu",
             "--tracker", "flow")
    assert p.returncode == 0, p.stderr
    for name in ("start.png", "result.png"):
        with Image.open(out / name) as im:
            assert im.size == (64, 64) and im.mode == "RGB"
    r = json.loads((out / "result.json").read_text())
    assert r["method"] == method and r["model"] == model_path and r["seed"] == 3
    assert r["targets"] == [[28.0, 30.0], [40.0, 34.0]] and np.shape(r["handles"]) == (2, 2)
    assert isinstance(r["reached"], bool) and 0 < r["steps"] <= 12 and r["seconds"] > 0
    assert len(r["distances"]) == 2 and r["derived"]["masked"] is True
    # a model file has no presets: the flow tracker is not calibrated for it, the drag ran with features and says so
    assert r["params"]["tracker"] == "features" and "'flow' is not calibrated for this model" in r["tracker_note"]
    assert "the features tracker was used" in p.stdout
    if method == "freedrag":
        assert (r["params"]["l"], r["params"]["d"]) == (0.3, 3.0)
    assert not np.array_equal(np.asarray(Image.open(out / "start.png")), np.asarray(Image.open(out / "result.png")))


@pytest.mark.integration   # the CLI in a subprocess
def test_cli_bad_input_is_a_clean_error(model_path, tmp_path):
    out = tmp_path / "never"
    p = _run("draggan", "--seed", "1", "--point", "20,30,99,30", "--model", model_path, "--out", str(out))
    assert p.returncode == 2 and "outside the 64x64 image" in p.stderr and "Traceback" not in p.stderr
    assert not out.exists()  # nothing half-done


def test_cli_bad_inputs_in_process(model_path, tmp_path, capsys):
    out = str(tmp_path / "never")
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / "black.png")
    Image.fromarray(np.full((32, 32), 255, np.uint8)).save(tmp_path / "small.png")
    base = ["--seed", "1", "--model", model_path, "--out", out]
    cases = [
        (DragGANSession, ["--point", "20,30,31"], "HX,HY,TX,TY"),
        (DragGANSession, ["--point", "20,30,a,b"], "numbers"),
        (DragGANSession, ["--point", "nan,30,31,30"], "not finite"),
        (DragGANSession, ["--point", "20,30,31,30", "--mask", str(tmp_path / "black.png")], "all zeros"),
        (DragGANSession, ["--point", "20,30,31,30", "--mask", str(tmp_path / "small.png")], "32x32"),
        (DragGANSession, ["--point", "20,30,31,30", "--mask", str(tmp_path / "nope.png")], "not found"),
        (DragGANSession, ["--point", "20,30,31,30", "--space", "q"], "space"),
        (DragGANSession, ["--point", "20,30,31,30", "--steps", "-3"], "--steps must be"),
    ]
    for cls, args, msg in cases:
        assert main(cls, argv=base + args) == 2, args
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err, (args, err)
    # the engine settings are checked against their ranges (dragcore.config) before the model loads
    for args, msg in ((["--l", "0.9"], "--l must be a number from 0.1 to 0.5"), (["--d", "0"], "--d must be a number from 1 to 6"),
                      (["--arrival", "9"], "--arrival must be a number from 0.1 to 8")):
        assert main(FreeDragSession, arguments(ENGINES['freedrag']), settings(ENGINES['freedrag']), argv=base + ["--point", "20,30,31,30"] + args) == 2
        assert msg in capsys.readouterr().err
    bad_model = ["--seed", "1", "--point", "20,30,31,30", "--model", str(tmp_path / "missing.pkl"), "--out", out]
    assert main(DragGANSession, argv=bad_model) == 2
    assert "missing.pkl" in capsys.readouterr().err
    bad_model[-3] = "no-such-model-id"
    assert main(DragGANSession, argv=bad_model) == 2
    assert "no-such-model-id" in capsys.readouterr().err
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 4)
    bad_model[-3] = str(tmp_path / "junk.safetensors")
    assert main(DragGANSession, argv=bad_model) == 2
    assert "error:" in capsys.readouterr().err
    assert main(DragGANSession, argv=["--point", "1,2,3,4"]) == 2   # no --seed, --inverted or --latent
    assert "say where the drag starts" in capsys.readouterr().err
    assert not Path(out).exists()
