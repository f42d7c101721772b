"""Reading a feature map at image-space points, and the point sets the losses read.

Every coordinate in the engines is in image pixels, (x, y) of an image of `shape` (height H,
width W; an int means square: StyleGAN-Human models are 512x256). A feature map of any size (the
generator block at feature resolution, which has the image's aspect, or the same map resized to
the image as the official DragGAN does) is read with `grid_sample(align_corners=False,
padding_mode='border')`: with that convention image pixel x sits at normalised (x + 0.5) * 2 / W - 1
(y: (y + 0.5) * 2 / H - 1) whatever the map size, and reading an integer pixel of an H x W map
returns exactly that pixel. So sampling the
small map at sub-pixel points equals reading `F.interpolate(F, res, mode='bilinear')` at the
same points (interpolate's default convention is also align_corners=False with edge clamping):
the fast mode and the reference mode compute the same numbers where they read them.
"""
import math

import torch
import torch.nn.functional as F

from stylegan.windows import Box


def as_shape(shape):
    """(height, width) from an int (a square image) or a pair."""
    if isinstance(shape, (tuple, list, torch.Size)):
        return int(shape[0]), int(shape[1])
    return int(shape), int(shape)


def clamp_to_image(points, shape):
    """Points [..., 2] (x, y) clamped into the image: x to [0, W - 1], y to [0, H - 1]."""
    h, w = as_shape(shape)
    return torch.minimum(points.clamp(min=0), points.new_tensor([w - 1.0, h - 1.0]))


def pixel_to_grid(points, shape):
    """Image pixels (x, y) -> grid_sample coordinates in [-1, 1] (align_corners=False)."""
    h, w = as_shape(shape)
    return (points + 0.5) * points.new_tensor([2.0 / w, 2.0 / h]) - 1.0


def sample(feat, points, shape):
    """Bilinear read of feat [1, C, h, w] at image-pixel points [..., 2] -> [..., C]."""
    lead = points.shape[:-1]
    grid = pixel_to_grid(points.reshape(1, 1, -1, 2).to(feat.dtype), shape)
    out = F.grid_sample(feat, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out[0, :, 0].t().reshape(*lead, feat.shape[1])


def sample_resized(feat, points, shape):
    """What a bilinear read of `resize_to_image(feat, shape)` at `points` returns, without building the
    resized map: the four integer pixels around each point are read from `feat` (exactly the values
    of the resized map there), then blended bilinearly. Equals `sample` at integer points; between
    pixels it is the official DragGAN's bilinear-of-bilinear read, not a direct read of `feat`."""
    if tuple(feat.shape[-2:]) == as_shape(shape):
        return sample(feat, points, shape)
    p = clamp_to_image(points, shape)
    p0 = p.floor()
    fx, fy = (p - p0).unbind(-1)
    corners = torch.stack([p0, p0 + p0.new_tensor([1.0, 0.0]), p0 + p0.new_tensor([0.0, 1.0]), p0 + 1.0], dim=-2)
    v = sample(feat, clamp_to_image(corners, shape), shape)  # [..., 4, C]
    w = torch.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], dim=-1)
    return (v * w.unsqueeze(-1).to(v)).sum(dim=-2)


def resize_to_image(feat, shape):
    """What the official implementation supervises: the feature map bilinearly resized to the image."""
    return F.interpolate(feat, size=as_shape(shape), mode="bilinear", align_corners=False)


def scaled_radius(r_at_512, res, feature_res):
    """A radius given for 512 px models, in image px at height res (as the official code scales it by
    G.img_resolution, the height, for non-square models too). From 256 px up, round(r res / 512)
    with Python's round, as the official DragGAN computes it (r1 3 -> 2 / 3 / 6 px at 256 / 512 /
    1024). Smaller models are outside the official range (there r1 would round to 0 px): r res / 512,
    never below one feature pixel."""
    if res >= 256:
        return float(max(round(r_at_512 * res / 512.0), 1))
    return max(r_at_512 * res / 512.0, res / feature_res)


def _grid(r):
    k = torch.arange(-r, r + 1, dtype=torch.float32)
    gy, gx = torch.meshgrid(k, k, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)


def disc_offsets(radius):
    """Integer pixel offsets (dx, dy) with dx^2 + dy^2 < radius^2: DragGAN's Omega(p, r1), "the pixels
    whose distance to p is less than r1" (the paper; the official code uses the same strict test)."""
    g = _grid(int(math.ceil(radius)))
    return g[(g.square().sum(dim=1) < radius * radius - 1e-6)]


def square_offsets(radius, step=1.0):
    """Offsets of the square |dx|, |dy| <= radius on a grid of `step` px: DragGAN's tracking
    window (step 1: whole pixels, as the paper; < 1: sub-pixel tracking)."""
    return _grid(int(math.floor(radius / step + 1e-6))) * float(step)


def patch_offsets(spacing):
    """FreeDrag's 3x3 patch: offsets {-s, 0, +s}^2 (s in image px, may be fractional)."""
    return _grid(1) * float(spacing)


def feature_boxes(centres, radius, shape, feature_shape):
    """Boxes of a feature map of `feature_shape` (stylegan.windows.Box) holding every pixel that `sample`
    or `sample_resized` may read for points within `radius` image px (per axis) of `centres` [M, 2] (x, y)
    of an image of `shape`: the bilinear corners of the resized map's pixels around them, plus one
    feature pixel of margin."""
    (H, W), (fh, fw) = as_shape(shape), as_shape(feature_shape)
    c = centres.detach().float().reshape(-1, 2).cpu()
    lo = clamp_to_image(c - radius, shape).floor()
    hi = clamp_to_image(clamp_to_image(c + radius, shape).floor() + 1, shape)   # sample_resized's far corner
    scale = torch.tensor([fw / W, fh / H])
    flo, fhi = ((lo + 0.5) * scale - 0.5).floor() - 1, ((hi + 0.5) * scale - 0.5).floor() + 3
    return [Box(int(a[1]), int(a[0]), int(b[1]), int(b[0])) for a, b in zip(flo.tolist(), fhi.tolist())]
