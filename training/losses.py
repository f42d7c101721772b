"""The distillation objective: pixel and multi-scale losses against the teacher, feature hints,
and a small discriminator for the adversarial term (on plain, style-mixed and dragged latents)."""
import torch
import torch.nn.functional as F
from torch import nn


def pixel_losses(img, target, scales=(32, 16, 8)):
    """(L1, L2, L1 summed over average-pooled copies): the blur-tolerant part is what converges first."""
    l1 = (img - target).abs().mean()
    l2 = (img - target).square().mean()
    ms = sum((F.adaptive_avg_pool2d(img, s) - F.adaptive_avg_pool2d(target, s)).abs().mean() for s in scales)
    return l1, l2, ms


def hint_scale(acts):
    """Per-channel RMS of each teacher activation (measured once), so every resolution counts alike."""
    return {r: a.square().mean(dim=[0, 2, 3], keepdim=True).sqrt().clamp_min(1e-3) for r, a in acts.items()}


def hint_loss(pred, target, scale):
    """Mean over resolutions of the MSE between adapted student stages and teacher activations."""
    return sum(((pred[r] - target[r]) / scale[r]).square().mean() for r in pred) / len(pred)


def style_mix(ws, generator):
    """Style-mixing regularisation (StyleGAN): each sample takes the rows from a random crossover
    on from another sample of the batch, so no group of rows can rely on the others."""
    n, rows, _ = ws.shape
    cut = torch.randint(1, rows, (n, 1, 1), generator=generator)
    other = ws[torch.randperm(n, generator=generator)]
    return torch.where(torch.arange(rows)[None, :, None] < cut, ws, other)


class Discriminator(nn.Module):
    """Small 64 px discriminator: strided convolutions 64 -> 4 px with leaky ReLU and spectral
    norm (stable without R1 at this size), then a linear logit. Real = teacher images."""

    def __init__(self, channels=(32, 64, 128, 256)):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        layers, c_in = [], 3
        for c in channels:
            layers += [sn(nn.Conv2d(c_in, c, 4, 2, 1)), nn.LeakyReLU(0.2)]
            c_in = c
        self.body = nn.Sequential(*layers)
        self.head = sn(nn.Linear(c_in * 4 * 4, 1))

    def forward(self, img):
        return self.head(self.body(img).flatten(1)).squeeze(1)


def generator_adv(D, fake):
    """Non-saturating generator loss."""
    return F.softplus(-D(fake)).mean()


def discriminator_adv(D, real, fake):
    return F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
