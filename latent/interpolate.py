"""Interpolation between two seeds, in Z or in W, linear or spherical, and how smooth the path is.

Z is a Gaussian: its mass lies near a sphere, so a straight line between two z passes through
the low-norm middle that the generator rarely saw; slerp follows the sphere. W is the mapping
network's learnt space, where a straight line is the natural path (the StyleGAN paper's
perceptual path length is lower in W). `smoothness` puts a number on it: the distance between
consecutive frames along the path (mean, max, and max/mean: 1.0 = perfectly even steps).
"""
import torch

from stylegan.seeds import seed_z

from .util import LatentError, require_mapping

SPACES = ("z", "w")
METHODS = ("lerp", "slerp")


def lerp(a, b, t):
    return a + (b - a) * t


def slerp(a, b, t, eps=1e-7):
    """Spherical interpolation of the rows of a and b (norms interpolated linearly)."""
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    ua, ub = a / na.clamp_min(eps), b / nb.clamp_min(eps)
    omega = torch.acos((ua * ub).sum(-1, keepdim=True).clamp(-1 + eps, 1 - eps))
    so = torch.sin(omega)
    u = (torch.sin((1 - t) * omega) / so) * ua + (torch.sin(t * omega) / so) * ub
    return u * lerp(na, nb, t)


def interpolate(G, seed_a, seed_b, steps=8, space="w", method="lerp", psi=1.0):
    """Frames [steps, 3, H, W] along the path from seed_a to seed_b, and the latents used."""
    if space not in SPACES:
        raise LatentError(f"space must be one of {SPACES}, got {space!r}")
    if method not in METHODS:
        raise LatentError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(steps, int) or steps < 2 or steps > 64:
        raise LatentError(f"steps must be an integer from 2 to 64, got {steps!r}")
    dev = next(G.parameters()).device
    za, zb = seed_z(seed_a, G.z_dim, dev), seed_z(seed_b, G.z_dim, dev)
    ts = torch.linspace(0, 1, steps, device=dev)[:, None]
    fn = lerp if method == "lerp" else slerp
    with torch.no_grad():
        if not hasattr(G, "mapping"):  # DCGAN: Z only
            if space == "w":
                raise LatentError("this model has no mapping network (a DCGAN): interpolate in Z")
            z = fn(za.expand(steps, -1), zb.expand(steps, -1), ts) * psi
            return G(z), z
        if space == "z":
            z = fn(za.expand(steps, -1), zb.expand(steps, -1), ts)
            ws = G.mapping(z, truncation_psi=psi)
        else:
            require_mapping(G)
            wa, wb = G.mapping(za, truncation_psi=psi)[:, 0], G.mapping(zb, truncation_psi=psi)[:, 0]
            w = fn(wa.expand(steps, -1), wb.expand(steps, -1), ts)
            ws = w[:, None].repeat(1, G.num_ws, 1)
        return G.synthesis(ws, noise_mode="const"), ws


def smoothness(frames):
    """Distances between consecutive frames (mean abs pixel difference, images in [-1, 1] -> /255)."""
    d = (frames[1:] - frames[:-1]).abs().mean(dim=(1, 2, 3)) * 127.5
    return dict(mean=float(d.mean()), max=float(d.max()), unevenness=float(d.max() / d.mean().clamp_min(1e-8)),
                steps=[round(float(x), 3) for x in d])
