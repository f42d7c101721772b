"""The warp guard (dragcore.warpguard): a drag through the warp pathway that folds the picture without it
stays unfolded with it, and still moves the content; off, and on models without a pathway, it does nothing."""
import pytest
import torch

from dragcore import DragInputError, warpguard
from dragcore.config import DragGANConfig
from draggan.engine import DragGANSession
from drag_testing import face_model, small_G
from training.warp import with_warp


@pytest.fixture(scope="module")
def warped():
    """small_G with a warp pathway after its 16 px stage (4 x 4 bumps)."""
    return with_warp(small_G(), res=16, grid=4, gain=1.0)


def test_jacobian_of_known_fields():
    """u = 0: det 1; u = a x (a stretch along x): det 1 - a; penalty zero inside [floor, 1 / floor] only."""
    h = w = 8
    g = (torch.arange(w, dtype=torch.float32) + 0.5) * 2 / w - 1
    x = g[None, :].expand(h, w)
    u = torch.stack([0.3 * x, torch.zeros(h, w)], -1)[None]
    assert torch.allclose(warpguard.jacobian_det(torch.zeros(1, h, w, 2)), torch.ones(1, h - 2, w - 2))
    assert torch.allclose(warpguard.jacobian_det(u), torch.full((1, h - 2, w - 2), 0.7))
    assert warpguard.fold_penalty(torch.tensor([0.5, 1.0, 2.0]), floor=0.5) == 0
    assert warpguard.fold_penalty(torch.tensor([-0.5]), floor=0.5) == pytest.approx(1.0)
    assert warpguard.fold_penalty(torch.tensor([3.0]), floor=0.5) == pytest.approx(1.0)
    f = warpguard.DET_FLOOR
    assert warpguard.fold_penalty(torch.tensor([f, 1.0, 1 / f])) == 0 < warpguard.fold_penalty(torch.tensor([f - 0.1]))


def test_a_shear_keeps_the_area_but_not_the_stretch():
    """u_x = k y (a column moved sideways, the rows above and below left: what smeared the turned noses) keeps
    det J = 1, so the area term alone lets it through; its principal stretches (1 +- k/2 about) do not pass the
    stretch term, which is zero for a small rotation (stretches 1) and equals the singular values' closed form."""
    h = w = 8
    g = (torch.arange(h, dtype=torch.float32) + 0.5) * 2 / h - 1
    y, x = g[:, None].expand(h, w), g[None, :].expand(h, w)
    shear = torch.stack([0.8 * y, torch.zeros(h, w)], -1)[None]
    assert torch.allclose(warpguard.jacobian_det(shear), torch.ones(1, h - 2, w - 2))
    assert warpguard.fold_penalty(warpguard.jacobian_det(shear)) == 0 < warpguard.stretch_penalty(shear)
    lo, hi = warpguard.principal_stretches(*warpguard.jacobian(shear))
    sv = torch.linalg.svdvals(torch.tensor([[1.0, -0.8], [0.0, 1.0]]))
    assert torch.allclose(hi, sv[0].expand_as(hi), atol=1e-5) and torch.allclose(lo, sv[1].expand_as(lo), atol=1e-5)
    t = 0.1   # u = x - R^T x for a small rotation R: J = R^T
    rot = torch.stack([x - (x * torch.cos(torch.tensor(t)) + y * torch.sin(torch.tensor(t))),
                       y - (-x * torch.sin(torch.tensor(t)) + y * torch.cos(torch.tensor(t)))], -1)[None]
    assert warpguard.stretch_penalty(rot) == pytest.approx(0.0, abs=1e-10)
    fold = torch.stack([2.0 * x, torch.zeros(h, w)], -1)[None]   # J = diag(-1, 1): a mirror, s_min signed -1
    assert warpguard.principal_stretches(*warpguard.jacobian(fold))[0].max() < 0


def test_a_drag_that_folds_without_the_guard_does_not_with_it(warped):
    """The same long, fast drag through the code alone: its field folds (det < 0) unguarded; guarded, it
    does not, and the content still moves most of the way (optical flow)."""
    def run(weight):
        s = DragGANSession(warped, [[28, 32]], [[40, 32]],
                           DragGANConfig(seed=2, max_steps=17, rows=0, lr=0.05, warp_guard=weight))
        while not s.done:
            s.step()
        return s, float(warpguard.jacobian_det(warped.synthesis.warp.field(s.latent[:, -1], 16, 16)).min())
    _, det0 = run(0.0)
    guarded, det1 = run(10.0)
    assert det0 < 0 < det1
    assert guarded.report.result().moved_fraction[0] > 0.5   # optical flow: the content still came


def test_off_by_default_and_inert_without_a_pathway(warped):
    s = DragGANSession(warped, [[28, 32]], [[34, 32]], DragGANConfig(seed=2, max_steps=1, rows=0))
    assert not s.guard.active and s.guard(s._trainable) is None
    plain = DragGANSession(small_G(), [[28, 32]], [[34, 32]], DragGANConfig(seed=2, max_steps=1))
    assert not plain.guard.active       # no warp pathway (an official model): nothing to guard
    with pytest.raises(DragInputError, match="warp guard 10: this model has no warp pathway"):   # not ignored
        DragGANSession(small_G(), [[28, 32]], [[34, 32]], DragGANConfig(seed=2, max_steps=1, warp_guard=10.0))
    with pytest.raises(DragInputError, match="warp guard must be a non-negative number"):
        DragGANSession(warped, [[28, 32]], [[34, 32]], DragGANConfig(warp_guard=-1.0))


def test_the_bundled_presets_keep_a_turn_from_folding():
    """A calibration face's turn (seed 5002, the nose tip 6.4 px right; DragGAN's presets): unguarded its
    field folds (det < 0: the tear the poster-edit grids show); with the presets' guard no part of the
    picture is even magnified 2.5x in area (measured on the image's grid, finer than the guard's)."""
    import checkpoints
    from benchmarks.report import make_session
    G = face_model()
    preset = checkpoints.presets(checkpoints.DEFAULT_MODEL)["draggan"]
    assert preset["warp_guard"] > 0

    def min_det(**over):
        s = make_session("draggan", G, [[28.2967, 42.1038]], [[34.6967, 42.1038]], {**preset, **over}, seed=5002, psi=0.7,
                         max_steps=40)
        while not s.done:
            s.step()
        u = G.synthesis.warp.field(s.latent[:, -1], 64, 64)   # on the image grid, finer than the guard reads
        return float(warpguard.jacobian_det(u).min())
    unguarded, guarded = min_det(warp_guard=0.0), min_det()
    assert unguarded < 0 and guarded > 0.4


def test_the_drag_cli_takes_the_guard_and_refuses_a_bad_one(capsys, tmp_path):
    from drags import drag_cli
    argv = ["--seed", "1", "--point", "20,30,26,30", "--steps", "1", "--out", str(tmp_path / "o"), "--warp-guard", "-1"]
    assert drag_cli.main(DragGANSession, argv=argv) == 2
    assert "--warp-guard" in capsys.readouterr().err


def test_the_twist_setting_turns_the_guards_twist_term_on(warped, capsys, tmp_path):
    """`warp_twist` (a preset of the adapted section, or --warp-twist) is the guard's twist term at the ideal turn's
    angle; 0 (the default) leaves the guard as it was; a negative one is refused by name, in the session and the CLI."""
    s = DragGANSession(warped, [[28, 32]], [[34, 32]], DragGANConfig(seed=2, max_steps=1, rows=0, warp_twist=50.0))
    assert s.guard.active and (s.guard.twist, s.guard.twist_max) == (50.0, warpguard.TWIST_MAX)
    off = DragGANSession(warped, [[28, 32]], [[34, 32]], DragGANConfig(seed=2, max_steps=1, rows=0))
    assert off.guard.twist == 0 and not off.guard.active
    u = s.guard.field(s._trainable[:, -1])
    assert float(s.guard(s._trainable)) == float(50.0 * warpguard.twist_penalty(u))
    with pytest.raises(DragInputError, match="warp twist must be a non-negative number"):
        DragGANSession(warped, [[28, 32]], [[34, 32]], DragGANConfig(warp_twist=-1.0))
    from drags import drag_cli
    argv = ["--seed", "1", "--point", "20,30,26,30", "--steps", "1", "--out", str(tmp_path / "o"), "--warp-twist", "-1"]
    assert drag_cli.main(DragGANSession, argv=argv) == 2
    assert "--warp-twist" in capsys.readouterr().err



def test_the_floor_setting_sets_the_guards_band_and_unset_changes_nothing(warped, capsys, tmp_path):
    """`warp_floor` (a preset of the adapted section, or --warp-floor) is the area and stretch band [floor, 1 / floor].
    Unset (DET_FLOOR) the guard's loss and its gradient on the code are bit-identical to the band written as the
    module's constant; a wider band penalises the same field less; 1 or above, or not above 0, is refused by name."""
    from dataclasses import replace

    def loss_and_grad(cfg, old=False):
        s = DragGANSession(warped, [[28, 32]], [[40, 32]], cfg)
        code = s._trainable.detach().clone()
        code[:, -1] = 3.0 * torch.randn(code.shape[-1], generator=torch.Generator().manual_seed(0))   # a folding field
        code.requires_grad_(True)
        if old:   # the expression before the setting: DET_FLOOR read inside the penalties
            u = s.guard.field(code[:, -1])
            loss = (1.0 * (warpguard.fold_penalty(warpguard.jacobian_det(u)) + warpguard.stretch_penalty(u))
                    + 30.0 * warpguard.heading_penalty(u, *s.guard._heading))
        else:
            loss = s.guard(code)
        return s.guard, loss.detach(), torch.autograd.grad(loss, code)[0]
    base = DragGANConfig(seed=2, max_steps=1, rows=0, warp_guard=1.0, warp_heading=30.0)
    guard, unset, g_unset = loss_and_grad(base)
    assert guard.floor == warpguard.DET_FLOOR and unset > 0
    _, old, g_old = loss_and_grad(base, old=True)
    assert torch.equal(unset, old) and torch.equal(g_unset, g_old)
    _, explicit, g_explicit = loss_and_grad(replace(base, warp_floor=0.75))
    assert torch.equal(unset, explicit) and torch.equal(g_unset, g_explicit)
    wide_guard, wide, _ = loss_and_grad(replace(base, warp_floor=0.5))
    assert wide_guard.floor == 0.5 and 0 < wide < unset
    for bad in (1.0, 0.0, -0.5):
        with pytest.raises(DragInputError, match="warp floor must be"):
            DragGANSession(warped, [[28, 32]], [[34, 32]], DragGANConfig(warp_floor=bad))
    from drags import drag_cli
    argv = ["--seed", "1", "--point", "20,30,26,30", "--steps", "1", "--out", str(tmp_path / "o"), "--warp-floor", "1.5"]
    assert drag_cli.main(DragGANSession, argv=argv) == 2
    assert "--warp-floor" in capsys.readouterr().err
