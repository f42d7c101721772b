"""Constant noise maps that follow the dragged content (a drag of an inverted photo).

PTI tunes a StyleGAN's constant noise maps beside its weights (latent.pti): they then hold the
photo's finest detail (pores, eyelashes, the edge of a lip) at fixed pixels. A drag moves the
latent, the content moves, and the detail the maps hold stays where it was: a doubled contour of
the nose or mouth where the feature used to be. The drag knows where its content went (the
handles, from where they started to where the engine tracks them now), so each map is resampled
along that motion: the same Gaussian-weighted displacement as the ideal local move
(dragcore.localmove.ideal_move), at the map's own resolution. Far from the handles nothing moves.

Only the maps finer than the supervised feature block follow (DragSession.follow_noise's default
`min_res`): the engines track and supervise features that the coarser maps feed, so warping those
maps moves the features the tracker follows, the handles move on, the maps with them, a feedback
loop that wrecked a face in a trial (a nose turn on a tuning photo). And they move by whole pixels
(`mode` 'nearest'): a bilinear resampling blurs the texture the maps hold.

Mode 'field' (a generator with a warp pathway, stylegan.warp): the drag moves content through the pathway's
displacement field at its stage, so the maps finer than that stage are resampled by that same field
for the latent of each pass (`resample`: grid_sample's 'nearest', 'bilinear' or 'bicubic'; what a photo drag
uses is drags.in_photo's RESAMPLE): they move exactly as the warped content, need no handles, and are a function of the
latent (a chain, an undo, a continued command-line drag derive them again). The maps at or below the pathway's
stage are warped with the features already. What a photo drag uses: drags.in_photo.

The motion the maps take (modes 'nearest' and 'bilinear') is bounded by the request: given the targets, each handle's motion counts only
along the line from its start to its target, and never past the target (`bounded`). A tracker that
reads the picture (which the maps feed) cannot then drag the maps on by itself: the runaway of an
unbounded follow (a nose turn whose maps and handle chased each other off the face) has no room.

`NoiseFollower(G.synthesis, shape, sigma, min_res, mode, start)` keeps the maps it starts from (`start`: every map
of the synthesis, e.g. as an earlier drag of a chain left them; default the generator's own); `update(handles0,
handles, targets)` warps them; `applied()` swaps the warped maps in for one generator pass and puts the
generator's own back (the generator itself is left as it was between passes, so another session on the same
generator starts from its own maps; the swap holds one lock for every follower, so two sessions on one generator,
an app's Compare, never render with each other's maps). The protocol's StyleGAN adapter runs every pass inside
`applied()` when a session gives it a follower (DragSession.follow_noise).
"""
import threading
from contextlib import contextmanager

import torch

from .localmove import ideal_move


def bounded(handles0, handles, targets):
    """Each handle's motion projected on its request (start -> target) and clipped to [start, target]."""
    ask = targets - handles0
    length = ask.norm(dim=1, keepdim=True).clamp_min(1e-6)
    along = ((handles - handles0) * ask).sum(1, keepdim=True) / length
    return handles0 + ask / length * along.clamp(min=0).minimum(length)


def scale_points(points, shape, map_shape):
    """Image px (x, y) of an H x W image -> px of an h x w map (pixel centres at integers in both)."""
    (H, W), (h, w) = shape, map_shape
    s = points.new_tensor([w / W, h / H])
    return (points + 0.5) * s - 0.5


RESAMPLES = ("nearest", "bilinear", "bicubic")   # mode 'field': grid_sample's modes the maps may be read with
_SWAP = threading.RLock()   # one pass at a time swaps maps into a generator (every follower: they may share one)


class NoiseFollower:
    """Resamples a synthesis network's constant noise maps along the handles' motion."""

    def __init__(self, synthesis, shape, sigma, min_res=0, mode="nearest", start=None, resample="nearest"):
        if resample not in RESAMPLES:
            raise ValueError(f"resample must be one of {RESAMPLES}, got {resample!r}")
        self.resample = resample   # mode 'field': how the maps are read along the field
        self.warp = getattr(synthesis, "warp", None) if mode == "field" else None
        if mode == "field":   # the maps a warp pathway does not move already: those finer than its stage
            if self.warp is None:
                raise ValueError("mode 'field' needs a generator with a warp pathway (stylegan.warp)")
            min_res, start = max(min_res, 2 * synthesis.warp_res), None   # the maps are the latent's: never a chain's
        self._num_ws = synthesis.num_ws
        self.all_layers = list(synthesis._noisy())
        self.own = [layer.noise for layer in self.all_layers]
        if start is None:
            start = self.own
        start = list(start)
        if len(start) != len(self.own) or any(tuple(a.shape) != tuple(b.shape) for a, b in zip(start, self.own)):
            raise ValueError("start: one map per noise layer of the synthesis, each of its shape")
        self.base = [m.to(o) for m, o in zip(start, self.own)]   # what the drag starts from (and warps)
        self.moving = [k for k, layer in enumerate(self.all_layers) if layer.noise.shape[-2] >= min_res]
        self.current = list(self.base)
        self.shape, self.sigma = tuple(shape), float(sigma)   # sigma: image px of the H x W image
        self.mode = mode
        self._lock = threading.RLock()

    @torch.no_grad()
    def update(self, handles0, handles, targets=None, latent=None):
        """Warp every followed map so the content at handles0 sits at handles ([N, 2] image px); with `targets`,
        the motion is `bounded` by the request. Mode 'field': by the warp pathway's own displacement for
        `latent` (its deformation code row), the handles unused."""
        if self.warp is not None:
            return self._follow_field(latent)
        h0, h1 = handles0.detach().float().cpu(), handles.detach().float().cpu()
        if targets is not None:
            h1 = bounded(h0, h1, targets.detach().float().cpu())
        warped = list(self.base)
        for k in self.moving:
            m = self.base[k]
            a, b = scale_points(h0, self.shape, m.shape[-2:]), scale_points(h1, self.shape, m.shape[-2:])
            sigma = self.sigma * m.shape[-2] / self.shape[0]
            out = ideal_move(m.float().reshape(1, 1, *m.shape[-2:]).cpu(), a.tolist(), b.tolist(), sigma, self.mode)
            warped[k] = out.reshape(m.shape).to(m)
        with self._lock:
            self.current = warped

    def _field_maps(self, latent):
        """Every map, the followed ones resampled (`resample`) by the displacement the warp pathway applies for
        `latent`'s deformation code: the detail the maps hold moves exactly as the warped content (a latent
        without the code row, or none: the maps as they are)."""
        warped = list(self.base)
        if latent is not None and latent.ndim == 3 and latent.shape[1] == self._num_ws + 1:
            code = latent[:, -1].detach().float()
            with torch.no_grad():
                for k in self.moving:
                    m = self.base[k]
                    u = self.warp.field(code.to(m.device), *m.shape[-2:])
                    out = self.warp.apply(m.float().reshape(1, 1, *m.shape[-2:]), u, self.resample)
                    warped[k] = out.reshape(m.shape).to(m)
        return warped

    def _follow_field(self, latent):
        warped = self._field_maps(latent)
        with self._lock:
            self.current = warped

    @contextmanager
    def applied(self, latent=None):
        """The warped maps in the generator for the duration of the block (one pass), its own after. Mode
        'field': the maps of the pass's own `latent` (a preview rendered between a step and its update too)."""
        maps = self._field_maps(latent) if self.warp is not None and latent is not None else None
        with _SWAP, self._lock:
            for layer, m in zip(self.all_layers, maps or self.current):
                layer.noise = m
            try:
                yield
            finally:
                for layer, m in zip(self.all_layers, self.own):
                    layer.noise = m

    def maps(self):
        """Every map of the synthesis as the drag left it now (what its last image was made with)."""
        with self._lock:
            return list(self.current)

    def changes(self, G):
        """{G's state_dict key: warped - own} for the maps that differ from the generator's: what an inverted
        photo's generator delta adds so that the drag's result, saved with it, renders as the drag left it."""
        keys = {id(b): k for k, b in G.named_buffers()}
        with self._lock:
            return {keys[id(t)]: (c - t).contiguous() for t, c in zip(self.own, self.current)
                    if id(t) in keys and not torch.equal(c, t)}
