"""A direct multi-scale patch loss toward the shots: the sliced Wasserstein distance between
Laplacian-pyramid patches of a generated batch and of the shots (the idea of SWD-based generator
training, Deshpande et al. 2018 and Wu et al. 2019, with the pyramid patches of Karras et al. 2018
that benchmarks.swd measures with; primitives in training.pyramid).

The adversarial loss learns what the shots look like through a discriminator trained on ten
pictures; this term compares the generated patches with the shots' own patches, level by level, with
no network in between. Only the finest `levels` bands are used by default (64 and 32 px at 64 px):
their 7 x 7 patches are local texture and edges, which ten pictures sample densely. The coarsest
level (the blurred image, whose 7 x 7 patches cover most of a 16 px face) is left out: asking the
generator's layouts to match ten pictures' is asking it to copy them.

Both sets are normalised per channel and level by the shots' statistics (fixed), so amplitude (blur,
contrast of the band) counts as well as the patches' shapes. The shots are taken with their mirror
images (faces are left-right symmetric kinds of picture; twice the patches). Every random draw (patch
positions, projection directions) comes from the caller's generator: a resumed run draws the same.

`chroma` weighs colour against light: each normalised pixel is split into its grey part (the mean of
its three normalised channels) and the rest (how it departs from grey), and the rest is scaled by
`chroma` before the descriptors are projected. 1 is the plain per-channel loss; 0 compares light and
dark only, so the loss cannot ask for coloured texture (mottled chroma) of its own.

`focus` and `relative` follow each latent's source picture (`loss(..., source=)`, the frozen source's render of the
same latents; training.patchfocus): with `focus` the generated patches are drawn per latent in proportion to the
source band's energy to that power, with `relative` each latent's generated band is judged scaled by the batch's
typical source energy over its own. Both 0: every latent alike (the plain loss, and its random draws unchanged).
"""
import torch

from . import patchfocus as pf
from . import pyramid as tp


class ShotPatches:
    """`loss(fake, gen)`: the mean over levels of the SWD between the fake batch's patches and as many
    random patches of the shots."""

    def __init__(self, shots, levels=2, per_image=64, directions=128, flip=True, min_res=16, chroma=1.0,
                 focus=0.0, relative=0.0):
        shots = shots.detach().float()
        self.chroma, self.focus, self.relative = chroma, focus, relative
        if flip:
            shots = torch.cat([shots, shots.flip(-1)])
        self.levels, self.per_image, self.directions, self.min_res = levels, per_image, directions, min_res
        self.bands = tp.laplacian_pyramid(shots, min_res)[:levels]
        self.stats = [(b.mean((0, 2, 3)), b.std((0, 2, 3)).clamp_min(1e-8)) for b in self.bands]

    def loss(self, fake, gen, source=None):
        bands = tp.laplacian_pyramid(fake.float(), self.min_res)[:self.levels]
        follow = (self.focus or self.relative) and source is not None
        src_bands = tp.laplacian_pyramid(source.detach().float(), self.min_res)[:self.levels] if follow \
            else [None] * len(bands)
        total = 0.0
        for f, r, (mean, std), s in zip(bands, self.bands, self.stats, src_bands):
            a = tp.normalise(self._fake_patches(f, s, gen), mean.to(f), std.to(f))
            per_shot = -(-len(a) // len(r))                          # enough shot patches for as many
            b = tp.normalise(tp.patches(r, per_shot, gen), mean, std)
            b = b[torch.randperm(len(b), generator=gen)[:len(a)]].to(a)
            if self.chroma != 1.0 and f.shape[1] > 1:
                a, b = self._weigh_chroma(a, f.shape[1]), self._weigh_chroma(b, f.shape[1])
            total = total + tp.sliced_wasserstein(a, b, tp.random_directions(a.shape[1], self.directions, gen))
        return total / len(bands)

    def _fake_patches(self, band, source_band, gen):
        """The generated band's patches: `per_image` of every latent, or (with the source's band and `focus` /
        `relative`) as many drawn per latent by its source's energy, from the band scaled per latent."""
        if source_band is None:
            return tp.patches(band, self.per_image, gen)
        energy = pf.band_energy(source_band)
        if self.relative:
            band = band * pf.relative_gain(energy, self.relative).to(band)
        if not self.focus:
            return tp.patches(band, self.per_image, gen)
        return tp.patches_at(band, pf.draw_images(energy, len(band) * self.per_image, self.focus, gen), gen)

    def _weigh_chroma(self, d, channels):
        """[M, 49 * C] normalised descriptors with their departure from grey scaled by `chroma`."""
        px = d.reshape(len(d), -1, channels)
        grey = px.mean(-1, keepdim=True)
        return (grey + self.chroma * (px - grey)).reshape(len(d), -1)
