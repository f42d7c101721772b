"""The warp reach (dragcore.warpreach, a term of dragcore.warpguard): an envelope around each request, a penalty on
the displacement beyond it, and a drag through the warp pathway that moves what lies far from its request less with
it; it answers only for what the drag adds (a chain's earlier field is not its business); off (the default) and on a
model without a pathway it does nothing."""
import pytest
import torch

from dragcore import DragInputError, warpreach
from dragcore.config import DragGANConfig
from dragcore.localmove import ideal_move
from draggan.engine import DragGANSession
from drag_testing import small_G
from training.warp import with_warp

RES, GRID = 64, 32
TURN = (torch.tensor([[30.0, 40.0]]), torch.tensor([[36.4, 40.0]]))


@pytest.fixture(scope="module")
def warped():
    """small_G with a warp pathway after its 16 px stage (4 x 4 bumps)."""
    return with_warp(small_G(), res=16, grid=4, gain=1.0)


def shift(px_x):
    """A uniform field of px_x image px along x on the grid, in normalised units [1, GRID, GRID, 2]."""
    u = torch.zeros(1, GRID, GRID, 2)
    u[..., 0] = px_x / (RES / 2)
    return u


def ideal_field(handles, targets):
    """The ideal local move's displacement (dragcore.localmove, sigma res/8) on the grid, normalised units: read
    back from the move itself, by warping an image of x and y coordinates."""
    ys, xs = torch.meshgrid(torch.arange(RES, dtype=torch.float32), torch.arange(RES, dtype=torch.float32), indexing="ij")
    coords = torch.stack([xs, ys])[None]
    moved = ideal_move(coords, handles, targets, RES / 8)   # moved(x) = coords(x - u(x)): u = x - moved
    u = (coords - moved)[0].permute(1, 2, 0)   # [RES, RES, 2] image px
    u = u.reshape(GRID, RES // GRID, GRID, RES // GRID, 2)[:, 0, :, 0]   # one sample per grid cell's corner
    return (u / (RES / 2))[None]


def test_the_envelope_is_the_request_on_its_path_and_falls_off_away_from_it():
    m = warpreach.reach_envelope(*TURN, GRID, (RES, RES))
    on_path = m[20, 16]   # the grid cell whose centre (33, 41) px lies next to the path (30, 40) -> (36.4, 40)
    assert 6.0 < float(on_path) <= 6.4
    assert float(m[0, 0]) < 0.01 * 6.4   # a corner, 40 px away
    assert float(m[20, 4]) < float(m[20, 10]) < float(on_path)   # falls off along the row, away from the path
    assert torch.all(m >= 0)


def test_the_ideal_local_move_is_free_and_a_far_shift_is_not():
    """The ideal local move of the same request costs nothing (its fall-off is within the envelope's); a shift of
    the whole picture costs, more the larger it is; half a pixel everywhere is left free."""
    m = warpreach.reach_envelope(*TURN, GRID, (RES, RES))
    px, tol = (RES / 2, RES / 2), RES * warpreach.TOLERANCE
    cost = lambda u: float(warpreach.reach_penalty(u, m, px, 6.4, tol))   # noqa: E731
    ideal = ideal_field(*TURN)
    assert float(ideal.abs().max()) * RES / 2 > 5   # the ideal moves the nose by most of the request
    assert cost(ideal) == 0.0
    assert cost(shift(0.9 * tol)) == 0.0
    assert 0 < cost(shift(1.0)) < cost(shift(2.0))


def test_reach_keeps_a_photo_turn_s_far_field_still_and_the_nose_still_moves():
    """The bundled model's DragGAN turn (seed 5002, nose tip 6.4 px right) with a photo's settings (drags.in_photo,
    without the maps, which a generated face does not have tuned), without and with the reach term: with it the
    picture changes less farther than res/4 from the request (the far field, /255), the field's own displacement
    there shrinks, and the content at the handle still moves most of the way (optical flow)."""
    import checkpoints
    from benchmarks.report import make_session
    from drag_testing import face_model
    from drags import in_photo
    G = face_model()
    photo = in_photo.presets({"draggan": checkpoints.presets(checkpoints.DEFAULT_MODEL)["draggan"]}, G)["draggan"]
    handle, target = [28.2967, 42.1038], [34.6967, 42.1038]

    def turn(reach):
        s = make_session("draggan", G, [handle], [target], {**photo, "warp_reach": reach}, seed=5002, psi=0.7,
                         max_steps=40)
        in_photo.prepare(s, follow=False)
        while not s.done:
            s.step()
        n = G.synthesis.warp_res
        u = G.synthesis.warp.field(s.latent[:, -1], n, n)[0] * (RES / 2)   # image px
        c = (torch.arange(n, dtype=torch.float32) + 0.5) * RES / n
        y, x = torch.meshgrid(c, c, indexing="ij")
        far = warpreach.segment_distance(x, y, handle, target) > RES / 4
        r = s.report.result()
        return r.far_field, float(u.norm(dim=-1)[far].mean()), r.moved_fraction[0], s.guard.reach
    (field0, far0, _, off), (field1, far1, moved, on) = turn(0.0), turn(1000.0)
    assert off == 0 and on == 1000.0
    assert field1 < 0.75 * field0 and far1 < 0.5 * far0
    assert moved > 0.5


def test_a_chain_s_earlier_field_costs_nothing(warped):
    """A drag continued from a latent whose code already moves the picture: the term reads only what this drag adds,
    so before its first step it is zero, while the earlier field alone would cost."""
    first = DragGANSession(warped, [[28, 30]], [[34, 30]],
                           DragGANConfig(seed=2, max_steps=6, rows=0, lr=0.05))
    while not first.done:
        first.step()
    latent = first.latent
    second = DragGANSession(warped, [[40, 44]], [[40, 38]],
                            DragGANConfig(seed=2, max_steps=1, rows=0, warp_reach=1000.0), latent=latent)
    assert second.guard.active and second.guard.weight == 0 and second.guard.twist == 0
    assert float(second.guard(second._trainable).detach()) == 0.0
    u = second.guard.field(latent[:, -1])
    m, px, length, tol = second.guard._reach
    assert float(warpreach.reach_penalty(u, m, px, length, tol)) > 0   # the earlier field, judged by this request


def test_off_by_default_nothing_without_a_pathway_and_a_bad_weight_is_refused(warped, capsys, tmp_path):
    s = DragGANSession(warped, [[28, 30]], [[34, 30]], DragGANConfig(seed=2, max_steps=1, rows=0))
    assert s.guard.reach == 0 and not s.guard.active
    plain = DragGANSession(small_G(), [[28, 32]], [[34, 32]], DragGANConfig(seed=2, max_steps=1))
    assert plain.guard(plain._trainable) is None
    for name in ("warp_reach", "warp_guard", "warp_heading", "warp_twist"):   # set by hand where no field is drawn
        with pytest.raises(DragInputError, match="this model has no warp pathway"):
            DragGANSession(small_G(), [[28, 32]], [[34, 32]], DragGANConfig(seed=2, max_steps=1, **{name: 5.0}))
    with pytest.raises(DragInputError, match="warp reach must be a non-negative number"):
        DragGANSession(warped, [[28, 32]], [[34, 32]], DragGANConfig(warp_reach=-1.0))
    from drags import drag_cli
    argv = ["--seed", "1", "--point", "20,30,26,30", "--steps", "1", "--out", str(tmp_path / "o"), "--warp-reach", "-1"]
    assert drag_cli.main(DragGANSession, argv=argv) == 2
    assert "--warp-reach" in capsys.readouterr().err
