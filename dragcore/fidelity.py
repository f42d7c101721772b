"""What a drag changed that it should not have: two figures from the start and result images alone.

A drag should move what it grabs and leave the rest of the picture as it was. Every drag report
(the CLI's result.json, the app's table, the benchmarks) carries, in /255 units:

    colour_cast  the largest per-channel change of the image's mean colour
                 (a face turned olive reads high; a local move of a feature reads near 0)
    far_field    the mean |change| over the pixels and channels farther than res/4 from every
                 handle and target (res = the image height); None when no pixel is that far

An ideal local move of the content (benchmarks.poster_edits) changes the far field by ~0.4/255
and the mean colour by ~0.7/255 on the bundled model's faces.
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


def measure(start, result, points):
    """{colour_cast, far_field} of a drag whose handles and targets are `points` [[x, y], ...]."""
    ff = far_field(start, result, points)
    return dict(colour_cast=round(colour_cast(start, result), 2), far_field=None if ff is None else round(ff, 2))
