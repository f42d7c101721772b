"""The editable-region mask from the image editor's brush layer, and the editor's mask as the server
last heard it (`Painted`), so that a drag needs no upload of the editor.

A drag button of the page does not take the editor as an input: Gradio's page would fetch and
re-upload the editor's layers on every click before the drag joins the queue. The editor's own
events (a stroke, an undo, a clear) send its value to `Painted.put` instead (`heard`), and the page
keeps a drag click back until the value of every stroke made before it has been heard: `PAGE_JS`
marks a stroke pending when it ends, `SENDING_JS` sends the page's stroke count with each editor
event, `HEARD_JS` takes the count the server answered, and `GATE_JS` waits on both before the click
is sent (a click right after a stroke would otherwise reach the server before the stroke's upload).
Counts, not events in flight: an event whose answer never comes holds back no click that has no
stroke to wait for (a lost answer once held every later click for GATE_SECONDS).

A handler that sets the editor's value (New image, Reset image, Clear mask) starts a new
`mask_epoch` of the session's DragState: a mask painted before it is not used after it. Its click
waits the same way. One stroke sends its value twice (the editor's input, then its change, up to
seconds later on a loaded machine), so a value of strokes all made before the editor was set is
dropped even when it is heard after that (it would bring the cleared mask back: `Painted.put`).
"""
import threading

import numpy as np
from PIL import Image

from dragcore.features import as_shape

GATE_SECONDS = 60.0   # a drag click waits at most this long for the editor's last value to be heard
# a stroke whose event never starts (it changed nothing: the pan tool) stops being waited for after this long. The
# editor's event starts 1.7-1.8 s after the pointer is lifted on an idle 2-core machine (the page composites and sends
# the layers first); 5 s was too short on a loaded one (2 default-suite runs of ~14 lost a stroke that way).
STROKE_SECONDS = 15.0
# In the page, once: a stroke on the editor's canvas, or its Undo / Redo / Clear, is pending until its event starts;
# `strokes` counts them, `sent` is the count the last editor event carried, `heard` the highest the server answered.
PAGE_JS = """(() => {   // gr.HTML's js_on_load: statements, run once the element is drawn
  if (window.__latentlabMask) return;
  const w = window.__latentlabMask = {pending: false, since: 0, down: false, strokes: 0, sent: 0, sentAt: 0, heard: 0};
  const mark = () => { w.pending = true; w.since = Date.now(); w.strokes += 1; };
  document.addEventListener('pointerdown', e => {
    const ed = e.target.closest && e.target.closest('#mask-editor');
    if (!ed) return;
    if (e.target.closest('canvas')) w.down = true;
    else if (e.target.closest('button[aria-label="Undo"], button[aria-label="Redo"], button[aria-label="Clear canvas"]')) mark();
  }, true);
  document.addEventListener('pointerup', () => { if (w.down) { w.down = false; mark(); } }, true);
})();"""
# The editor's event: no stroke pending, and the page's stroke count as its last input.
SENDING_JS = """(...args) => {
  const w = window.__latentlabMask;
  if (w) { w.pending = false; w.sent = w.strokes; w.sentAt = Date.now(); args[args.length - 1] = w.strokes; }
  return args;
}"""
# After the server's answer: the stroke count it heard (`heard` returns it).
HEARD_JS = "(n) => { const w = window.__latentlabMask; if (w) w.heard = Math.max(w.heard, n || 0); }"
# A click waits while a stroke's event has not started, or a stroke sent has not been heard (an editor event that
# carries no new stroke, as the echo of New image or Reset image setting the editor, is never waited for).
GATE_JS = """async (...args) => {
  const w = window.__latentlabMask, t0 = Date.now();
  while (w && ((w.pending && Date.now() - w.since < %d) || (w.heard < w.sent && Date.now() - w.sentAt < %d))
         && Date.now() - t0 < %d)
    await new Promise(r => setTimeout(r, 20));
  return args;
}""" % (STROKE_SECONDS * 1000, GATE_SECONDS * 1000, GATE_SECONDS * 1000)


class MaskError(ValueError):
    pass


def painted_alpha(value):
    """Gradio ImageEditor value (dict with 'layers') -> the painted pixels (bool, at the layers'
    size), or None when nothing is painted."""
    if value is None:
        return None
    layers = value.get("layers") if isinstance(value, dict) else None
    if not layers:
        return None
    alpha = None
    for layer in layers:
        if layer is None:
            continue
        a = np.asarray(layer)
        if a.ndim != 3 or a.shape[2] not in (2, 4):
            raise MaskError(f"the mask layer has an unexpected shape {a.shape}")
        a = a[..., -1] > 0
        alpha = a if alpha is None else (alpha | a) if alpha.shape == a.shape else None
        if alpha is None:
            raise MaskError("mask layers of different sizes")
    return alpha if alpha is not None and alpha.any() else None


def fit(alpha, shape):
    """Painted pixels -> bool mask of `shape` (height, width; an int means square; True = editable).
    The painted layer may be at display size (an integer multiple or fraction of the image): it is resized."""
    if alpha is None:
        return None
    (H, W), (h, w) = as_shape(shape), alpha.shape
    if h * W != w * H or (h % H and H % h):
        raise MaskError(f"the painted mask is {h}x{w}, which does not match the {H}x{W} image (height x width)")
    small = Image.fromarray(alpha.astype(np.uint8) * 255).resize((W, H), Image.BOX)
    return np.asarray(small) >= 128


def from_editor(value, shape):
    """Gradio ImageEditor value -> bool mask of `shape` (True = editable), or None when nothing is painted."""
    return fit(painted_alpha(value), shape)


class Painted:
    """One browser session's editor mask (the value of a gr.State): the painted pixels of the last
    editor event heard, and the DragState mask epoch it was painted in. A fresh one per session
    (Gradio deep-copies a State's value for each session)."""

    def __init__(self):
        self.alpha, self.error, self.epoch = None, None, None
        self._strokes = 0                 # the highest stroke count of the page heard so far
        self._seen, self._before = None, 0   # the newest epoch heard, and the strokes made before it began
        self._lock = threading.Lock()

    def __deepcopy__(self, memo):
        return Painted()

    def put(self, value, epoch, strokes):
        """The editor's value, heard in `epoch`, after the page's `strokes`-th stroke. Dropped (-> False)
        when `epoch` began after that stroke had been heard: the value of a stroke made before the
        editor was set, arriving late."""
        try:
            alpha, error = painted_alpha(value), None
        except MaskError as e:   # said by the drag that would use it
            alpha, error = None, str(e)
        strokes = int(strokes or 0)
        with self._lock:
            if epoch != self._seen:   # the first event since the editor was set
                self._seen, self._before = epoch, self._strokes
            self._strokes = max(self._strokes, strokes)
            if strokes <= self._before:
                return False
            self.alpha, self.error, self.epoch = alpha, error, epoch
            return True

    def mask(self, shape, epoch):
        """The bool mask of `shape` painted in `epoch` (True = editable), or None (nothing painted,
        or painted before the editor was last set)."""
        with self._lock:
            alpha, error, painted_in = self.alpha, self.error, self.epoch
        if painted_in != epoch:
            return None
        if error:
            raise MaskError(error)
        return fit(alpha, shape)


def heard(value, state, painted, strokes):
    """The editor's event handler: its value into the session's `Painted` (`strokes`: the page's count); returns
    that count, so the page knows those strokes are heard (`HEARD_JS`)."""
    strokes = int(strokes or 0)
    painted.put(value, None if state is None else state.mask_epoch, strokes)
    return strokes
