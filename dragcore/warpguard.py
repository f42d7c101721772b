"""The warp guard: a drag through the warp pathway (stylegan.warp) may stretch, squeeze, never fold.

A drag on a model with a warp pathway moves content by optimising the deformation code, and Adam
steps every bump coefficient by about the learning rate however small its gradient is: the bumps
around a dragged point end up with uneven displacements, the field's backward map x -> x - u(x)
folds over itself (its Jacobian determinant goes negative) and the picture shows it as a tear or a
swirl (the nose of a turned face smeared into a loop), or magnifies a small patch into a bulge.

`WarpGuard(gen, weight)` is a penalty on the deformation code alone, added to an engine's loss:

    weight * mean_x [ relu(DET_FLOOR - det J(x))^2 + relu(det J(x) - 1 / DET_FLOOR)^2 ],
    J = I - grad u   (the backward map's Jacobian, dimensionless, on the pathway's own grid)

zero while every part of the picture is magnified or shrunk by at most 1 / DET_FLOOR in area,
growing as the field approaches a fold. DET_FLOOR 0.75 is stiffer than the ideal local move of
benchmarks.poster_edits (a Gaussian of sigma res/8 carrying a point res/10 reaches 0.5): a guarded
drag spreads a move over a wider area than the bumps around the handle alone (0.5 still let the
turns tear on the calibration seeds; docs/benchmarks.md, session 3). It reads
nothing of the features or the image, so it costs one small field per step. Off (weight 0) by
default and on any model without a warp pathway (the official ones): there it is exactly zero and
adds nothing to the graph; a model's presets turn it on (`warp_guard`).
"""

DET_FLOOR = 0.75   # allowed area change of the backward map: [DET_FLOOR, 1 / DET_FLOOR]


def jacobian_det(u):
    """det(I - grad u) at the interior points of u [N, h, w, 2] (normalised units, x then y, on a grid of
    h x w pixel centres of [-1, 1]^2): central differences, -> [N, h - 2, w - 2]."""
    h, w = u.shape[1], u.shape[2]
    dx = (u[:, 1:-1, 2:] - u[:, 1:-1, :-2]) * (w / 4)   # d u / d x: 2 pixels apart, a pixel is 2 / w
    dy = (u[:, 2:, 1:-1] - u[:, :-2, 1:-1]) * (h / 4)
    return (1 - dx[..., 0]) * (1 - dy[..., 1]) - dx[..., 1] * dy[..., 0]


def fold_penalty(det, floor=None):
    """mean over the grid of relu(floor - det)^2 + relu(det - 1 / floor)^2 (floor: DET_FLOOR)."""
    floor = DET_FLOOR if floor is None else floor
    return ((floor - det).clamp(min=0).square() + (det - 1 / floor).clamp(min=0).square()).mean()


class WarpGuard:
    """Callable on a session's trainable latent: the penalty (a 0-d tensor) or None when off."""

    def __init__(self, gen, weight):
        G = getattr(gen, "G", None)
        self.warp = getattr(getattr(G, "synthesis", None), "warp", None)
        self.weight = float(weight)
        self.active = self.weight > 0 and self.warp is not None and getattr(gen, "code_rows", 0) > 0
        self.size = getattr(G, "synthesis", None) and G.synthesis.warp_res

    def field(self, code):
        """u [1, h, w, 2] (normalised units) of a deformation code [1, w_dim], on the pathway's grid."""
        return self.warp.field(code, self.size, self.size)

    def __call__(self, trainable):
        """trainable: the session's trainable rows [1, rows + 1, w_dim] (the code last); None when off."""
        if not self.active or trainable.ndim != 3:
            return None
        return self.weight * fold_penalty(jacobian_det(self.field(trainable[:, -1])))
