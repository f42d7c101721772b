"""The reconstruction loss the inversion stages minimise.

The papers use LPIPS (a VGG feature distance). Its weights are a download, which these machines
cannot make, so the offline default compares the two images on a Gaussian-like pyramid (2x2
averages, 4 levels) with L1 + L2 at every level: the coarse levels pull colours and layout, the
fine ones edges. When the `lpips` package and its weights are installed, LPIPS is added on top.

`PixelL2` is the plain mean squared error: what pivotal tuning minimises by default (measured on
real photos it keeps eyes, mouth and texture that the pyramid's L1 smooths away: docs/benchmarks.md).
"""
import torch.nn.functional as F

PYRAMID_LEVELS = 4


def image_pyramid(x, levels=PYRAMID_LEVELS):
    """[x, x/2, x/4, ...]: 2x2 averages; a level under 8 px is repeated rather than shrunk."""
    out = [x]
    while len(out) < levels:
        prev = out[-1]
        out.append(F.avg_pool2d(prev, 2) if min(prev.shape[-2:]) >= 8 else prev)
    return out


def _lpips_net(device):
    try:
        import lpips
        return lpips.LPIPS(net="vgg", verbose=False).to(device).eval().requires_grad_(False)
    except Exception:  # not installed, or its weights cannot be fetched offline
        return None


class ImageLoss:
    """loss(x, y) for images in [-1, 1]; `name` says which loss is in use (results record it)."""

    def __init__(self, device, use_lpips=True):
        self.lpips = _lpips_net(device) if use_lpips else None
        self.name = "multiscale-l1-l2" if self.lpips is None else "lpips-vgg + l2"

    def __call__(self, x, y):
        total = 0.0
        for a, b in zip(image_pyramid(x), image_pyramid(y)):
            diff = a - b
            total = total + diff.abs().mean() + diff.pow(2).mean()
        if self.lpips is not None:
            side = max(64, x.shape[-1])  # LPIPS' VGG needs a few pooling levels of room
            grow = lambda t: F.interpolate(t, size=side, mode="bilinear", align_corners=False)
            total = total + self.lpips(grow(x), grow(y)).mean()
        return total


class PixelL2:
    """loss(x, y) = mean squared error of the images in [-1, 1]."""
    name = "l2"

    def __call__(self, x, y):
        return (x - y).pow(2).mean()


def make_loss(name, device):
    """'multiscale' (ImageLoss: the pyramid, + LPIPS when installed) or 'l2' (PixelL2)."""
    if name == "l2":
        return PixelL2()
    if name == "multiscale":
        return ImageLoss(device)
    raise ValueError(f"loss must be 'multiscale' or 'l2', got {name!r}")
