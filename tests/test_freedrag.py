"""FreeDrag engine: template weight, line search cases, arrival, end to end, shared schema, bad input."""
import dataclasses
import math

import numpy as np
import pytest
import torch

from dragcore import DragInputError, DragResult, StepResult
from dragcore.features import patch_offsets, sample
from draggan import DragGANSession
from freedrag import FreeDragSession, line_search, template_weight
from freedrag.engine import auto_feature_scale, patch_loss
from drag_testing import drag_model, make_session, small_G
from dragcore.config import DragGANConfig, FreeDragConfig


def test_template_weight():
    for l in (0.1, 0.3, 0.5):
        assert template_weight(0.2 * l, l).item() == pytest.approx(0.5, abs=1e-6)
        assert template_weight(0.8 * l, l).item() == pytest.approx(0.1, abs=1e-6)
        assert template_weight(0.0, l).item() == pytest.approx(1 / (1 + 9 ** -(1 / 3)), abs=1e-6)  # ~0.675
    assert template_weight(0.0, 0.3).item() == pytest.approx(0.675, abs=1e-3)


def _ramp(a=0.05, size=64):
    """A one-channel feature map F(x, y) = a x at image resolution: patch loss to a template taken at
    x0 is exactly a |x - x0| (bilinear reads of a linear ramp are exact)."""
    x = torch.arange(size, dtype=torch.float32)
    return (a * x).expand(size, size)[None, None].clone()


def test_line_search_cases_on_a_constructed_feature_map():
    feat, patch, res, l, d = _ramp(), patch_offsets(1.0), 64, 0.3, 10.0
    p0, t = torch.tensor([10.0, 32.0]), torch.tensor([50.0, 32.0])
    tmpl = lambda x0: sample(feat, torch.tensor([x0, 32.0]) + patch, res)
    h = torch.tensor([10.0, 32.0])
    # good move: candidates 11..20; loss 0.05 (c - 10) is closest to l = 0.3 at c = 16
    new, case = line_search(feat, h, t, p0, tmpl(10.0), 0.1, 0.3, l, d, patch, res)
    assert case == "good" and torch.allclose(new, torch.tensor([16.0, 32.0]))
    # good move near the target: the step is cut at the target, candidates 45.5, 46, ..., 50;
    # with the template at 42, 0.05 (c - 42) = l at c = 48
    new, case = line_search(feat, torch.tensor([45.0, 32.0]), t, p0, tmpl(42.0), 0.1, 0.3, l, d, patch, res)
    assert case == "good" and torch.allclose(new, torch.tensor([48.0, 32.0]))
    # insufficient move: L_en >= 0.5 l but below L_in: stay
    h = torch.tensor([20.0, 32.0])
    new, case = line_search(feat, h, t, p0, tmpl(18.0), 0.2, 0.3, l, d, patch, res)
    assert case == "insufficient" and torch.equal(new, h)
    # bad move: back off to h' = 10, search 12, 14, ..., 30 for the smallest loss (template at 18)
    new, case = line_search(feat, h, t, p0, tmpl(18.0), 0.3, 0.2, l, d, patch, res)
    assert case == "bad" and torch.allclose(new, torch.tensor([18.0, 32.0]))
    # bad move near the start: the back-off (15 - 10 = 5) stops at p0 = 10, candidates 12, 14, ..., 30
    # (from 5 they would be 7, 9, ..., 25 and miss the template's position 12)
    new, case = line_search(feat, torch.tensor([15.0, 32.0]), t, p0, tmpl(12.0), 0.3, 0.2, l, d, patch, res)
    assert case == "bad" and torch.allclose(new, torch.tensor([12.0, 32.0]))


@pytest.mark.integration   # ~2 s
def test_arrived_point_keeps_lambda_one_and_stops_moving():
    G = small_G()
    # point 0 starts on its target (arrives after its first sub-motion); point 1 has a long way to go
    s = FreeDragSession(G, [(20, 30), (40, 20)], [(20, 30), (40, 45)], FreeDragConfig(seed=1, max_steps=40), device="cpu")
    seen_arrival, checked = False, 0
    while not s.done:
        before = s.handles[0].clone()
        subs = s.submotions
        s.step()
        if s.arrived[0] and s.submotions > subs:
            if seen_arrival:  # every later template update of an arrived point uses lambda = 1
                assert s.last_lambda[0].item() == 1.0 and s.last_case[0] == "arrived"
                checked += 1
            seen_arrival = True
        if seen_arrival:
            assert torch.equal(s.handles[0], before)
    assert seen_arrival and checked >= 2 and not s.arrived[1]
    assert s.handles[1, 1] > 20  # the other point kept moving along its line


def test_one_adam_step_per_step_and_submotions_of_at_most_five():
    G = small_G()
    s = FreeDragSession(G, [(20, 30)], [(44, 30)], FreeDragConfig(seed=1, max_steps=23), device="cpu")
    assert s.derived()["submotion_steps"] == 5
    runs, in_submotion = 0, 0
    while not s.done:
        before, subs = s.steps, s.submotions
        r = s.step()
        assert r.step == before + 1 or (r.done and r.step == before)
        runs += int(r.step == before + 1)
        # a step that ends a sub-motion (the count goes up) is the first step of the next one
        in_submotion = 1 if s.submotions > subs else in_submotion + 1
        assert in_submotion <= 5
    (param,) = s.optimizer.param_groups[0]["params"]   # the one tensor the optimiser trains
    assert s.steps == 23 == runs and s.optimizer.state[param]["step"] == 23
    assert s.submotions >= 23 // 5


def test_early_stop_takes_the_step_whose_starting_loss_is_below_a_quarter_l():
    """The official loop's accounting: the early stop reads the loss a step starts from, and that
    step's update is still taken. A template set just above the threshold: step 1 starts above it
    (the sub-motion goes on), step 2 starts below it (taken, then the sub-motion ends), and step 3's
    forward pass closes sub-motion 1 after exactly 2 steps (ending before step 2 was the old bug)."""
    G = small_G()
    s = FreeDragSession(G, [(20, 30)], [(44, 30)], FreeDragConfig(seed=1, max_steps=20, lr=1e-3), device="cpu")
    thr = 0.25 * s.l
    s.templates = sample(s.F0, s.handles[:, None, :] + s.patch[None], s.res) + (thr + 1e-4)
    starts = []
    for _ in range(3):
        with torch.no_grad():
            starts.append(float(s.point_losses(s.features(s.latent))))
        s.step()
    assert starts[0] > thr > starts[1]
    assert s.steps == 3 and s.submotions == 1 and s.submotion_step == 1  # sub-motion 1: steps 1-2; step 3 opens the next


@pytest.mark.integration   # a long drag, ~16 s
def test_end_to_end_a_handle_reaches_its_target():
    G = drag_model()
    res = G.img_resolution
    h, t = [0.5 * res, 0.6 * res], [0.5 * res, 0.6 * res - res / 6]  # the same drag as DragGAN's end-to-end test
    s = FreeDragSession(G, [h], [t], FreeDragConfig(seed=1, max_steps=300), device="cpu")
    r = s.run()
    assert r.tracked_reached and r.distances[0] < 1 and r.steps < 300
    # the template loss says the start patch is now at the target (whether the picture moved: test_motion.py): the start patch's features are found at the target
    f0 = s.gen.features(s.latent0)
    T0 = sample(f0, torch.tensor([h])[:, None] + s.patch[None], res)
    feat = s.gen.features(s.latent)
    tp = torch.tensor([t])
    assert patch_loss(feat, tp, T0, s.patch, res) < 0.85 * patch_loss(f0, tp, T0, s.patch, res)


@pytest.mark.integration   # ~15 s
def test_reference_mode_reads_the_same_points_on_the_resized_map():
    G = small_G()
    mask = np.zeros((64, 64), bool)
    mask[:, :40] = True
    kw = dict(seed=5, max_steps=10, mask=mask, device="cpu")
    fast = make_session(FreeDragSession, G, [(20, 30)], [(30, 30)], **kw)
    ref = make_session(FreeDragSession, G, [(20, 30)], [(30, 30)], mode="reference", **kw)
    assert ref.ref_F0.shape[-1] == 64 and fast.ref_F0.shape[-1] == fast.feature_res == 32
    assert ref.report.result().params["mode"] == "reference"
    # same point losses before any update (bilinear reads of the upsampled map ~ reads of the map itself)
    lf, lr = fast.point_losses(fast.features(fast.latent)), ref.point_losses(ref.features(ref.latent))
    assert torch.allclose(lf, lr, rtol=0.2, atol=1e-3)
    rf, rr = fast.run(), ref.run()
    assert rf.steps == rr.steps == 10 or (rf.tracked_reached and rr.tracked_reached)
    assert np.abs(np.array(rf.handles) - rr.handles).max() <= 3
    with pytest.raises(DragInputError, match="mode"):
        FreeDragSession(G, [(20, 30)], [(30, 30)], FreeDragConfig(mode="official"), device="cpu")


def test_feature_scale():
    G = small_G()
    auto = FreeDragSession(G, [(20, 30)], [(30, 30)], FreeDragConfig(seed=1), device="cpu")
    raw = FreeDragSession(G, [(20, 30)], [(30, 30)], FreeDragConfig(seed=1, feature_scale=1.0), device="cpu")
    assert auto_feature_scale(auto.F0) == pytest.approx(1.0, rel=1e-5)  # calibrated: a 3 px move costs 0.3
    assert torch.allclose(auto.F0 * auto.feature_scale, raw.F0)
    for bad in (0, -1, float("nan"), "big"):
        with pytest.raises(DragInputError, match="feature_scale"):
            FreeDragSession(G, [(20, 30)], [(30, 30)], FreeDragConfig(feature_scale=bad), device="cpu")


@pytest.mark.integration   # ~4 s
def test_both_engines_share_the_step_and_result_schema():
    G = small_G()
    args = ([(20, 30), (44, 20)], [(26, 30), (44, 28)])
    a = DragGANSession(G, *args, DragGANConfig(seed=2, max_steps=3), device="cpu")
    b = FreeDragSession(G, *args, FreeDragConfig(seed=2, max_steps=3), device="cpu")
    ra, rb = a.step(), b.step()
    assert type(ra) is type(rb) is StepResult
    for field in dataclasses.fields(StepResult):
        va, vb = getattr(ra, field.name), getattr(rb, field.name)
        assert type(va) is type(vb)
        if isinstance(va, list):
            assert np.shape(va) == np.shape(vb)
    ra, rb = a.run(), b.run()
    assert type(ra) is type(rb) is DragResult and ra.method == "draggan" and rb.method == "freedrag"
    for field in dataclasses.fields(DragResult):
        va, vb = getattr(ra, field.name), getattr(rb, field.name)
        if field.name not in ("params", "derived"):   # each engine's own settings
            assert type(va) is type(vb) and np.shape(va) == np.shape(vb), field.name
    assert a.report.preview().shape == b.report.preview().shape == (64, 64, 3)


def test_bad_inputs():
    G = small_G()
    cases = [
        (dict(l=0.05), "l must be in"), (dict(l=0.6), "l must be in"), (dict(d=0.5), "d must be in"),
        (dict(d=7), "d must be in"), (dict(l=float("nan")), "l must be in"),
        (dict(handles=[(70, 2)], targets=[(3, 4)]), "outside"), (dict(handles=[(1, 2)], targets=[]), "needs a target"),
        (dict(handles=[], targets=[]), "no points"), (dict(targets=[(3, math.inf)]), "not finite"),
        (dict(mask=np.ones((64, 60))), "image is 64x64"), (dict(mask=np.zeros((64, 64))), "all zeros"),
        (dict(arrival=0), "arrival distance must be in"), (dict(arrival=True), "arrival distance must be in"),
        (dict(feature_scale=-1.0), "feature_scale must be a positive"),
        (dict(feature_scale=math.nan), "feature_scale must be a positive"),
    ]
    for kw, msg in cases:
        args = dict(handles=[(1, 2)], targets=[(3, 4)], device="cpu")
        args.update(kw)
        with pytest.raises(DragInputError, match=msg):
            make_session(FreeDragSession, G, args.pop("handles"), args.pop("targets"), **args)


def test_a_template_that_absorbed_a_short_move_is_renewed():
    """The app's 2-point edit on the bundled model (seed 3; the nose 8 px right, the forehead 5 px up) with a
    content tracker: the forehead's line point reaches its target, its template absorbs the features found
    there (loss ~0, nothing pulls any more) while optical flow sees the content still 1 px short. Before, the
    sub-motions repeated without progress until the stall rule ended the drag (56 steps, 'stalled'); the
    template goes back to T^0, the pull returns, and the drag arrives."""
    from drag_testing import face_model
    cfg = FreeDragConfig(seed=3, psi=0.7, max_steps=60, l=0.2, d=3.0, lr=0.01, rows=0, feature_res=32, arrival=0.5,
                         tracker="flow", warp_guard=30.0)
    s = FreeDragSession(face_model(), [[29, 35], [32, 19]], [[37, 35], [32, 14]], cfg, device="cpu")
    while not s.done:
        s.step()
    assert s.renewed > 0 and s.derived()["renewed_templates"] == s.renewed
    assert s.stop_reason == "arrived" and s.steps < 40
