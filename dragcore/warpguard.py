"""The warp guard: a drag through the warp pathway (stylegan.warp) may stretch and squeeze a little, never fold or shear.

A drag on a model with a warp pathway moves content by optimising the deformation code, and Adam
steps every bump coefficient by about the learning rate however small its gradient is: the bumps
around a dragged point end up with uneven displacements, the field's backward map x -> x - u(x)
folds over itself (its Jacobian determinant goes negative) and the picture shows it as a tear or a
swirl (the nose of a turned face smeared into a loop), or magnifies a small patch into a bulge.

`WarpGuard(gen, weight)` is a penalty on the deformation code alone, added to an engine's loss:

    weight * mean_x [ relu(DET_FLOOR - det J(x))^2 + relu(det J(x) - 1 / DET_FLOOR)^2        (area)
                    + relu(DET_FLOOR - s_min(x))^2 + relu(s_max(x) - 1 / DET_FLOOR)^2 ]     (stretch)
    J = I - grad u   (the backward map's Jacobian, dimensionless, on the pathway's own grid)

s_min <= s_max are J's principal stretches (its singular values, s_min signed: negative where the map
folds). The area term keeps every part of the picture from being magnified or shrunk by more than
1 / DET_FLOOR in area, growing as the field approaches a fold. The stretch term (session 4) also bounds
the stretch along every direction, which the area cannot see: a shear (the nose column moved sideways
while the pixels above and below it stay) keeps det J = 1, so under the area term alone a turn smeared
the nose into a streak or a long bent bulge, where the ideal local move carries the region around it
along. DET_FLOOR 0.75 is stiffer than the ideal local move of benchmarks.poster_edits (a Gaussian of
sigma res/8 carrying a point res/10 reaches det 0.52 and s_max 1.48): a guarded drag spreads a move over
a wider area than the bumps around the handle alone (0.5 still let the turns tear on the calibration
seeds; docs/benchmarks.md, sessions 3 and 4). It reads nothing of the features or the image, so it
costs one small field per step. Off (weight 0) by default and on any model without a warp pathway (the
official ones): there it is exactly zero and adds nothing to the graph; a model's presets turn it on
(`warp_guard`).

The twist term (`WarpGuard.limit_twist`, off unless a caller turns it on: a drag of an inverted photo,
drags.in_photo) bounds the local rotation of the backward map, the angle of J's polar decomposition:

    twist * mean_x relu(|atan2(c - b, a + d)| - TWIST_MAX)^2

A rotation has det 1 and both stretches 1, so neither term above sees it; Adam steps the code's
coordinates that the request barely reads (a turn's vertical ones) by about the learning rate too, and the
field around a dragged nose swirls. On a sharp photo the swirl twists the lips and breaks the glasses (a
pure warp of the start image by the drag's field shows it: docs/benchmarks.md, "Your own photo, session
6"). TWIST_MAX is the most the ideal local move of a turn rotates the picture locally (a Gaussian of sigma
res/8 carrying a point res/10: 0.24 rad).

The heading term (`WarpGuard.keep_heading`, the session turns it on from the setting `warp_heading`: the
adapted section's, dragcore.warpheading for its maths) bounds the field's displacement *across* the ideal
local move's heading beyond a pixel. The terms share one field of the code per step: the guard's loss is

    weight * (area + stretch) + twist * (twist term) + heading * (heading term)

each term present only when its weight is above 0, and the reach term (`WarpGuard.keep_reach`, dragcore.warpreach for
its maths; the setting `warp_reach`) adds `reach * (reach term)` on the displacement the drag adds beyond an envelope
around its request, so what lies far from the request stays where it was.

The band of the area and stretch terms is a setting (`warp_floor`, `WarpGuard(gen, weight, floor)`): DET_FLOOR when
unset, the same operations on the same numbers. A model may need another: a line drawing's strokes carry the
picture where a photo's shading does, so the band that keeps a photo's turn from tearing spreads a sketch's move
over half the page (the adapted section's, docs/benchmarks.md "Drags on adapted models, session 8").
"""
import torch

from . import warpreach
from .protocol import warp_of
from .warpheading import TOLERANCE, heading_field, heading_penalty

DET_FLOOR = 0.75   # allowed area change and stretch of the backward map: [DET_FLOOR, 1 / DET_FLOOR]
TWIST_MAX = 0.24   # rad: the local rotation the twist term lets through (the ideal local move's turn)


def jacobian_det(u):
    """det(I - grad u) at the interior points of u [N, h, w, 2] (normalised units, x then y, on a grid of
    h x w pixel centres of [-1, 1]^2): central differences, -> [N, h - 2, w - 2]."""
    a, b, c, d = jacobian(u)
    return a * d - b * c


def jacobian(u):
    """(a, b, c, d): the entries [[a, b], [c, d]] of J = I - grad u at the interior points of u (as
    jacobian_det), each [N, h - 2, w - 2]."""
    h, w = u.shape[1], u.shape[2]
    dx = (u[:, 1:-1, 2:] - u[:, 1:-1, :-2]) * (w / 4)   # d u / d x: 2 pixels apart, a pixel is 2 / w
    dy = (u[:, 2:, 1:-1] - u[:, :-2, 1:-1]) * (h / 4)
    return 1 - dx[..., 0], -dy[..., 0], -dx[..., 1], 1 - dy[..., 1]


def principal_stretches(a, b, c, d):
    """(s_min, s_max): the singular values of [[a, b], [c, d]] (closed form for 2 x 2), s_min signed as the
    determinant (negative where the map folds). A tiny epsilon keeps the square roots differentiable."""
    p = ((a + d).square() + (c - b).square() + 1e-12).sqrt()
    q = ((a - d).square() + (b + c).square() + 1e-12).sqrt()
    return (p - q) / 2, (p + q) / 2


def stretch_penalty(u, floor=None):
    """mean over the grid of relu(floor - s_min)^2 + relu(s_max - 1 / floor)^2 (floor: DET_FLOOR)."""
    floor = DET_FLOOR if floor is None else floor
    lo, hi = principal_stretches(*jacobian(u))
    return ((floor - lo).clamp(min=0).square() + (hi - 1 / floor).clamp(min=0).square()).mean()


def rotation(a, b, c, d):
    """The angle (rad) of the rotation R in the polar decomposition [[a, b], [c, d]] = R S (S symmetric)."""
    return torch.atan2(c - b, a + d)


def twist_penalty(u, max_angle=None):
    """mean over the grid of relu(|rotation| - max_angle)^2 (max_angle: TWIST_MAX)."""
    max_angle = TWIST_MAX if max_angle is None else max_angle
    return (rotation(*jacobian(u)).abs() - max_angle).clamp(min=0).square().mean()


def fold_penalty(det, floor=None):
    """mean over the grid of relu(floor - det)^2 + relu(det - 1 / floor)^2 (floor: DET_FLOOR)."""
    floor = DET_FLOOR if floor is None else floor
    return ((floor - det).clamp(min=0).square() + (det - 1 / floor).clamp(min=0).square()).mean()


class WarpGuard:
    """Callable on a session's trainable latent: the penalty (a 0-d tensor) or None when off."""

    def __init__(self, gen, weight, floor=DET_FLOOR):
        G = getattr(gen, "G", None)
        self.warp = warp_of(gen)
        self.weight = float(weight)
        self.floor = float(floor)   # the area and stretch band: [floor, 1 / floor]
        self._has_code = self.warp is not None and getattr(gen, "code_rows", 0) > 0
        self.size = getattr(G, "synthesis", None) and G.synthesis.warp_res
        self.twist, self.twist_max = 0.0, TWIST_MAX
        self.heading, self._heading = 0.0, None   # its weight; (e, w, px, length, tolerance) when on
        self.reach, self._reach = 0.0, None   # its weight; (m, px, length, tolerance) when on
        self._reach_start = None   # the drag's start code: its field (an earlier drag's) is not the term's business
        self._update()

    def _update(self):
        self.active = self._has_code and (self.weight > 0 or self.twist > 0 or self._heading is not None
                                          or self._reach is not None)

    def limit_twist(self, weight, max_angle=TWIST_MAX):
        """Turn the twist term on (weight > 0) or off: bound the field's local rotation to max_angle (rad)."""
        self.twist, self.twist_max = float(weight), float(max_angle)
        self._update()
        return self

    def keep_heading(self, weight, handles, targets, shape):
        """Turn the heading term on (weight > 0) or off: penalise the field's displacement across the ideal local
        move's heading for these requests (handles, targets [N, 2] image px; shape (H, W)) beyond TOLERANCE of H."""
        self.heading, self._heading = float(weight), None
        if self.heading > 0 and self._has_code and len(handles):
            length = float((targets - handles).norm(dim=1).max())
            e, w = heading_field(handles.detach().cpu(), targets.detach().cpu(), self.size, shape)
            if e is not None and length > 0:
                H, W = shape
                self._heading = (e.to(handles.device), w.to(handles.device), (W / 2, H / 2), length, H * TOLERANCE)
        self._update()
        return self

    def keep_reach(self, weight, handles, targets, shape, start=None, sigma=None):
        """Turn the reach term on (weight > 0) or off: penalise the displacement the drag adds beyond the envelope
        of these requests (dragcore.warpreach; handles, targets [N, 2] image px; shape (H, W); start: the drag's
        start code [1, w_dim], whose field an earlier drag of a chain left and this one does not answer for, None
        for none; sigma: the envelope's fall-off in image px, default warpreach.SIGMA of H)."""
        self.reach, self._reach, self._reach_start = float(weight), None, None
        if self.reach > 0 and self._has_code and len(handles):
            length = float((targets - handles).norm(dim=1).max())
            if length > 0:
                H, W = shape
                m = warpreach.reach_envelope(handles.detach().cpu(), targets.detach().cpu(), self.size, shape, sigma)
                self._reach_start = None if start is None else start.detach().clone()
                self._reach = (m.to(handles.device), (W / 2, H / 2), length, H * warpreach.TOLERANCE)
        self._update()
        return self

    @property
    def heading_active(self):
        """The heading term is on (a weight above 0, a pathway, a request that moves)."""
        return self._heading is not None

    def field(self, code):
        """u [1, h, w, 2] (normalised units) of a deformation code [1, w_dim], on the pathway's grid."""
        return self.warp.field(code, self.size, self.size)

    def __call__(self, trainable):
        """trainable: the session's trainable rows [1, rows + 1, w_dim] (the code last); None when off."""
        if not self.active or trainable.ndim != 3:
            return None
        u = self.field(trainable[:, -1])   # once per step, for every term
        loss = (self.weight * (fold_penalty(jacobian_det(u), self.floor) + stretch_penalty(u, self.floor))
                if self.weight > 0 else 0)
        loss = loss + self.twist * twist_penalty(u, self.twist_max) if self.twist > 0 else loss
        if self._reach is not None:   # the field is linear in the code: what this drag added is field(code - start)
            added = u if self._reach_start is None else self.field(trainable[:, -1] - self._reach_start)
            loss = loss + self.reach * warpreach.reach_penalty(added, *self._reach)
        return loss + self.heading * heading_penalty(u, *self._heading) if self._heading is not None else loss
