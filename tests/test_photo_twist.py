"""The warp guard's twist term (dragcore.warpguard), what a drag of an inverted photo gets (drags.in_photo.prepare):
a local rotation, which the area and stretch terms cannot see, is bounded; the ideal local move's turn passes it;
a generated face's turn, whose field swirls around the nose without it, swirls less with it and still moves;
StableDrag's photo drags get it too since session 8, with the warp guard (docs/benchmarks.md, "Your own photo,
sessions 6 and 8")."""
import math

import pytest
import torch

from dragcore import warpguard
from drag_testing import face_model
from drags import in_photo


def _rotation_field(t, h=16, w=16):
    """u of a rotation by t (rad) about the centre: the backward map x - u(x) = R(-t) x, so J = R(-t)."""
    g = (torch.arange(h, dtype=torch.float32) + 0.5) * 2 / h - 1
    y, x = g[:, None].expand(h, w), g[None, :].expand(h, w)
    c, s = math.cos(t), math.sin(t)
    return torch.stack([x - (c * x + s * y), y - (-s * x + c * y)], -1)[None]


def test_a_rotation_is_seen_by_the_twist_term_only():
    rot = _rotation_field(0.5)
    assert torch.allclose(warpguard.rotation(*warpguard.jacobian(rot)).abs(), torch.full((1, 14, 14), 0.5), atol=1e-4)
    assert warpguard.fold_penalty(warpguard.jacobian_det(rot)) == 0
    assert warpguard.stretch_penalty(rot) == pytest.approx(0.0, abs=1e-8)
    assert warpguard.twist_penalty(rot) == pytest.approx((0.5 - warpguard.TWIST_MAX) ** 2, rel=1e-3)
    assert warpguard.twist_penalty(_rotation_field(0.2)) == 0


def test_the_ideal_local_moves_turn_passes():
    """A Gaussian of sigma res/8 carrying a point res/10 sideways (the benchmarks' ideal turn) on a 32 px grid."""
    n = 32
    ys, xs = torch.meshgrid(torch.arange(n, dtype=torch.float32), torch.arange(n, dtype=torch.float32), indexing="ij")
    g = torch.exp(-((xs - 16) ** 2 + (ys - 20) ** 2) / (2 * (n / 8) ** 2))
    u = torch.stack([n / 10 * g * 2 / n, torch.zeros_like(g)], -1)[None]
    assert float(warpguard.rotation(*warpguard.jacobian(u)).abs().max()) < warpguard.TWIST_MAX
    assert warpguard.twist_penalty(u) == 0


def test_a_turn_swirls_less_with_the_photo_paths_guard():
    """The bundled model's DragGAN turn (seed 5002, nose tip 6.4 px right, its presets), plain and as a photo drag
    (in_photo.prepare without the maps, which a generated face does not have tuned): the field's largest local
    rotation drops under the ideal turn's (warpguard.TWIST_MAX) from over twice that, and the content still moves
    most of the way."""
    import checkpoints
    from benchmarks.report import make_session
    G = face_model()
    preset = checkpoints.presets(checkpoints.DEFAULT_MODEL)["draggan"]

    def turn(photo):
        own = in_photo.presets({"draggan": preset}, G)["draggan"] if photo else preset   # a photo's settings
        s = make_session("draggan", G, [[28.2967, 42.1038]], [[34.6967, 42.1038]], own, seed=5002, psi=0.7,
                         max_steps=40)
        if photo:
            assert in_photo.prepare(s, follow=False) is None and s.guard.active
            assert (s.guard.twist, s.guard.twist_max) == (in_photo.SETTINGS["draggan"]["warp_twist"], in_photo.TWIST_MAX)
        while not s.done:
            s.step()
        u = G.synthesis.warp.field(s.latent[:, -1], G.synthesis.warp_res, G.synthesis.warp_res)
        return float(warpguard.rotation(*warpguard.jacobian(u)).abs().max()), s.report.result().moved_fraction[0]
    (plain, _), (photo, moved) = turn(False), turn(True)
    assert plain > 2 * warpguard.TWIST_MAX and photo < warpguard.TWIST_MAX
    assert moved > 0.7
    sd = make_session("stabledrag", G, [[28.2967, 42.1038]], [[34.6967, 42.1038]],
                      in_photo.presets(checkpoints.presets(checkpoints.DEFAULT_MODEL), G)["stabledrag"], seed=5002,
                      psi=0.7, max_steps=1)
    in_photo.prepare(sd, follow=False)   # StableDrag's photo drags: the code alone, guarded (session 8), its own
    # lighter twist term (session 15) under the same angle
    assert (sd.guard.weight, sd.guard.twist, sd.guard.twist_max) == (1.0, 30.0, in_photo.TWIST_MAX) and sd.guard.active
