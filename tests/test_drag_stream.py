"""The app's drag loop (ui.drag_stream.stream) on real sessions of a tiny real network: the steps
run in their own thread, so a slow consumer of the frames (Gradio encoding and sending them) does
not hold them; previews come at most every `interval` seconds; the last frame carries the results;
a consumer that stops reading (the page closed) stops the steps; a step's error reaches the stream;
the steps start before the first frame is handed out; the final images come before the report and
are the ones the results carry, from the same latent as the engine's own run; ui.warmup runs once."""
import time

import pytest

from drag_testing import make_session, tiny_G
from draggan.engine import DragGANSession
from ui import drag_stream


def _sessions(G, steps):
    return {"draggan": make_session(DragGANSession, G, [[8.0, 16.0]], [[20.0, 16.0]], max_steps=steps, seed=1)}


def test_a_slow_consumer_does_not_hold_the_steps_and_previews_are_time_based():
    G = tiny_G()
    sessions = _sessions(G, 8)
    s = sessions["draggan"]
    frames, seen = [], []
    for frame in drag_stream.stream(sessions, interval=0.05):
        frames.append(frame)
        seen.append(s.steps)
        time.sleep(0.25)   # a slow consumer: the steps go on meanwhile
    assert frames[-1].results and frames[-1].results["draggan"].result.steps == s.steps == 8
    assert all(not f.results for f in frames[:-1])
    # the steps went on while the consumer slept: fewer frames than steps, and more than one step between frames
    assert len(frames) < 8 and max(b - a for a, b in zip(seen, seen[1:])) > 1
    assert all(f.images["draggan"].shape == (32, 32, 3) for f in frames)


def test_steps_start_before_the_first_frame_and_the_final_image_precedes_the_report():
    import torch
    from freedrag.engine import FreeDragSession
    G = tiny_G()
    for cls in (DragGANSession, FreeDragSession):
        sessions = {"s": make_session(cls, G, [[8.0, 16.0]], [[20.0, 16.0]], max_steps=6, seed=1)}
        own = make_session(cls, G, [[8.0, 16.0]], [[20.0, 16.0]], max_steps=6, seed=1)
        own.run()
        gen = drag_stream.stream(sessions, interval=0.01)
        first = next(gen)
        deadline = time.monotonic() + 20   # the consumer is still sending the first frame: the steps already go on
        while sessions["s"].steps == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sessions["s"].steps > 0, cls.method
        frames = [first, *gen]
        final, last = frames[-2], frames[-1]
        assert final.final and not final.results and last.final and last.results
        assert not any(f.final for f in frames[:-2])
        run = last.results["s"]
        assert final.images["s"] is last.images["s"] is run.image
        assert run.result.steps == own.steps and torch.equal(run.latent, own.latent.cpu()), cls.method


def _counted(G):
    """{"passes": every synthesis pass (its first stage ran), "renders": full renders (its last stage ran)}."""
    n = {"passes": 0, "renders": 0}
    G.synthesis.stages[0].register_forward_hook(lambda *a: n.__setitem__("passes", n["passes"] + 1))
    G.synthesis.stages[-1].register_forward_hook(lambda *a: n.__setitem__("renders", n["renders"] + 1))
    return n


def test_an_edit_makes_one_pass_besides_its_steps():
    """Given the image on screen, an edit's stream makes its steps' passes and one full render: the final
    tracking (sync), the final frame, the report's motion and fidelity measures and the results read it."""
    from freedrag.engine import FreeDragSession
    G = tiny_G()
    n = _counted(G)
    for cls in (DragGANSession, FreeDragSession):
        start = make_session(cls, G, [[8.0, 16.0]], [[20.0, 16.0]], seed=1).report.start_image()
        s = make_session(cls, G, [[8.0, 16.0]], [[20.0, 16.0]], max_steps=6, seed=1, start_image=start)
        n.update(passes=0, renders=0)
        frames = list(drag_stream.stream({"s": s}, interval=1e9))   # no live preview: start, final, results
        assert [f.final for f in frames] == [False, True, True] and frames[-1].results
        assert frames[0].images["s"] is s.report.start_image() and (frames[0].images["s"] == start).all()
        assert n == {"passes": s.steps + 1, "renders": 1}, (cls.method, n)
        assert getattr(s, "submotion_step", 1) != 0   # FreeDrag's sync had a sub-motion to judge (it read the render)
        run = frames[-1].results["s"]
        assert run.image is frames[-2].images["s"] is s.report.preview() and run.result.steps == 6


def test_the_final_image_is_rendered_in_the_step_thread_while_a_frame_is_held():
    """The final render starts when the steps end, not when the consumer asks for the next frame."""
    G = tiny_G()
    start = _sessions(G, 4)["draggan"].report.start_image()
    s = make_session(DragGANSession, G, [[8.0, 16.0]], [[20.0, 16.0]], max_steps=4, seed=1, start_image=start)
    n = _counted(G)
    gen = drag_stream.stream({"draggan": s}, interval=1e9)
    next(gen)   # the consumer holds the first frame (drawing, encoding, sending it)
    deadline = time.monotonic() + 30
    while (s.report.latest() or (None,))[0] != 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert s.done and s.report.latest()[0] == 4 and n["renders"] == 1   # rendered before the consumer came back
    final, last = list(gen)
    assert final.final and final.images["draggan"] is s.report.latest()[1] and last.results and n["renders"] == 1


def test_a_preview_the_step_thread_rendered_is_shown_without_a_second_render():
    G = tiny_G()
    s = _sessions(G, 10)["draggan"]
    renders = []
    own = s.render_and_features
    s.render_and_features = lambda latent: renders.append(1) or own(latent)   # counts the generator passes
    s.step(), s.step()
    by_tracker = s.report.preview()   # what a content tracker's flow renders at this step
    assert len(renders) == 1
    image, _ = s.report.live_preview()
    assert image is by_tracker and s.report._shown == 2 and len(renders) == 1   # newer than shown: no second render
    s.step()
    image, _ = s.report.live_preview()   # nothing newer rendered: one render of the current latent
    assert s.report._shown == 3 and len(renders) == 2 and image is s.report.latest()[1] and image is not by_tracker
    assert s.report.live_preview() == (image, s.res) and s.report._shown == 3 and len(renders) == 2


def test_closing_the_stream_stops_the_steps():
    G = tiny_G()
    sessions = _sessions(G, 10_000)
    gen = drag_stream.stream(sessions, interval=0.01)
    next(gen)
    next(gen)
    gen.close()   # the page went away: Gradio closes the generator
    s = sessions["draggan"]
    n = s.steps
    time.sleep(0.3)
    assert s.done and s.stop_reason == "stopped" and s.steps == n < 10_000


def test_an_error_in_a_step_reaches_the_stream():
    G = tiny_G()
    sessions = _sessions(G, 5)

    def broken():
        raise RuntimeError("a step failed")
    sessions["draggan"]._step = broken
    with pytest.raises(RuntimeError, match="a step failed"):
        list(drag_stream.stream(sessions, interval=0.01))


def test_the_warm_up_runs_once_in_the_background():
    import sys
    from ui import warmup
    first = warmup.start()
    assert warmup.start() is first   # once per process
    first.join(timeout=120)
    assert not first.is_alive() and "cv2" in sys.modules
