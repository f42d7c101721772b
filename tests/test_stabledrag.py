"""StableDrag-GAN (stabledrag.engine): a real drag on a real network moves its handle, the
confidence-based enhancement reads the initial template exactly where the confidence is below tau,
and bad settings are one clear error."""
import pytest
import torch

from dragcore import DragInputError
from dragcore.config import StableDragConfig
from dragcore.features import disc_offsets
from dragcore.tracking import Progress
from draggan.engine import motion_loss
from drag_testing import small_G
from stabledrag import StableDragSession, enhanced_motion_loss


def test_a_stabledrag_drag_moves_its_handle_with_a_confidence():
    s = StableDragSession(small_G(), [(20, 30)], [(28, 30)], StableDragConfig(seed=1, max_steps=12, lr=0.01,
                                                                                precision="fp32"), device="cpu")
    r = s.run()
    assert r.method == "stabledrag" and r.params["tracker"] == "discriminative" and r.params["tau"] == 0.4
    assert r.handles[0][0] > 20.0 and len(r.derived["confidence"]) == 1 and 0 <= r.derived["confidence"][0] <= 1


def test_enhancement_reads_the_template_only_below_tau():
    torch.manual_seed(0)
    F0 = torch.randn(1, 8, 16, 16)
    feat = (F0 + 0.3 * torch.randn_like(F0)).requires_grad_(True)
    h0, h, t = torch.tensor([[20.0, 30.0]]), torch.tensor([[23.0, 30.0]]), torch.tensor([[40.0, 30.0]])
    disc = disc_offsets(3.0)
    plain = motion_loss(feat, h, t, disc, 64, 2.0)
    confident = enhanced_motion_loss(feat, F0, h, h0, t, disc, 64, 2.0, torch.tensor([0.9]), 0.5)
    unsure = enhanced_motion_loss(feat, F0, h, h0, t, disc, 64, 2.0, torch.tensor([0.1]), 0.5)
    assert torch.equal(confident, plain) and not torch.allclose(unsure, plain)
    unsure.backward()   # the template is a constant: the gradient reaches the current features only
    assert feat.grad is not None and feat.grad.abs().sum() > 0


@pytest.mark.parametrize("tau", [-0.1, 1.5, "x", True])
def test_bad_tau_is_one_clear_error(tau):
    with pytest.raises(DragInputError, match="tau must be a number from 0 to 1"):
        StableDragSession(small_G(), [(20, 30)], [(28, 30)], StableDragConfig(tau=tau), device="cpu")


def test_a_claimed_arrival_the_picture_does_not_show_is_rejected_with_confirm_flow():
    s = StableDragSession(small_G(), [(20, 30)], [(28, 30)], StableDragConfig(seed=1, max_steps=60, lr=0.01,
                                                                                confirm="flow", precision="fp32"),
                          device="cpu")
    s.handles, s.reached_all = s.targets.clone(), True   # a tracker that ran ahead: the content has not moved
    s._confirm_arrival()
    assert not s.reached_all and s.rejected_arrivals == 1 and s.stop_reason is None
    assert float((s.handles - s.handles0).norm()) < 2.0   # back where optical flow sees the content
    s.steps += 41   # the content still has not come closer 41 steps later: the drag ends as stalled
    s.handles, s.reached_all = s.targets.clone(), True
    s._confirm_arrival()
    assert s.stop_reason == "stalled"


def test_a_drag_whose_content_stops_coming_ends_as_stalled():
    s = StableDragSession(small_G(), [(20, 30)], [(28, 30)], StableDragConfig(seed=1, max_steps=30, lr=0.01,
                                                                                confirm="flow", precision="fp32"),
                          device="cpu")
    s.tracking.locate = lambda feat, around, force=False: s.targets.clone()   # a tracker that claims arrival at once
    s._content = Progress(steps=0)   # no patience: the first claim the picture does not show ends the drag
    r = s.run()
    assert r.stop_reason == "stalled" and r.steps == 1


def test_without_confirm_the_trackers_claim_stands():
    s = StableDragSession(small_G(), [(20, 30)], [(28, 30)], StableDragConfig(seed=1, precision="fp32"), device="cpu")
    assert s.confirm == "none"
    s.handles = s.targets.clone()
    s._track(s.F0)
    assert s.rejected_arrivals == 0


def test_bad_confirm_is_one_clear_error():
    with pytest.raises(DragInputError, match="confirm must be one of none, flow"):
        StableDragSession(small_G(), [(20, 30)], [(28, 30)], StableDragConfig(confirm="sift"), device="cpu")


def test_confirm_flow_rejects_content_half_a_pixel_short(monkeypatch):
    import stabledrag.engine as engine
    s = StableDragSession(small_G(), [(20, 30)], [(28, 30)], StableDragConfig(seed=1, max_steps=60, stop_distance=0.5,
                                                                                confirm="flow", precision="fp32"),
                          device="cpu")
    for short, rejected in ((0.8, 1), (0.3, 0)):   # where optical flow sees the content: this far before the target
        monkeypatch.setattr(engine, "content_points", lambda *a, short=short: s.targets - torch.tensor([[short, 0.0]]))
        s.handles, s.reached_all, s.rejected_arrivals = s.targets.clone(), True, 0
        s._confirm_arrival()
        assert s.rejected_arrivals == rejected and s.reached_all == (not rejected)
