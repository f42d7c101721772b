"""What a drag changed that it should not have: figures from the start and result images alone.

A drag should move what it grabs and leave the rest of the picture as it was. Every drag report
(the CLI's result.json, the app's table, the benchmarks) carries, in /255 units:

    colour_cast  the largest per-channel change of the image's mean colour
                 (a face turned olive reads high; a local move of a feature reads near 0)
    far_field    the mean |change| over the pixels and channels farther than res/4 from every
                 handle and target (res = the image height); None when no pixel is that far

An ideal local move of the content (benchmarks.poster_edits) changes the far field by ~0.4/255
and the mean colour by ~0.7/255 on the bundled model's faces.

Beside the far field, every report with the dense flow at hand (the drag reports, which measure
the motion with it; the benchmarks) carries the far field after motion (`far_residual`; a drag
report's `far_after_motion`): the same mean over the same far pixels, of |start - the result
sampled where each start pixel's content went| (the dense optical flow start -> result of dragcore.motion, bilinear), far pixels
whose content left the image left out. A drag that turns a whole head moves the eyes and the
mouth's corners a little with the nose: the raw far field counts that motion as change, the
residual does not, and what is left is what the far region lost or gained (blur, blotches, a
colour change). What it cannot see: every change that reads as a motion reads as no damage, so
damage that looks like one (a feature sliding where it should not, a far region stretched)
is hidden, and must be judged by the raw far field or by eye; where the flow itself is wrong
(hair, plain background, an occlusion) the residual reads flow error as damage; and the bilinear
sampling at fractional offsets softens fine detail, so even a pure sub-pixel motion of a detailed
picture reads above 0 (its size on real photos: docs/benchmarks.md, session 12).
"""
import numpy as np

FAR = 0.25   # far field: farther than this fraction of the image height from every point


def colour_cast(start, result):
    """max_c |mean(result_c) - mean(start_c)| in /255 units (HxWx3 uint8 arrays)."""
    a, b = (np.asarray(x, np.float64).reshape(-1, np.asarray(x).shape[-1]) for x in (start, result))
    return float(np.abs(b.mean(0) - a.mean(0)).max())


def far_mask(shape, points, radius):
    """Bool [H, W]: pixels farther than `radius` px from every (x, y) in points."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w]
    far = np.ones((h, w), bool)
    for x, y in points:
        far &= (xs - x) ** 2 + (ys - y) ** 2 > radius ** 2
    return far


def far_field(start, result, points, frac=FAR):
    """Mean |result - start| over the far-field pixels (/255), or None if none is far enough."""
    a, b = np.asarray(start, np.float64), np.asarray(result, np.float64)
    far = far_mask(a.shape[:2], points, frac * a.shape[0])
    if not far.any():
        return None
    return float(np.abs(b - a)[far].mean())


def warp_back(result, flow):
    """(result sampled at each start pixel's flow destination [H, W, C] float64, bool [H, W]: destination inside
    the image). flow [H, W, 2] in px: the content at start pixel (x, y) is at (x, y) + flow in the result."""
    import cv2
    b = np.asarray(result, np.float32)
    h, w = b.shape[:2]
    f = np.asarray(flow, np.float32)
    if f.shape != (h, w, 2):
        raise ValueError(f"flow must be [{h}, {w}, 2] for a {w}x{h} image, got {list(f.shape)}")
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    mx, my = xs + f[..., 0], ys + f[..., 1]
    inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    warped = cv2.remap(b, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return warped.reshape(b.shape).astype(np.float64), inside


def far_residual(start, result, points, flow=None, frac=FAR):
    """The far field after motion (/255): mean |start - result warped back by the flow start -> result| over the
    far-field pixels whose content stayed in the image; None if there are none. `flow`: the dense flow
    (dragcore.motion.dense_flow(start, result)) when the caller has it, else computed here."""
    a = np.asarray(start, np.float64)
    if flow is None:
        from .motion import dense_flow
        flow = dense_flow(np.asarray(start), np.asarray(result))
    warped, inside = warp_back(result, flow)
    far = far_mask(a.shape[:2], points, frac * a.shape[0]) & inside
    if not far.any():
        return None
    return float(np.abs(warped - a)[far].mean())


def _rounded(value):
    return None if value is None else round(value, 2)


def measure(start, result, points, flow=None):
    """{colour_cast, far_field} of a drag whose handles and targets are `points` [[x, y], ...]; with `flow` (the
    dense flow start -> result) also far_after_motion (far_residual on that flow)."""
    out = dict(colour_cast=round(colour_cast(start, result), 2), far_field=_rounded(far_field(start, result, points)))
    if flow is not None:
        out["far_after_motion"] = _rounded(far_residual(start, result, points, flow=flow))
    return out
