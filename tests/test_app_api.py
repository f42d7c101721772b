"""The launched app's API through gradio_client: every endpoint's parameters have names, and a
model's presets (registry l / d and a calibrated presets file) fill the Drag tab's fields on New
image and reach the engines of a drag started from the app (read back from the edit JSON)."""
import json

import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

from app_server import model_for_tests  # noqa: E402

pytestmark = pytest.mark.integration   # the launched app through gradio_client

MODEL = "preset-test-64"
FIRST = ["draggan_lr", "mask_weight", "r1", "r2", "max_steps", "l", "d"]   # after `editor`: the app's old order
LATER = ["precision", "freedrag_lr", "stop_distance", "track_step", "arrival", "draggan_rows", "draggan_feature_res",
         "freedrag_rows", "freedrag_feature_res", "draggan_tracker", "freedrag_tracker",
         # then the fields of the engines declared later (StableDrag), in declaration order
         "stabledrag_lr", "stabledrag_rows", "stabledrag_feature_res", "stabledrag_tracker", "stabledrag_r1",
         "stabledrag_r2", "stabledrag_stop_distance", "stabledrag_track_step", "tau",
         *(f"{e}_warp_{s}" for e in ("draggan", "freedrag", "stabledrag")
           for s in ("guard", "heading", "twist", "floor", "reach"))]
PRESETS = {"draggan": {"lr": 0.004, "rows": 4, "stop_distance": 1.0, "track_step": 0.5, "feature_res": 16},
           "freedrag": {"lr": 0.006, "arrival": 2.0, "feature_res": 16}}


@pytest.fixture(scope="module")
def server(tmp_path_factory, launch_app):
    tmp = tmp_path_factory.mktemp("api")
    (tmp / "models.json").write_text(json.dumps({MODEL: dict(
        display_name="Preset test 64", resolution=64, category="faces", local_path=model_for_tests(tmp),
        freedrag_l=0.2, freedrag_d=2.0)}))
    (tmp / "presets").mkdir()
    (tmp / "presets" / f"{MODEL}.json").write_text(json.dumps(PRESETS))
    return launch_app(LATENTLAB_MODELS=tmp / "models.json", LATENTLAB_PRESETS_DIR=tmp / "presets")


def test_every_endpoint_has_named_parameters(server):
    api = Client(server.url, verbose=False).view_api(print_info=False, return_format="dict")["named_endpoints"]
    names = {ep: [p["parameter_name"] for p in info["parameters"]] for ep, info in api.items()}
    assert names["/new_image"] == ["model", "seed", "psi", "space"]
    assert names["/add_point"] == ["x", "y"] and names["/replay"] == ["file"]
    assert names["/continue_from"] == ["method"] and names["/undo_drag"] == names["/reset_image"] == []
    for ep in ("/drag_draggan", "/drag_freedrag", "/drag_stabledrag", "/compare"):
        assert names[ep] == ["editor", *FIRST, *LATER]
        assert all(p["parameter_has_default"] for p in api[ep]["parameters"])   # omitted: the model's preset
    assert names["/sefa"] == ["model_id", "seed", "directions", "strength", "layers", "psi"]
    assert not [(ep, n) for ep, ns in names.items() for n in ns if n.startswith("param_")]


def _edits(c):
    files = c.predict(api_name="/export")
    return {f.rsplit("/", 1)[-1].split("_")[0]: json.loads(open(f).read())["drags"][-1]   # the last drag
            for f in files if f.endswith("_edit.json")}


def test_presets_fill_the_fields_and_reach_the_engines(server):
    c = Client(server.url, verbose=False)
    _image, _editor, *fields, note = c.predict(MODEL, 3, 0.7, "w+", api_name="/new_image")
    f = dict(zip(FIRST + LATER, fields))
    assert "Click a handle" in note
    assert (f["draggan_lr"], f["freedrag_lr"], f["l"], f["d"]) == (0.004, 0.006, 0.2, 2.0)   # presets, registry
    assert (f["draggan_rows"], f["stop_distance"], f["track_step"], f["arrival"]) == (4, 1.0, 0.5, 2.0)
    assert (f["draggan_feature_res"], f["freedrag_feature_res"], f["freedrag_rows"]) == (16, 16, 6)   # 6: the model's
    assert (f["max_steps"], f["mask_weight"], f["precision"]) == (300, 10.0, "auto")   # dragcore.config
    c.predict(200, 256, api_name="/add_point")
    c.predict(260, 256, api_name="/add_point")
    # what the browser sends: the fields as New image filled them (a short drag)
    c.predict(None, *[5 if k == "max_steps" else v for k, v in f.items()], api_name="/compare")
    edits = _edits(c)
    dg, fd = edits["draggan"]["params"], edits["freedrag"]["params"]
    assert (dg["lr"], dg["rows"], dg["stop_distance"], dg["track_step"], dg["feature_res"]) == (0.004, 4, 1.0, 0.5, 16)
    assert (fd["lr"], fd["l"], fd["d"], fd["arrival"], fd["feature_res"], fd["rows"]) == (0.006, 0.2, 2.0, 2.0, 16, 6)
    assert dg["max_steps"] == fd["max_steps"] == 5
    # settings left out of the call are the model's presets; one given by name overrides its preset
    c.predict(None, max_steps=4, draggan_lr=0.003, api_name="/drag_draggan")
    dg = _edits(c)["draggan"]["params"]
    assert (dg["lr"], dg["rows"], dg["stop_distance"], dg["track_step"], dg["max_steps"]) == (0.003, 4, 1.0, 0.5, 4)
    with pytest.raises(Exception, match="FreeDrag: Learning rate must be a number from 1e-05 to 1, got 5"):
        c.predict(None, freedrag_lr=5, api_name="/drag_freedrag")
