"""Sliced Wasserstein distance between Laplacian-pyramid patches of two image sets (Karras et al.
2018, "Progressive Growing of GANs", section 5): how far two sets of pictures are apart in local
structure at several scales, with no trained network.

Each image is split into a Laplacian pyramid (every level: the image at that scale minus the
upsampled next-coarser one; the coarsest level is the blurred image itself, down to `min_res`).
At every level, `patches` random 7 x 7 neighbourhoods per image are taken as descriptors (7 x 7 x 3
values), normalised by the set's own per-channel mean and standard deviation at that level. The
distance between the two sets at a level is the sliced Wasserstein distance: the descriptors are
projected on random unit directions (4 repeats of 128: 512, as in the paper's released code),
sorted, and the mean absolute difference of the sorted projections is averaged over directions and
repeats. Reported x 1e3 as in the paper; the mean over levels is the summary.

The estimate is biased upward by the number of images per set (the paper used 16384): two
samples of the same population score ~ c / sqrt(images), not 0, because the 128 patches of one
image are far from independent. Compare sets of equal size and report that floor beside it.

Also here: the LPIPS-free image distances the adaptation benchmark uses (pixel RMS).
"""
import torch
import torch.nn.functional as F

PATCH = 7


def _gauss_kernel():
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    k = torch.outer(k, k)
    return (k / k.sum())[None, None].repeat(3, 1, 1, 1)


def _down(x):
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), _gauss_kernel().to(x), stride=2, groups=3)


def _up(x):
    y = torch.zeros(x.shape[0], 3, x.shape[2] * 2, x.shape[3] * 2, dtype=x.dtype)
    y[:, :, ::2, ::2] = x * 4
    return F.conv2d(F.pad(y, (2, 2, 2, 2), mode="reflect"), _gauss_kernel().to(x), groups=3)


def laplacian_pyramid(x, min_res=16):
    """[N, 3, H, W] -> [finest band, ..., coarsest (blurred image at min_res)]."""
    levels = []
    while x.shape[-1] > min_res:
        small = _down(x)
        levels.append(x - _up(small))
        x = small
    levels.append(x)
    return levels


def descriptors(level, patches, gen):
    """`patches` random 7 x 7 neighbourhoods per image -> [N * patches, 3 * 49], normalised per channel."""
    n, c, h, w = level.shape
    ys = torch.randint(0, h - PATCH + 1, (n, patches), generator=gen)
    xs = torch.randint(0, w - PATCH + 1, (n, patches), generator=gen)
    off = torch.arange(PATCH)
    rows = (ys[..., None] + off)[..., :, None].expand(n, patches, PATCH, PATCH)
    cols = (xs[..., None] + off)[..., None, :].expand(n, patches, PATCH, PATCH)
    idx = torch.arange(n)[:, None, None, None].expand_as(rows)
    d = level.permute(0, 2, 3, 1)[idx, rows, cols]                 # [n, patches, 7, 7, c]
    d = d.reshape(-1, PATCH * PATCH, c)
    d = (d - d.mean((0, 1))) / d.std((0, 1)).clamp_min(1e-8)
    return d.reshape(len(d), -1)


def sliced_wasserstein(a, b, directions=128, repeats=4, gen=None):
    """Mean over random projections of the 1-D Wasserstein distance (equal-size sets: sorted L1)."""
    m = min(len(a), len(b))
    a, b = a[torch.randperm(len(a), generator=gen)[:m]], b[torch.randperm(len(b), generator=gen)[:m]]
    total = 0.0
    for _ in range(repeats):
        dirs = F.normalize(torch.randn(a.shape[1], directions, generator=gen), dim=0)
        pa, _ = torch.sort(a @ dirs, 0)
        pb, _ = torch.sort(b @ dirs, 0)
        total += float((pa - pb).abs().mean())
    return total / repeats


def swd(x, y, patches=128, min_res=16, seed=0):
    """{'levels': [SWD x 1e3 per level, finest first], 'mean': their mean} between image sets x and y
    ([N, 3, H, W] in [-1, 1], same size)."""
    gen = torch.Generator().manual_seed(seed)
    px, py = laplacian_pyramid(x.float(), min_res), laplacian_pyramid(y.float(), min_res)
    levels = [1e3 * sliced_wasserstein(descriptors(a, patches, gen), descriptors(b, patches, gen), gen=gen)
              for a, b in zip(px, py)]
    return dict(levels=levels, mean=sum(levels) / len(levels))


def pixel_distances(x, y):
    """[len(x), len(y)] RMS pixel distances of images in [-1, 1] (0-255 scale: x 127.5)."""
    a, b = x.flatten(1).float(), y.flatten(1).float()
    return torch.cdist(a, b) / a.shape[1] ** 0.5 * 127.5


def mean_pairwise(x):
    """Mean RMS pixel distance over the distinct pairs of a set (the diversity measure)."""
    d = pixel_distances(x, x)
    n = len(x)
    return float(d.sum() / (n * (n - 1)))
