"""The student: a small StyleGAN2 that learns the DCGAN teacher's z -> face map, the 1x1 hint
adapters that compare its stage outputs with the teacher's activations, and its EMA copy."""
import copy

import torch
from torch import nn

import dcgan
from stylegan import Generator

# 4/8/16/32/64 px; the teacher's own widths are 512/256/128/64 at 4-32 px
CHANNELS = [256, 256, 128, 64, 32]
HINT_RES = (4, 8, 16, 32)  # where the teacher exposes activations


def build_student(channels=None, w_dim=256, mapping_layers=4, mapping_lr=1.0):
    """A 64 px generator fed the teacher's z (z_dim 100): a real mapping MLP (4 layers, lr x1:
    the student starts from scratch, so the mapping must learn as fast as the rest)."""
    return Generator(z_dim=100, w_dim=w_dim, resolution=64, mapping_layers=mapping_layers, mapping_lr=mapping_lr,
                     channels=list(channels or CHANNELS), conv_clamp=256)


def load_teacher():
    """The pretrained DCGAN of `dcgan/` (eval mode, frozen)."""
    return dcgan.load_pretrained()


class Adapters(nn.Module):
    """1x1 convolutions from the student's stage widths to the teacher's, one per hint resolution."""

    def __init__(self, student_channels, teacher_channels):
        super().__init__()
        self.res = sorted(teacher_channels)
        self.convs = nn.ModuleDict({str(r): nn.Conv2d(student_channels[r], teacher_channels[r], 1) for r in self.res})

    def forward(self, feats):
        return {r: self.convs[str(r)](feats[r]) for r in self.res}


class EMA:
    """Exponential moving average of a generator's weights, with a ramp-up: early on the
    half-life is a tenth of the steps so far (as StyleGAN2-ADA), later `halflife` steps."""

    def __init__(self, G, halflife=200):
        self.G = copy.deepcopy(G).eval().requires_grad_(False)
        self.halflife = halflife

    @torch.no_grad()
    def update(self, G, step):
        beta = 0.5 ** (1 / min(self.halflife, 0.1 * (step + 1))) if self.halflife > 0 else 0.0
        for pe, p in zip(self.G.parameters(), G.parameters()):
            pe.lerp_(p, 1 - beta)
        for be, b in zip(self.G.buffers(), G.buffers()):
            be.copy_(b)
