"""Trackers as strategies (dragcore.tracking): any engine takes any tracker, on real networks; the
discriminative tracker finds an unmoved handle where its learned response peaks and the fallback rule notes a
tracker the presets do not cover."""
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
