"""The Inversion tab's state rules (ui.tab_invert), on the shipped astronaut photo and real alignments: "Back in
the photo" pastes only into the photo of this tab's inversion, and only when the Drag tab shows that photo; each
other case is one sentence saying what to press. Its model box offers only models that can be inverted. An upload
that is not an image goes from the Photo box at once, with one line saying why."""
import gradio as gr
import numpy as np
import pytest
from PIL import Image

import checkpoints
from latent.align import Layout, align
from ui import tab_invert
from ui.state import DragState


def _inversion(photo):
    """What invert_photo keeps of an inversion (its photo part with a key of its own), on a real alignment."""
    aligned, alignment = align(photo, Layout.read(checkpoints.layout_path(checkpoints.DEFAULT_MODEL)), (64, 64))
    key = str(id(alignment))
    return dict(photo=dict(photo=photo, alignment=alignment, reference=aligned, key=key), image=aligned)


def test_back_in_the_photo_only_into_the_photo_the_drag_tab_shows():
    photo = np.asarray(Image.open(tab_invert.EXAMPLE).convert("RGB"))
    first, second = _inversion(photo), _inversion(photo[:, ::-1].copy())   # the photo, then its mirror image
    sent = DragState(model=checkpoints.DEFAULT_MODEL, shape=(64, 64), start=first["image"], image=first["image"])
    sent.photo = first["photo"]                                          # "Drag this photo" on the first
    back = tab_invert.in_photo(sent, first)
    assert back.shape == photo.shape
    cases = ((sent, None, "Invert a photo and press"),
             (sent, dict(first, photo=None), "was not aligned"),
             (DragState(), first, "shows a generated image, not this photo"),
             (sent, second, "holds the photo inverted before this one"))
    for state, inv, says in cases:
        with pytest.raises(gr.Error, match=says):
            tab_invert.in_photo(state, inv)


def test_the_model_box_offers_no_dcgan():
    offered = {c for _, c in tab_invert.invertible_choices()}
    assert checkpoints.DEFAULT_MODEL in offered and "dcgan-faces-64" not in offered
    assert "dcgan-faces-64" in {c for _, c in tab_invert.model_choices()}


def test_an_upload_that_is_not_an_image_goes_at_once_with_one_line(tmp_path, monkeypatch):
    import shutil
    import time
    from ui import disk
    root = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(root))   # Gradio's folder, where uploads land
    monkeypatch.setattr(disk, "GRACE_S", 0.5)
    (root / "up1").mkdir(parents=True)
    (root / "up2").mkdir()
    text, photo = root / "up1" / "notes.png", root / "up2" / "astronaut.png"
    text.write_text("not a picture")
    shutil.copy(tab_invert.EXAMPLE, photo)
    out = tab_invert.new_photo({"path": str(text), "orig_name": "notes.png"}, "PSNR: W 15.7 dB")
    assert out[:5] == (None,) * 5 and out[5] == "⚠ Photo: not an image file (or a corrupt one)"
    assert text.exists()   # the page may be fetching it to show it: deleted at once, that fetch failed in Gradio
    for _ in range(100):
        if not (root / "up1").exists():
            break
        time.sleep(0.05)
    assert not text.exists() and not (root / "up1").exists()   # then gone from Gradio's folder too
    skip = lambda v: isinstance(v, dict) and v == {"__type__": "update"}   # gr.skip(): left as it is
    emptied = tab_invert.new_photo(None, out[5])   # the box emptied by that refusal: its line stays
    assert skip(emptied[0]) and emptied[1:5] == (None,) * 4 and skip(emptied[5])
    new = tab_invert.new_photo({"path": str(photo), "orig_name": "astronaut.png"}, out[5])
    assert skip(new[0]) and new[1:] == (None, None, None, None, "") and photo.exists()   # the last one's line goes
    assert tab_invert.new_photo(None, "PSNR: W 15.7 dB")[5] == ""   # a photo taken away: the last status goes


def test_an_inversion_with_no_steps_at_all_is_refused_before_any_work():
    """All three stages at 0 would show the model's average face as "your photo" (about 9 dB): one line instead."""
    with pytest.raises(gr.Error, match="every stage has 0 steps: the reconstruction would be the model's average face"):
        tab_invert.invert_photo(Image.open(tab_invert.EXAMPLE), checkpoints.DEFAULT_MODEL, 0, 0, 0, None,
                                progress=lambda *a, **k: 0)


def test_a_model_without_a_face_layout_centre_crops_and_says_how_much_it_enlarged():
    """The tab on a model with no face layout (an upload, another kind of picture): the photo is centre-cropped and
    the note says so, and how much it was enlarged when it is smaller than the model's pictures."""
    from drag_testing import face_model
    G = face_model()
    target, alignment, note = tab_invert.align_to(G, None, Image.new("RGB", (48, 40), (120, 90, 80)))
    assert target.shape == (1, 3, 64, 64) and alignment is None
    assert note == ("This model has no face layout: the photo was centre-cropped, not aligned. Note: the picture used "
                    "is 40x40 px, upscaled 1.6x to the model's 64x64: a larger one inverts sharper.")
    assert tab_invert.align_to(G, None, Image.new("RGB", (90, 64)))[2].endswith("centre-cropped, not aligned.")
    with pytest.raises(Exception, match="the picture is 8x8 px: too small to invert"):
        tab_invert.align_to(G, None, Image.new("RGB", (8, 8)))
