"""The launched app through gradio_client: generate, click points, drag, compare, export, replay,
concurrent sessions, and bad input that must warn and leave the session working."""
import concurrent.futures
import json
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
from PIL import Image

from gradio_client import Client, handle_file  # noqa: E402  (gradio_client comes with gradio: no skip)
from gradio_client.exceptions import AppError  # noqa: E402


pytestmark = pytest.mark.integration   # the launched app through gradio_client


@pytest.fixture(scope="module")
def server(shared_app):
    return shared_app   # a Hub that cannot be reached, and an empty cache: choosing a zoo model must warn, not crash


# The drag endpoints' settings, by name (docs/api.md): DragGAN's learning rate, the fixed-region weight λ,
# DragGAN's motion-supervision and tracking radii (px at 512), FreeDrag's expected initial loss l and its
# max move per sub-motion d (feature px). Each call names its step budget, max_steps, beside them.
SETTINGS = dict(draggan_lr=0.002, mask_weight=10, r1=3, r2=12, l=0.3, d=3)


def img(path):
    return np.asarray(Image.open(path).convert("RGB"))


def fresh(server, seed=3):
    c = Client(server.url, verbose=False)
    out = c.predict(model=server_model(server), seed=seed, psi=0.7, space="w+", api_name="/new_image")
    return c, out


def server_model(server):
    return server.model


def test_first_image_fast_and_drag_each_method(server):
    assert server.ready_seconds < 60  # ~5 s on an idle 2-core machine; a bound, not the benchmark
    c, out = fresh(server)
    start = img(out[0])
    assert start.shape == (512, 512, 3)
    c.predict(200, 256, api_name="/add_point")
    _, text = c.predict(300, 256, api_name="/add_point")
    assert "→ (37,32)" in text
    for name in ("/drag_draggan", "/drag_freedrag"):
        dg, fd, _sd, status, table, *_ = c.predict(editor=None, max_steps=15, **SETTINGS, api_name=name)
        assert "done" in status and "step 15/15" in status
        shown = img(dg if name == "/drag_draggan" else fd)
        assert np.abs(shown.astype(float) - start).mean() > 0.5  # the image changed
    # a new pair for Compare: the last drag may have brought the first to its target (a held point, no fraction)
    c.predict(api_name="/clear_points")
    c.predict(260, 200, api_name="/add_point")
    c.predict(200, 200, api_name="/add_point")
    dg, fd, _sd, status, table, *_ = c.predict(editor=None, max_steps=10, **SETTINGS, api_name="/compare")
    assert {r[0] for r in table["data"]} == {"DragGAN", "FreeDrag", "StableDrag"}
    # one short row per method: "reached" (engine at target and content at least half way), the motion
    assert table["headers"][:3] == ["method", "reached", "content moved (of the way)"]
    assert table["headers"][5:] == ["steps", "seconds"]
    for row in table["data"]:
        float(row[2])  # the measured fraction of the requested way
        assert row[1] == "yes" or row[1].startswith("no")


def test_exports_are_valid_and_edit_json_replays(server, tmp_path):
    c, _ = fresh(server, seed=5)
    c.predict(180, 200, api_name="/add_point")
    c.predict(260, 200, api_name="/add_point")
    c.predict(editor=None, max_steps=12, **SETTINGS, api_name="/drag_freedrag")
    files = c.predict(api_name="/export")
    by_ext = {f.rsplit(".", 1)[-1]: f for f in files}
    assert set(by_ext) == {"png", "gif", "mp4", "pt", "json"}
    result = img(by_ext["png"])
    assert result.shape == (64, 64, 3)
    gif = imageio.mimread(by_ext["gif"])
    assert len(gif) >= 2
    with imageio.get_reader(by_ext["mp4"], format="FFMPEG") as reader:
        assert reader.count_frames() >= 2 and reader.get_data(0).shape == (256, 256, 3)
    edit = json.loads(open(by_ext["json"]).read())
    assert edit["method"] == "freedrag" and len(edit["drags"]) == 1
    drag = edit["drags"][0]
    assert drag["method"] == "freedrag" and drag["steps"] == 12 and len(drag["points"]) == 2
    out = drag["outcome"]  # what the run achieved, with the independent motion measure
    assert isinstance(out["reached"], bool) and isinstance(out["tracked_reached"], bool)
    assert len(out["moved_fraction"]) == len(out["moved_px"]) == 1
    # replay in a brand-new session: same image
    c2 = Client(server.url, verbose=False)
    c2.predict(handle_file(by_ext["json"]), api_name="/replay")
    again = c2.predict(api_name="/export")
    replayed = img([f for f in again if f.endswith("_result.png")][0])
    assert np.abs(replayed.astype(int) - result).max() <= 1


def test_concurrent_clients_do_not_share_state(server):
    def session(i):
        c, _ = fresh(server, seed=10 + i)
        c.predict(100 + 40 * i, 150, api_name="/add_point")
        _, text = c.predict(120 + 40 * i, 300, api_name="/add_point")
        return i, text
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        results = list(ex.map(session, range(4)))
    texts = [t for _, t in results]
    assert len(set(texts)) == 4
    for i, t in results:
        assert t.count("→") == 1  # each session sees only its own single pair


def test_bad_input_warns_and_session_keeps_working(server, tmp_path):
    c = Client(server.url, verbose=False)
    with pytest.raises(Exception, match="Generate an image first"):
        c.predict(10, 10, api_name="/add_point")
    c.predict(model=server_model(server), seed=1, psi=0.7, space="w+", api_name="/new_image")
    with pytest.raises(Exception, match="at least one handle"):
        c.predict(editor=None, max_steps=5, **SETTINGS, api_name="/drag_draggan")
    c.predict(100, 100, api_name="/add_point")
    with pytest.raises(Exception, match="has no target"):
        c.predict(editor=None, max_steps=5, **SETTINGS, api_name="/drag_freedrag")
    with pytest.raises(Exception, match="outside"):
        c.predict(5000, 10, api_name="/add_point")
    c.predict(140, 100, api_name="/add_point")
    with pytest.raises(Exception, match="greater than maximum value 0.5"):
        c.predict(editor=None, max_steps=5, **dict(SETTINGS, l=0.9), api_name="/drag_freedrag")   # l above 0.5
    (tmp_path / "bad.json").write_text("this is not json")
    with pytest.raises(Exception, match="not an edit JSON"):
        c.predict(handle_file(str(tmp_path / "bad.json")), api_name="/replay")
    status = c.predict(api_name="/stop")
    assert "Nothing is running" in status
    with pytest.raises(Exception, match="not in the list of choices"):
        c.predict(model="no-such-model", seed=1, psi=0.7, space="w+", api_name="/new_image")
    # unreachable Hub: a warning, state kept
    c.predict(model="horses-256", seed=1, psi=0.7, space="w+", api_name="/new_image")
    dg, fd, _sd, status, table, *_ = c.predict(editor=None, max_steps=5, **SETTINGS, api_name="/drag_draggan")
    assert "done" in status  # the session still works after every error above


def test_latent_and_dcgan_tabs(server):
    c = Client(server.url, verbose=False)
    strip, table = c.predict(model_id=server_model(server), seed_a=1, seed_b=2, steps=5, psi=0.7,
                             api_name="/interpolate")
    assert img(strip).shape[0] == 4 * 128 and "W lerp" in table
    grid, labels = c.predict(model_id=server_model(server), row_seed=3, col_seeds="4 5", psi=0.7,
                             api_name="/style_mix")
    assert img(grid).shape[:2] == (4 * 128, 2 * 128) and "coarse rows 0-3" in labels
    sefa, md = c.predict(model_id=server_model(server), seed=3, directions=2, strength=5, layers="all", psi=0.7,
                         api_name="/sefa")
    assert img(sefa).shape[:2] == (2 * 128, 5 * 128) and "Eigenvalues" in md
    with pytest.raises(Exception, match="give at least one source seed"):
        c.predict(model_id=server_model(server), row_seed=3, col_seeds=" ", psi=0.7, api_name="/style_mix")
    samples = c.predict(seed=0, n=16, api_name="/dcgan_samples")
    assert img(samples).shape[:2] == (128, 512)


def test_invert_a_photo_and_drag_it(server, tmp_path):
    """The Inversion tab's example photo (public domain, shipped with the app): inverted, sent to the
    Drag tab, dragged twice (the second drag continues with the photo's tuned generator from the
    first's result), then reset to the exact reconstruction."""
    from ui.tab_invert import EXAMPLE
    assert EXAMPLE.stat().st_size < 100_000 and Image.open(EXAMPLE).size == (256, 256)
    assert "public domain" in (EXAMPLE.parent / "README.md").read_text()
    c = Client(server.url, verbose=False)
    offered = [comp for comp in c.config["components"] if comp.get("type") == "dataset"]
    assert any(EXAMPLE.name in json.dumps(comp["props"].get("samples")) for comp in offered)
    target, recon, md = c.predict(photo=handle_file(str(EXAMPLE)), model_id=server_model(server), steps_w=5,
                                  steps_wplus=5, pti_steps=15, api_name="/invert")
    assert "PSNR: W" in md and "PTI" in md and img(recon).shape == (512, 512, 3)
    shown, *_ = c.predict(api_name="/send_to_drag")
    assert np.array_equal(img(shown), img(recon))
    c.predict(200, 256, api_name="/add_point")
    c.predict(260, 256, api_name="/add_point")
    dg, fd, _sd, status, table, *_ = c.predict(editor=None, max_steps=5, **SETTINGS, api_name="/drag_draggan")
    assert "done" in status and "from the inverted photo" in status
    assert np.abs(img(dg).astype(float) - img(recon)).mean() > 0.1
    dg2, _, _, status, _ = c.predict(editor=None, max_steps=3, api_name="/drag_draggan")
    assert "Drag 2 of the chain" in status and "from the result of drag 1" in status
    assert not np.array_equal(img(dg2), img(dg))
    # Undo and Compare work on a photo as on a seed: undo gives drag 1's image back exactly, and Compare
    # continues every engine from it with the photo's tuned generator
    shown, _, status = c.predict(api_name="/undo_drag")
    assert np.array_equal(img(shown), img(dg)) and "**1 drag in the chain**" in status
    cdg, cfd, _csd, status, _ = c.predict(None, max_steps=3, api_name="/compare")
    assert "Drag 2 of the chain" in status and "from the result of drag 1" in status
    assert not np.array_equal(img(cdg), img(dg)) and not np.array_equal(img(cfd), img(dg))
    # the drag back in the photo: the Invert tab shows it, the export carries it
    photo = np.asarray(Image.open(EXAMPLE).convert("RGB")).astype(float)
    back = img(c.predict(api_name="/in_photo")).astype(float)
    assert back.shape == photo.shape and np.abs(back - photo).max() > 8
    assert np.array_equal(back[:, :48], photo[:, :48])   # far from the face: the photo's own pixels
    files = c.predict(api_name="/export")
    assert any(Path(f).name == "draggan_result_in_photo.png" for f in files)
    shown, *_ = c.predict(api_name="/reset_image")
    assert np.array_equal(img(shown), img(recon))   # the inverted photo, exactly
    # bad photos: one clear line each, and the session keeps working
    Image.fromarray(np.full((200, 300, 3), 128, np.uint8)).save(tmp_path / "wall.png")
    with pytest.raises(AppError, match="no face found"):
        c.predict(photo=handle_file(str(tmp_path / "wall.png")), model_id=server_model(server), steps_w=10,
                  steps_wplus=10, pti_steps=0, api_name="/invert")
    small = Image.open(EXAMPLE).convert("RGB").resize((128, 128), Image.LANCZOS)   # a ~24 px face
    small.save(tmp_path / "small.png")
    with pytest.raises(AppError, match="too small to use"):
        c.predict(photo=handle_file(str(tmp_path / "small.png")), model_id=server_model(server), steps_w=10,
                  steps_wplus=10, pti_steps=0, api_name="/invert")
    two = Image.new("RGB", (560, 300))
    two.paste(Image.open(EXAMPLE).convert("RGB"), (0, 22))
    two.paste(Image.open(EXAMPLE).convert("RGB").resize((192, 192), Image.LANCZOS), (330, 60))
    two.save(tmp_path / "two.png")
    _, _, md = c.predict(photo=handle_file(str(tmp_path / "two.png")), model_id=server_model(server), steps_w=5,
                         steps_wplus=5, pti_steps=0, api_name="/invert")
    assert "2 faces found" in md and "PSNR: W" in md   # the larger face is used, and the note says so
    (tmp_path / "x.txt").write_text("not an image")
    with pytest.raises(AppError, match="Photo: not an image file"):   # the handler's gr.Error, nothing else
        c.predict(photo=handle_file(str(tmp_path / "x.txt")), model_id=server_model(server), steps_w=10,
                  steps_wplus=10, pti_steps=0, api_name="/invert")


def test_model_list_shows_shape_licence_and_cached_state(server):
    c = Client(server.url, verbose=False)
    dropdown = [comp for comp in c.config["components"] if comp.get("props", {}).get("label") == "Model"][0]
    labels = [choice[0] for choice in dropdown["props"]["choices"]]
    assert "Humans (StyleGAN-Human v2, 512x256) · 512x256 · not stated (SHHQ data: non-commercial research only)" \
        in labels   # the test server's Hub cache is empty: not marked cached
    assert "Faces 64px (bundled, offline) · 64x64 · MIT (distilled from gan-face-generate) · ✓ cached" in labels
    # the operator's --model file by its name: a label never shows a server path
    assert labels[0] == "faces64.safetensors (the file the app was started with)"
    assert not [label for label in labels if server_model(server) in label or "/" + "stylegan" in label]
    card = c.predict("humans-512", api_name="/model_card")
    assert "512x256 px (HxW)" in card and "downloaded on first use" in card
    assert "`DragGan/DragGan-Models:stylegan_human_v2_512.pkl`" in card and "pads them to 512x512" in card


# A bad LATENTLAB_DEFAULT_MODEL stops the app with one line and exit code 2: test_app_guard.py's BAD_ENV
# (app.main in the child process that builds the app, with the other bad operator settings).


def test_a_rectangular_model_clicks_drags_exports_and_replays(server, tmp_path):
    """A 64x32 (height x width) generator uploaded in the session: shown at 256x512, clicked, dragged by
    both engines, exported at its own shape, replayed to the same image."""
    import stylegan
    import torch
    torch.manual_seed(0)
    G = stylegan.Generator(z_dim=32, w_dim=32, resolution=64, width=32, mapping_layers=2, channel_base=1024,
                           channel_max=32).eval()
    stylegan.save(G, tmp_path / "human.safetensors")
    c = Client(server.url, verbose=False)
    note = c.predict(handle_file(str(tmp_path / "human.safetensors")), api_name="/upload_model")[-1]
    assert "(64 px x 32 px, height x width" in note
    shown, *_ = c.predict(model="upload", seed=3, psi=0.7, space="w+", api_name="/new_image")
    assert img(shown).shape == (512, 256, 3)
    with pytest.raises(Exception, match=r"\(300, 10\) is outside the 256x512 image \(width x height\)"):
        c.predict(300, 10, api_name="/add_point")
    c.predict(100, 200, api_name="/add_point")
    _, text = c.predict(140, 330, api_name="/add_point")
    assert "1: (12,25) → (17,41)" in text
    dg, fd, _sd, status, table, *_ = c.predict(editor=None, max_steps=8, **SETTINGS, api_name="/compare")
    assert img(dg).shape == img(fd).shape == (512, 256, 3) and "done" in status
    files = c.predict(api_name="/export")
    png = [f for f in files if f.endswith("freedrag_result.png")][0]
    gif = [f for f in files if f.endswith("freedrag_drag.gif")][0]
    edit = [f for f in files if f.endswith("freedrag_edit.json")][0]
    assert img(png).shape == (64, 32, 3) and imageio.mimread(gif)[0].shape[:2] == (256, 128)
    assert json.loads(open(edit).read())["shape"] == [64, 32]
    c.predict(handle_file(edit), api_name="/replay")
    again = [f for f in c.predict(api_name="/export") if f.endswith("freedrag_result.png")][0]
    assert np.abs(img(again).astype(int) - img(png)).max() <= 1
