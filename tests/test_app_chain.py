"""Drags that build on each other, through the launched app and gradio_client: every drag
starts from the current result with the handles where the engine left them; Undo drag and Reset
image restore the exact earlier images; Compare both continues each engine from its own result,
or both from one chosen result; the exports record the whole chain, and loading the edit JSON
replays it to the same latent."""
import json

import imageio.v2 as imageio
import numpy as np
import pytest
import torch
from PIL import Image

from gradio_client import Client, handle_file  # noqa: E402  (gradio_client comes with gradio: no skip)

import limits  # noqa: E402
from app_server import SHARED_APP_ENV, wait_running  # noqa: E402

pytestmark = pytest.mark.integration   # the launched app through gradio_client

MOST = SHARED_APP_ENV["LATENTLAB_CHAIN_DRAGS"]   # the test server's chain bound (20 by default): the tests' chains are shorter


@pytest.fixture(scope="module")
def server(shared_app):
    return shared_app   # conftest's: started with LATENTLAB_CHAIN_DRAGS=MOST


def img(path):
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def fresh(server, seed=3):
    """A new session with its start image (as shown, no points) and one handle -> target pair."""
    c = Client(server.url, verbose=False)
    model = server.model
    start = img(c.predict(model, seed, 0.7, "w+", api_name="/new_image")[0])
    c.predict(200, 256, api_name="/add_point")
    c.predict(300, 256, api_name="/add_point")
    return c, start


def exported(c):
    """{method: {png, gif, mp4, pt, json (paths), edit (parsed), latent (tensor)}} of the last drag."""
    out = {}
    for f in c.predict(api_name="/export"):
        out.setdefault(f.rsplit("/", 1)[-1].split("_", 1)[0], {})[f.rsplit(".", 1)[-1]] = f
    for e in out.values():
        e["edit"], e["latent"] = json.loads(open(e["json"]).read()), torch.load(e["pt"], weights_only=True)
    return out


def frames_between(steps):
    """(fewest, most) frames a drag of `steps` adds to the GIF / MP4: the start and the result, and
    between them the previews the app streamed (time-based: at most one per step)."""
    return 2, 2 + steps


def test_successive_drags_undo_and_reset(server):
    c, start = fresh(server)
    dg1, _, _, status, _ = c.predict(None, max_steps=30, api_name="/drag_draggan")
    assert status.startswith("**Drag 1 of the chain**") and "DragGAN from the start image" in status
    first = exported(c)["draggan"]
    r1 = img(first["png"])
    # drag again: the handle continues from where the engine left it, towards the same target
    _, _, _, status, _ = c.predict(None, max_steps=1, api_name="/drag_draggan")
    assert status.startswith("**Drag 2 of the chain**") and "DragGAN from the result of drag 1" in status
    second = exported(c)["draggan"]
    r2 = img(second["png"])
    # a 1-step drag barely changes its start: it started from drag 1's result, not from the seed's image
    start_small = np.asarray(Image.fromarray(start.astype(np.uint8)).resize((64, 64), Image.BOX)).astype(int)
    assert np.abs(r2 - r1).mean() < 0.5 * np.abs(r2 - start_small).mean()
    drags = second["edit"]["drags"]
    assert [d["method"] for d in drags] == ["draggan", "draggan"] and [d["steps"] for d in drags] == [30, 1]
    out1 = drags[0]["outcome"]
    assert drags[1]["points"] == [q for pair in zip(out1["handles"], out1["targets"]) for q in pair]
    assert drags[1]["points"][0] != drags[0]["points"][0]   # the handle moved during drag 1
    # the GIF / MP4 show the whole chain: they begin at the start image
    with imageio.get_reader(second["mp4"], format="FFMPEG") as reader:
        n = reader.count_frames()
    gif = imageio.mimread(second["gif"])
    (lo1, hi1), (lo2, hi2) = frames_between(30), frames_between(1)
    assert lo1 + lo2 <= n <= hi1 + hi2 and lo1 + lo2 - 1 <= len(gif) <= n, (n, len(gif))   # a GIF merges repeated frames
    g0 = np.asarray(Image.fromarray(gif[0][..., :3]).resize((64, 64), Image.BOX)).astype(int)
    assert np.abs(g0 - start_small).mean() < np.abs(g0 - r1).mean()
    # Undo drag: exactly drag 1's result (the image drag 1's panel showed, the same PNG and latent)
    shown, points, status = c.predict(api_name="/undo_drag")
    assert "Undid the last drag" in status and "**1 drag in the chain**" in status
    assert np.array_equal(img(shown), img(dg1))
    again = exported(c)["draggan"]
    assert np.array_equal(img(again["png"]), r1) and torch.equal(again["latent"], first["latent"])
    assert len(again["edit"]["drags"]) == 1
    # Reset image: exactly the start image; the chain is empty
    shown, _editor, text, status = c.predict(api_name="/reset_image")
    assert np.array_equal(img(shown), start) and "1 drag undone" in status
    with pytest.raises(Exception, match="Run a drag first"):
        c.predict(api_name="/export")
    with pytest.raises(Exception, match="There is no drag to undo"):
        c.predict(api_name="/undo_drag")


def test_two_drag_chain_with_a_mask_replays_to_the_same_latent(server, tmp_path):
    """Drag 2 with new points and a painted mask; the edit JSON replays both drags in a new session."""
    c, _ = fresh(server, seed=5)
    c.predict(None, max_steps=12, api_name="/drag_freedrag")
    c.predict(api_name="/clear_points")
    c.predict(256, 150, api_name="/add_point")
    c.predict(256, 220, api_name="/add_point")
    layer = np.zeros((512, 512, 4), np.uint8)
    layer[60:300, 120:400] = 255          # the editable region, painted at display size
    Image.fromarray(layer).save(tmp_path / "mask.png")
    editor = dict(background=None, layers=[handle_file(str(tmp_path / "mask.png"))], composite=None)
    _, _, _, status, _ = c.predict(editor, max_steps=8, api_name="/drag_freedrag")
    assert "Drag 2 of the chain" in status
    e = exported(c)["freedrag"]
    drags = e["edit"]["drags"]
    assert [d["steps"] for d in drags] == [12, 8] and drags[0]["mask"] is None and drags[1]["mask"] is not None
    assert drags[1]["points"] == [[31.5625, 18.3125], [31.5625, 27.0625]]   # the new clicks, not the engine's
    c2 = Client(server.url, verbose=False)
    _, status = c2.predict(handle_file(e["json"]), api_name="/replay")
    assert "Replayed 2 of the 2 drags" in status and "drag 2 (FreeDrag) 8 of 8 steps" in status
    replayed = exported(c2)["freedrag"]
    assert (replayed["latent"] - e["latent"]).abs().max() <= 1e-5
    assert np.array_equal(img(replayed["png"]), img(e["png"]))
    assert replayed["edit"]["drags"][1]["mask"] == drags[1]["mask"]


def test_compare_continues_each_engine_and_continue_from_one(server):
    c, _ = fresh(server, seed=7)
    c.predict(None, max_steps=4, api_name="/compare")
    _, _, _, status, table = c.predict(None, max_steps=3, api_name="/compare")
    assert "DragGAN from its own result of drag 1; FreeDrag from its own result of drag 1" in status
    assert [r[0] for r in table["data"]] == ["DragGAN", "FreeDrag", "StableDrag"]
    own = exported(c)
    assert [d["method"] for d in own["freedrag"]["edit"]["drags"]] == ["freedrag", "freedrag"]
    assert [d["method"] for d in own["draggan"]["edit"]["drags"]] == ["draggan", "draggan"]
    with pytest.raises(Exception, match="method: Value: 'nope' .* is not in the list of choices"):
        c.predict("nope", api_name="/continue_from")
    shown, _, status = c.predict("draggan", api_name="/continue_from")
    assert "Every engine continues from DragGAN's result of drag 2" in status
    _, _, _, status, _ = c.predict(None, max_steps=3, api_name="/compare")
    assert "Drag 3 of the chain" in status and "FreeDrag from DragGAN's result of drag 2" in status
    both = exported(c)
    assert [d["method"] for d in both["freedrag"]["edit"]["drags"]] == ["draggan", "draggan", "freedrag"]
    # the exported chains replay to their latents: FreeDrag really continued from DragGAN's result
    # (and in the first compare's chain, from its own)
    for e in (both["freedrag"], own["freedrag"]):
        c2 = Client(server.url, verbose=False)
        c2.predict(handle_file(e["json"]), api_name="/replay")
        assert (exported(c2)["freedrag"]["latent"] - e["latent"]).abs().max() <= 1e-5


def test_a_drag_that_arrives_at_once_is_a_0_step_link_that_replays(server):
    c = Client(server.url, verbose=False)
    c.predict(server.model, 4, 0.7, "w+", api_name="/new_image")
    c.predict(200, 256, api_name="/add_point")
    c.predict(216, 256, api_name="/add_point")   # 2 model px: already within a stop distance of 2.5
    _, _, _, status, table = c.predict(None, max_steps=5, stop_distance=2.5, api_name="/drag_draggan")
    assert table["data"][0][5] == 0 and "Drag 1 of the chain" in status
    c.predict(api_name="/clear_points")
    c.predict(200, 300, api_name="/add_point")
    c.predict(260, 300, api_name="/add_point")
    c.predict(None, max_steps=6, api_name="/drag_draggan")
    e = exported(c)["draggan"]
    assert [d["steps"] for d in e["edit"]["drags"]] == [0, 6]
    c2 = Client(server.url, verbose=False)
    c2.predict(handle_file(e["json"]), api_name="/replay")
    assert (exported(c2)["draggan"]["latent"] - e["latent"]).abs().max() <= 1e-5


def test_the_chain_does_not_change_under_a_running_drag(server):
    c, start = fresh(server, seed=11)
    c.predict(None, max_steps=2, api_name="/drag_draggan")
    c.predict(api_name="/clear_points")
    c.predict(40, 40, api_name="/add_point")
    c.predict(470, 470, api_name="/add_point")
    job = wait_running(c.submit(None, max_steps=1000, api_name="/drag_draggan"))
    for endpoint in ("/undo_drag", "/reset_image"):
        with pytest.raises(Exception, match="A drag is running: wait for it to finish, or Stop it first"):
            c.predict(api_name=endpoint)
    with pytest.raises(Exception, match="A drag is running: wait for it to finish, or Stop it first"):
        c.predict("draggan", api_name="/continue_from")
    assert "Stopping" in c.predict(api_name="/stop")
    _, _, _, status, table = job.result(timeout=60)
    assert "Drag 2 of the chain" in status and "(stopped by you)" in status and 0 < table["data"][0][5] < 1000
    steps = exported(c)["draggan"]["edit"]["drags"][1]["steps"]
    assert steps == table["data"][0][5]   # the steps really taken
    c.predict(api_name="/undo_drag")
    shown, *_ = c.predict(api_name="/reset_image")
    assert np.array_equal(img(shown), start)


def test_a_chain_is_bounded(server):
    most = MOST
    c, _ = fresh(server, seed=9)
    for _ in range(most):
        c.predict(None, max_steps=1, api_name="/drag_draggan")
    with pytest.raises(Exception, match=f"already has {most} drags in its chain"):
        c.predict(None, max_steps=1, api_name="/drag_draggan")
    with pytest.raises(Exception, match="method: the last drag has no 'freedrag' result"):
        c.predict("freedrag", api_name="/continue_from")
    c.predict(api_name="/undo_drag")
    _, _, _, status, _ = c.predict(None, max_steps=1, api_name="/drag_draggan")   # the session still works
    assert f"Drag {most} of the chain" in status


def test_edit_json_chain_is_read_and_checked(tmp_path):
    """A version-1 edit reads as a chain of one; a chain is at most limits.max_chain() drags long
    (LATENTLAB_CHAIN_DRAGS, 20); a bad field of a later drag names that drag."""
    from ui import export
    one = dict(method="draggan", points=[[1, 2], [3, 4]], mask=None, params=dict(lr=0.003), steps=5)
    v1 = dict(version=1, model="faces-64-offline", seed=3, psi=0.7, space="w+", **one)
    (tmp_path / "v1.json").write_text(json.dumps(v1))
    edit = export.read_edit(tmp_path / "v1.json")
    assert edit["method"] == "draggan" and edit["drags"] == [dict(one, points=[[1.0, 2.0], [3.0, 4.0]])]
    most = limits.max_chain()
    head = dict(version=2, model="faces-64-offline", seed=3, psi=0.7, space="w+")
    (tmp_path / "v2.json").write_text(json.dumps(dict(head, drags=[one, dict(one, method="freedrag")])))
    assert [d["method"] for d in export.read_edit(tmp_path / "v2.json")["drags"]] == ["draggan", "freedrag"]
    assert export.read_edit(tmp_path / "v2.json")["method"] == "freedrag"
    (tmp_path / "v2.json").write_text(json.dumps(dict(head, drags=[one, dict(one, steps=0)])))   # arrived at once
    assert [d["steps"] for d in export.read_edit(tmp_path / "v2.json")["drags"]] == [5, 0]
    for drags, match in (([one] * (most + 1), f"a list of 1 to {most} drags .* got {most + 1}"),
                         ([], f"a list of 1 to {most} drags .* got 0"),
                         ([one, dict(one, steps=-1)], "the edit's drag 2 steps must be a whole number"),
                         ([one, dict(one, params=dict(lr=9))], "the edit's drag 2 params.lr must be"),
                         ([one, dict(one, method="x")], r"unknown method 'x' in the edit JSON \(drag 2\)"),
                         ([one, dict(one, points=[[1, 2]])], "the edit JSON's drag 2 points must be pairs")):
        (tmp_path / "bad.json").write_text(json.dumps(dict(head, drags=drags)))
        with pytest.raises(export.EditError, match=match):
            export.read_edit(tmp_path / "bad.json")
