"""Drawing the edit on the image: numbered handle (red) -> target (blue) arrows, the mask tint.

The generator's image may be tiny (64 px), so everything is drawn on a copy upscaled by
`display_scale(shape)` (the same integer factor on both axes, so a 512x256 human stays 512x256);
clicks on that display map back with `to_model_px`. A shape is (height, width); an int means square.
"""
import math

import numpy as np
from PIL import Image, ImageDraw

from dragcore.features import as_shape

DISPLAY = 512


def display_scale(shape):
    return max(1, DISPLAY // max(as_shape(shape)))


def display_size(shape):
    """(width, height) of the displayed image, as PIL counts it."""
    (h, w), s = as_shape(shape), display_scale(shape)
    return w * s, h * s


def to_model_px(x, y, shape):
    """A click on the displayed image -> model pixel coordinates (pixel centres)."""
    (h, w), s = as_shape(shape), display_scale(shape)
    return [min(w - 1.0, max(0.0, (x + 0.5) / s - 0.5)), min(h - 1.0, max(0.0, (y + 0.5) / s - 0.5))]


def render(image, points=(), mask=None):
    """image HxWx3 uint8 -> PIL image at display size with the mask tint and the point pairs."""
    s = display_scale(image.shape[:2])
    img = Image.fromarray(image).resize(display_size(image.shape[:2]), Image.NEAREST if s >= 4 else Image.BICUBIC)
    if mask is not None:  # dim the fixed (non-editable) area so the editable region stands out
        m = Image.fromarray(((~mask) * 110).astype(np.uint8)).resize(img.size, Image.NEAREST)
        img = Image.composite(Image.new("RGB", img.size, (0, 0, 0)), img, m)
    d = ImageDraw.Draw(img)
    r = max(4, s // 2 + 3)
    pts = [((x + 0.5) * s, (y + 0.5) * s) for x, y in points]
    for i in range(0, len(pts), 2):
        hx, hy = pts[i]
        if i + 1 < len(pts):
            tx, ty = pts[i + 1]
            d.line([hx, hy, tx, ty], fill=(255, 255, 255), width=2)
            ang = math.atan2(ty - hy, tx - hx)
            for da in (2.6, -2.6):
                d.line([tx, ty, tx + 12 * math.cos(ang + da), ty + 12 * math.sin(ang + da)], fill=(255, 255, 255), width=2)
            d.ellipse([tx - r, ty - r, tx + r, ty + r], fill=(40, 90, 255), outline=(255, 255, 255))
        d.ellipse([hx - r, hy - r, hx + r, hy + r], fill=(235, 40, 40), outline=(255, 255, 255))
        d.text((hx + r + 2, hy - r - 10), str(i // 2 + 1), fill=(255, 255, 0))
    return img
