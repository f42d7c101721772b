"""benchmarks.calibrate: a real (tiny) sweep on the bundled model writes presets that the registry
hands out, keeps the other engine's section, and refuses bad input with one line."""
import importlib
import json

import pytest

import checkpoints
from benchmarks import calibrate
presets_mod = importlib.import_module("checkpoints.presets")  # the module (the package exports its function)

MODEL = "faces-64-offline"


@pytest.mark.integration   # ~5 s, a real sweep
def test_sweep_writes_presets_and_keeps_the_other_engine(tmp_path, monkeypatch):
    monkeypatch.setattr(presets_mod, "DIR", tmp_path)
    other = {"draggan": {"lr": 0.123}, "draggan_command": "an earlier run"}
    (tmp_path / f"{MODEL}.json").write_text(json.dumps(other))
    out = calibrate.main(["--model", MODEL, "--seeds", "5000-5000", "--steps", "2", "--engines", "freedrag"])
    G = checkpoints.load(MODEL)
    cands = calibrate.space(64, G.synthesis.block_resolutions, G.synthesis.warp is not None)["freedrag"]
    assert 0 in dict(cands)["rows"]   # the bundled model has a warp pathway: the code alone is a candidate
    trials = out["freedrag_trials"]
    assert len(trials) == sum(len(v) for _, v in cands)  # every candidate of every setting tried once
    assert all(-1.0 <= t["score"] <= 1.0 for t in trials)   # 1 - |1 - f|, f clipped to [-1, 1.5]
    best = out["freedrag"]
    assert set(best) >= {name for name, _ in cands} | {"l", "d"}
    for name, values in cands:
        assert best[name] in values
    written = json.loads((tmp_path / f"{MODEL}.json").read_text())
    assert written["draggan"] == {"lr": 0.123} and written["draggan_command"] == "an earlier run"
    assert written["freedrag"] == best
    handed = checkpoints.presets(MODEL)
    assert handed["draggan"]["lr"] == 0.123 and handed["freedrag"] == {**handed["freedrag"], **best}
    assert checkpoints.presets(MODEL, calibrated=False)["draggan"] == {}


def test_sweep_of_chosen_settings_with_a_tracker(tmp_path, monkeypatch):
    monkeypatch.setattr(presets_mod, "DIR", tmp_path)
    out = calibrate.main(["--model", MODEL, "--seeds", "5000-5000", "--steps", "2", "--engines", "draggan",
                          "--settings", "stop_distance", "--tracker", "flow", "--max-far", "5", "--from-presets"])
    assert out["command"].endswith("--settings stop_distance --from-presets --max-far 5")   # replayable as run
    trials = out["draggan_trials"]
    assert all(1 <= t["steps"] <= 2 for t in trials)   # steps per drag (median), within the --steps budget
    assert [t["params"]["stop_distance"] for t in trials] == [0.5, 1.0, 2.0]   # only the chosen setting swept
    assert all(t["params"]["tracker"] == "flow" for t in trials) and out["draggan"]["tracker"] == "flow"
    assert all(t["colour_cast"] >= 0 and t["far_field"] >= 0 for t in trials)   # the guards' figures
    assert checkpoints.presets(MODEL)["draggan"]["tracker"] == "flow"


def test_unreadable_presets_file_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(presets_mod, "DIR", tmp_path)
    (tmp_path / f"{MODEL}.json").write_text("{not json")
    with pytest.raises(checkpoints.PresetError, match="unreadable presets"):
        checkpoints.presets(MODEL)
    (tmp_path / f"{MODEL}.json").write_text(json.dumps({"draggan": [1, 2]}))
    with pytest.raises(checkpoints.PresetError, match="must be an object"):
        checkpoints.presets(MODEL)


@pytest.mark.parametrize("argv, msg", [
    (["--model", "no-such-model"], "calibrate: "),
    (["--seeds", "x-y"], "--seeds must be"),
    (["--seeds", "9-3"], "holds no seeds"),
    (["--engines", "stylegan"], "--engines must be"),
    (["--engines", "draggan", "--settings", "l"], "draggan has no setting l to sweep"),
])
def test_bad_input(argv, msg):
    with pytest.raises(SystemExit, match=msg):
        calibrate.main(argv + ["--dry-run"])


def test_drags_stay_inside_non_square_images():
    for shape in [(64, 64), (512, 256), (384, 512)]:
        H, W = shape
        for _, h, t in calibrate.drags(range(5000, 5040), shape):
            assert all(0 <= p[0] <= W - 1 and 0 <= p[1] <= H - 1 for p in (h, t))
            assert H / 20 - 1e-6 <= ((h[0] - t[0]) ** 2 + (h[1] - t[1]) ** 2) ** 0.5 or t[0] in (0, W - 1) \
                or t[1] in (0, H - 1)
    mask = calibrate.far_mask((512, 256), [(10.0, 500.0)], 20.0)
    assert mask.shape == (512, 256) and not mask[500, 10] and mask[0, 255]
