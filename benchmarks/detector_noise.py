"""A face judged over imperceptible variants of its picture, not on one rendering.

The landmark detector (mediapipe face mesh on a 256 px bicubic upscale, benchmarks.landmarks) decides "face found"
by a score against a threshold; a face whose score sits near the threshold flips on changes no one can see. A
benchmark that counts faces lost on one rendering then counts the detector's noise (docs/benchmarks.md, "Drags on
adapted models", sessions 7 and 8: the noise probe).

`variants(img, k)`: k imperceptible variants of an image [1, 3, H, W] in [-1, 1], the first half a random +-1/255
dither each (a fixed generator per index), the rest a quarter-pixel shift of the whole picture (right, left, down,
up, in turn; border pixels repeated). `kept(found, k)`: a face is kept when the detector finds it in at least half
of its k variants (`found`: how many). Applied to every picture alike (the start, the ideal local move, each engine),
so a rule that favoured one would favour all.
"""
import torch
import torch.nn.functional as F

SHIFT_PX = 0.25
SHIFTS = ((SHIFT_PX, 0.0), (-SHIFT_PX, 0.0), (0.0, SHIFT_PX), (0.0, -SHIFT_PX))


def variants(img, k):
    """k imperceptible variants of img [1, 3, H, W] (clamped to [-1, 1]): dithers, then quarter-pixel shifts."""
    if k < 2:
        raise ValueError(f"variants need k >= 2 (a dither and a shift), got {k}")
    img = img.detach().float().clamp(-1, 1)   # what an 8-bit picture of it holds
    h, w = img.shape[-2:]
    out = []
    for i in range(k):
        if i < (k + 1) // 2:
            g = torch.Generator().manual_seed(i)
            noise = torch.randint(-1, 2, img.shape, generator=g).float() / 127.5   # one 8-bit level either way
            out.append((img + noise).clamp(-1, 1))
        else:
            dx, dy = SHIFTS[(i - (k + 1) // 2) % len(SHIFTS)]
            theta = torch.tensor([[[1.0, 0.0, dx * 2 / w], [0.0, 1.0, dy * 2 / h]]])
            grid = F.affine_grid(theta, list(img.shape), align_corners=False)
            out.append(F.grid_sample(img, grid, padding_mode="border", align_corners=False))
    return out


def kept(found, k):
    """A face is kept when the detector found it in at least half of its k variants."""
    return 2 * found >= k
