"""SeFa (Shen & Zhou, CVPR 2021): closed-form semantic directions of a StyleGAN.

Each synthesis layer's style is an affine map s = A w + b of w. Directions n that change the
styles most, ||A n||^2 = n^T A^T A n, are the top eigenvectors of A^T A, where A stacks the
affine weights of the chosen layers (each row normalised, as in the paper). Moving w along n
in those layers' W+ rows edits one attribute.
"""
import torch

from .util import LatentError, require_mapping


def sefa_directions(G, layers=None, k=5):
    """(directions [k, w_dim] orthonormal, eigenvalues [k]) for the W+ rows `layers` (default: all)."""
    require_mapping(G)
    affines = G.synthesis.style_affines()  # one per W+ row
    layers = list(range(G.num_ws)) if layers is None else list(layers)
    if not layers or min(layers) < 0 or max(layers) >= G.num_ws:
        raise LatentError(f"layers must lie in 0..{G.num_ws - 1}, got {layers}")
    if not isinstance(k, int) or not 1 <= k <= G.w_dim:
        raise LatentError(f"k must be an integer from 1 to {G.w_dim}, got {k!r}")
    A = torch.cat([affines[i].weight.detach().float() for i in layers])
    A = A / A.norm(dim=1, keepdim=True).clamp_min(1e-8)
    vals, vecs = torch.linalg.eigh(A.t() @ A)
    order = vals.argsort(descending=True)[:k]
    return vecs[:, order].t().contiguous(), vals[order]


def apply_direction(ws, direction, strength, layers):
    """ws [N, num_ws, w_dim] moved by strength * direction in the given rows."""
    layers = list(layers)
    if max(layers) >= ws.shape[1] or min(layers) < 0:
        raise LatentError(f"layers must lie in 0..{ws.shape[1] - 1}")
    out = ws.clone()
    out[:, layers] = out[:, layers] + float(strength) * direction.to(ws)
    return out
