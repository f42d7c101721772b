"""The synthesis computed only where it is read: windows around points, exact inside them.

A drag reads the feature block only near its handles (the motion-supervision disc, the tracking
square), and convolutions are local, so the top stages need only run on windows around those
points. Each window is planned from the top down: a stage's 3x3 convolution needs one more pixel
on each side of its output, its up-sampling convolution (a stride-2 transposed 3x3, then the 4-tap
FIR, `stylegan.ops.up_conv3x3`) needs input pixels floor(c / 2) - 1 to ceil(d / 2) + 1 for the
output rows c..d-1. Windows are clipped to the stage's map; where a convolution's input window
reaches past the map's edge it is padded with zeros, which is what the whole map's convolution
sees there. So inside a window every value is the whole map's value (up to the order of float
sums inside the convolutions); the noise maps and the per-pixel bias, activation and clamp are
cropped with it.

`plan(...)` picks the windowed stages: from the feature block down, while the windows cover at
most `MAX_SHARE` of a stage's map (below that, the stages are small and run whole, once for all
windows). `None` when even the top stage is not worth it: the caller runs the whole map.

The image (the skip architecture's RGB path) is windowed the same way (`run_image_stage`): a stage's
image is the image below, up-sampled (`stylegan.ops.upsample2x`, a stride-2 transposed 4-tap FIR, which
needs input pixels floor(c / 2) - 1 to ceil(d / 2) + 1 as well), plus its to-RGB, a 1x1 convolution of
the stage's output. The x windows already cover the image windows (each stage's output box holds the
up-sampling's input of the box above), so one chain carries both: `image_near` (the image only inside
given boxes) and `tiled` (the whole image as strips, so that no whole top stage is held at once).

What it does not do: the resnet architecture's shortcut (its own up-sampling) and a warp pathway
inside the windowed stages (a resampling of the whole map) are not windowed (`plan` starts above
the warp stage, and answers None for resnet generators).
"""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .ops import upsample2x

MAX_SHARE = 0.5   # a stage runs on windows while they cover at most this share of its map


@dataclass(frozen=True)
class Box:
    """Rows top..bottom-1, columns left..right-1 of a stage's map (may reach past its edges)."""
    top: int
    left: int
    bottom: int
    right: int

    @property
    def area(self):
        return max(self.bottom - self.top, 0) * max(self.right - self.left, 0)

    def clip(self, shape):
        h, w = shape
        return Box(max(self.top, 0), max(self.left, 0), min(self.bottom, h), min(self.right, w))

    def grow(self, k):
        return Box(self.top - k, self.left - k, self.bottom + k, self.right + k)

    def union(self, o):
        return Box(min(self.top, o.top), min(self.left, o.left), max(self.bottom, o.bottom), max(self.right, o.right))

    def slices(self):
        return slice(self.top, self.bottom), slice(self.left, self.right)


def up_input(box):
    """The input rows / columns (at half the size) that the up-sampling convolution needs for `box`."""
    lo = lambda c: c // 2 - 1
    hi = lambda d: -(-d // 2) + 1
    return Box(lo(box.top), lo(box.left), hi(box.bottom), hi(box.right))


def merged(boxes):
    """Boxes merged where one box around two costs no more than the two apart (or they overlap)."""
    boxes = list(boxes)
    changed = True
    while changed:
        changed = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                u = boxes[i].union(boxes[j])
                if u.area <= boxes[i].area + boxes[j].area:
                    boxes[j] = u
                    del boxes[i]
                    changed = True
                    break
            if changed:
                break
    return boxes


@dataclass
class Chain:
    """One window through the windowed stages: per stage (lowest first) the input box (at the stage
    below, clipped), the up-convolution's output box and the stage's output box (both clipped)."""
    inputs: list
    mids: list
    outs: list


def plan(synthesis, res, boxes, warp=False, tiles_from=None):
    """(index of the lowest windowed stage, [Chain]) for the output of the stage at `res` px needed
    inside `boxes` (Box at that stage), or None when windows do not pay (see the module doc).
    warp: the pass applies the warp pathway (windows start above its stage). tiles_from: tiles of the
    output (`tiled`): the boxes are kept apart (not merged) and windowed down to the stage above the one
    at `tiles_from` px, whatever share of each map they cover."""
    if any(s.skip is not None for s in synthesis.stages):   # resnet shortcuts: not windowed
        return None
    top = synthesis.block_resolutions.index(res)
    shape = lambda i: synthesis.stage_shape(i)
    boxes = [b.clip(shape(top)) for b in boxes if b.clip(shape(top)).area > 0]
    boxes = boxes if tiles_from is not None else merged(boxes)
    if not boxes:
        return None
    lowest = 1 if not warp else synthesis.block_resolutions.index(synthesis.warp_res) + 1
    if tiles_from is not None:
        lowest = max(lowest, synthesis.block_resolutions.index(tiles_from) + 1)
    chains = [Chain([], [], []) for _ in boxes]
    outs, first = boxes, None
    for i in range(top, max(lowest, 1) - 1, -1):
        mids = [b.grow(1).clip(shape(i)) for b in outs]
        if tiles_from is None and sum(m.area for m in mids) > MAX_SHARE * shape(i)[0] * shape(i)[1]:
            break
        ins = [up_input(m).clip(shape(i - 1)) for m in mids]
        for c, b_in, m, b_out in zip(chains, ins, mids, outs):
            c.inputs.insert(0, b_in), c.mids.insert(0, m), c.outs.insert(0, b_out)
        outs, first = ins, i
    return None if first is None else (first, chains)


def crop(x, box, want):
    """x (covering `box` of the plane) cut or zero-padded to `want` (a box that may reach past the map)."""
    t, l = want.top - box.top, want.left - box.left
    b, r = want.bottom - box.top, want.right - box.left
    h, w = x.shape[-2:]
    inner = x[..., max(t, 0):min(b, h), max(l, 0):min(r, w)]
    pads = (max(-l, 0), max(r - w, 0), max(-t, 0), max(b - h, 0))
    return F.pad(inner, pads) if any(pads) else inner


def run_stage(stage, x, chain, k, rows, fir, noise_mode):
    """Stage k of `chain` (k: position in the chain) on the window x (its input box, clipped)."""
    b_in, mid, out = chain.inputs[k], chain.mids[k], chain.outs[k]
    need = up_input(mid)   # unclipped: zeros past the map's edge, as the whole map's convolution sees
    y = stage.up(crop(x, b_in, need), rows[:, 0], fir, noise_mode, window=(need, mid))
    need = out.grow(1)
    return stage.conv(crop(y, mid, need), rows[:, 1], fir, noise_mode, window=(need, out))


def upsample_window(img, have, want, fir):
    """The image's 2x FIR up-sampling (stylegan.ops.upsample2x) inside `want` (a box of the doubled map),
    from the window img covering `have` (a box of the map below, holding up_input(want) where it is on
    the map). In float32, as the whole image."""
    need = up_input(want)   # unclipped: zeros past the map's edge, which is what the whole map's sees
    y = upsample2x(crop(img, have, need), fir, pad=0)
    oy, ox = 2 * need.top - 1, 2 * need.left - 1
    return y[..., want.top - oy:want.bottom - oy, want.left - ox:want.right - ox]


def run_image_stage(stage, x, img, chain, k, rows, fir):
    """Stage k's image inside its output box: the image window below (covering chain.inputs[k], or None)
    up-sampled, plus the stage's to-RGB of x (its output window, chain.outs[k]); as `Stage.add_rgb`."""
    out = chain.outs[k]
    if img is not None:
        with torch.autocast(img.device.type, enabled=False):   # 3 channels: the image stays in fp32
            img = upsample_window(img, chain.inputs[k], out, fir)
    if hasattr(stage, "rgb"):
        rgb = stage.rgb(x, rows[:, stage.n_conv])
        img = rgb if img is None else img + rgb
    return img


def strips(shape, rows):
    """Boxes of `rows` rows each (the last may be shorter) covering a map of `shape` (H, W)."""
    h, w = shape
    return [Box(t, 0, min(t + rows, h), w) for t in range(0, h, rows)]
