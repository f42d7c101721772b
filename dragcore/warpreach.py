"""The warp reach: a drag through the warp pathway kept from moving what lies far from its request.

A drag asks for its handles to reach their targets and says nothing of the rest of the picture. Through the
warp pathway (stylegan.warp) the optimiser is free to carry a wide area along with a handle, and the warp
guard's band (dragcore.warpguard) even asks for that: it bounds how much a region may be squeezed, so a move
spreads. On a turned nose the whole head then turns a little with it: the outline, the hair and the far eye
each shift by about a pixel, which on a sharp photo is a visible change far from where the user clicked.

The reach term bounds the field's displacement by an envelope around the request (the most the ideal local
move of dragcore.localmove lets a pixel move, read from the nearest point of each handle's path):

    weight * mean_x relu(|u(x)| - m(x) - TOLERANCE)^2 / L^2,
    m(x) = sum_i L_i exp(-d_i(x)^2 / (2 sigma^2)),   d_i(x) = distance from x to the segment handle_i -> target_i

u in image pixels on the pathway's grid, L_i each request's length, L the longest, sigma SIGMA of the image's
height (a setting of the term: wider than the ideal's Gaussian, so the band's spread fits inside it). Near the
request the envelope is the request's own length and the term is silent; far from it the displacement must
fall to TOLERANCE. It reads nothing of the features or the image, and shares the guard's field of the code.
Off (weight 0) by default and on any model without a warp pathway; a photo drag's settings may turn it on
(drags.in_photo).
"""
import torch

from .warpheading import grid_px

SIGMA = 1 / 7   # of the image's height: the envelope's fall-off (the ideal local move's is 1 / 8)
TOLERANCE = 1 / 128   # of the image's height (half a pixel at 64 px): displacement left free everywhere


def segment_distance(x, y, a, b):
    """Distance (px) from the points (x, y) [..] to the segment a -> b (each (x, y) image px)."""
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    n2 = dx * dx + dy * dy
    t = ((x - ax) * dx + (y - ay) * dy) / n2 if n2 > 0 else torch.zeros_like(x)
    t = t.clamp(0, 1)
    return ((x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2).sqrt()


def reach_envelope(handles, targets, grid, shape, sigma=None):
    """m [grid, grid]: the displacement (image px) each point of a grid x grid field of an image of shape (H, W)
    may take, as above; handles and targets [N, 2] image px; sigma image px (default SIGMA of the height)."""
    sigma = shape[0] * SIGMA if sigma is None else sigma
    x, y = grid_px(grid, shape)
    m = torch.zeros(grid, grid)
    for h, t in zip(handles.tolist(), targets.tolist()):
        length = ((t[0] - h[0]) ** 2 + (t[1] - h[1]) ** 2) ** 0.5
        m = m + length * torch.exp(-segment_distance(x, y, h, t) ** 2 / (2 * sigma ** 2))
    return m


def reach_penalty(u, m, px, length, tolerance):
    """mean_x relu(|u| - m - tolerance)^2 / length^2: u [1, h, w, 2] in normalised units, m [h, w] image px, px
    the image px per normalised unit (x, y), length and tolerance image px."""
    u = u[0] * u.new_tensor(px)
    size = (u.square().sum(-1) + 1e-12).sqrt()
    return (size - m - tolerance).clamp(min=0).square().mean() / length ** 2
