"""The feature block computed only near the handles (stylegan.windows, DragSession.feature_windows): exact
inside the windows, the same drags as the whole map, nothing read outside them, and one rule for when the
whole map runs (a mask term, reference mode, a tracker whose answer can be anywhere, the switch off)."""
import pytest
import torch

import stylegan
from dragcore.config import DragGANConfig
from draggan import DragGANSession
from drag_testing import tiny_G
from freedrag import FreeDragSession
from stabledrag.engine import StableDragSession
from stylegan import networks
from stylegan.windows import Box, plan


def perturbed(res=64, seed=0, **kw):
    """A tiny real network whose biases and noise strengths are non-zero, so every term of a window counts."""
    torch.manual_seed(seed)
    G = stylegan.Generator(z_dim=32, w_dim=32, resolution=res, mapping_layers=2, channel_base=512, channel_max=32,
                           conv_clamp=4.0, **kw).eval().requires_grad_(False)
    for name, p in G.synthesis.named_parameters():
        if "noise_scale" in name or "bias" in name:
            p.normal_()
    return G


@pytest.mark.parametrize("width", [64, 128])
def test_windows_equal_the_whole_map_inside_them(width):
    G = perturbed(64, width=width)
    ws = G.mapping(torch.randn(1, 32), truncation_psi=0.7)
    full = G.synthesis.features(ws, 32)
    cases = ([Box(10, 12, 19, 21)], [Box(-2, -3, 5, 6)], [Box(27, width // 2 - 6, 34, width // 2 + 2), Box(3, 4, 9, 10)])
    for boxes in cases:
        near = G.synthesis.features_near(ws, 32, boxes)
        first, chains = plan(G.synthesis, 32, boxes)
        assert first <= G.synthesis.block_resolutions.index(16)   # more than the feature block is windowed
        for c in chains:
            inside = (..., *c.outs[-1].slices())
            assert (near[inside] - full[inside]).abs().max() <= 1e-6 * full.abs().max()
        assert near.abs().sum() < full.abs().sum()   # zeros outside: it was not the whole map


def test_windows_that_do_not_pay_and_architectures_without_them_give_none():
    G = perturbed(64)
    ws = G.mapping(torch.randn(1, 32))
    assert G.synthesis.features_near(ws, 32, [Box(0, 0, 30, 30)]) is None   # most of the map: run it whole
    resnet = perturbed(64, architecture="resnet")
    assert resnet.synthesis.features_near(ws, 32, [Box(10, 10, 14, 14)]) is None
    warped = perturbed(64, warp_res=32)   # the warp resamples the whole map at the block itself
    code = torch.cat([ws, torch.zeros(1, 1, 32)], 1)
    assert warped.synthesis.features_near(code, 32, [Box(10, 10, 14, 14)]) is None


ENGINES = [(DragGANSession, {}), (DragGANSession, {"tracker": "discriminative"}), (FreeDragSession, {}),
           (FreeDragSession, {"tracker": "discriminative"}), (FreeDragSession, {"tracker": "flow"}),
           (StableDragSession, {})]


def drag(cls, windows, steps=5, **kw):
    s = cls(perturbed(64, seed=1), [[18, 30], [46, 20]], [[25, 34], [41, 27]],
            cls.Config(seed=2, max_steps=steps, feature_res=32, **kw))
    s.windows = windows
    trail = [(s.step().handles, s.last_loss) for _ in range(steps)]
    return s, trail


@pytest.mark.parametrize("cls,kw", ENGINES, ids=lambda v: getattr(v, "method", None) or str(v))
def test_a_windowed_drag_is_the_whole_map_drag_and_reads_nothing_outside_its_windows(cls, kw, monkeypatch):
    monkeypatch.setattr(networks, "OUTSIDE_WINDOWS", float("nan"))   # a read outside a window would be NaN
    windowed, trail = drag(cls, True, **kw)
    whole, expected = drag(cls, False, **kw)
    assert windowed.windowed_steps == 5 and whole.windowed_steps == 0
    for (h, loss), (h0, loss0) in zip(trail, expected):
        assert h == h0
        assert (loss is None and loss0 is None) or abs(loss - loss0) <= 1e-5 * abs(loss0)
    assert torch.allclose(windowed.latent, whole.latent, atol=1e-6)


def test_the_whole_map_runs_when_a_step_may_read_anywhere():
    G = perturbed(64, seed=1)
    mask = torch.zeros(64, 64, dtype=torch.bool)
    mask[:, :40] = True

    def steps_on_windows(cls=DragGANSession, mask=None, **kw):
        s = cls(G, [[18, 30]], [[25, 34]], cls.Config(seed=2, max_steps=2, feature_res=32, **kw), mask=mask)
        s.step(), s.step()
        return s.windowed_steps

    assert steps_on_windows() == 2
    assert steps_on_windows(mask=mask) == 0                          # the mask term reads the whole map
    assert steps_on_windows(mask=mask, mask_weight=0.0) == 2         # ... unless it is off
    assert steps_on_windows(mode="reference") == 0
    assert steps_on_windows(tracker="flow") == 0                     # its point can be anywhere
    assert steps_on_windows(StableDragSession, confirm="flow") == 0  # a rejected arrival puts the handle anywhere


def test_a_windowed_step_still_gives_a_live_preview_of_its_latent():
    """Windows draw no image: the live preview is one pass to the feature block of the current latent."""
    G = tiny_G(64, channel_base=1024)
    s = DragGANSession(G, [[20, 32]], [[44, 32]], DragGANConfig(seed=3, max_steps=3, feature_res=16, mask_weight=0))
    assert s.step_previews
    s.step(), s.step()
    assert s.windowed_steps == 2 and s.last_step_windowed
    frame, drawn_at = s.report.live_preview()
    assert drawn_at == 16 and frame.shape == (64, 64, 3)
    steps, kept = s.report._step_image
    with torch.no_grad():
        _, partial = G.synthesis.features_and_preview(s.gen.ws(s.latent), 16)
    assert steps == s.steps and torch.allclose(kept, partial, atol=1e-6)


@pytest.mark.parametrize("arch,width", [("skip", 64), ("skip", 128), ("orig", 64)])
def test_the_image_inside_windows_equals_the_whole_image(arch, width, monkeypatch):
    """The RGB path windowed with the features (windows.run_image_stage): exact inside the boxes, at the edges
    and with two boxes; NaN outside them, and none of it inside."""
    monkeypatch.setattr(networks, "OUTSIDE_WINDOWS", float("nan"))
    G = perturbed(64, width=width, architecture=arch)
    ws = G.mapping(torch.randn(1, 32), truncation_psi=0.7)
    with torch.no_grad():
        full = G.synthesis(ws)
        for boxes in ([Box(10, 12, 19, 21)], [Box(-2, -3, 5, 6)], [Box(50, width - 6, 70, width + 2), Box(3, 4, 9, 10)]):
            near = G.synthesis.image_near(ws, boxes)
            inside = torch.zeros_like(full, dtype=torch.bool)
            for b in boxes:
                inside[(..., *b.clip(full.shape[-2:]).slices())] = True
            assert (near[inside] - full[inside]).abs().max() <= 1e-6 * full.abs().max()
            assert near[~inside].isnan().all()   # it was not the whole image
        assert G.synthesis.image_near(ws, [Box(0, 0, 60, width - 4)]) is None   # most of the image: run it whole
        if arch == "skip":   # the image the stages up to 32 px accumulated, inside a box of it
            near, whole = G.synthesis.image_near(ws, [Box(2, 3, 9, 10)], res=32), G.synthesis.run(ws, upto=32)[0]
            assert (near[..., 2:9, 3:10] - whole[..., 2:9, 3:10]).abs().max() <= 1e-6 * whole.abs().max()


@pytest.mark.parametrize("arch", ["skip", "orig"])
def test_a_tiled_render_is_the_whole_render(arch, monkeypatch):
    """Strips of the output through the same windows (SynthesisNetwork.render): the whole image and the
    feature block's output, with strips that do not divide the image and a 2:1 image."""
    monkeypatch.setattr(networks, "TILED_FROM", 64)
    for width in (64, 128):
        G = perturbed(64, width=width, architecture=arch)
        ws = G.mapping(torch.randn(1, 32), truncation_psi=0.7)
        with torch.no_grad():
            full, feat = G.synthesis(ws, feature_res=16)
        near = lambda a, b: (a - b).abs().max() <= 2e-6 * b.abs().max()   # float sums in another order
        for rows in (7, 16):
            img, f = G.synthesis.render(ws, feature_res=16, rows=rows)
            assert near(img, full) and near(f, feat)
            partial, f = G.synthesis.tiled(ws, 32, keep=32, image=arch == "skip", rows=rows)
            whole, block = G.synthesis.run(ws, upto=32, keep=(32,), image=arch == "skip")
            assert near(f, block[32]) and (partial is None if arch != "skip" else near(partial, whole))
        assert not torch.equal(G.synthesis.render(ws, rows=7), full)   # it ran in strips (float sums in another order)


@pytest.mark.parametrize("arch", ["skip", "orig"])
def test_a_render_whose_map_below_the_strips_is_large_puts_it_together_from_strips(arch, monkeypatch):
    """A render in strips whose whole map below the strips (here the feature block) is over STRIPS_BELOW_MB
    computes that map in strips too (FEATURE_TILES): the same image, feature block and partial image."""
    monkeypatch.setattr(networks, "TILED_FROM", 64)
    monkeypatch.setattr(networks, "STRIPS_BELOW_MB", 0)
    monkeypatch.setattr(networks, "FEATURE_TILES", dict(rows=32, depth=4))
    G = perturbed(64, architecture=arch)
    ws = G.mapping(torch.randn(1, 32), truncation_psi=0.7)
    calls = []
    inner = G.synthesis._tiled
    monkeypatch.setattr(G.synthesis, "_tiled", lambda *a, **k: calls.append(a[1]) or inner(*a, **k))
    with torch.no_grad():
        full, feats = G.synthesis.run(ws, keep=(16,), images=(16,))
    img, f, partial = G.synthesis.render_kept(ws, 16, rows=16)
    assert calls == [64, 16]   # the strips of the image, then those of the map below them
    near = lambda a, b: (a - b).abs().max() <= 2e-6 * b.abs().max()   # float sums in another order
    assert near(img, full) and near(f, feats[16])
    assert (partial is None) if arch != "skip" else near(partial, feats[("image", 16)])


def test_flow_steps_stay_on_windows_from_256px_and_follow_the_whole_map_drag(monkeypatch):
    """From tracking.FLOW_WINDOW_FROM px the flow tracker answers before DragGAN's pass (a flow of the region
    around the points, drawn there alone), so every step runs on windows: the same handles and losses as with the windows off, and nothing read outside them."""
    monkeypatch.setattr(networks, "OUTSIDE_WINDOWS", float("nan"))
    G = perturbed(256, seed=1)

    def flow_drag(windows, steps=8):
        s = DragGANSession(G, [[80, 120]], [[110, 130]], DragGANConfig(seed=2, max_steps=steps, tracker="flow",
                                                                         feature_res=64))
        s.windows = windows
        return s, [(s.step().handles, s.last_loss) for _ in range(steps)]

    windowed, trail = flow_drag(True)
    whole, expected = flow_drag(False)
    assert windowed.tracking.windowed and windowed.tracking.flows == 1 and windowed.tracker_fallbacks == 0
    assert windowed.windowed_steps == 8 and whole.windowed_steps == 0
    for (h, loss), (h0, loss0) in zip(trail, expected):
        assert h == h0 and abs(loss - loss0) <= 1e-5 * abs(loss0)


def test_the_flow_of_a_region_finds_the_content_the_whole_flow_finds():
    """tracking.flow_region: the region around the points, at the whole image's scale, on a known warp of the
    shipped photo (upscaled to 512 px): both flows find the content where the warp put it."""
    import cv2
    from pathlib import Path
    from dragcore import motion, tracking
    photo = cv2.imread(str(Path(__file__).parent / "data" / "astronaut_64.png"))[..., ::-1]
    start = cv2.resize(photo, (256, 256), interpolation=cv2.INTER_CUBIC)
    h, v = torch.tensor([[125.0, 150.0]]), torch.tensor([[7.0, -3.0]])
    moved, _ = motion.synthetic_warp(start, h[0].tolist(), v[0].tolist(), 30)
    box = tracking.flow_region((256, 256), h, h, h + 2 * v)
    assert 0 < box.area < 256 * 256 / 8
    rows, cols = box.slices()
    region = tracking.content_points(start[rows, cols], moved[rows, cols], h, (box.left, box.top), 7.68, 1)
    whole = tracking.content_points(start, moved, h)
    assert (region - whole).norm() < 0.25 and (whole - (h + v)).norm() < 1.0   # DIS on this soft photo: ~0.5 px
