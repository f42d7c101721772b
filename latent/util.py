"""Small shared pieces: seeds -> z, images -> uint8 / strips, the model checks."""
import numpy as np
import torch
from PIL import Image


class LatentError(ValueError):
    pass


def seed_z(seed, z_dim, device="cpu"):
    # numpy's RandomState, as the official StyleGAN tools (and dragcore) do: same seed, same face
    z = np.random.RandomState(int(seed)).standard_normal((1, z_dim))
    return torch.tensor(z, dtype=torch.float32, device=device)


def to_uint8(img):
    """[N, 3, H, W] in ~[-1, 1] -> [N, H, W, 3] uint8 numpy."""
    return ((img.detach().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def image_strip(rows, scale=1):
    """rows: list of [N, H, W, 3] uint8 arrays (one per row) -> one PIL image."""
    grid = np.concatenate([np.concatenate(list(r), axis=1) for r in rows], axis=0)
    im = Image.fromarray(grid)
    return im.resize((im.width * scale, im.height * scale), Image.NEAREST) if scale > 1 else im


def require_mapping(G):
    if not hasattr(G, "mapping"):
        raise LatentError("this model has no mapping network (a DCGAN): only Z-space operations are available")
