"""The warp pathway: an explicit, smooth displacement of the content inside the synthesis loop.

A generator built with `warp_res` set (GeneratorConfig) resamples, right after its stage at
`warp_res` px, that stage's features and the RGB image so far by a displacement field u:

    out(x) = in(x - u(x))        content at x moves to about x + u(x)
    u(x)   = gain * sum_j a_j b(|x - c_j| / R),    a = (P code) viewed as [k*k, 2]
    b(r)   = (1 - r^2)^3 for r < 1, else 0

c_j are the k x k bump centres on a regular grid of [-1, 1]^2 (image units, x then y), R = 3 / k
(1.5 grid spacings), P a [2 k^2, w_dim] map. The bumps have compact support on purpose: an
engine optimises the code with Adam, which scales every coordinate's step to about the learning
rate however small its gradient is, so a Gaussian's far tail would move content everywhere;
a bump farther than R from what the loss reads gets no gradient at all and stays put. The *deformation code* is its own latent row, appended after the
style rows of W+ ([N, num_ws + 1, w_dim]); the mapping network never produces it, so every
sampled image, truncation, interpolation and style mix (all made of mapped rows) has no code and
is not warped. A drag engine optimises the code together with the trainable W+ rows
(dragcore.protocol); a drag therefore moves content through this pathway, and the code it found
travels with the latent (exports, replays, chains). u is zero where the code is zero.

Why it exists: a distilled 64 px model has no nearby W+ latent that shows the same face with a
feature moved, so W+ optimisation alone repaints instead of moving (benchmarks.poster_edits);
the bumps give it one.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def grid_centres(k):
    """[k*k, 2] bump centres (x, y) on a regular k x k grid of [-1, 1]^2, pixel-centre aligned."""
    t = (torch.arange(k, dtype=torch.float32) + 0.5) * 2 / k - 1
    gy, gx = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], -1)


def base_grid(h, w, device=None):
    """[h, w, 2] normalised (x, y) of each pixel centre (grid_sample, align_corners=False)."""
    ys = (torch.arange(h, dtype=torch.float32, device=device) + 0.5) * 2 / h - 1
    xs = (torch.arange(w, dtype=torch.float32, device=device) + 0.5) * 2 / w - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], -1)


class WarpField(nn.Module):
    """code [N, w_dim] -> displacement u [N, h, w, 2] (normalised units); `apply` resamples a map by it."""

    def __init__(self, w_dim, grid=8, gain=0.1):
        super().__init__()
        self.k, self.gain = int(grid), float(gain)
        self.radius = 3.0 / self.k
        n = 2 * self.k * self.k
        self.centres = nn.Parameter(grid_centres(self.k))
        proj = torch.zeros(n, w_dim)
        if n <= w_dim:   # coefficient i reads code entry i: the code *is* the bump coefficients
            proj[:, :n] = torch.eye(n)
        else:            # more coefficients than entries: a fixed random map, norm-preserving on average
            proj = torch.randn(n, w_dim, generator=torch.Generator().manual_seed(0)) / math.sqrt(w_dim)
        self.proj = nn.Parameter(proj)

    def field(self, code, h, w):
        g = base_grid(h, w, code.device)                                  # [h, w, 2]
        d2 = (g[None] - self.centres[:, None, None, :].to(code)).square().sum(-1)   # [k*k, h, w]
        bumps = (1 - d2 / self.radius ** 2).clamp(min=0) ** 3
        a = (code.float() @ self.proj.t().float()).view(code.shape[0], -1, 2)       # [N, k*k, 2]
        return self.gain * torch.einsum("njc,jhw->nhwc", a, bumps)

    def apply(self, x, u, mode="bilinear"):
        """x [N, C, h, w] resampled at x - u (grid_sample's `mode`, border), in float32 for any input dtype."""
        g = base_grid(x.shape[-2], x.shape[-1], x.device)[None] - u
        with torch.autocast(x.device.type, enabled=False):
            return F.grid_sample(x.float(), g.expand(x.shape[0], -1, -1, -1), mode=mode,
                                 padding_mode="border", align_corners=False).to(x.dtype)

    def extra_repr(self):
        return f"grid={self.k}, gain={self.gain}, radius={self.radius:.3f}"
