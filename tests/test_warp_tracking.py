"""The warp pathway (stylegan.warp), the trackers (dragcore.tracking) and the report's colour cast
and far-field change (dragcore.fidelity), on real networks and real drags."""
import json

import numpy as np
import pytest
import torch

import stylegan
from dragcore import DragInputError, fidelity, motion, tracking
from dragcore.protocol import StyleGANAdapter
from dragcore.report import Reporter
from draggan.engine import DragGANSession
from drag_testing import face_model, small_G
from freedrag.engine import FreeDragSession
from training.warp import with_warp
from dragcore.config import DragGANConfig, FreeDragConfig


@pytest.fixture(scope="module")
def warped():
    """small_G with a warp pathway after its 16 px stage (same weights; 4 x 4 bumps: 32 code entries of 64)."""
    return with_warp(small_G(), res=16, grid=4, gain=1.0)


def test_warp_changes_nothing_without_a_code(warped):
    G = small_G()
    ws = G.mapping(torch.randn(2, G.z_dim), truncation_psi=0.7)
    assert ws.shape[1] == G.num_ws == warped.num_ws   # the mapping never makes a code row
    with torch.no_grad():
        plain, same = G.synthesis(ws), warped.synthesis(ws)
        zero = warped.synthesis(torch.cat([ws, ws.new_zeros(2, 1, ws.shape[2])], 1))
    assert torch.equal(plain, same)
    assert (zero - plain).abs().max() < 1e-5


def test_a_code_moves_content_locally(warped):
    ws = warped.mapping(torch.randn(1, warped.z_dim, generator=torch.Generator().manual_seed(3)), truncation_psi=0.7)
    code = torch.zeros(1, 1, ws.shape[2])
    k = warped.synthesis.warp.k
    j = (k // 2) * k + k // 2           # a bump near the image centre, pushed right
    code[0, 0, 2 * j] = 0.06
    with torch.no_grad():
        a = warped.synthesis(torch.cat([ws, torch.zeros_like(code)], 1))
        b = warped.synthesis(torch.cat([ws, code], 1))
    cx, cy = warped.synthesis.warp.centres[j].tolist()
    centre = [(cx + 1) * 32 - 0.5, (cy + 1) * 32 - 0.5]
    dx, dy = motion.read_flow(motion.dense_flow(a, b), centre)
    assert dx > 1.0 and abs(dy) < 0.5 * dx    # 0.06 x gain 1 = 0.06 image units = ~1.9 px at 64 px
    change = (b - a).abs().mean(1)[0]
    far = torch.from_numpy(fidelity.far_mask((64, 64), [centre], 32.0))   # bump radius 3/k = 24 px
    assert change[far].max() < 1e-4            # compact bumps: nothing far from the bump changed


def test_warp_round_trips_through_safetensors(warped, tmp_path):
    stylegan.save(warped, tmp_path / "w.safetensors")
    G2 = stylegan.load(tmp_path / "w.safetensors")
    assert G2.config.warp_res == 16 and G2.synthesis.warp is not None
    ws = G2.mapping(torch.randn(1, G2.z_dim), truncation_psi=0.7)
    ws = torch.cat([ws, torch.randn(1, 1, ws.shape[2]) * 0.03], 1)
    with torch.no_grad():
        assert torch.equal(G2.synthesis(ws), warped.synthesis(ws))


@pytest.mark.parametrize("bad", [dict(warp_res=64), dict(warp_res=16, warp_grid=1), dict(warp_res=16, warp_gain=0)])
def test_bad_warp_configs_are_refused(bad):
    with pytest.raises(ValueError, match="warp_"):
        stylegan.GeneratorConfig(resolution=64, **bad)


def test_adapter_carries_and_trains_the_code(warped):
    gen = StyleGANAdapter(warped)
    lat = gen.latent_init(3, 0.7, "w+")
    assert lat.shape == (1, warped.num_ws + 1, warped.w_dim) and not lat[:, -1].any()
    assert gen.check_latent(lat[:, :-1]).shape == lat.shape           # a style-only latent gets a zero code
    tr, fr = gen.split(lat)
    assert tr.shape[1] == gen.rows + 1 and torch.equal(gen.join(tr, fr), lat)
    with pytest.raises(DragInputError, match="deformation code"):
        gen.check_latent(torch.zeros(1, warped.num_ws + 2, warped.w_dim))


def test_rows_zero_trains_only_the_code(warped):
    """rows 0 on a model with a warp pathway: a drag moves content through the code alone, every
    style row stays as it was; on a model without one, rows 0 is refused with the reason."""
    s = DragGANSession(warped, [[20, 30]], [[28, 30]], DragGANConfig(seed=2, max_steps=8, rows=0, lr=0.01))
    start = s.latent.clone()
    r = s.run()
    assert torch.equal(s.latent[:, :warped.num_ws], start[:, :warped.num_ws])
    assert s.latent[:, -1].abs().max() > 0 and r.params["rows"] == 0
    with pytest.raises(DragInputError, match=r"0, only the deformation code, needs a model with a warp pathway"):
        DragGANSession(small_G(), [[20, 30]], [[28, 30]], DragGANConfig(rows=0))


def test_unknown_tracker_is_one_line_naming_the_choices():
    with pytest.raises(DragInputError, match="tracker must be one of features, flow, discriminative, got 'sift'"):
        DragGANSession(small_G(), [[20, 20]], [[26, 20]], DragGANConfig(tracker="sift"))


@pytest.fixture(scope="module")
def bundled():
    return face_model()


def test_flow_tracker_stops_where_the_content_is(bundled):
    """DragGAN with the content-true tracker: its final handle is where optical flow (computed
    independently, from the start image to the result) sees the content."""
    s = DragGANSession(bundled, [[32, 38]], [[38.4, 38]], DragGANConfig(seed=1000, max_steps=60, lr=0.01, tracker="flow", r1=24, r2=32, stop_distance=1.0))
    r = s.run()
    seen = np.add(r.start_handles[0], motion.measure(s.report.start_image(), s.report.preview(), r.start_handles,
                                                      r.targets)[0]["moved"])
    assert np.linalg.norm(np.subtract(r.handles[0], seen)) <= 1.5
    assert r.params["tracker"] == "flow" and r.tracker_fallbacks == 0


def test_freedrag_line_point_never_runs_ahead_of_the_content(bundled):
    s = FreeDragSession(bundled, [[32, 38]], [[38.4, 38]], FreeDragConfig(seed=1001, max_steps=40, tracker="flow", lr=0.02, l=0.1, d=4, rows=3))
    for _ in range(40):
        subs = s.submotions
        s.step()
        if s.submotions > subs:   # a sub-motion just ended: the line point was chosen
            content = tracking.content_points(s.report.start_image(), s.report.preview(), s.handles0)
            capped = tracking.cap_ahead(s.handles, s.handles0, s.targets, content, s.d_px)
            assert torch.allclose(capped, s.handles, atol=1e-4) or bool(s.arrived.all())
    if s.reached_all:   # arrived only where the content is at the target too
        content = tracking.content_points(s.report.start_image(), s.report.preview(), s.handles0)
        assert float((content - s.targets).norm(dim=1).max()) <= 1.0 + 1e-4


def test_a_failed_flow_falls_back_and_says_so(bundled):
    """A flow that cannot be computed (here: a preview too small for it) never ends the drag."""
    class TinyPreview(Reporter):
        def preview(self, latent=None):
            return np.zeros((2, 2, 3), np.uint8) if self.session.steps else super().preview(latent)
    n = 2 * tracking.flow_every(bundled.img_resolution) + 1   # two scheduled flows
    s = DragGANSession(bundled, [[32, 38]], [[50, 38]], DragGANConfig(seed=1000, max_steps=n, lr=0.002, tracker="flow"))
    s.report = TinyPreview(s)
    for _ in range(n):
        s.step()
    assert s.steps == n and s.tracker_fallbacks >= 2
    assert "optical flow failed" in s.tracker_note and "feature tracker" in s.tracker_note


def test_cap_ahead_is_a_projection_cap():
    starts, targets = torch.tensor([[0.0, 0.0]]), torch.tensor([[10.0, 0.0]])
    content = torch.tensor([[2.0, 1.0]])
    assert tracking.cap_ahead(torch.tensor([[9.0, 0.0]]), starts, targets, content, 3.0).tolist() == [[5.0, 0.0]]
    assert tracking.cap_ahead(torch.tensor([[4.0, 0.0]]), starts, targets, content, 3.0).tolist() == [[4.0, 0.0]]


def test_fidelity_figures():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 200, (64, 64, 3)).astype(np.uint8)
    assert fidelity.measure(a, a, [[32, 32]]) == dict(colour_cast=0.0, far_field=0.0)
    assert fidelity.measure(a, a, [[32, 32]], flow=np.zeros((64, 64, 2), np.float32))["far_after_motion"] == 0.0
    b = a.copy()
    b[..., 0] += 10                                   # a red cast over the whole picture
    m = fidelity.measure(a, b, [[32, 32]])
    assert m["colour_cast"] == 10.0 and m["far_field"] == pytest.approx(10 / 3, abs=0.01)
    c = a.copy()
    c[28:36, 28:36] = 255                             # a change only next to the handle
    assert fidelity.measure(a, c, [[32, 32]])["far_field"] == 0.0
    assert fidelity.far_field(a, b, [[x, y] for x in range(0, 64, 8) for y in range(0, 64, 8)]) is None


def test_reports_carry_the_figures(bundled):
    r = FreeDragSession(bundled, [[32, 38]], [[36, 38]], FreeDragConfig(seed=1002, max_steps=6)).run()
    assert {"colour_cast", "far_field", "far_after_motion", "tracker_fallbacks", "tracker_note"} <= set(r.to_dict())
    assert r.colour_cast >= 0 and r.far_field >= 0 and r.params["tracker"] == "features"


def test_progress_stalls_only_without_progress():
    p = tracking.Progress(steps=3, px=0.25)
    assert not any(p.stalled(k, 10.0 - k) for k in range(10))   # 1 px closer every step: never stalled
    assert not p.stalled(11, 0.7)                                # 0.3 px better than the best (1.0 at step 9)
    assert not p.stalled(13, 0.6)                                # less than 0.25 px better: the clock runs from 11
    assert p.stalled(14, 0.6)                                    # 3 steps without progress


@pytest.mark.integration   # 40+ steps with a flow each
@pytest.mark.parametrize("engine", [DragGANSession, FreeDragSession])
def test_a_drag_whose_content_does_not_come_stops_as_stalled(engine):
    """With the flow tracker, a drag whose content does not come (here: a learning rate too small to
    move anything) ends when STALL_STEPS steps brought it no closer, instead of pushing until
    max_steps; the report says why. The feature tracker has no such rule."""
    cfg = engine.Config(seed=1, tracker="flow", max_steps=300, lr=1e-5)
    r = engine(small_G(), [[20, 32]], [[44, 32]], cfg, device="cpu").run()
    # flow readings: every step (DragGAN at 64 px), at the end of each sub-motion of <= 5 steps (FreeDrag)
    assert r.stop_reason == "stalled" and tracking.STALL_STEPS <= r.steps <= tracking.STALL_STEPS + 10
    assert not r.tracked_reached and abs(r.moved_fraction[0]) < 0.1


@pytest.mark.integration   # ~5 s, real reachability steps
def test_reach_learns_only_the_centres_and_resumes_exactly(tmp_path):
    """training.reach: the centres move, every other weight and every unedited render stay as they
    were, the file records the run, and 2 + 2 resumed steps give exactly the 4-step run's centres."""
    from training import reach
    src = tmp_path / "w.safetensors"
    stylegan.save(with_warp(small_G(), res=16, grid=4, gain=1.0), src)
    common = ["--from", str(src), "--batch", "2", "--inner", "2", "--save-every", "1", "--lr", "0.01"]
    assert reach.main(common + ["--out", str(tmp_path / "a.safetensors"), "--steps", "4"]) == 0
    assert reach.main(common + ["--out", str(tmp_path / "b.safetensors"), "--steps", "2"]) == 0
    assert reach.main(common + ["--out", str(tmp_path / "b.safetensors"), "--steps", "4"]) == 0   # resumes at 2
    G0, A, B = (stylegan.load(p) for p in (src, tmp_path / "a.safetensors", tmp_path / "b.safetensors"))
    assert torch.equal(A.synthesis.warp.centres, B.synthesis.warp.centres)
    assert not torch.equal(A.synthesis.warp.centres, G0.synthesis.warp.centres)
    sd0, sda = G0.state_dict(), A.state_dict()
    assert [k for k in sd0 if not torch.equal(sd0[k], sda[k])] == ["synthesis.warp.centres"]
    ws = G0.mapping(torch.randn(2, G0.z_dim, generator=torch.Generator().manual_seed(1)), truncation_psi=0.7)
    with torch.no_grad():
        assert torch.equal(G0.synthesis(ws), A.synthesis(ws))
    meta = json.loads(stylegan.read_metadata(tmp_path / "a.safetensors")["warp"])
    assert meta["trained"] is True and meta["reach"]["steps"] == 4


def test_reach_refuses_a_model_without_a_pathway(tmp_path, capsys):
    from training import reach
    src = tmp_path / "plain.safetensors"
    stylegan.save(small_G(), src)
    assert reach.main(["--from", str(src), "--out", str(tmp_path / "o.safetensors"), "--steps", "1"]) == 2
    assert "has no warp pathway (add one with python -m training.warp)" in capsys.readouterr().err
