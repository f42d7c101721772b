"""Truncation sweep: the same z at several psi, from w_avg (psi 0) to the untruncated w (psi 1)."""
import torch

from stylegan.seeds import seed_z

from .util import LatentError, require_mapping


def truncation_sweep(G, seed, psis=(0.0, 0.25, 0.5, 0.7, 1.0)):
    require_mapping(G)
    if not psis or any(not (-2.0 <= float(p) <= 2.0) for p in psis):
        raise LatentError("psi values must lie in [-2, 2]")
    dev = next(G.parameters()).device
    z = seed_z(seed, G.z_dim, dev).expand(len(psis), -1)
    with torch.no_grad():
        ws = torch.cat([G.mapping(z[i:i + 1], truncation_psi=float(p)) for i, p in enumerate(psis)])
        return G.synthesis(ws)
