"""Seeds -> z exactly as the official StyleGAN2 / DragGAN tools draw them (numpy's RandomState), so
the same seed gives the same face here as there. The one home of `seed_z`."""
import numpy as np
import torch


def seed_z(seed, z_dim, device="cpu"):
    """z [1, z_dim] float32 for an integer seed in [0, 2**32); anything else is a ValueError."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    z = np.random.RandomState(int(seed)).randn(1, z_dim)
    return torch.from_numpy(z).to(torch.float32).to(device)
