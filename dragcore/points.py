"""Handle/target points: validation into tensors, and distances.

Points are (x, y) in image pixels of the generator's output, pixel centres at integers, so a
valid point of an H x W image has x in [0, W - 1] and y in [0, H - 1]. Sub-pixel (float) points
are allowed.
"""
import math

import torch

from .errors import DragInputError
from .features import as_shape


def _as_pairs(name, points):
    if points is None:
        return []
    if isinstance(points, torch.Tensor):
        points = points.detach().cpu().tolist()
    try:
        pts = [list(p) for p in points]
    except TypeError:
        raise DragInputError(f"{name} must be a list of (x, y) pairs, got {points!r}") from None
    for i, p in enumerate(pts):
        if len(p) != 2:
            raise DragInputError(f"{name}[{i}] must be an (x, y) pair, got {p!r}")
        try:
            pts[i] = [float(p[0]), float(p[1])]
        except (TypeError, ValueError):
            raise DragInputError(f"{name}[{i}] must be numeric, got {p!r}") from None
    return pts


def validate_points(handles, targets, shape, device="cpu"):
    """-> (handles [N, 2], targets [N, 2]) float32 tensors on device; DragInputError if unusable.
    `shape`: the image's (height, width), or an int for a square image."""
    H, W = as_shape(shape)
    h, t = _as_pairs("handles", handles), _as_pairs("targets", targets)
    if not h and not t:
        raise DragInputError("no points: give at least one handle with its target")
    if len(h) != len(t):
        raise DragInputError(f"every handle needs a target: got {len(h)} handles and {len(t)} targets")
    for name, pts in (("handle", h), ("target", t)):
        for i, (x, y) in enumerate(pts):
            if not (math.isfinite(x) and math.isfinite(y)):
                raise DragInputError(f"{name} {i} is not finite: ({x}, {y})")
            if not (0 <= x <= W - 1 and 0 <= y <= H - 1):
                where = f"valid: 0..{W - 1}" if H == W else f"height x width; valid: x 0..{W - 1}, y 0..{H - 1}"
                raise DragInputError(f"{name} {i} ({x:g}, {y:g}) is outside the {H}x{W} image ({where})")
    as_t = lambda pts: torch.tensor(pts, dtype=torch.float32, device=device).reshape(-1, 2)
    return as_t(h), as_t(t)


def distances(a, b):
    """Euclidean distance per point, [N]."""
    return (a - b).norm(dim=-1)


def to_list(points):
    """[N, 2] tensor -> [[x, y], ...] of Python floats (JSON-ready)."""
    return [[round(float(x), 3), round(float(y), 3)] for x, y in points.detach().cpu().tolist()]
