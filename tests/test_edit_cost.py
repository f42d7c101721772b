"""What one edit renders and computes beyond its steps (issue 33, items 1 and 4): the start image the
caller already shows is reused, the final tracking and the final image share one generator pass, and
the content-true tracker renders and compares images only every flow_every steps."""
import numpy as np
import pytest
import torch

from dragcore import tracking
from dragcore.config import DragGANConfig
from dragcore.errors import DragInputError
from draggan import DragGANSession
from drag_testing import small_G


class CountingAdapter:
    """Counts the generator passes a session asks its (real) adapter for."""

    def __init__(self, gen):
        self.gen, self.calls = gen, {"image": 0, "image_and_features": 0, "features": 0}

    def __getattr__(self, name):
        fn = getattr(self.gen, name)
        if name in self.calls:
            def counted(*a, **k):
                self.calls[name] += 1
                return fn(*a, **k)
            return counted
        return fn


def session(G, tracker="features", steps=4, **kw):
    return DragGANSession(G, [[20, 32]], [[44, 32]], DragGANConfig(seed=3, max_steps=steps, lr=0.002, tracker=tracker), **kw)


def test_a_given_start_image_is_not_rendered_again():
    G = small_G()
    start = session(G).report.preview()
    s = session(G, start_image=start)
    s.gen = CountingAdapter(s.gen)
    assert s.report.preview() is not start and np.array_equal(s.report.preview(), start)   # a read-only copy
    assert np.array_equal(s.report.start_image(), start)
    r = s.run()
    passes = s.gen.calls["image"] + s.gen.calls["image_and_features"]
    assert passes == 1, s.gen.calls      # the final image only (the start was given)
    assert r.steps == 4 and len(r.moved) == 1


def test_the_final_tracking_reads_the_final_render():
    s = session(small_G(), steps=3)
    s.gen = CountingAdapter(s.gen)
    for _ in range(3):
        s.step()
    before = s.gen.calls["features"]
    s.sync()
    assert s.gen.calls["features"] == before and s.gen.calls["image_and_features"] == 1
    with torch.no_grad():
        assert torch.allclose(s.report.features(), s.features(s.latent), atol=1e-5)
    s.report.preview()   # the same pass: no second render
    assert s.gen.calls["image_and_features"] == 1 and s.gen.calls["image"] == 0


@pytest.mark.parametrize("bad", [np.zeros((64, 64), np.uint8), np.zeros((32, 32, 3), np.uint8),
                                 np.zeros((64, 64, 3), np.float32)])
def test_a_wrong_start_image_is_one_clear_error(bad):
    with pytest.raises(DragInputError, match="start_image"):
        session(small_G(), start_image=bad)


def test_the_flow_tracker_renders_only_every_few_steps():
    G = small_G()
    k = tracking.flow_every(G.img_resolution)
    s = session(G, "flow", steps=2 * k + 1)
    s.gen = CountingAdapter(s.gen)
    s.run()
    flows = s.tracking.flows
    assert 1 <= flows <= 3 and s.tracker_fallbacks == 0   # steps k and 2k (arrival checks aside: none here)
    assert s.gen.calls["image_and_features"] + s.gen.calls["image"] == flows + 1   # + the final image
