"""The editable-region mask from the image editor's brush layer, and the mask a drag of the page is
given (`Painted`), so that only the first drag after a stroke uploads the editor.

A drag button of the page runs `drag_js` in the page, which presses one of two hidden twins: after a
stroke (or the editor's own Undo, Redo or Clear) the twin that reads the editor in the page
(`READ_JS`: its layers, read at the click, as one small PNG that `keep_png` keeps in the session's
`Painted`), then drags; else the twin that uses the kept mask (Gradio's page would otherwise fetch and
re-upload the editor's layers on every click). `PAGE_JS` counts the strokes.

No event of the page's sends the editor to the server, and nothing listens to the editor's own events:
- each of its events sends a value Gradio builds from the props the server last set (not from the canvas)
  while the editor loads: under 0.5 s of network latency a stroke drawn just after Clear mask was heard
  only after the drag, as an empty layer, then overwritten by more empty echoes (tests/test_browser_mask.py);
- Gradio's page keeps a progress entry for every component that was an output of an event that ran, or an
  input of one that ended, and at each progress update of any event asks each for its value: the editor
  answers by re-uploading its three files (90 uploads in a 2-step drag and its export). So its reading is
  a page-only event, and the events that set it show their progress on their other outputs (`untracked`).

A handler that sets the editor's value (New image, Reset image, Clear mask, Send to the Drag tab)
starts a new `mask_epoch` of the session's DragState: a mask kept before it is not used after it.
`sets_editor` registers it: its click runs `SET_JS` (strokes made before it are its to wipe) and its end
is marked in the page; a drag click waits until every set of the editor it follows has reached the
server and the page.
"""
import threading

import gradio as gr
import numpy as np
from PIL import Image

from dragcore.features import as_shape
from ui.export import EditError, mask_from_b64

GATE_SECONDS = 60.0   # a drag click waits at most this long for a set of the editor before it to end
# In the page, once: a stroke on the editor's canvas (pointer down on it, then up), or its Undo / Redo / Clear, adds
# one to `strokes`; `carried` is the count the editor's value was last read at (or a set of the editor wiped);
# `sets` and `setsDone` count the clicks that set the editor and those whose answer has reached the page.
PAGE_JS = """(() => {   // gr.HTML's js_on_load: statements, run once the element is drawn
  if (window.__latentlabMask) return;
  const w = window.__latentlabMask = {down: false, strokes: 0, carried: 0, sets: 0, setsDone: 0};
  document.addEventListener('pointerdown', e => {
    const ed = e.target.closest && e.target.closest('#mask-editor');
    if (!ed) return;
    if (e.target.closest('canvas')) w.down = true;
    else if (e.target.closest('button[aria-label="Undo"], button[aria-label="Redo"], button[aria-label="Clear canvas"]'))
      w.strokes += 1;
  }, true);
  document.addEventListener('pointerup', () => { if (w.down) { w.down = false; w.strokes += 1; } }, true);
})();"""
_WAIT_SETS = """const w = window.__latentlabMask, t0 = Date.now();
  while (w && w.setsDone < w.sets && Date.now() - t0 < %d) await new Promise(r => setTimeout(r, 20));""" % (
    GATE_SECONDS * 1000)
# A click that sets the editor: after the sets before it; what was painted so far is its to wipe.
SET_JS = """async (...args) => {
  %s
  if (w) { w.sets += 1; w.carried = w.strokes; }
  return args;
}""" % _WAIT_SETS
SET_DONE_JS = "() => { const w = window.__latentlabMask; if (w) w.setsDone += 1; }"
# The editor's value (its layers uploaded by Gradio's page as it reads the canvas) -> their painted pixels as one
# PNG, white where painted, base64 ("" when there is no layer; "error: ..." when it cannot be read).
READ_JS = """async (value) => {
  try {
    const layers = ((value && value.layers) || []).filter(f => f && f.url);
    if (!layers.length) return '';
    const bitmaps = await Promise.all(layers.map(async f => createImageBitmap(await (await fetch(f.url)).blob())));
    const c = document.createElement('canvas');
    c.width = bitmaps[0].width; c.height = bitmaps[0].height;
    const g = c.getContext('2d');
    for (const b of bitmaps) g.drawImage(b, 0, 0, c.width, c.height);
    const d = g.getImageData(0, 0, c.width, c.height), p = d.data;
    for (let i = 0; i < p.length; i += 4) { const v = p[i + 3] > 0 ? 255 : 0; p[i] = p[i + 1] = p[i + 2] = v; p[i + 3] = 255; }
    g.putImageData(d, 0, 0);
    return c.toDataURL('image/png').split(',')[1];
  } catch (e) {
    return 'error: ' + String(e && e.message || e).slice(0, 200);
  }
}"""
PNG_CHARS = 8_000_000   # the read mask's base64 PNG, at most (a 512x512 one is a few kB)


def drag_js(button_id):
    """A drag button's click in the page: after the sets of the editor before it, press the twin that reads the
    editor (`{button_id}-carry`) when a stroke was made since it was last read, else the one that does not
    (`{button_id}-reuse`)."""
    return """async (...args) => {
  %s
  const carry = !w || w.strokes > w.carried;
  if (w) w.carried = w.strokes;
  document.querySelector('#%s-' + (carry ? 'carry' : 'reuse') + ' button, button#%s-' + (carry ? 'carry' : 'reuse'))
    .click();
  return args;
}""" % (_WAIT_SETS, button_id, button_id)


def untracked(outputs):
    """Keyword arguments for an event whose `outputs` include the editor: its progress is shown on the other outputs
    only (none left: nowhere), so the editor never gets a progress entry (see above)."""
    return dict(show_progress_on=[c for c in outputs if not isinstance(c, gr.ImageEditor)])


def sets_editor(listener, fn, inputs, outputs, **kwargs):
    """Register `fn` on `listener` (a button's `click`, an event's `success`) as a handler whose `outputs` set the
    editor: its click waits in the page for the sets before it (`SET_JS`), its progress is `untracked`, and its end
    is marked in the page. -> the event"""
    event = listener(fn, inputs, outputs, js=SET_JS, **untracked(outputs), **kwargs)
    event.then(None, None, None, js=SET_DONE_JS, queue=False, api_visibility="private")
    return event


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
    """One browser session's kept editor mask (the value of a gr.State): the painted pixels of the
    editor value last read, and the DragState mask epoch it was read in. A fresh one per session
    (Gradio deep-copies a State's value for each session)."""

    def __init__(self):
        self.alpha, self.error, self.epoch = None, None, None
        self._lock = threading.Lock()

    def __deepcopy__(self, memo):
        return Painted()

    def keep(self, alpha, error, epoch):
        """Painted pixels (bool, or None: nothing painted) or the error that makes them unusable, read in `epoch`."""
        with self._lock:
            self.alpha, self.error, self.epoch = alpha, error, epoch

    def mask(self, shape, epoch):
        """The bool mask of `shape` kept in `epoch` (True = editable), or None (nothing painted,
        or painted before the editor was last set)."""
        with self._lock:
            alpha, error, painted_in = self.alpha, self.error, self.epoch
        if painted_in != epoch:
            return None
        if error:
            raise MaskError(error)
        return fit(alpha, shape)


def keep_png(png, state, painted):
    """The carry twin's handler: the mask `READ_JS` read from the editor at the drag click (base64 PNG, white where
    painted), kept for this drag and the next ones of the same mask epoch; one that cannot be used is kept as its
    error, which the drag says."""
    png, alpha, error = str(png or ""), None, None
    if png.startswith("error:"):
        error = f"the page could not read the painted mask ({png[6:].strip()[:200]}); paint it again"
    elif len(png) > PNG_CHARS:
        error = f"the painted mask is too large ({len(png):,} characters, at most {PNG_CHARS:,})"
    elif png:
        try:
            alpha = mask_from_b64(png)
        except EditError as e:
            error = str(e).replace("the edit's mask", "the painted mask")
    painted.keep(None if alpha is None or not alpha.any() else alpha, error,
                 None if state is None else state.mask_epoch)
