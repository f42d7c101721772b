"""An engine is one module that declares itself (dragcore.engine.declare): a toy third engine declared
inside this test, touching no other file, shows in the command line's --help and runs there, gets
its section of a presets file, has its fields, panel, button and place in Compare in the app's
Blocks, and its drag exports and replays."""
import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import checkpoints
from drags import engine_options
from drags.drag_cli import build_parser
from drags.engines import ENGINES
from dragcore import config
from dragcore.config import DragGANConfig, setting
from dragcore.engine import declare, forget
from draggan.engine import DragGANSession
from drag_testing import saved_small_G

MODEL = checkpoints.DEFAULT_MODEL


@dataclass(frozen=True)
class ToyConfig(DragGANConfig):
    wobble: float = setting(0.5, "Toy wobble", float, 0.0, 1.0, help="how far the toy's disc shifts, in r1")


class ToySession(DragGANSession):
    """DragGAN whose motion-supervision disc is shifted by `wobble` r1 along the drag: a real engine,
    different enough to tell apart."""
    method = "toy"
    Config = ToyConfig

    def motion_loss(self, feat):
        shift = (self.targets - self.handles)
        shift = shift / shift.norm(dim=1, keepdim=True).clamp_min(1e-8) * self.config.wobble * self.r1_px
        saved, self.handles = self.handles, self.handles + shift
        try:
            return super().motion_loss(feat)
        finally:
            self.handles = saved


@pytest.fixture
def toy(tmp_path, monkeypatch):
    engine = declare("toy", "Toy", ToyConfig, ToySession, "Drag a generated image with a toy engine.")
    (tmp_path / f"{MODEL}.json").write_text(json.dumps({"toy": {"wobble": 0.25}, "toy_score": {"score": 1}}))
    monkeypatch.setenv("LATENTLAB_PRESETS_DIR", str(tmp_path))
    yield engine
    forget("toy")


def test_a_declared_engine_reaches_the_cli_and_presets(toy, tmp_path):
    assert list(ENGINES)[-1] == "toy" and toy.options[-1] == "wobble" and "r1" in toy.options   # its own and DragGAN's
    text = " ".join(build_parser("toy", engine_options.arguments(toy)).format_help().split())
    assert "--wobble" in text and "how far the toy's disc shifts, in r1; 0-1 (default: the model's preset, else 0.5)" in text
    assert "Drag a generated image with a toy engine." in text and "Toy settings: --r1 R1" in text
    assert checkpoints.presets(MODEL)["toy"] == {"wobble": 0.25}   # its section; `toy_score` is the record
    assert config.with_presets("toy", checkpoints.presets(MODEL)["toy"]).wobble == 0.25
    out = tmp_path / "out"
    assert engine_options.main("toy", argv=["--seed", "3", "--point", "20,30,26,30", "--model", saved_small_G(tmp_path),
                                            "--steps", "2", "--wobble", "0.75", "--out", str(out)]) == 0
    record = json.loads((out / "result.json").read_text())
    assert record["method"] == "toy" and record["params"]["wobble"] == 0.75 and record["steps"] >= 1
    assert engine_options.main("toy", argv=["--seed", "3", "--point", "20,30,26,30", "--wobble", "2"]) == 2   # its range


def test_a_declared_engine_has_its_fields_panel_and_compare_in_the_app(toy):
    import gradio as gr
    from ui import drag_settings, tab_drag
    from ui.state import DragState
    field = {f.name: f for f in drag_settings.FIELDS}
    assert field["wobble"].engine == "toy" and field["toy_lr"].label == "Toy lr" and field["toy_r1"].setting == "r1"
    assert drag_settings.NAMES[:18] == list(drag_settings.API_ORDER)   # the first engines' API order is kept
    values = dict(zip(drag_settings.NAMES, drag_settings.field_values(MODEL)))
    assert values["wobble"] == 0.25   # the presets fill its field
    assert tab_drag.drags()[-1][1] == list(ENGINES) and "toy" in tab_drag.drags()[-1][1]
    with gr.Blocks() as demo:   # the Drag tab as app.build() makes it
        tab_drag.build(gr.State(DragState()), gr.State(None))
    by_id = {getattr(b, "elem_id", None): b for b in demo.blocks.values()}
    assert {"out-toy", "btn-toy", "btn-continue-toy"} <= set(by_id)
    fns = {f.api_name: f for f in demo.fns.values() if f.api_name}
    assert by_id["out-toy"] in fns["compare"].outputs and by_id["out-toy"] in fns["drag_toy"].outputs
    assert [c.label for c in fns["compare"].inputs].count("Toy wobble") == 1


def test_a_declared_engine_exports_and_replays(toy):
    from ui import drag_handlers, drag_settings
    from ui.drag_image import start_image
    state, _ = start_image(MODEL, 3, 0.7, "w+", None)
    state.points = [[20.0, 30.0], [26.0, 30.0]]
    values = dict(zip(drag_settings.NAMES, drag_settings.field_values(MODEL)), max_steps=3, precision="fp32")
    for out in drag_handlers.run_drag(["draggan", "toy"], state, None, list(values.values())):
        pass
    assert len(out) == len(ENGINES) + 3 and set(state.results) == {"draggan", "toy"}   # a panel per engine
    assert state.results["toy"].result.params["wobble"] == 0.25
    files = drag_handlers.export_files(state)
    edit = next(f for f in files if f.endswith("toy_edit.json"))
    assert json.loads(open(edit).read())["drags"][0]["params"]["wobble"] == 0.25
    for _ in drag_handlers.replay(edit, None):
        pass
    replayed = _[0] if not isinstance(_[0], type(drag_handlers.IN_PLACE)) else None
    assert replayed is not None and replayed.chain[-1].results["toy"].result.steps == state.results["toy"].result.steps
    assert torch.equal(replayed.chain[-1].results["toy"].latent, state.results["toy"].latent)
    assert np.array_equal(replayed.image, state.results["toy"].image)
