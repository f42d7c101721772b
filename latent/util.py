"""Small shared pieces of the latent tools: the package's error, image strips, the model check.
(Seeds -> z and images -> uint8 are stylegan.seeds.seed_z and stylegan.imageops.to_uint8.)"""
import numpy as np
from PIL import Image


class LatentError(ValueError):
    """A latent-space operation asked for with input that cannot work (the one error of `latent`)."""


def image_strip(rows, scale=1):
    """rows: list of [N, H, W, 3] uint8 arrays (one per row) -> one PIL image."""
    grid = np.concatenate([np.concatenate(list(r), axis=1) for r in rows], axis=0)
    im = Image.fromarray(grid)
    return im.resize((im.width * scale, im.height * scale), Image.NEAREST) if scale > 1 else im


def require_mapping(G):
    if not hasattr(G, "mapping"):
        raise LatentError("this model has no mapping network (a DCGAN): only Z-space operations are available")
