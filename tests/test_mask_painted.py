"""The editor's mask as the server last heard it (ui.mask.Painted): what a page's drag is given."""
import copy

import numpy as np
import pytest

from ui.mask import MaskError, Painted, heard
from ui.state import DragState


def _editor(rows):
    layer = np.zeros((512, 512, 4), np.uint8)
    layer[rows, 100:400] = 255
    return dict(background=None, layers=[layer], composite=None)


def test_the_last_value_heard_is_the_mask_until_the_editor_is_set():
    state, painted = DragState(shape=(64, 64)), Painted()
    assert painted.mask((64, 64), state.mask_epoch) is None            # nothing painted
    heard(_editor(slice(200, 300)), state, painted, 1)               # the page's first stroke
    m = painted.mask((64, 64), state.mask_epoch)
    assert m.shape == (64, 64) and m[30, 30] and not m[5, 30] and not m[60, 30]
    heard(_editor(slice(0, 64)), state, painted, 2)                   # a later stroke replaces it
    assert painted.mask((64, 64), state.mask_epoch)[3, 30] and not painted.mask((64, 64), state.mask_epoch)[30, 30]
    state.new_mask_epoch()                                            # Clear mask / Reset image: not used after
    assert painted.mask((64, 64), state.mask_epoch) is None
    # the second event of stroke 2 (the editor's change after its input) heard after the clear: dropped
    assert painted.put(_editor(slice(0, 64)), state.mask_epoch, 2) is False
    assert painted.mask((64, 64), state.mask_epoch) is None
    assert heard(_editor(slice(300, 400)), state, painted, 3) == 3  # a stroke after the clear is the mask; the page
    # is answered the stroke count heard (ui.mask.HEARD_JS: a click waits for no stroke older than it)
    assert painted.mask((64, 64), state.mask_epoch)[45, 30] and not painted.mask((64, 64), state.mask_epoch)[3, 30]
    kept = state.mask_epoch
    assert state.adopt(DragState(shape=(64, 64))).mask_epoch == kept  # a replay does not set the editor
    state.reset()
    assert state.mask_epoch != kept


def test_a_bad_layer_is_said_by_the_drag_and_each_session_has_its_own():
    state, painted = DragState(shape=(64, 64)), Painted()
    heard(dict(layers=[np.zeros((512, 512), np.uint8)]), state, painted, 1)
    with pytest.raises(MaskError, match="unexpected shape"):
        painted.mask((64, 64), state.mask_epoch)
    heard(_editor(slice(200, 300)), state, painted, 2)
    with pytest.raises(MaskError, match="does not match the 64x32 image"):
        painted.mask((64, 32), state.mask_epoch)
    other = copy.deepcopy(painted)    # Gradio's per-session copy of a State's value
    assert other is not painted and other.mask((64, 64), state.mask_epoch) is None
