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

The heading term (session 6, `warp_heading`, off by default): the guard's stretch bound is stiffer than
the ideal local move, and a field can meet it by turning a shear into a local rotation (a rotation's
stretches are 1): the optimiser adds a displacement *across* the request beside the dragged point (up to
3-4 px across a 6.4 px turn of a 64 px face), which tilts the nose, mouth and cheek lines, and a
landmark detector stops seeing a face where the ideal local move keeps it (docs/benchmarks.md, "Drags
on adapted models, session 6"). The term penalises that component, measured against the ideal local
move's own field v (dragcore.localmove: each handle's request carried with Gaussian weight sigma =
res * HEADING_SIGMA around its target):

    warp_heading * sum_x w(x) |u_perp(x)|^2 / L^2,   u_perp = u - (u . e) e,  e = v / |v|,  w = |v|^2 / sum |v|^2

in image pixels, L the longest request (so the term is the off-heading displacement as a fraction of the
move). The displacement *along* the request is left to the drag; with several handles e follows the
blend of their requests (a smile's corners each keep their own heading).
"""
import torch

DET_FLOOR = 0.75   # allowed area change and stretch of the backward map: [DET_FLOOR, 1 / DET_FLOOR]
HEADING_SIGMA = 1 / 8   # of the image's height: dragcore.localmove's Gaussian in the poster-edit benchmarks


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


def fold_penalty(det, floor=None):
    """mean over the grid of relu(floor - det)^2 + relu(det - 1 / floor)^2 (floor: DET_FLOOR)."""
    floor = DET_FLOOR if floor is None else floor
    return ((floor - det).clamp(min=0).square() + (det - 1 / floor).clamp(min=0).square()).mean()


def heading_field(handles, targets, grid, shape, sigma=None):
    """(e, w) on a grid x grid field of an image of shape (H, W): e [grid, grid, 2] the unit heading of the
    ideal local move's displacement (x then y), w [grid, grid] its weight |v|^2 / sum |v|^2; handles and
    targets [N, 2] image px. sigma: image px (default HEADING_SIGMA of the height)."""
    H, W = shape
    sigma = H * HEADING_SIGMA if sigma is None else sigma
    ys = (torch.arange(grid, dtype=torch.float32) + 0.5) * H / grid   # the grid's pixel centres in image px
    xs = (torch.arange(grid, dtype=torch.float32) + 0.5) * W / grid
    y, x = ys[:, None].expand(grid, grid), xs[None, :].expand(grid, grid)
    v = torch.zeros(grid, grid, 2)
    for (hx, hy), (tx, ty) in zip(handles.tolist(), targets.tolist()):
        g = torch.exp(-((x - tx) ** 2 + (y - ty) ** 2) / (2 * sigma ** 2))   # weight at the destination
        v = v + torch.stack([(tx - hx) * g, (ty - hy) * g], -1)
    mag2 = v.square().sum(-1)
    total = float(mag2.sum())
    if total <= 0:
        return None, None
    return v / mag2.sqrt().clamp_min(1e-12)[..., None], mag2 / total


def heading_penalty(u, e, w, px, length):
    """sum_x w |u_perp|^2 / length^2: u [1, h, w, 2] normalised units, px (x, y) image px per normalised unit."""
    u = u[0] * u.new_tensor(px)
    along = (u * e).sum(-1, keepdim=True)
    return (w * (u - along * e).square().sum(-1)).sum() / length ** 2


class WarpGuard:
    """Callable on a session's trainable latent: the penalty (a 0-d tensor) or None when off.
    heading (with the session's handles, targets and image shape): the weight of the heading term."""

    def __init__(self, gen, weight, heading=0.0, handles=None, targets=None, shape=None):
        G = getattr(gen, "G", None)
        self.warp = getattr(getattr(G, "synthesis", None), "warp", None)
        self.weight = float(weight)
        self.heading = float(heading)
        pathway = self.warp is not None and getattr(gen, "code_rows", 0) > 0
        self.size = getattr(G, "synthesis", None) and G.synthesis.warp_res
        self._heading = None
        if self.heading > 0 and pathway and handles is not None and len(handles):
            length = float((targets - handles).norm(dim=1).max())
            e, w = heading_field(handles.detach().cpu(), targets.detach().cpu(), self.size, shape)
            if e is not None and length > 0:
                H, W = shape
                self._heading = (e.to(handles.device), w.to(handles.device), (W / 2, H / 2), length)
        self.active = pathway and (self.weight > 0 or self._heading is not None)

    def field(self, code):
        """u [1, h, w, 2] (normalised units) of a deformation code [1, w_dim], on the pathway's grid."""
        return self.warp.field(code, self.size, self.size)

    def __call__(self, trainable):
        """trainable: the session's trainable rows [1, rows + 1, w_dim] (the code last); None when off."""
        if not self.active or trainable.ndim != 3:
            return None
        u = self.field(trainable[:, -1])
        out = self.weight * (fold_penalty(jacobian_det(u)) + stretch_penalty(u)) if self.weight > 0 else 0
        if self._heading is not None:
            out = out + self.heading * heading_penalty(u, *self._heading)
        return out
