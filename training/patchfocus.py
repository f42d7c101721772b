"""Where the patch loss asks for detail: each latent weighed by the fine structure its source picture draws.

The patch loss (training.patchloss) pools the patches of the whole batch into one distribution match, so it asks
every latent alike for the shots' fine texture, a latent whose source picture is a poor, low-detail face too. This
module measures, per latent, the energy of the source picture's Laplacian band (its RMS per level) and turns it into
the two ways the loss can follow it:

* `draw_images`: which latent each generated patch comes from, drawn in proportion to that energy to a power
  (`focus`); a latent whose source draws little structure contributes few patches, a detailed one more;
* `relative_gain`: a per-latent gain on the generated band, the batch's typical energy over the latent's own to a
  power (`relative`), so a murky latent is asked for detail relative to its source's, not for the shots' amplitude.

The energies are of the frozen source's pictures (no gradient). Every random draw comes from the caller's generator.
"""
import torch

SMALLEST = 0.25   # a source band's energy counts as at least this share of the batch's mean (a flat picture's
                  # gain stays finite, and it still contributes a few patches)


def band_energy(band):
    """[N, C, H, W] band of the source pictures -> [N] RMS per picture (no gradient), floored at SMALLEST x the mean."""
    e = band.detach().float().square().mean((1, 2, 3)).sqrt()
    return e.clamp_min(SMALLEST * float(e.mean()) + 1e-12)


def draw_images(energy, count, focus, gen):
    """`count` picture indices, picture i with probability proportional to energy[i] ** focus."""
    return torch.multinomial(energy ** focus, count, replacement=True, generator=gen)


def relative_gain(energy, relative):
    """[N, 1, 1, 1] gain on each picture's generated band: (batch mean energy / its own) ** relative."""
    return ((energy.mean() / energy) ** relative)[:, None, None, None]
