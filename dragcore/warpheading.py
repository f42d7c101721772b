"""The warp heading: a drag through the warp pathway kept moving content along its request, not across it.

The warp guard (dragcore.warpguard) bounds each direction's stretch more tightly than the ideal local move
of the poster-edit benchmarks does, and a field can meet that bound by turning a shear into a local
rotation (a rotation's stretches are 1): beside a dragged point the optimiser adds a displacement *across*
the request (3-4 px across a 6.4 px turn of a 64 px face), which tilts the nose, mouth and cheek lines. On
adapted models, whose pictures have outlines, a landmark detector then stops seeing a face that the ideal
local move keeps (docs/benchmarks.md, "Drags on adapted models, session 6").

The term lives in the warp guard (dragcore.warpguard, `WarpGuard.keep_heading`), beside its fold, stretch and
twist terms and on the same field of the deformation code; this module owns its maths. Against the ideal
local move's own field v (dragcore.localmove: each handle's request carried with Gaussian weight sigma =
SIGMA of the image's height around its target):

    weight * sum_x w(x) relu(|u_perp(x)| - TOLERANCE)^2 / L^2,
    u_perp = u - (u . e) e,   e = v / |v|,   w = |v|^2 / sum |v|^2

u in image pixels on the pathway's grid, L the longest request, so the term is the displacement across the
heading as a fraction of the move. The first pixel across is free (TOLERANCE, 1 px at 64 px): without it a
smile's corners, which the pathway's coarse bumps move together with the mouth between them, took 20-100
steps instead of 4 (calibration seeds; the turns' swirl is 3-4 px). The displacement *along* the request is left to the drag; with several
handles e follows the blend of their requests (a smile's corners each keep their own heading). Off (weight
0) by default and on any model without a warp pathway; the adapted section of the bundled model turns it on
(`warp_heading`, presets/faces-64-offline.adapted.json).
"""
import torch

SIGMA = 1 / 8   # of the image's height: dragcore.localmove's Gaussian in benchmarks.poster_edits
TOLERANCE = 1 / 64   # of the image's height (1 px at 64 px): displacement across the heading left free


def grid_px(grid, shape):
    """(x, y), each [grid, grid]: the image px (x then y) of the centres of a grid x grid field over an image of
    shape (H, W)."""
    H, W = shape
    ys = (torch.arange(grid, dtype=torch.float32) + 0.5) * H / grid
    xs = (torch.arange(grid, dtype=torch.float32) + 0.5) * W / grid
    return xs[None, :].expand(grid, grid), ys[:, None].expand(grid, grid)


def heading_field(handles, targets, grid, shape, sigma=None):
    """(e, w) on a grid x grid field of an image of shape (H, W): e [grid, grid, 2] the unit heading of the
    ideal local move's displacement (x then y), w [grid, grid] its weight |v|^2 / sum |v|^2 (None, None when
    nothing moves); handles and targets [N, 2] image px; sigma image px (default SIGMA of the height)."""
    sigma = shape[0] * SIGMA if sigma is None else sigma
    x, y = grid_px(grid, shape)
    v = torch.zeros(grid, grid, 2)
    for (hx, hy), (tx, ty) in zip(handles.tolist(), targets.tolist()):
        g = torch.exp(-((x - tx) ** 2 + (y - ty) ** 2) / (2 * sigma ** 2))   # weight at the destination
        v = v + torch.stack([(tx - hx) * g, (ty - hy) * g], -1)
    mag2 = v.square().sum(-1)
    total = float(mag2.sum())
    if total <= 0:
        return None, None
    return v / mag2.sqrt().clamp_min(1e-12)[..., None], mag2 / total


def heading_penalty(u, e, w, px, length, tolerance=0.0):
    """sum_x w relu(|u_perp| - tolerance)^2 / length^2: u [1, h, w, 2] in normalised units, px the image px per
    normalised unit (x, y), length and tolerance image px."""
    u = u[0] * u.new_tensor(px)
    along = (u * e).sum(-1, keepdim=True)
    across = (u - along * e).square().sum(-1)
    if tolerance > 0:
        across = ((across + 1e-12).sqrt() - tolerance).clamp(min=0).square()
    return (w * across).sum() / length ** 2
