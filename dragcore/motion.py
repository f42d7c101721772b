"""What moved: an independent measure of the motion a drag produced, from the two images alone.

The engines report where *they* think each handle is (DragGAN: the point it tracked; FreeDrag:
the point of the line it supervised). Neither says whether the content under the handle moved
in the picture: a tracker can run ahead of the content, and FreeDrag's template can drift onto
whatever is at its current point. So every drag is also judged by dense optical flow between
the start image and the result, computed by OpenCV (DIS), which knows nothing of the engines.

Per point: the flow field is read around the *start* handle with a Gaussian-weighted median
(robust to the odd wrong flow vector at an edge) of the x and y components over a disc; that is
where the content at the handle went. Reported:
    moved        [dx, dy]  image px
    moved_px     |moved|
    moved_fraction  (moved . u) / |t - h0|, u the unit vector of the request: the part of the
                 requested way the content went (1 = all of it, 0 = nothing, < 0 = backwards);
                 None for a zero-length request (no direction to move along).

Flow settings (`FLOW`): small images are upscaled (bicubic) to at least 512 px before the flow
(DIS works on 8 px patches from its second-finest pyramid level: on a 64 px face that is far
too coarse), DIS preset MEDIUM (with its variational refinement), the flow averaged back onto
the image's pixels, read in a disc of radius 3 % of the image (min 2 px), Gaussian sigma =
radius / 2. Chosen and validated on synthetic warps of real faces
of the bundled 64 px model with a known displacement field (`synthetic_warp`):
`python -m benchmarks.motion_accuracy` (results: benchmarks/results/motion_accuracy.md).
Measured there (96 warps of 12 faces, content moved 1-13 px): error of the measured vector
median 0.12 px, 90th percentile 0.20 px, max 0.43 px; error of moved_fraction for moves of
>= 3 px median 0.014, p90 0.035, max 0.061. Zero motion: identical images read exactly 0; the
same face with only its colour changed (fine style rows of another seed) reads 0.05 px median,
0.17 px max. Without the upscale DIS is off by 1.9 px median; Farneback and DIS ultrafast have
outliers of 11-16 px. About 75 ms per 64 px pair on one CPU thread.

What it cannot see: a change that is not a motion (a feature fading out here and appearing
there) reads as little or no motion, which is the honest answer to "did the content move".
"""
import math

import numpy as np

from stylegan.imageops import to_uint8

from .errors import MotionError


FLOW = dict(min_size=512, preset="medium", radius_frac=0.03, min_radius=2.0)
_PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}


def _as_uint8(img):
    """HxWx3 (or HxW) uint8 array, or a [1, 3, H, W] / [3, H, W] tensor in [-1, 1] -> HxWx3 uint8."""
    if hasattr(img, "detach"):  # a torch tensor from a generator
        t = img.detach().float().cpu()
        if t.ndim == 4:
            if t.shape[0] != 1:
                raise MotionError(f"expected one image, got a batch of {t.shape[0]}")
            t = t[0]
        if t.ndim != 3:
            raise MotionError(f"expected an image tensor [1, C, H, W], got shape {list(img.shape)}")
        img = to_uint8(t)
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] in (1, 3, 4):
        a = a[..., :3] if a.shape[2] != 1 else a[..., 0]
    if a.ndim not in (2, 3) or min(a.shape[:2]) < 4:
        raise MotionError(f"expected an HxWx3 image, got shape {list(a.shape)}")
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    return a


def _gray(a):
    import cv2
    return a if a.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY)


def dense_flow(start, result, *, min_size=None, preset=None):
    """Flow [H, W, 2] in start-image px: content at start pixel (x, y) is at (x, y) + flow in result."""
    import cv2
    min_size = FLOW["min_size"] if min_size is None else min_size
    preset = FLOW["preset"] if preset is None else preset
    a, b = _gray(_as_uint8(start)), _gray(_as_uint8(result))
    if a.shape != b.shape:
        raise MotionError(f"start and result images differ in size: {a.shape[1]}x{a.shape[0]} vs "
                          f"{b.shape[1]}x{b.shape[0]}")
    h, w = a.shape
    k = max(1, math.ceil(min_size / min(h, w)))
    if k > 1:
        a = cv2.resize(a, (w * k, h * k), interpolation=cv2.INTER_CUBIC)
        b = cv2.resize(b, (w * k, h * k), interpolation=cv2.INTER_CUBIC)
    dis = cv2.DISOpticalFlow_create(_PRESETS[preset])
    f = dis.calc(a, b, None)
    if k > 1:  # back to start-image pixels: average each k x k cell, divide by k
        f = f.reshape(h, k, w, k, 2).mean(axis=(1, 3)) / k
    return f


def _weighted_median(values, weights):
    order = np.argsort(values)
    v, c = values[order], np.cumsum(weights[order])
    return float(v[np.searchsorted(c, 0.5 * c[-1])])


def read_flow(flow, point, radius=None):
    """Gaussian-weighted median of the flow over the disc of `radius` px around point (x, y) -> [dx, dy]."""
    h, w = flow.shape[:2]
    if radius is None:
        radius = max(FLOW["min_radius"], FLOW["radius_frac"] * min(h, w))
    x0, y0 = float(point[0]), float(point[1])
    r = int(math.ceil(radius))
    xs = np.arange(max(0, math.floor(x0) - r), min(w, math.floor(x0) + r + 2))
    ys = np.arange(max(0, math.floor(y0) - r), min(h, math.floor(y0) + r + 2))
    gx, gy = np.meshgrid(xs, ys)
    d2 = (gx - x0) ** 2 + (gy - y0) ** 2
    inside = d2 <= radius * radius
    if not inside.any():
        raise MotionError(f"point ({x0:g}, {y0:g}) is outside the {w}x{h} image")
    wts = np.exp(-d2[inside] / (2 * (radius / 2) ** 2))
    f = flow[gy[inside], gx[inside]]
    return [_weighted_median(f[:, 0], wts), _weighted_median(f[:, 1], wts)]


def measure(start, result, handles, targets, *, flow=None, radius=None):
    """Per point {moved: [dx, dy], moved_px, moved_fraction} for the drag handles[i] -> targets[i].

    start / result: the images before and after (arrays or generator tensors). handles are the
    *start* handle positions. An empty drag gives []; a zero-length request gives moved_fraction None."""
    handles = [] if handles is None else [list(map(float, p)) for p in handles]
    targets = [] if targets is None else [list(map(float, p)) for p in targets]
    if len(handles) != len(targets):
        raise MotionError(f"every handle needs a target: got {len(handles)} handles and {len(targets)} targets")
    if flow is None:
        flow = dense_flow(start, result)
    out = []
    for h, t in zip(handles, targets):
        if not all(math.isfinite(v) for v in h + t):
            raise MotionError(f"points must be finite, got {h} -> {t}")
        dx, dy = read_flow(flow, h, radius)
        req = (t[0] - h[0], t[1] - h[1])
        n = math.hypot(*req)
        frac = None if n < 1e-6 else (dx * req[0] + dy * req[1]) / (n * n)
        out.append(dict(moved=[round(dx, 3), round(dy, 3)], moved_px=round(math.hypot(dx, dy), 3),
                        moved_fraction=None if frac is None else round(frac, 3)))
    return out


def synthetic_warp(image, point, vector, sigma):
    """Warp `image` (HxWx3 uint8) so that the content at `point` moves by `vector` exactly, and the
    content at x by D(x) = vector * exp(-|x - point|^2 / (2 sigma^2)). Needs |vector| < sigma
    (the map x -> x + D(x) must stay invertible). Returns (warped uint8 image, D [H, W, 2])."""
    import cv2
    a = _as_uint8(image)
    h, w = a.shape[:2]
    v = np.asarray(vector, np.float64)
    if np.linalg.norm(v) >= sigma:
        raise MotionError(f"|vector| must be < sigma for an invertible warp, got {np.linalg.norm(v):.2f}")
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float64)

    def field(x, y):
        g = np.exp(-((x - point[0]) ** 2 + (y - point[1]) ** 2) / (2 * sigma * sigma))
        return v[0] * g, v[1] * g

    x, y = gx.copy(), gy.copy()  # solve x + D(x) = output pixel by fixed-point iteration
    for _ in range(100):
        dx, dy = field(x, y)
        x, y = gx - dx, gy - dy
    warped = cv2.remap(a, x.astype(np.float32), y.astype(np.float32), cv2.INTER_CUBIC,
                       borderMode=cv2.BORDER_REFLECT101)
    dx, dy = field(gx, gy)
    return warped, np.stack([dx, dy], axis=-1).astype(np.float32)
