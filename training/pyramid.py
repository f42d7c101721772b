"""Laplacian-pyramid patches and their sliced Wasserstein distance (Karras et al. 2018, "Progressive
Growing of GANs", section 5): the primitives that benchmarks.swd measures with and that the
adaptation's patch loss (training.patchloss) trains with. Everything here is differentiable in the
images (the patch positions and projection directions are random draws, not parameters).

Each image is split into a Laplacian pyramid (every level: the image at that scale minus the
upsampled next-coarser one; the coarsest level is the blurred image itself, down to `min_res`).
A descriptor is a 7 x 7 neighbourhood of one level (7 x 7 x C values). The sliced Wasserstein
distance of two descriptor sets: both projected on random unit directions, sorted, and the mean
absolute difference of the sorted projections averaged over the directions.
"""
import torch
import torch.nn.functional as F

PATCH = 7


def _gauss_kernel(channels):
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    k = torch.outer(k, k)
    return (k / k.sum())[None, None].repeat(channels, 1, 1, 1)


def _down(x):
    c = x.shape[1]
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), _gauss_kernel(c).to(x), stride=2, groups=c)


def _up(x):
    c = x.shape[1]
    y = torch.zeros(x.shape[0], c, x.shape[2] * 2, x.shape[3] * 2, dtype=x.dtype, device=x.device)
    y[:, :, ::2, ::2] = x * 4
    return F.conv2d(F.pad(y, (2, 2, 2, 2), mode="reflect"), _gauss_kernel(c).to(x), groups=c)


def laplacian_pyramid(x, min_res=16):
    """[N, C, H, W] -> [finest band, ..., coarsest (blurred image at min_res)]."""
    levels = []
    while x.shape[-1] > min_res:
        small = _down(x)
        levels.append(x - _up(small))
        x = small
    levels.append(x)
    return levels


def patches(level, per_image, gen):
    """`per_image` random 7 x 7 neighbourhoods of each image of a level -> [N * per_image, 49, C] (raw), image by
    image (the same draws as `patches_at` of every image index repeated `per_image` times)."""
    return patches_at(level, torch.arange(len(level)).repeat_interleave(per_image), gen)


def patches_at(level, images, gen):
    """One random 7 x 7 neighbourhood of picture images[k] for each k -> [len(images), 49, C] (raw)."""
    _, c, h, w = level.shape
    m = len(images)
    ys = torch.randint(0, h - PATCH + 1, (m,), generator=gen)
    xs = torch.randint(0, w - PATCH + 1, (m,), generator=gen)
    off = torch.arange(PATCH)
    rows = (ys[:, None] + off)[:, :, None].expand(m, PATCH, PATCH)
    cols = (xs[:, None] + off)[:, None, :].expand(m, PATCH, PATCH)
    idx = images[:, None, None].expand_as(rows)
    d = level.permute(0, 2, 3, 1)[idx.to(level.device), rows.to(level.device), cols.to(level.device)]
    return d.reshape(m, PATCH * PATCH, c)


def normalise(d, mean=None, std=None):
    """[M, 49, C] patches -> [M, 49 * C] descriptors, per channel (mean, std: the set's own by default)."""
    mean = d.mean((0, 1)) if mean is None else mean
    std = d.std((0, 1)).clamp_min(1e-8) if std is None else std
    d = (d - mean) / std
    return d.reshape(len(d), -1)


def random_directions(dim, count, gen):
    """[dim, count] unit vectors."""
    return F.normalize(torch.randn(dim, count, generator=gen), dim=0)


def sliced_wasserstein(a, b, dirs):
    """Mean over the directions' columns of the 1-D Wasserstein-1 distance between the projections of
    two equal-size descriptor sets [M, D] (a tensor; differentiable in both)."""
    pa, _ = torch.sort(a @ dirs.to(a), 0)
    pb, _ = torch.sort(b @ dirs.to(b), 0)
    return (pa - pb).abs().mean()
