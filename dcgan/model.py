"""The classic DCGAN (Radford et al. 2016) as in the PyTorch DCGAN faces tutorial: 64x64,
nz 100, transposed convolutions with batch norm and ReLU in G, strided convolutions with
LeakyReLU in D, Tanh / Sigmoid outputs, N(0, 0.02) initialisation.

Layer names (`main.0.weight`, ...) are the tutorial's, so its checkpoints load by name.
"""
import torch
from torch import nn


class Generator(nn.Module):
    def __init__(self, nz=100, ngf=64, nc=3):
        super().__init__()
        self.z_dim, self.img_resolution, self.img_channels = nz, 64, nc
        ch = [nz, ngf * 8, ngf * 4, ngf * 2, ngf]
        layers = []
        for i in range(4):  # 1 -> 4 -> 8 -> 16 -> 32
            layers += [nn.ConvTranspose2d(ch[i], ch[i + 1], 4, 1 if i == 0 else 2, 0 if i == 0 else 1, bias=False),
                       nn.BatchNorm2d(ch[i + 1]), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]  # 32 -> 64
        self.main = nn.Sequential(*layers)

    def _z(self, z):
        if z.ndim == 2:
            z = z[:, :, None, None]
        if z.ndim != 4 or z.shape[1:] != (self.z_dim, 1, 1):
            raise ValueError(f"z must have shape [N, {self.z_dim}] or [N, {self.z_dim}, 1, 1], got {list(z.shape)}")
        return z

    def forward(self, z):
        return self.main(self._z(z))

    def activations(self, z):
        """(image, {res: activation after the ReLU of the layer producing res x res}) for 4/8/16/32 px."""
        x, acts = self._z(z), {}
        for layer in self.main:
            x = layer(x)
            if isinstance(layer, nn.ReLU):
                acts[x.shape[-1]] = x
        return x, acts

    def image_and_features(self, z, res):
        """Image and the activation (after ReLU) of the layer producing res x res (4/8/16/32)."""
        img, acts = self.activations(z)
        if res not in acts:
            raise ValueError(f"no DCGAN layer at {res}px (4, 8, 16 or 32)")
        return img, acts[res]

    def features(self, z, res):
        x = self._z(z)
        for layer in self.main:
            x = layer(x)
            if isinstance(layer, nn.ReLU) and x.shape[-1] == res:
                return x
        raise ValueError(f"no DCGAN layer at {res}px (4, 8, 16 or 32)")


class Discriminator(nn.Module):
    def __init__(self, ndf=64, nc=3):
        super().__init__()
        ch = [nc, ndf, ndf * 2, ndf * 4, ndf * 8]
        layers = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        for i in range(1, 4):  # 32 -> 16 -> 8 -> 4
            layers += [nn.Conv2d(ch[i], ch[i + 1], 4, 2, 1, bias=False), nn.BatchNorm2d(ch[i + 1]),
                       nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x).view(-1)


def init_weights(m):
    """The DCGAN paper's initialisation: conv weights N(0, 0.02), batch-norm gamma N(1, 0.02), beta 0."""
    name = type(m).__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


@torch.no_grad()
def sample(G, z):
    """Images in [-1, 1], [N, 3, 64, 64]."""
    return G(z)
