"""The far field after motion (dragcore.fidelity.far_residual) on real faces of the shipped 64 px model, paired with
the raw far field so that a measure doing nothing cannot pass: a smooth motion of the whole face reads high raw and
low after motion; damage far from the points without motion (a blotch, a colour change, a blur) reads high on both;
identical images read 0 on both. A drag's report keeps the flow its motion measure read, for the residual.

Thresholds come from measuring these cases on the faces of seeds 2000-2005 (throw-away runs before the test was
written), each with a margin: the motion's raw far field 3.9-6.7 (asked > 3), its residual 0.34-0.55 (asked < 1.5);
the blotch's and the colour change's residual 1.00-1.04 of the raw (asked within 20 %); the blur's 0.80-0.87 of the
raw (asked >= 0.7: the flow reads part of a blur as motion, about 1 px in the blurred region)."""
import cv2
import numpy as np
import pytest
import torch

from dragcore import fidelity, motion
from dragcore.protocol import adapt
from draggan import DragGANSession
from drag_testing import drag_model, make_session
from stylegan.imageops import to_uint8

POINTS = [[32, 24], [32, 30]]     # a turn's handle and target by the nose: the far field is the face's outside


@pytest.fixture(scope="module")
def faces():
    gen = adapt(drag_model(), "cpu")
    with torch.no_grad():
        return [to_uint8(gen.image(gen.latent_init(s, 0.7, "w+")))[0] for s in (2000, 2001, 2002)]


def both(a, b):
    return fidelity.far_field(a, b, POINTS), fidelity.far_residual(a, b, POINTS)


def far():
    return fidelity.far_mask((64, 64), POINTS, 0.25 * 64)


def test_identical_images_read_zero_on_both(faces):
    for face in faces:
        assert both(face, face) == (0.0, 0.0)


def test_a_smooth_motion_of_the_whole_face_is_high_raw_and_low_after_motion(faces):
    for face in faces:
        moved, _ = motion.synthetic_warp(face, (32, 32), (1.5, 0.0), 40.0)   # every pixel moves, ~1.1 px far away
        raw, residual = both(face, moved)
        assert raw > 3 and residual < 1.5, (raw, residual)


def test_damage_without_motion_is_high_on_both(faces):
    ys, xs = np.mgrid[0:64, 0:64]
    for face in faces:
        blotched = face.astype(np.float64)
        for cx, cy in [(8, 52), (56, 52), (8, 8), (56, 10)]:   # four soft blotches in the corners
            blotched += np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * 4.0 ** 2))[..., None] * [50, -40, 30]
        tinted = face.astype(np.float64)
        tinted[far()] += [12, -8, 6]                            # the far region's colour changed
        for damaged in (blotched, tinted):
            raw, residual = both(face, np.clip(damaged, 0, 255).astype(np.uint8))
            assert raw > 4 and residual == pytest.approx(raw, rel=0.2), (raw, residual)
        blurred = face.copy()
        blurred[far()] = cv2.GaussianBlur(face, (0, 0), 2.0)[far()]
        raw, residual = both(face, blurred)
        assert raw > 3 and 0.7 * raw <= residual <= 1.2 * raw, (raw, residual)


def test_a_given_flow_is_read_and_content_that_left_the_image_is_left_out(faces):
    a, b = faces[0], faces[1]
    flow = motion.dense_flow(a, b)
    assert fidelity.far_residual(a, b, POINTS, flow=flow) == fidelity.far_residual(a, b, POINTS)
    zero = np.zeros((64, 64, 2), np.float32)
    assert fidelity.far_residual(a, b, POINTS, flow=zero) == pytest.approx(fidelity.far_field(a, b, POINTS))
    gone = zero.copy()
    gone[..., 0] = 100.0                                        # every pixel's content went off the right edge
    assert fidelity.far_residual(a, b, POINTS, flow=gone) is None
    half = zero.copy()
    half[:, 32:, 0] = 100.0                                     # the right half's went: only the left half counts
    left = fidelity.far_mask((64, 64), POINTS, 16)
    left[:, 32:] = False
    expected = np.abs(b.astype(np.float64) - a)[left].mean()
    assert fidelity.far_residual(a, b, POINTS, flow=half) == pytest.approx(expected)
    assert fidelity.far_residual(a, b, [[x, y] for x in range(0, 64, 8) for y in range(0, 64, 8)]) is None
    with pytest.raises(ValueError):
        fidelity.far_residual(a, b, POINTS, flow=np.zeros((32, 32, 2), np.float32))


def test_a_drag_keeps_the_flow_its_motion_measure_read():
    sess = make_session(DragGANSession, drag_model(), [[32, 36]], [[36, 36]], seed=2000, max_steps=3)
    r = sess.run()
    rep = sess.report
    flow = rep.flow()
    assert rep.flow() is flow and flow.shape == (64, 64, 2)      # kept: computed once per step
    assert np.array_equal(flow, motion.dense_flow(rep.start_image(), rep.preview()))
    assert rep.motion() == motion.measure(rep.start_image(), rep.preview(), [[32, 36]], [[36, 36]], flow=flow)
    assert r.moved == [m["moved"] for m in rep.motion()]
    # the result carries the far field after motion on that same flow; the app's table and the CLI line show it
    points = [[32, 36], [36, 36]]
    expected = fidelity.far_residual(rep.start_image(), rep.preview(), points, flow=flow)
    assert r.far_after_motion == pytest.approx(round(expected, 2)) and r.to_dict()["far_after_motion"] is not None
    from drags.drag_cli import summary_line
    from ui.drag_stream import TABLE_HEADERS, summary_rows
    from ui.export import outcome
    from ui.state import EngineRun
    cell = summary_rows({"draggan": EngineRun(r, image=None, frames=[], latent=None)})[0][4]
    assert "after motion" in TABLE_HEADERS[4] and cell == f"{r.far_field:.1f} ({r.far_after_motion:.1f})"
    assert f"({r.far_after_motion:.1f} after the content's motion)" in summary_line(r)
    assert outcome(r)["far_after_motion"] == r.far_after_motion
