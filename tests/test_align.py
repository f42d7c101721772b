"""Face alignment to the model's layout (latent.align) on the shipped public-domain astronaut photo:
a known transform of the photo round-trips, the way back into the photo lands where the face was,
and each bad input (no face, a face too small, several faces, a crop box outside) is one clear line,
from the library and from `python -m latent invert`."""
import json

import cv2
import numpy as np
import pytest
from PIL import Image

import checkpoints
from latent import LatentError
from latent.__main__ import main as latent_main
from latent.align import Alignment, Layout, align, paste_back
from ui.tab_invert import EXAMPLE

SIZE = (64, 64)


@pytest.fixture(scope="module")
def layout():
    return Layout.read(checkpoints.layout_path(checkpoints.DEFAULT_MODEL))


@pytest.fixture(scope="module")
def photo():
    return np.asarray(Image.open(EXAMPLE).convert("RGB"))


def _moved(photo, k, tx, ty, pad=200):
    """The photo scaled by k and shifted by (tx, ty) on a black canvas; the 2x3 matrix that did it."""
    K = np.array([[k, 0, tx], [0, k, ty]], float)
    size = (int(photo.shape[1] * k) + pad, int(photo.shape[0] * k) + pad)
    return cv2.warpAffine(photo, K, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT), K


def test_a_known_transform_of_the_photo_round_trips_within_a_pixel(photo, layout):
    aligned, a = align(photo, layout, SIZE)
    assert aligned.shape == (64, 64, 3) and a.faces_found == 1 and a.eyes is not None and not a.note
    # the face lands where the model draws faces: its box centre on the layout's
    x, y, w, h = a.face
    centre = a.apply([[x + w / 2, y + h / 2]])[0]
    lx, ly, lw, lh = layout.box
    assert np.allclose(centre, [(lx + lw / 2) * 64, (ly + lh / 2) * 64], atol=1e-6)
    face_points = np.array([[100.0, 50.0], [124.0, 51.0], [112.0, 80.0], [95.0, 95.0]])   # eyes, mouth, cheek
    for k, tx, ty in ((2.0, 30, -40), (1.5, 100, 20)):
        moved, K = _moved(photo, k, tx, ty)
        _, b = align(moved, layout, SIZE)
        # a point of the face goes to the same model pixel whichever copy of the photo it is read from
        err = np.abs(a.apply(face_points) - b.apply(face_points @ K[:, :2].T + K[:, 2])).max()
        assert err < 1.0, (k, err)
    # the transform and its inverse, and through JSON
    b = Alignment.from_json(a.to_json())
    assert np.allclose(b.apply(face_points), a.apply(face_points))
    back = np.c_[a.apply(face_points), np.ones(4)] @ b.inverse().T
    assert np.abs(back - face_points).max() < 1e-6


def test_the_aligned_face_goes_back_where_it_came_from(photo, layout):
    aligned, a = align(photo, layout, SIZE)
    same = paste_back(photo, aligned, a)   # the unedited crop: the face region barely changes
    x, y, w, h = (int(v) for v in a.face)
    inner = (slice(y + h // 4, y + 3 * h // 4), slice(x + w // 4, x + 3 * w // 4))
    assert np.abs(same[inner].astype(int) - photo[inner].astype(int)).mean() < 12   # 64 px of detail, upscaled
    assert np.array_equal(same[:, :40], photo[:, :40])                             # far from the face: untouched
    edited = aligned.copy()
    edited[36:44, 24:40] = (255, 0, 0)   # an "edit" on the mouth
    out = paste_back(photo, edited, a, reference=aligned)
    changed = np.abs(out.astype(int) - photo.astype(int)).max(-1) > 30
    ys, xs = np.nonzero(changed)
    mouth = np.c_[[24, 40], [36, 44]].astype(float)   # the edit's corners in model px -> photo px
    corners = np.c_[mouth, np.ones(2)] @ a.inverse().T
    assert changed.any() and xs.min() >= corners[:, 0].min() - 6 and xs.max() <= corners[:, 0].max() + 6
    assert ys.min() >= corners[:, 1].min() - 6 and ys.max() <= corners[:, 1].max() + 6
    assert out[changed][:, 0].mean() > out[changed][:, 1].mean() + 40   # red, where the mouth was


def test_bad_photos_are_one_clear_line(photo, layout):
    blank = np.full((200, 300, 3), 128, np.uint8)
    with pytest.raises(LatentError, match="no face found"):
        align(blank, layout, SIZE)
    for sliver in ((2, 15000, 3), (15000, 3, 3)):   # shrunk for the detector, a side would round to 0 px
        with pytest.raises(LatentError, match="no face found"):
            align(np.full(sliver, 128, np.uint8), layout, SIZE)
    tiny = np.full((600, 600, 3), 128, np.uint8)
    tiny[300:351, 300:351] = cv2.resize(photo, (51, 51), interpolation=cv2.INTER_AREA)   # a 10 px face
    with pytest.raises(LatentError, match="no face found|too small to use"):
        align(tiny, layout, SIZE)
    small = np.asarray(Image.fromarray(photo).resize((128, 128), Image.LANCZOS))   # a 24 px face: found, too small
    with pytest.raises(LatentError, match="too small to use: 2\\d px wide"):
        align(small, layout, SIZE)
    # two faces: the larger is used and the note says so; --crop picks the other
    two = np.zeros((300, 560, 3), np.uint8)
    two[22:278, 0:256] = photo
    two[60:252, 330:522] = cv2.resize(photo, (192, 192), interpolation=cv2.INTER_AREA)
    _, a = align(two, layout, SIZE)
    assert a.faces_found == 2 and "2 faces found" in a.note and "--crop" in a.note and a.face[0] < 256
    _, b = align(two, layout, SIZE, box=(300, 0, 560, 300))
    assert b.faces_found == 1 and b.face[0] > 300 and not b.note
    with pytest.raises(LatentError, match="outside the 560x300 image"):
        align(two, layout, SIZE, box=(0, 0, 900, 300))
    with pytest.raises(LatentError, match="not an alignment"):
        Alignment.from_json(json.dumps({"matrix": [[0, 0, 0], [0, 0, 0]], "photo_size": [5, 5], "size": [64, 64]}))


def test_a_person_far_from_the_camera_in_a_large_photo_is_found(photo, layout):
    """The astronaut (a 48 px face) on a plain 4000x600 and 4000x3000 canvas: the first look (global histogram
    equalisation, the photo shrunk to 1024 px) sees a 12 px face on a flattened histogram and finds nothing; the
    second (local equalisation, up to 2048 px) finds it, with its eyes, where it was pasted."""
    import latent.align as la
    for W, H in ((4000, 600), (4000, 3000)):
        canvas = np.full((H, W, 3), (120, 130, 140), np.uint8)
        x0, y0 = W // 2, H // 3
        canvas[y0:y0 + photo.shape[0], x0:x0 + photo.shape[1]] = photo
        _, a = align(canvas, layout, SIZE)
        x, y, w, h = a.face
        assert a.eyes is not None and abs(x - (x0 + 88)) < 6 and abs(y - (y0 + 33)) < 6 and 40 < w < 58, a.face
        assert not la._faces(cv2.resize(cv2.equalizeHist(cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY)), None,
                                        fx=1024 / W, fy=1024 / W, interpolation=cv2.INTER_AREA), 12,
                             la._cascade("haarcascade_frontalface_alt2.xml"))   # what the first look alone saw


def test_a_face_of_40_px_in_a_6000_px_photo_is_found_by_the_third_look(photo, layout):
    """The astronaut shrunk to a 40 px face in a 6000x4000 photo (grey with a little sensor-like noise): the second
    look (2048 px) shrinks it to 14 px, under the detector's window, and finds nothing; the third (up to 4096 px, tile
    by tile) finds it, and its eyes where the same face cut out alone has them, moved by the offset."""
    import latent.align as la
    k = 40 / 48.0
    small = np.asarray(Image.fromarray(photo).resize((round(256 * k),) * 2, Image.LANCZOS))
    canvas = np.random.default_rng(0).normal(128, 5, (4000, 6000, 1)).clip(0, 255).astype(np.uint8).repeat(3, 2)
    x0, y0 = 4000, 2500
    canvas[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    shrink = 6000 / la.SECOND_LOOK
    second = cv2.resize(cv2.createCLAHE(2.0, (8, 8)).apply(cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY)), None,
                        fx=1 / shrink, fy=1 / shrink, interpolation=cv2.INTER_AREA)
    assert not la._faces(second, 12, la._cascade("haarcascade_frontalface_alt2.xml"))   # what the second look saw
    _, a = align(canvas, layout, SIZE)
    _, b = align(small, layout, SIZE)
    assert a.faces_found == 1 and a.eyes is not None and not a.note and 36 < a.face[2] < 44, a
    ex, ey = np.mean(a.eyes, axis=0)
    fx, fy = np.mean(b.eyes, axis=0)
    assert abs(ex - (fx + x0)) < 2 and abs(ey - (fy + y0)) < 2, (a.eyes, b.eyes)   # where it was pasted


def test_a_textured_scene_whose_boxes_have_no_eyes_does_not_hide_the_face(photo, layout):
    """The astronaut's suit blown up to a 4000x2667 scene, the astronaut (a 48 px face) pasted in: the first look sees
    one large eyeless "face" in the suit's folds and not the real one (shrunk to 12 px); that box does not end the
    search: the face is found with its eyes where it was pasted, and used."""
    canvas = cv2.resize(np.ascontiguousarray(photo[150:]), (4000, 2667), interpolation=cv2.INTER_CUBIC)
    x0, y0 = 2666, 1333
    canvas[y0:y0 + photo.shape[0], x0:x0 + photo.shape[1]] = photo
    _, a = align(canvas, layout, SIZE)
    _, b = align(photo, layout, SIZE)
    assert a.faces_found > 1 and "largest whose eyes were found" in a.note, a.note
    (ex, ey), (fx, fy) = np.mean(a.eyes, axis=0), np.mean(b.eyes, axis=0)
    assert abs(ex - (fx + x0)) < 2 and abs(ey - (fy + y0)) < 2, (a.eyes, b.eyes)


def test_the_app_is_told_what_it_can_do_and_a_face_without_eyes_is_said(photo, layout):
    """The advice ends with what the user of the app can do (no command-line flags); a face whose eye pair was
    not found is aligned by its box alone, and the note says so (a photo with no face can give such a box)."""
    from latent.align import ADVICE_APP
    with pytest.raises(LatentError) as e:
        align(np.full((200, 300, 3), 128, np.uint8), layout, SIZE, advice=ADVICE_APP)
    assert "crop the photo around the face and upload it again" in str(e.value) and "--" not in str(e.value)
    two = np.zeros((300, 560, 3), np.uint8)
    two[22:278, 0:256] = photo
    two[60:252, 330:522] = cv2.resize(photo, (192, 192), interpolation=cv2.INTER_AREA)
    _, a = align(two, layout, SIZE, advice=ADVICE_APP)
    assert "2 faces found; using the largest" in a.note and "upload it to use that one" in a.note and "--" not in a.note
    eyeless = photo.copy()
    eyeless[40:64, 86:138] = cv2.GaussianBlur(eyeless[40:64, 86:138], (15, 15), 0)   # the eyes blurred away
    _, b = align(eyeless, layout, SIZE)
    assert b.eyes is None and "no eye pair was found" in b.note, (b.eyes, b.note)


def test_the_invert_command_says_what_is_wrong_in_one_line(tmp_path, capsys):
    Image.fromarray(np.full((200, 300, 3), 128, np.uint8)).save(tmp_path / "wall.png")
    assert latent_main(["invert", str(tmp_path / "wall.png"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no face found") and not (tmp_path / "o").exists()


def test_the_real_photo_figure_has_a_column_per_engine_that_dragged(photo, layout, tmp_path):
    """benchmarks.real_photos.figure on the astronaut: one turn column per engine present (a run of some engines
    only drew FreeDrag's missing turn: a KeyError after the results were written)."""
    import torch
    from benchmarks.real_photos import figure
    aligned, a = align(photo, layout, SIZE)
    as_tensor = lambda x: torch.from_numpy(x.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
    kept = {"after|1": dict(target=as_tensor(aligned), stages={"PTI": as_tensor(aligned)}, alignment=a)}
    turned = {e: as_tensor(np.roll(aligned, k, axis=1)) for k, e in enumerate(("draggan", "freedrag", "stabledrag"), 1)}
    widths = {}
    for engines in (("draggan",), ("stabledrag",), ("draggan", "stabledrag"), ("draggan", "freedrag", "stabledrag")):
        images = {f"after|1|turn|{e}+photo": turned[e] for e in engines}
        path = figure(tmp_path / f"{'-'.join(engines)}.png", {1: photo}, kept, images, None, noise="photo")
        widths[engines] = Image.open(path).size[0]
    assert widths[("draggan",)] == widths[("stabledrag",)] < widths[("draggan", "stabledrag")]
    assert widths[("draggan", "freedrag", "stabledrag")] - widths[("draggan", "stabledrag")] == 2 * 64 + 4
    assert figure(tmp_path / "none.png", {1: photo}, kept, {}, None, noise="photo") is None
