"""The editor's mask as a drag of the page last read it (ui.mask.Painted): what the page's next drags are given."""
import base64
import copy
import io

import numpy as np
import pytest
from PIL import Image

from ui.mask import PNG_CHARS, MaskError, Painted, from_editor, keep_png
from ui.state import DragState


def _read(rows):
    """What the page's READ_JS sends for a stroke over `rows` of the 512x512 editor: a base64 PNG, white where painted."""
    drawn = np.zeros((512, 512), bool)
    drawn[rows, 100:400] = True
    return _png(drawn)


def test_the_mask_read_is_kept_until_the_editor_is_set():
    state, painted = DragState(shape=(64, 64)), Painted()
    assert painted.mask((64, 64), state.mask_epoch) is None            # nothing painted
    keep_png(_read(slice(200, 300)), state, painted)     # the first drag after a stroke reads it
    m = painted.mask((64, 64), state.mask_epoch)
    assert m.shape == (64, 64) and m[30, 30] and not m[5, 30] and not m[60, 30]
    assert painted.mask((64, 64), state.mask_epoch)[30, 30]            # the next drags (no stroke since) reuse it
    keep_png(_read(slice(0, 64)), state, painted)         # a drag after a later stroke replaces it
    assert painted.mask((64, 64), state.mask_epoch)[3, 30] and not painted.mask((64, 64), state.mask_epoch)[30, 30]
    keep_png(_png(np.zeros((512, 512), bool)), state, painted)
    assert painted.mask((64, 64), state.mask_epoch) is None            # all erased: the whole image
    keep_png(_read(slice(300, 400)), state, painted)
    state.new_mask_epoch()                                             # Clear mask / Reset image: not used after
    assert painted.mask((64, 64), state.mask_epoch) is None
    kept = state.mask_epoch
    assert state.adopt(DragState(shape=(64, 64))).mask_epoch == kept   # a replay does not set the editor
    state.reset()
    assert state.mask_epoch != kept


def test_a_bad_layer_is_said_by_the_drag_and_each_session_has_its_own():
    state, painted = DragState(shape=(64, 64)), Painted()
    with pytest.raises(MaskError, match="unexpected shape"):   # an editor value given to the API's drags
        from_editor(dict(layers=[np.zeros((512, 512), np.uint8)]), (64, 64))
    keep_png(_read(slice(200, 300)), state, painted)
    with pytest.raises(MaskError, match="does not match the 64x32 image"):
        painted.mask((64, 32), state.mask_epoch)
    other = copy.deepcopy(painted)    # Gradio's per-session copy of a State's value
    assert other is not painted and other.mask((64, 64), state.mask_epoch) is None


def _png(mask):
    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_the_mask_read_in_the_page_is_kept_and_a_bad_one_is_said():
    state, painted = DragState(shape=(64, 64)), Painted()
    keep_png(_read(slice(200, 300)), state, painted)
    m = painted.mask((64, 64), state.mask_epoch)
    assert m[30, 30] and not m[5, 30] and not m[60, 30]
    keep_png(_png(np.zeros((512, 512), bool)), state, painted)   # all erased: the whole image
    assert painted.mask((64, 64), state.mask_epoch) is None
    keep_png("", state, painted)                   # no layer
    assert painted.mask((64, 64), state.mask_epoch) is None
    for bad, said in (("error: Failed to fetch", "could not read the painted mask (Failed to fetch)"),
                      ("not base64!", "the painted mask is not a valid PNG"),
                      ("A" * (PNG_CHARS + 1), "the painted mask is too large")):
        keep_png(bad, state, painted)
        with pytest.raises(MaskError, match=said.replace("(", r"\(").replace(")", r"\)")):
            painted.mask((64, 64), state.mask_epoch)
    keep_png(_read(slice(200, 300)), state, painted)   # and the next good one is used again
    assert painted.mask((64, 64), state.mask_epoch)[30, 30]
