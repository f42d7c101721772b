"""Few-shot adaptation that keeps the source's latent layout (Ojha et al. 2021, "Few-shot Image
Generation via Cross-domain Correspondence"), plus FreezeD (Mo et al. 2020).

* **Distance consistency.** For a batch of latents, each sample's cosine similarities to the
  other samples of the batch, at a few generator stages, are turned into a distribution (softmax
  over the others). The adapted generator is asked to keep the source generator's distributions
  (KL divergence, summed over stages, mean over samples): two latents that made similar faces
  keep making similar pictures, so diversity and the latent-to-picture correspondence survive
  ten shots.
  With `--dcl-image` the same is asked of the pictures themselves: each grey Laplacian band (64,
  32 and 16 px at 64 px, each image's mean removed) is a stage of its own, so the finest pencil
  strokes and the coarse light and dark keep each latent's own relations to the others (the
  generator stages above are 8-32 px features, already as similar as the source's when every
  latent is drawn as one template face).
* **Anchors and a patch-level discriminator.** Only latents near a few fixed anchors are judged
  as whole images; all others are judged only patch by patch (a logit per receptive field of an
  intermediate discriminator map). Ten pictures can then define what whole images look like in
  a small region of the latent space without every latent collapsing onto them.
* **A layout anchor** (optional, `--layout`): the adapted image of a latent, grey, pooled to 8 x 8
  and normalised per image (mean 0, std 1), kept near the source's of the same latent: the coarse
  light-and-dark arrangement (where the face, hair and background are) stays, while colour, tone
  and everything finer than 8 px are free to change.
* **FreezeD.** The discriminator's first blocks can be frozen: low-level filters stop adapting
  to ten pictures.
* **A fine patch level** (optional, `fine=True`): a logit per ~18 px neighbourhood of the 64 px
  image (a small head on the 16 x 16 map after two blocks), asked of every latent: local texture
  (pencil strokes, skin, hair) judged apart from the layout.

The discriminator is `training.losses.Discriminator` (64 px, spectral norm) with one more 1 x 1
head on its 8 x 8 map; images of another size are resized to 64 px before it.
"""
import torch
import torch.nn.functional as F
from torch import nn

from .losses import Discriminator
from .pyramid import laplacian_pyramid

D_RES = 64
PATCH_BLOCKS = 3            # the patch head reads the map after this many blocks (8 x 8 at 64 px)
FINE_BLOCKS = 2             # the fine head reads the map after this many blocks (16 x 16 at 64 px)


def pair_distributions(f):
    """f [N, ...] -> log of each sample's softmax over its cosine similarities to the N - 1 others [N, N - 1]."""
    f = F.normalize(f.flatten(1).float(), dim=1)
    sim = f @ f.t()
    n = sim.shape[0]
    off = ~torch.eye(n, dtype=torch.bool, device=sim.device)
    return F.log_softmax(sim[off].view(n, n - 1), dim=1)


def distance_consistency(src_feats, tgt_feats):
    """Sum over stages of mean_i KL(adapted_i || source_i) of the pair distributions (source detached)."""
    total = 0.0
    for r in src_feats:
        log_src = pair_distributions(src_feats[r].detach())
        log_tgt = pair_distributions(tgt_feats[r])
        total = total + (log_tgt.exp() * (log_tgt - log_src)).sum(1).mean()
    return total


def picture_bands(img, min_res=16):
    """[N, C, H, W] -> {band resolution: [N, 1, h, w]}: the grey image's Laplacian bands, each image's mean removed
    (so a band's cosine similarity is a correlation, not the shared brightness)."""
    bands = laplacian_pyramid(img.float().mean(1, keepdim=True), min_res)
    return {b.shape[-1]: b - b.mean((1, 2, 3), keepdim=True) for b in bands}


def layout(img, size=8):
    """[N, C, H, W] -> [N, size * size]: the grey image pooled to size x size, mean 0 and std 1 per image."""
    g = F.adaptive_avg_pool2d(img.float().mean(1, keepdim=True), size).flatten(1)
    return (g - g.mean(1, keepdim=True)) / g.std(1, keepdim=True).clamp_min(1e-3)


def layout_loss(src_img, img, size=8):
    """Mean squared difference of the normalised coarse layouts (source detached)."""
    return (layout(img, size) - layout(src_img.detach(), size)).square().mean()


class PatchDiscriminator(Discriminator):
    """The 64 px discriminator with an image-level logit and, beside it, a logit per 8 x 8 patch
    (and with `fine`, one per position of the 16 x 16 map)."""

    def __init__(self, channels=(32, 64, 128, 256), fine=False):
        super().__init__(channels)
        sn = nn.utils.parametrizations.spectral_norm
        self.patch_head = sn(nn.Conv2d(channels[PATCH_BLOCKS - 1], 1, 1))
        c = channels[FINE_BLOCKS - 1]
        self.fine_head = nn.Sequential(sn(nn.Conv2d(c, c, 3, 1, 1)), nn.LeakyReLU(0.2),
                                       sn(nn.Conv2d(c, 1, 1))) if fine else None

    def blocks(self):
        """The conv layers in order (FreezeD freezes a prefix of them)."""
        return [m for m in self.body if isinstance(m, nn.Conv2d)]

    def freeze(self, k):
        for conv in self.blocks()[:k]:
            conv.requires_grad_(False)

    def logits(self, img, level):
        """'image': [N] logits; 'patch' / 'fine': [N * patches] logits."""
        if img.shape[-1] != D_RES or img.shape[-2] != D_RES:
            img = F.interpolate(img, size=(D_RES, D_RES), mode="bilinear", align_corners=False, antialias=True)
        if level == "fine":
            return self.fine_head(self.body[:2 * FINE_BLOCKS](img)).flatten()
        x = self.body[:2 * PATCH_BLOCKS](img)
        if level == "patch":
            return self.patch_head(x).flatten()
        x = self.body[2 * PATCH_BLOCKS:](x)
        return self.head(x.flatten(1)).squeeze(1)


def g_adv(D, fake, level):
    """Non-saturating generator loss at a level."""
    return F.softplus(-D.logits(fake, level)).mean()


def d_adv(D, real, fake, level):
    """(loss, mean D(real), mean D(fake)) at a level; fakes detached."""
    lr, lf = D.logits(real, level), D.logits(fake.detach(), level)
    return F.softplus(-lr).mean() + F.softplus(lf).mean(), lr.detach().mean(), lf.detach().mean()
