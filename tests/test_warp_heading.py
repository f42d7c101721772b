"""The warp heading (dragcore.warpheading, a term of dragcore.warpguard): the ideal local move's heading per grid
cell, a penalty on the displacement across it only, and a guarded drag through the warp pathway kept closer to its
heading with it; off (the default) and on a model without a pathway it does nothing. In the guard it shares one
field with the fold, stretch and twist terms, and equals the sum the two separate mechanisms gave."""
import pytest
import torch

from dragcore import DragInputError, warpguard, warpheading
from dragcore.config import DragGANConfig
from draggan.engine import DragGANSession
from drag_testing import small_G
from training.warp import with_warp


@pytest.fixture(scope="module")
def warped():
    """small_G with a warp pathway after its 16 px stage (4 x 4 bumps)."""
    return with_warp(small_G(), res=16, grid=4, gain=1.0)


def test_heading_field_follows_each_request_and_penalises_only_the_across_part():
    """The ideal local move's heading: a turn's is along +x at its target; a smile's two corners keep their own
    (out and up). A field along the heading costs nothing; the same size across it costs its share."""
    res, grid = 64, 32
    e, w = warpheading.heading_field(torch.tensor([[30.0, 40.0]]), torch.tensor([[36.4, 40.0]]), grid, (res, res))
    at = (20, 18)   # grid cell of the target (36.4, 40) px: x 36.4 / 2, y 40 / 2
    assert torch.allclose(e[at], torch.tensor([1.0, 0.0])) and w.sum() == pytest.approx(1.0)
    assert w[at] == w.max()
    handles, targets = torch.tensor([[24.0, 44.0], [40.0, 44.0]]), torch.tensor([[21.7, 41.7], [42.3, 41.7]])
    e2, _ = warpheading.heading_field(handles, targets, grid, (res, res))
    left, right = e2[21, 11], e2[21, 21]   # at each corner's target
    assert left[0] < 0 and left[1] < 0 and right[0] > 0 and right[1] < 0
    px = (res / 2, res / 2)   # image px per normalised unit
    along = torch.zeros(1, grid, grid, 2)
    along[..., 0] = 6.4 / 32
    across = torch.zeros(1, grid, grid, 2)
    across[..., 1] = 3.2 / 32   # half the request, across it
    assert warpheading.heading_penalty(along, e, w, px, 6.4) == pytest.approx(0.0, abs=1e-10)
    assert warpheading.heading_penalty(across, e, w, px, 6.4) == pytest.approx(0.25, rel=1e-4)
    # the tolerance: the first pixels across are free, the rest counts
    assert warpheading.heading_penalty(across, e, w, px, 6.4, tolerance=3.5) == pytest.approx(0.0, abs=1e-10)
    assert warpheading.heading_penalty(across, e, w, px, 6.4, tolerance=1.6) == pytest.approx(0.0625, rel=1e-3)


def test_heading_keeps_a_guarded_turn_on_its_heading(warped):
    """The same guarded drag through the code alone, with and without the heading term: with it the field's
    displacement across the request shrinks, and the content still moves most of the way (optical flow).
    Off (the default) the guard is the one it was: the same penalty, and nothing on a model without a pathway."""
    def run(heading):
        s = DragGANSession(warped, [[28, 30]], [[34, 30]],
                           DragGANConfig(seed=2, max_steps=12, rows=0, lr=0.05, warp_guard=10.0, warp_heading=heading))
        while not s.done:
            s.step()
        e, w = warpheading.heading_field(s.handles0, s.targets, s.guard.size, s.shape)
        u = s.guard.field(s.latent[:, -1].detach())
        return s, float(warpheading.heading_penalty(u, e, w, (32.0, 32.0), 6.0))
    plain, across0 = run(0.0)
    headed, across1 = run(30.0)
    assert not plain.guard.heading_active and headed.guard.heading_active
    assert across1 < 0.75 * across0   # 0.078 -> 0.050 (Adam moves each coefficient by about lr: 3 steps here)
    assert headed.report.result().moved_fraction[0] > 0.5
    s = DragGANSession(warped, [[28, 30]], [[34, 30]], DragGANConfig(seed=2, max_steps=1, rows=0, warp_heading=5.0))
    assert s.guard.heading_active and s.guard.active and s.guard.weight == 0   # the heading term alone, no fold term
    with pytest.raises(DragInputError, match="warp heading 5: this model has no warp pathway"):
        DragGANSession(small_G(), [[28, 32]], [[34, 32]], DragGANConfig(seed=2, max_steps=1, warp_heading=5.0))
    with pytest.raises(DragInputError, match="warp heading must be a non-negative number"):
        DragGANSession(warped, [[28, 32]], [[34, 32]], DragGANConfig(warp_heading=-1.0))


def test_the_drag_cli_takes_the_heading_and_refuses_a_bad_one(capsys, tmp_path):
    from drags import drag_cli
    argv = ["--seed", "1", "--point", "20,30,26,30", "--steps", "1", "--out", str(tmp_path / "o"), "--warp-heading", "-1"]
    assert drag_cli.main(DragGANSession, argv=argv) == 2
    assert "--warp-heading" in capsys.readouterr().err


@pytest.mark.parametrize("guard, twist", [(10.0, 0.0), (0.0, 0.0), (3.0, 50.0)])
def test_one_guard_equals_the_two_mechanisms_it_replaces(warped, guard, twist):
    """The guard's loss and gradient with the heading term equal what session 6 added to the engine's loss: the
    guard's fold + stretch (+ twist) terms on one field of the code, plus the separate heading mechanism's term on a
    second field of the same code (computed here from the same formulas, each on its own leaf). The loss is the same
    float; the gradient, which now flows back through one field instead of two, to float rounding."""
    s = DragGANSession(warped, [[26, 30], [38, 30]], [[22, 27], [42, 27]],
                       DragGANConfig(seed=3, max_steps=2, rows=0, lr=0.05, warp_guard=guard, warp_heading=30.0))
    s.guard.limit_twist(twist, 0.05)
    for _ in range(2):   # a code that moved: every term above zero
        s.step()
    code = s._trainable.detach().clone()
    code[..., :] += 0.02 * torch.randn(code.shape, generator=torch.Generator().manual_seed(0))
    mine = code.clone().requires_grad_(True)
    loss = s.guard(mine)
    loss.backward()

    def field(leaf):
        return warped.synthesis.warp.field(leaf[:, -1], s.guard.size, s.guard.size)
    old_guard, old_heading = code.clone().requires_grad_(True), code.clone().requires_grad_(True)
    u1, u2 = field(old_guard), field(old_heading)
    g = guard * (warpguard.fold_penalty(warpguard.jacobian_det(u1)) + warpguard.stretch_penalty(u1)) if guard else 0
    g = g + twist * warpguard.twist_penalty(u1, 0.05) if twist else g
    e, w = warpheading.heading_field(s.handles0, s.targets, s.guard.size, s.shape)
    length = float((s.targets - s.handles0).norm(dim=1).max())
    h = 30.0 * warpheading.heading_penalty(u2, e, w, (32.0, 32.0), length, 64 * warpheading.TOLERANCE)
    assert float(h) > 0 and (guard == 0 or float(g) > 0)
    (g + h).backward()
    assert float(loss) == float(g + h)
    grad = old_heading.grad if old_guard.grad is None else old_guard.grad + old_heading.grad
    assert grad.abs().max() > 0
    assert torch.allclose(mine.grad, grad, rtol=1e-5, atol=1e-7 * float(grad.abs().max()))
