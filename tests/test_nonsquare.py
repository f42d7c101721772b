"""Non-square generators (StyleGAN-Human is 512x256, height x width) through everything that drags:
points, masks, feature reads, both engines in both modes, the command lines and the UI helpers.
A small random-weight generator of the same layout (64x32, a real network) stands in for it."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import stylegan
from draggan import DragGANSession
from draggan.engine import track_points
from dragcore import DragInputError
from dragcore.features import resize_to_image, sample, sample_resized, square_offsets
from dragcore.mask import fixed_weight, validate_mask
from dragcore.points import validate_points
from freedrag import FreeDragSession
from drag_testing import make_session
from official_format import write_official_pickle
from ui import draw, export
from ui.mask import MaskError, from_editor
from dragcore.config import DragGANConfig

ROOT = Path(__file__).resolve().parent.parent
H, W = 64, 32


def rect_G(seed=0):
    torch.manual_seed(seed)
    return stylegan.Generator(z_dim=32, w_dim=32, resolution=H, width=W, mapping_layers=2, channel_base=1024,
                              channel_max=32).eval()


def test_feature_reads_follow_x_and_y():
    """Reading an HxW image's pixel (x, y) from a small map gives the resized map's [y, x]; a map with
    one channel = column index and one = row index tells x and y apart."""
    fy, fx = torch.meshgrid(torch.arange(8.0), torch.arange(4.0), indexing="ij")
    feat = torch.stack([fx, fy])[None] + 0.01 * torch.randn(1, 2, 8, 4)
    big = resize_to_image(feat, (H, W))
    assert big.shape[-2:] == (H, W)
    pts = torch.tensor([[0.0, 0.0], [31.0, 63.0], [5.0, 50.0], [20.0, 7.0]])
    want = big[0, :, pts[:, 1].long(), pts[:, 0].long()].t()
    assert torch.allclose(sample(big, pts, (H, W)), want, atol=1e-6)        # integer pixels of the image-size map
    sub = torch.tensor([[3.3, 40.7], [30.9, 1.2], [0.4, 62.6]])
    assert torch.allclose(sample_resized(feat, sub, (H, W)), sample(big, sub, (H, W)), atol=1e-5)
    assert sample(big, torch.tensor([[31.0, 0.0]]), (H, W))[0, 0] > sample(big, torch.tensor([[0.0, 63.0]]), (H, W))[0, 0]


def test_points_and_masks_are_height_by_width():
    h, t = validate_points([[31, 63]], [[0, 0]], (H, W))
    assert h.tolist() == [[31.0, 63.0]]
    with pytest.raises(DragInputError, match=r"handle 0 \(40, 10\) is outside the 64x32 image \(height x width; "
                                             r"valid: x 0\.\.31, y 0\.\.63\)"):
        validate_points([[40, 10]], [[1, 1]], (H, W))
    m = np.zeros((H, W), bool)
    m[:, :16] = True
    assert validate_mask(m, (H, W)).shape == (H, W)
    with pytest.raises(DragInputError, match="mask is 32x64 but the image is 64x32"):
        validate_mask(m.T, (H, W))
    w = fixed_weight(validate_mask(m, (H, W)), (16, 8))
    assert w.shape == (1, 1, 16, 8) and float(w[0, 0, :, :4].max()) == 0 and float(w[0, 0, :, 4:].min()) == 1


def test_ui_clicks_drawing_and_editor_masks():
    assert draw.display_size((H, W)) == (256, 512) and draw.display_scale((H, W)) == 8
    assert draw.to_model_px(255, 511, (H, W)) == [31.0, 63.0]
    assert draw.render(np.zeros((H, W, 3), np.uint8), [[1, 2], [30, 60]]).size == (256, 512)
    layer = np.zeros((512, 256, 4), np.uint8)
    layer[:256, :, 3] = 255                      # the top half painted at display size
    mask = from_editor({"layers": [layer]}, (H, W))
    assert mask.shape == (H, W) and mask[:32].all() and not mask[32:].any()
    with pytest.raises(MaskError, match="512x512, which does not match the 64x32 image"):
        from_editor({"layers": [np.full((512, 512, 4), 255, np.uint8)]}, (H, W))


@pytest.mark.integration   # up to ~5 s
@pytest.mark.parametrize("Engine", [DragGANSession, FreeDragSession])
def test_both_engines_drag_a_rectangular_generator(Engine):
    G = rect_G()
    mask = np.zeros((H, W), bool)
    mask[20:, :] = True
    kw = dict(seed=1, psi=0.7, max_steps=12, device="cpu", mask=mask)
    handles, targets = [[8.0, 30.0], [24.0, 50.0]], [[12.0, 42.0], [20.0, 58.0]]   # along the long axis and across
    s = make_session(Engine, G, handles, targets, **kw)
    assert s.F0.shape[-2:] == (32, 16) and s.shape == (H, W)   # the 32x16 block: the image's aspect
    r = s.run()
    assert r.shape == [H, W] and r.steps > 0 and s.report.preview().shape == (H, W, 3)
    assert all(0 <= x <= W - 1 and 0 <= y <= H - 1 for x, y in r.handles)
    assert np.abs(s.report.preview().astype(float) - s.report.start_image()).mean() > 0.1     # the image changed
    assert len(r.moved_fraction) == 2                                          # the flow measure ran on it
    if Engine is FreeDragSession:   # FreeDrag's fast mode reads the small map directly (see freedrag/engine.py)
        return
    # DragGAN's fast mode reads the 32x16 map exactly where reference mode reads the map resized to 64x32
    kw.update(mask=None, max_steps=1)
    fast = make_session(Engine, G, handles, targets, mode="fast", **kw)
    ref = make_session(Engine, G, handles, targets, mode="reference", **kw)
    assert abs(fast.step().loss - ref.step().loss) < 1e-4 * max(1.0, abs(fast.last_loss))


def test_draggan_tracks_inside_the_rectangle():
    G = rect_G()
    s = DragGANSession(G, [[30.0, 62.0]], [[10.0, 5.0]], DragGANConfig(seed=2, max_steps=1), device="cpu")
    refs = sample_resized(s.F0, s.handles0, s.shape)
    moved = track_points(s.F0, s.handles0, refs, square_offsets(5), s.shape)   # F == F0: stays on the handle
    assert moved.tolist() == [[30.0, 62.0]]
    far = track_points(s.F0, torch.tensor([[31.0, 63.0]]), refs, square_offsets(8), s.shape)
    assert 0 <= far[0, 0] <= W - 1 and 0 <= far[0, 1] <= H - 1


def _cli(method, *args):
    p = subprocess.run([sys.executable, "-m", method, *args], capture_output=True, text=True, timeout=180, cwd=ROOT,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    return p


@pytest.mark.integration   # the CLI, ~4 s
@pytest.mark.parametrize("method", ["draggan", "freedrag"])
def test_cli_drags_a_stylegan_human_style_pickle(tmp_path, method, capsys):
    """The drag by the command line's main() in this process (what `python -m METHOD` runs), the refusal
    by the real command (its exit code and one stderr line)."""
    from drags.engine_options import main
    write_official_pickle(tmp_path / "human.pkl", rect_G(), square=False)
    out = tmp_path / "out"
    code = main(method, ["--model", str(tmp_path / "human.pkl"), "--seed", "3", "--point", "10,40,14,52", "--steps",
                         "6", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    from PIL import Image
    assert Image.open(out / "result.png").size == (W, H) and Image.open(out / "start.png").size == (W, H)
    result = json.loads((out / "result.json").read_text())
    assert result["shape"] == [H, W] and result["steps"] == 6
    p = _cli(method, "--model", str(tmp_path / "human.pkl"), "--seed", "3", "--point", "40,10,14,52", "--out", str(out))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "outside the 64x32 image" in p.stderr


def test_exports_keep_the_aspect(tmp_path):
    import imageio.v2 as imageio
    frames = [np.full((H, W, 3), i * 40, np.uint8) for i in range(3)]
    export.write_gif(frames, tmp_path / "a.gif")
    export.write_mp4(frames, tmp_path / "a.mp4")
    assert imageio.mimread(tmp_path / "a.gif")[0].shape[:2] == (256, 128)
    with imageio.get_reader(tmp_path / "a.mp4", format="FFMPEG") as reader:
        assert reader.get_data(0).shape[:2] == (256, 128)
    rec = export.edit_record(model="m", seed=1, psi=0.7, space="w+", shape=(H, W), drags=[export.drag_entry(
        method="draggan", points=[[1, 2], [3, 4]], mask=None, params={}, steps=3)])
    (tmp_path / "e.json").write_text(json.dumps(rec))
    assert export.read_edit(tmp_path / "e.json")["shape"] == [H, W]
    (tmp_path / "e.json").write_text(json.dumps(dict(rec, shape=[64])))
    with pytest.raises(export.EditError, match=r"the edit's shape must be \[height, width\]"):
        export.read_edit(tmp_path / "e.json")
