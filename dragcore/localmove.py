"""The ideal local move: a picture with the content around each handle carried onto its target.

The start image is warped so that the content around each handle lands exactly on its target and
nothing else moves (a Gaussian-weighted displacement, weight read at the destination). It is what a
perfectly local drag would show: the reference row every drag benchmark scores beside the engines
(a landmark detector's score for it is the best a local edit can get under that judge:
benchmarks.poster_edits, benchmarks.landmarks, benchmarks.reachability), and the picture the warp
pathway is trained to reach (training.reach). Differentiable; one image at a time.
Its twin `dragcore.motion.synthetic_warp` moves one point by exactly its vector (an inverted field,
uint8 images) to validate the optical-flow measure; this one is the cheap, torch, many-point form.
"""
import torch
import torch.nn.functional as F


def ideal_move(img, handles, targets, sigma, mode="bilinear"):
    """img [1, C, H, W] warped so content near each handle moves onto its target (Gaussian weights).
    mode: grid_sample's ('nearest' moves whole pixels: a noise map keeps its texture, unblurred)."""
    _, _, h, w = img.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    ux, uy = torch.zeros_like(xs), torch.zeros_like(ys)
    for (hx, hy), (tx, ty) in zip(handles, targets):
        g = torch.exp(-((xs - tx) ** 2 + (ys - ty) ** 2) / (2 * sigma ** 2))  # weight at the destination
        ux, uy = ux + (tx - hx) * g, uy + (ty - hy) * g
    grid = torch.stack([(xs - ux + 0.5) * 2 / w - 1, (ys - uy + 0.5) * 2 / h - 1], -1)[None]
    return F.grid_sample(img, grid, mode=mode, padding_mode="border", align_corners=False)
