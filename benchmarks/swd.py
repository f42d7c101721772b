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

The pyramid, patch and projection primitives live in training.pyramid (the adaptation's patch
loss trains with the same ones). Also here: the LPIPS-free image distances the adaptation benchmark uses (pixel RMS).
"""
import torch

from training import pyramid as tp
from training.pyramid import PATCH, laplacian_pyramid  # noqa: F401  (this module's names since session 1)


def descriptors(level, per_image, gen):
    """`per_image` random 7 x 7 neighbourhoods per image -> [N * per_image, 3 * 49], normalised per channel
    by the set's own mean and std."""
    return tp.normalise(tp.patches(level, per_image, gen))


def sliced_wasserstein(a, b, directions=128, repeats=4, gen=None):
    """Mean over random projections of the 1-D Wasserstein distance (equal-size sets: sorted L1)."""
    m = min(len(a), len(b))
    a, b = a[torch.randperm(len(a), generator=gen)[:m]], b[torch.randperm(len(b), generator=gen)[:m]]
    return sum(float(tp.sliced_wasserstein(a, b, tp.random_directions(a.shape[1], directions, gen)))
               for _ in range(repeats)) / repeats


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
