"""The editor's mask as a drag of the page last read it (ui.mask.Painted): what the page's next drags are given."""
import copy

import numpy as np
import pytest

from ui.mask import MaskError, Painted, keep
from ui.state import DragState


def _editor(rows):
    layer = np.zeros((512, 512, 4), np.uint8)
    layer[rows, 100:400] = 255
    return dict(background=None, layers=[layer], composite=None)


def test_the_mask_read_is_kept_until_the_editor_is_set():
    state, painted = DragState(shape=(64, 64)), Painted()
    assert painted.mask((64, 64), state.mask_epoch) is None            # nothing painted
    keep(_editor(slice(200, 300)), state, painted)                     # the first drag after a stroke reads it
    m = painted.mask((64, 64), state.mask_epoch)
    assert m.shape == (64, 64) and m[30, 30] and not m[5, 30] and not m[60, 30]
    assert painted.mask((64, 64), state.mask_epoch)[30, 30]            # the next drags (no stroke since) reuse it
    keep(_editor(slice(0, 64)), state, painted)                        # a drag after a later stroke replaces it
    assert painted.mask((64, 64), state.mask_epoch)[3, 30] and not painted.mask((64, 64), state.mask_epoch)[30, 30]
    keep(dict(background=None, layers=[np.zeros((512, 512, 4), np.uint8)], composite=None), state, painted)
    assert painted.mask((64, 64), state.mask_epoch) is None            # all erased: the whole image
    keep(_editor(slice(300, 400)), state, painted)
    state.new_mask_epoch()                                             # Clear mask / Reset image: not used after
    assert painted.mask((64, 64), state.mask_epoch) is None
    kept = state.mask_epoch
    assert state.adopt(DragState(shape=(64, 64))).mask_epoch == kept   # a replay does not set the editor
    state.reset()
    assert state.mask_epoch != kept


def test_a_bad_layer_is_said_by_the_drag_and_each_session_has_its_own():
    state, painted = DragState(shape=(64, 64)), Painted()
    keep(dict(layers=[np.zeros((512, 512), np.uint8)]), state, painted)
    with pytest.raises(MaskError, match="unexpected shape"):
        painted.mask((64, 64), state.mask_epoch)
    keep(_editor(slice(200, 300)), state, painted)
    with pytest.raises(MaskError, match="does not match the 64x32 image"):
        painted.mask((64, 32), state.mask_epoch)
    other = copy.deepcopy(painted)    # Gradio's per-session copy of a State's value
    assert other is not painted and other.mask((64, 64), state.mask_epoch) is None
