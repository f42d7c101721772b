"""A coarse colour-layout statistic toward the shots: the generated batch's 8 x 8 colour thumbnails
(area means) should have, position by position and channel by channel, the mean and the spread of
the shots' thumbnails (the shots taken with their mirror images).

What it is for: the adversarial loss learns the shots' look through a discriminator trained on ten
pictures, and the colour of the whole image swings between casts as the two chase each other; the
coarse layout (a bright background around the face, or the source's dark one) is what the SWD's 16 px
level sees. This term pulls the population's average layout and its variety at each position toward
the shots' directly, with no network in between. It is a statistic of the set, never of one picture:
no sample is pulled toward any one shot (so it cannot ask for copies), and a batch of faces each in
its own pose and colour can match it.

Normalised by the shots' thumbnail spread per channel (fixed), so a gap of one spread costs ~1.
"""
import torch
import torch.nn.functional as F

SIZE = 8


def thumbnails(img, size=SIZE):
    """[N, C, H, W] -> [N, C, size, size] area means."""
    return F.adaptive_avg_pool2d(img.float(), size)


class ShotLayoutStats:
    """`loss(fake)`: squared gaps of the per-position mean and standard deviation of the fake batch's
    thumbnails to the shots', in units of the shots' spread per channel."""

    def __init__(self, shots, size=SIZE, flip=True):
        shots = shots.detach().float()
        if flip:
            shots = torch.cat([shots, shots.flip(-1)])
        t = thumbnails(shots, size)
        self.size = size
        self.mean, self.std = t.mean(0), t.std(0)
        self.scale = t.std((0, 2, 3)).clamp_min(1e-3)[:, None, None]

    def loss(self, fake):
        t = thumbnails(fake, self.size)
        gap_mean = (t.mean(0) - self.mean.to(t)) / self.scale.to(t)
        gap_std = (t.std(0) - self.std.to(t)) / self.scale.to(t)
        return gap_mean.square().mean() + gap_std.square().mean()
