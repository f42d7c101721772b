"""The optical-flow motion measure: known synthetic warps of real generated faces, zero motion,
bad input, and `reached` in the session results (engine verdict AND content moved)."""
import numpy as np
import pytest
import torch

import checkpoints
from dragcore import motion, report
from dragcore.motion import MotionError
from dragcore.protocol import adapt
from stylegan.imageops import to_uint8
from draggan import DragGANSession
from freedrag import FreeDragSession
from drag_testing import drag_model
from dragcore.config import DragGANConfig, FreeDragConfig, with_presets

TOL_PX = 0.6  # validated: max error 0.43 px over 96 warps (benchmarks.motion_accuracy)


@pytest.fixture(scope="module")
def faces():
    G = drag_model()
    gen = adapt(G, "cpu")
    with torch.no_grad():
        return [to_uint8(gen.image(gen.latent_init(s, 0.7, "w+")))[0] for s in (2000, 2001, 2002)]


@pytest.mark.parametrize("vector,sigma", [((3.0, 0.0), 6.0), ((-2.0, 4.0), 8.0), ((5.0, -5.0), 10.0), ((1.0, 1.0), 6.0)])
def test_known_warp_is_recovered(faces, vector, sigma):
    res = faces[0].shape[0]
    point = (0.45 * res, 0.55 * res)
    target = (point[0] + vector[0], point[1] + vector[1])
    for face in faces:
        warped, field = motion.synthetic_warp(face, point, vector, sigma)
        assert np.allclose(field[int(point[1]), int(point[0])], vector, atol=0.3)  # the field is what it says
        m = motion.measure(face, warped, [point], [target])[0]
        assert np.linalg.norm(np.subtract(m["moved"], vector)) < TOL_PX, m
        assert m["moved_fraction"] == pytest.approx(1.0, abs=TOL_PX / np.linalg.norm(vector))
        # a point far from the warp did not move
        far = motion.measure(face, warped, [(point[0] - 3 * sigma, point[1] - 3 * sigma)], [(0, 0)])[0]
        assert far["moved_px"] < 0.3 * np.linalg.norm(vector) + 0.2


def test_identical_images_read_zero_and_a_reverse_warp_reads_backwards(faces):
    face = faces[0]
    m = motion.measure(face, face, [(20, 30), (40, 25)], [(30, 30), (40, 35)])
    assert [p["moved_px"] for p in m] == [0.0, 0.0] and [p["moved_fraction"] for p in m] == [0.0, 0.0]
    warped, _ = motion.synthetic_warp(face, (30, 32), (-4.0, 0.0), 8.0)
    back = motion.measure(face, warped, [(30, 32)], [(36, 32)])[0]  # asked to go right, content went left
    assert back["moved_fraction"] < -0.5


def test_generator_tensors_and_arrays_give_the_same_answer(faces):
    face = faces[1]
    t = torch.from_numpy(face).permute(2, 0, 1)[None].float() / 127.5 - 1
    warped, _ = motion.synthetic_warp(face, (32, 32), (3.0, 2.0), 8.0)
    w = torch.from_numpy(warped).permute(2, 0, 1)[None].float() / 127.5 - 1
    assert motion.measure(t, w, [(32, 32)], [(35, 34)]) == motion.measure(face, warped, [(32, 32)], [(35, 34)])


def test_bad_input_is_a_clear_error_or_a_defined_value(faces):
    face = faces[0]
    with pytest.raises(MotionError, match="differ in size: 64x64 vs 32x32"):
        motion.measure(face, face[:32, :32], [(5, 5)], [(6, 6)])
    assert motion.measure(face, face, [], []) == []                      # an empty drag: nothing to report
    zero = motion.measure(face, face, [(10, 10)], [(10, 10)])[0]        # a zero-length request: no direction
    assert zero["moved_fraction"] is None and zero["moved_px"] == 0.0
    with pytest.raises(MotionError, match="every handle needs a target"):
        motion.measure(face, face, [(1, 1)], [])
    with pytest.raises(MotionError, match="outside"):
        motion.measure(face, face, [(500, 10)], [(10, 10)])
    with pytest.raises(MotionError, match="finite"):
        motion.measure(face, face, [(float("nan"), 10)], [(10, 10)])
    with pytest.raises(MotionError, match="HxWx3"):
        motion.measure(np.zeros(5), face, [(1, 1)], [(2, 2)])
    with pytest.raises(MotionError, match="< sigma"):
        motion.synthetic_warp(face, (10, 10), (9.0, 0.0), 4.0)


@pytest.mark.integration   # ~2 s
def test_a_zero_step_drag_is_not_reached_even_where_the_engine_says_so():
    G = drag_model()
    # 1.5 px: inside DragGAN's 2 px stop distance, so the engine calls it arrived without a single step
    s = DragGANSession(G, [(30, 32)], [(31.5, 32)], DragGANConfig(seed=1, max_steps=0), device="cpu")
    r = s.run()
    assert r.steps == 0 and r.tracked_reached_points == [True] and r.tracked_reached
    assert r.moved_px == [0.0] and r.moved_fraction == [0.0]
    assert r.reached is False and r.reached_points == [False]
    f = FreeDragSession(G, [(30, 32)], [(40, 32)], FreeDragConfig(seed=1, max_steps=0), device="cpu").run()
    assert f.steps == 0 and not f.reached and f.moved_fraction == [0.0]


@pytest.mark.integration   # ~2 s
def test_result_motion_is_measured_on_the_result_image():
    G = drag_model()
    s = DragGANSession(G, [(30, 32), (20, 20)], [(36, 32), (20, 20)], DragGANConfig(seed=2, max_steps=3), device="cpu")
    r = s.run()
    again = motion.measure(s.report.start_image(), s.report.preview(), r.start_handles, r.targets)
    assert [m["moved"] for m in again] == r.moved and r.moved_fraction[1] is None
    assert len(r.moved_px) == len(r.reached_points) == len(r.tracked_reached_points) == 2


@pytest.mark.integration   # a long drag, ~20 s
def test_a_real_drag_whose_content_moves_is_reached():
    """A drag on the bundled model that visibly moves what it grabs (calibration's training seed
    5011: a point between the eyes 9.5 px to the left), DragGAN with the model's calibrated presets
    (flow tracker): optical flow sees the content go ~0.8 of the way, so the drag counts as reached."""
    G = drag_model()
    cfg = with_presets("draggan", checkpoints.presets(checkpoints.DEFAULT_MODEL)["draggan"], seed=5011, psi=0.7,
                       max_steps=200)
    s = DragGANSession(G, [(30.59, 35.16)], [(21.16, 34.44)], cfg, device="cpu")
    r = s.run()
    assert r.tracked_reached and r.moved_fraction[0] >= 0.5 and r.reached, r
    # the content went left by most of the 9.5 px requested (moved_fraction counts only that part)
    dx, dy = r.moved[0]
    assert dx < -5 and abs(dy) < 3 and r.moved_px[0] > 5



def test_only_points_that_ask_for_a_move_decide_reached():
    """The reported case: drag 2 of a chain, the new pair moved 1.03 of the way, the left-over handle of
    drag 1 (a sub-pixel request) 'moved 0.37'. The left-over point is held: the drag is reached."""
    held = report.held_points([(30, 32), (20, 20)], [(40, 32), (20.3, 20)])
    assert held == [False, True]
    assert report.reached_points([True, True], [1.03, 0.37], held) == ([True, False], True)
    assert report.reached_points([True, True], [1.03, 0.37], [False, False]) == ([True, False], False)
    assert report.reached_points([True, True], [0.30, 1.0], held) == ([False, True], False)
    assert report.reached_points([True], [0.2], [True]) == ([False], False)   # nothing asked: every point counts


@pytest.mark.integration   # ~3 s
def test_a_held_point_is_shown_as_held_in_the_result_the_tables_and_the_cli():
    from drags.drag_cli import summary_line
    from ui.drag_stream import detail_rows, summary_rows
    from ui.state import EngineRun
    G = drag_model()
    r = DragGANSession(G, [(30, 32), (20.0, 20.0)], [(31.5, 32), (20.3, 20.0)], DragGANConfig(seed=1, max_steps=0),
                       device="cpu").run()
    assert r.held_points == [False, True] and r.reached is False   # the asked-for point's content did not move
    runs = {"draggan": EngineRun(r, image=None, frames=[], latent=None)}
    rows = detail_rows(runs)
    assert rows[1][-1].startswith("held") and rows[0][-1].startswith("no")
    assert summary_rows(runs)[0][2].endswith("held") and "held" in summary_line(r)
    assert summary_rows(runs)[0][1].startswith("no")   # the asked-for point decides the drag's verdict
    # every point already at its target (Compare right after a drag that arrived): held, not "no: content < half way"
    r = DragGANSession(G, [(20.0, 20.0)], [(20.3, 20.0)], DragGANConfig(seed=1, max_steps=0), device="cpu").run()
    assert r.held_points == [True]
    assert summary_rows({"draggan": EngineRun(r, image=None, frames=[], latent=None)})[0][1] == "held (at its target)"
    assert summary_line(r).startswith("held (every point at its target) after 0 steps")
