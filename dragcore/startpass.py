"""A drag's start pass, kept from the render that drew the image on screen.

Every drag starts with a pass to the feature block at its start latent: F0, the reference its losses and
trackers read, and (512 px models and up) the image accumulated there, which its live previews are
colour-matched to. The image the user drags was just rendered from that same latent: the app's New image,
or the previous drag's final render (the chain's next drag, Continue). That render runs through the
feature block too, so it keeps what it saw there (`keep`: the last render of each synthesis network, and, while
they are small, a few before it: KEEP_ENTRIES within KEEP_MB, so a drag after Undo or "Continue all from" another
engine's result finds its start too; at 256 px and up one entry is over KEEP_MB, so only the last render is kept),
and a session whose start matches one reads it instead of a pass of its own (`lookup`). The app draws a new image with
`shown`: in the precision a drag picks by default (bf16 at 256 px and up on a CPU with bfloat16 arithmetic), which
the autocast of the match must be.

A match is exact: the same W+ rows (`torch.equal`), the same feature block and noise mode, the same
autocast, and the very same tensors of the synthesis at the same in-place versions (weights, noise maps;
a photo's maps swapped in by dragcore.noise_follow are other tensors). Anything else is a miss and the
session runs its pass. Random noise is never kept. Only passes without gradients keep or read.
"""
import itertools
import threading
import weakref
from dataclasses import dataclass

import torch

_KEPT = weakref.WeakKeyDictionary()   # synthesis network -> (Kept, ...): its last renders, newest first
_lock = threading.Lock()
KEEP_ENTRIES = 4   # renders kept per network at most ...
KEEP_MB = 4        # ... while all their maps together stay within this (the newest is always kept)


@dataclass(frozen=True)
class Kept:
    ws: torch.Tensor          # the W+ rows of the render
    feature_res: int
    noise_mode: str
    autocast: tuple           # (enabled, dtype) on the device the pass ran on
    state: tuple              # ((tensor, version), ...): the synthesis's parameters and buffers as they were
    features: torch.Tensor    # the output of the feature block
    partial: torch.Tensor | None   # the image accumulated at the feature block (None: not kept)


def _state(synthesis):
    return tuple((t, t._version) for t in itertools.chain(synthesis.parameters(), synthesis.buffers()))


def _autocast(device):
    kind = device.type
    on = torch.is_autocast_enabled(kind)
    return on, (torch.get_autocast_dtype(kind) if on else None)


def keep(synthesis, ws, feature_res, noise_mode, features, partial=None):
    """Remember what a render of `ws` saw at its feature block (replacing the last one kept)."""
    if noise_mode == "random" or torch.is_grad_enabled() or features is None:
        return
    entry = Kept(ws.detach().clone(), int(feature_res), noise_mode, _autocast(ws.device), _state(synthesis),
                 features.detach(), None if partial is None else partial.detach())
    with _lock:
        kept, size = [entry], _bytes(entry)
        for e in _KEPT.get(synthesis, ()):
            if len(kept) == KEEP_ENTRIES or not _same_state(e.state, entry.state) or _same_start(e, entry):
                continue   # stale (weights or maps changed since) or the same start: the new entry replaces it
            size += _bytes(e)
            if size > KEEP_MB * 2 ** 20:
                break
            kept.append(e)
        _KEPT[synthesis] = tuple(kept)


def _bytes(e):
    return sum(t.numel() * t.element_size() for t in (e.features, e.partial) if t is not None)


def _same_state(a, b):
    return len(a) == len(b) and all(x is y and v == w for (x, v), (y, w) in zip(a, b))


def _same_start(a, b):
    return (a.feature_res, a.noise_mode, a.autocast) == (b.feature_res, b.noise_mode, b.autocast) \
        and a.ws.shape == b.ws.shape and a.ws.device == b.ws.device and torch.equal(a.ws, b.ws)


def lookup(synthesis, ws, feature_res, noise_mode, partial=False):
    """(F0, the partial image or None) kept for exactly this start, or None: run the pass. partial: the
    caller needs the partial image too."""
    if torch.is_grad_enabled() or noise_mode == "random":
        return None
    with _lock:
        entries = _KEPT.get(synthesis, ())
    now = None
    for e in entries:
        if e.feature_res != feature_res or e.noise_mode != noise_mode or (partial and e.partial is None):
            continue
        if e.ws.shape != ws.shape or e.ws.device != ws.device or not torch.equal(e.ws, ws.detach()):
            continue
        if e.autocast != _autocast(ws.device):
            continue
        now = _state(synthesis) if now is None else now
        if _same_state(e.state, now):
            return e.features, e.partial
    return None


def shown(gen, latent):
    """The image [1, 3, H, W] (float32) of `latent` by `gen` (dragcore.adapt) for the screen, rendered under the
    autocast a drag's default precision runs in, so that a drag from it reads this render's pass."""
    from stylegan.precision import choose, to_float32
    from .config import spec
    with torch.no_grad(), choose(spec("precision")["default"], gen.device, gen.resolution).autocast():
        return to_float32(gen.image(latent))


def forget(synthesis=None):
    """Drop what was kept (for one synthesis network, or all)."""
    with _lock:
        if synthesis is None:
            _KEPT.clear()
        else:
            _KEPT.pop(synthesis, None)
