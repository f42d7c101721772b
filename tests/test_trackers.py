"""Trackers as strategies (dragcore.tracking): any engine takes any tracker, on real networks; the
discriminative tracker finds an unmoved handle where its learned response peaks and the fallback rule notes a
tracker the presets do not cover."""
from types import SimpleNamespace

import pytest
import torch

from drags.engines import ENGINES
from dragcore import tracking
from dragcore.config import with_presets
from drag_testing import small_G


@pytest.mark.parametrize("engine", ["draggan", "freedrag"])
@pytest.mark.parametrize("tracker", tracking.TRACKERS)
def test_any_engine_takes_any_tracker(engine, tracker):
    e = ENGINES[engine]
    s = e.session(small_G(), [(20, 30)], [(26, 30)], e.config(seed=1, max_steps=3, tracker=tracker, precision="fp32"),
                  device="cpu")
    r = s.run()
    assert type(s.tracking).__name__.lower().startswith(tracker[:4]) and r.params["tracker"] == tracker
    assert r.steps >= 1 and all(0.0 <= c <= 1.0 for c in s.tracking.confidence.tolist())


def test_discriminative_tracker_finds_the_unmoved_handle_with_its_best_response():
    s = ENGINES["draggan"].session(small_G(), [(20, 30), (40, 20)], [(26, 30), (40, 26)],
                                   ENGINES["draggan"].config(seed=2, tracker="discriminative"), device="cpu")
    found = s.tracking.locate(s.F0, s.handles0)
    assert torch.equal(found, s.handles0) and (s.tracking.confidence > 0.2).all()
    _, response, _ = s.tracking.scores(s.F0, s.handles0)   # the learned filter answers most on the handle
    centre = len(s.tracking.window) // 2
    assert (response.argmax(dim=1) == centre).all()


def test_a_tracker_the_presets_do_not_cover_falls_back_to_features_and_says_so():
    assert tracking.covered("flow", "flow") == ("flow", None)
    assert tracking.covered("features", "flow") == ("features", None)
    cfg = with_presets("draggan", {"tracker": "flow"}, tracker="discriminative")
    assert cfg.tracker == "features" and "'discriminative' is not calibrated" in cfg.fallback


def test_discriminative_tracker_jumps_to_a_look_alike_far_less_often_than_the_nearest_neighbour():
    """40 smooth random feature maps (read at image size, 64 px image, 32 px feature block, as a generator's),
    each with a noisy copy of the handle's 3 x 3 patch 3 px beside it and noise on the current features."""
    g = torch.Generator().manual_seed(0)
    hx, hy, gap = 30, 30, 3
    jumps = {"features": 0, "discriminative": 0}
    for _ in range(40):
        F0 = torch.nn.functional.interpolate(torch.randn(1, 16, 16, 16, generator=g), size=(64, 64), mode="bilinear")
        patch = F0[..., hy - 1:hy + 2, hx - 1:hx + 2]
        F0[..., hy - 1:hy + 2, hx + gap - 1:hx + gap + 2] = patch + 0.1 * patch.std() * torch.randn(patch.shape, generator=g)
        now = F0 + 0.2 * F0.std() * torch.randn(F0.shape, generator=g)
        view = SimpleNamespace(F0=F0, handles0=torch.tensor([[float(hx), float(hy)]]), shape=(64, 64), res=64,
                               feature_res=32, device=F0.device, steps=1)
        for name in jumps:
            x, y = tracking.make(name, view, radius_px=6.0).locate(now, view.handles0)[0].tolist()
            jumps[name] += (x - hx - gap) ** 2 + (y - hy) ** 2 < (x - hx) ** 2 + (y - hy) ** 2
    assert jumps["features"] >= 6 and jumps["discriminative"] <= jumps["features"] // 3, jumps
