"""dragcore.config is the one source of every drag setting's default and range: the sessions, the
command lines, the app's fields, limits.RANGES and the edit JSON all read it; presets come in
from the caller; the engines are registered once."""
import json
import re

import pytest

import checkpoints
import limits
from drags.drag_cli import build_parser
from drags.engines import ENGINES, make_sessions
from dragcore import config
from dragcore.config import DragConfig, DragGANConfig, FreeDragConfig, with_presets
from dragcore import DragInputError
from draggan import DragGANSession
from drag_testing import small_G
from freedrag import FreeDragSession


def test_a_session_takes_one_config_and_reports_it_in_its_units():
    G = small_G()
    s = DragGANSession(G, [(20, 30)], [(30, 30)], device="cpu")   # no config: the engine's defaults
    assert s.config == DragGANConfig() and s.max_steps == DragConfig.max_steps == 300
    cfg = DragGANConfig(seed=4, r1=6.0, r2=24.0, max_steps=2, precision="fp32")
    r = DragGANSession(G, [(20, 30)], [(30, 30)], cfg, device="cpu").run()
    # the settings keep the config's unit (r1 / r2: px at 512), so an export replays them as given;
    # what the session derived is named with its unit (64 px model: 6 px at 512 -> 1 image px, floored
    # at one feature px = 2 image px)
    assert (r.params["r1"], r.params["r2"], r.params["precision"]) == (6.0, 24.0, "fp32")
    assert (r.derived["r1_px"], r.derived["r2_px"]) == (2.0, 3.0)
    assert r.params["lr"] == 0.002 and r.params["rows"] == 6   # what the model decided, filled in
    f = FreeDragSession(G, [(20, 30)], [(30, 30)], FreeDragConfig(max_steps=1), device="cpu").run()
    assert f.params["feature_scale"] > 0 and f.derived["d_px"] == FreeDragConfig.d * 64 / 32
    with pytest.raises(DragInputError, match="freedrag takes a FreeDragConfig, got DragGANConfig"):
        FreeDragSession(G, [(20, 30)], [(30, 30)], DragGANConfig(), device="cpu")


def test_cli_defaults_and_limits_ranges_are_the_config():
    p = build_parser("draggan")
    assert p.get_default("steps") == DragConfig.max_steps
    assert p.get_default("mask_weight") is None   # given only with --mask; the config's default otherwise
    assert f"(default {DragConfig.mask_weight:g};" in " ".join(p.format_help().split())
    # --psi is None unless given (a drag from --inverted / --latent has no psi); a seed's default is the config's
    assert p.get_default("psi") is None and f"(default {DragConfig.psi:g})" in " ".join(p.format_help().split())
    assert p.get_default("mode") == DragConfig.mode and p.get_default("precision") == DragConfig.precision
    for name in ("max_steps", "lr", "mask_weight", "r1", "r2", "l", "d", "stop_distance", "track_step", "arrival",
                 "rows", "feature_res", "seed", "psi"):   # what limits lets through is the config's range
        s = config.spec(name)
        assert limits.check(name, s["high"]) == s["high"] and limits.check(name, s["low"]) == s["low"], name
        step = 1 if s["kind"] is int else abs(s["high"]) * 1e-3 + 1e-6
        for outside in (s["high"] + step, s["low"] - step):
            with pytest.raises(limits.LimitError, match=re.escape(s['label'])):
                limits.check(name, outside)
    with pytest.raises(limits.LimitError, match="^Max steps must be a whole number from 1 to 1000"):
        limits.check("max_steps", 1001)
    assert limits.check_choice("precision", "bf16") == "bf16"
    with pytest.raises(limits.LimitError, match="^Precision must be one of auto, fp32, bf16, fp16"):
        limits.check_choice("precision", "fp8")


def test_the_app_fields_are_the_config_and_the_presets(monkeypatch, tmp_path):
    from ui import drag_settings
    values = dict(zip(drag_settings.NAMES, drag_settings.field_values("not-a-registry-model.safetensors")))
    assert values["max_steps"] == DragConfig.max_steps and values["mask_weight"] == DragConfig.mask_weight
    assert (values["r1"], values["r2"], values["l"], values["d"]) == (3.0, 12.0, 0.3, 3.0)
    # a calibrated presets file for the bundled model: its values fill the fields, per engine
    monkeypatch.setenv("LATENTLAB_PRESETS_DIR", str(tmp_path))
    (tmp_path / "faces-64-offline.json").write_text(json.dumps(
        {"draggan": {"lr": 0.004, "stop_distance": 1.0}, "freedrag": {"lr": 0.006, "arrival": 2.0, "l": 0.2}}))
    values = dict(zip(drag_settings.NAMES, drag_settings.field_values("faces-64-offline")))
    assert (values["draggan_lr"], values["freedrag_lr"]) == (0.004, 0.006)
    assert (values["stop_distance"], values["arrival"], values["l"]) == (1.0, 2.0, 0.2)


def test_a_shared_field_follows_each_engines_own_preset(monkeypatch, tmp_path):
    """Mask weight, max steps and precision are one field for every engine: where the engines' presets
    differ the field is left empty and each engine's drag runs with its own preset."""
    from ui import drag_settings
    monkeypatch.setenv("LATENTLAB_PRESETS_DIR", str(tmp_path))
    (tmp_path / "faces-64-offline.json").write_text(json.dumps(
        {"draggan": {"mask_weight": 5.0, "max_steps": 120}, "freedrag": {"mask_weight": 20.0, "max_steps": 120},
         "stabledrag": {"max_steps": 120}}))
    values = drag_settings.field_values("faces-64-offline")
    shown = dict(zip(drag_settings.NAMES, values))
    assert shown["mask_weight"] is None and shown["max_steps"] == 120
    cfgs = drag_settings.configs(["draggan", "freedrag"], "faces-64-offline", 1, 0.7, "w+", values)
    assert (cfgs["draggan"].mask_weight, cfgs["freedrag"].mask_weight) == (5.0, 20.0)
    values[drag_settings.NAMES.index("mask_weight")] = 7.0   # a value the user typed goes to both
    cfgs = drag_settings.configs(["draggan", "freedrag"], "faces-64-offline", 1, 0.7, "w+", values)
    assert (cfgs["draggan"].mask_weight, cfgs["freedrag"].mask_weight) == (7.0, 7.0)


def test_with_presets_order_and_unknown_settings():
    cfg = with_presets("freedrag", {"l": 0.2, "lr": 0.005}, l=0.4, d=None, max_steps=7)
    assert (cfg.l, cfg.lr, cfg.d, cfg.max_steps) == (0.4, 0.005, FreeDragConfig.d, 7)   # given > preset > default
    assert cfg.lr == 0.005 and cfg.rows is None   # None: the model decides
    with pytest.raises(ValueError, match="freedrag: unknown preset 'r1'"):
        with_presets("freedrag", {"r1": 3.0})
    with pytest.raises(ValueError, match="draggan: unknown setting 'l'"):
        with_presets("draggan", l=0.3)


def test_a_tracker_the_presets_do_not_cover_falls_back_to_features_and_says_so():
    calibrated = {"lr": 0.003, "tracker": "flow"}
    assert with_presets("draggan", calibrated).tracker == "flow"                  # the preset's own tracker
    assert with_presets("draggan", calibrated, tracker="features").fallback is None   # the official rule: always
    cfg = with_presets("freedrag", {"l": 0.3}, tracker="flow")                 # an official model's presets
    assert cfg.tracker == "features" and "'flow' is not calibrated for this model" in cfg.fallback
    assert "fallback" not in config.names() and "fallback" not in cfg.engine_settings()   # not a setting
    r = FreeDragSession(small_G(), [(20, 30)], [(26, 30)], cfg, device="cpu").run()
    assert r.params["tracker"] == "features" and r.tracker_note == cfg.fallback   # the report says so
    with pytest.raises(DragInputError, match="tracker must be one of features, flow, discriminative, got 'sift'"):
        FreeDragSession(small_G(), [(20, 30)], [(26, 30)], with_presets("freedrag", {}, tracker="sift"))


def test_every_declared_engine_runs_from_the_benchmarks_and_the_app_runner():
    """A session of each engine, built by the benchmarks' helper and by the app's runner from the same
    config, takes the same first step (the one table, drags.engines, behind both)."""
    import torch
    from benchmarks import report
    from ui import drag_stream
    G = small_G()
    for name, engine in ENGINES.items():
        cfg = with_presets(name, seed=3, psi=0.7, max_steps=2)
        a = report.make_session(name, G, [(20, 30)], [(26, 30)], seed=3, psi=0.7, max_steps=2)
        (b,) = make_sessions({name: cfg}, G, [(20, 30)], [(26, 30)]).values()
        assert isinstance(a, engine.session) and type(a) is type(b) and a.config == b.config == cfg
        a.step(), b.step()
        assert torch.equal(a.latent, b.latent), name
        frames = list(drag_stream.stream({name: b}))
        assert engine.label in frames[-1].status and frames[-1].results[name].result.steps == 2
    # presets hold every engine: a section of the file, or {} (the engine's defaults)
    assert set(checkpoints.presets("faces-64-offline")) >= {"draggan", "freedrag"}
    assert checkpoints.presets("faces-64-offline")["no-such-engine"] == {}


def test_edit_json_reads_every_engine_setting(tmp_path):
    from ui import export
    edit = dict(model="faces-64-offline", seed=3, psi=0.7, space="w+", points=[[1, 2], [3, 4]], method="draggan",
                steps=5, params=dict(lr=0.003, rows=4, stop_distance=1.5, track_step=0.5, precision="fp32",
                                     masked=False, r1=2.0))
    (tmp_path / "e.json").write_text(json.dumps(edit))
    params = export.read_edit(tmp_path / "e.json")["drags"][0]["params"]   # a version-1 edit: a chain of one
    assert params == dict(lr=0.003, rows=4, stop_distance=1.5, track_step=0.5, precision="fp32", r1=2.0)
    for bad, match in ((dict(track_step=2.0), "params.track_step must be a number from 0.05 to 1"),
                       (dict(precision="fp8"), "params.precision must be one of"),
                       (dict(rows=-1), "params.rows must be a whole number from 0 to 32")):
        (tmp_path / "b.json").write_text(json.dumps(dict(edit, params=bad)))
        with pytest.raises(export.EditError, match=match):
            export.read_edit(tmp_path / "b.json")
