"""Differentiable augmentation (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient
GAN Training"): the discriminator sees every image, real and generated, through random colour,
translation and cutout transforms that gradients flow through, so with ten real images it cannot
win by remembering them, and the generator is not pushed toward the transforms (both sides get the
same distribution of them).

Every random number comes from the caller's `torch.Generator`, so a resumed run draws the same
transforms as an uninterrupted one.
"""
import torch
import torch.nn.functional as F

POLICY = ("color", "translation", "cutout")


def _u(n, gen, lo, hi):
    return torch.rand(n, 1, 1, 1, generator=gen) * (hi - lo) + lo


def color(x, gen):
    """Brightness shift in [-0.5, 0.5], saturation scale in [0, 2], contrast scale in [0.5, 1.5]."""
    n = x.shape[0]
    x = x + _u(n, gen, -0.5, 0.5).to(x)
    grey = x.mean(1, keepdim=True)
    x = grey + (x - grey) * _u(n, gen, 0.0, 2.0).to(x)
    mean = x.mean((1, 2, 3), keepdim=True)
    return mean + (x - mean) * _u(n, gen, 0.5, 1.5).to(x)


def tone(x, gen):
    """Brightness shift in [-0.5, 0.5] and contrast scale in [0.5, 1.5], saturation left alone: the
    colour transform without its saturation scale, so a discriminator of grey (or sepia) pictures
    still sees a tint."""
    n = x.shape[0]
    x = x + _u(n, gen, -0.5, 0.5).to(x)
    mean = x.mean((1, 2, 3), keepdim=True)
    return mean + (x - mean) * _u(n, gen, 0.5, 1.5).to(x)


def translation(x, gen, ratio=0.125):
    """Whole-pixel shifts of up to `ratio` of the size in x and y, zeros moving in."""
    n, _, h, w = x.shape
    shift = torch.stack([torch.randint(-int(w * ratio), int(w * ratio) + 1, (n,), generator=gen),
                         torch.randint(-int(h * ratio), int(h * ratio) + 1, (n,), generator=gen)], 1)
    ys = (torch.arange(h, dtype=torch.float32) + 0.5) * 2 / h - 1
    xs = (torch.arange(w, dtype=torch.float32) + 0.5) * 2 / w - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    offset = shift.float() * torch.tensor([2 / w, 2 / h])             # pixels -> normalised units
    grid = torch.stack([gx, gy], -1)[None] - offset[:, None, None, :]
    return F.grid_sample(x, grid.to(x), mode="nearest", padding_mode="zeros", align_corners=False)


def cutout(x, gen, ratio=0.5):
    """One square of `ratio` of the size per image set to zero, anywhere (it may leave the edge)."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio), int(w * ratio)
    cy = torch.randint(0, h + (1 - sh % 2), (n, 1, 1), generator=gen)
    cx = torch.randint(0, w + (1 - sw % 2), (n, 1, 1), generator=gen)
    yy, xx = torch.arange(h)[None, :, None], torch.arange(w)[None, None, :]
    inside = ((yy - cy).abs() < sh / 2) & ((xx - cx).abs() < sw / 2)
    return x * (~inside)[:, None].to(x)


def flip(x, gen):
    """Each image mirrored left-right with probability 1/2 (for kinds of picture that are symmetric)."""
    mirror = torch.rand(x.shape[0], 1, 1, 1, generator=gen) < 0.5
    return torch.where(mirror.to(x.device), x.flip(-1), x)


TRANSFORMS = {"color": color, "tone": tone, "translation": translation, "cutout": cutout, "flip": flip}


def augment(x, gen, policy=POLICY):
    """x [N, C, H, W] through each transform of `policy` in order (an empty policy: x itself)."""
    for name in policy:
        x = TRANSFORMS[name](x, gen)
    return x
