"""Running drags for a UI: one method, or several (each from the start it is given), as a stream of frames.

`stream(...)` is a plain generator: each item is a `Frame` with the current image of every
method and one status line; the last item carries each method's `ui.state.EngineRun`. The sessions
step in turn (one Adam step each), so the panels advance together and a Stop reaches all. They step
in a thread of their own (`Stepper`): previews are rendered beside the steps, at most one every
`PREVIEW_SECONDS` (time-based, as often as a person follows them) and spaced further when a frame
costs more (at most `PREVIEW_SHARE` of the time on frames: a busy machine shows fewer), and while
one is drawn, encoded and sent the steps go on. Each preview is `Reporter.live_preview`: a render the
step thread already made (a content tracker's flow renders the current image) when it is newer than
the last one shown, rather than a second render competing with the steps for the cores; on models of
512 px and up the image the last step's own pass accumulated at the feature block (128 px,
up-sampled, no render of its own), and the status line says so. The first frame is the start image
the caller already shows (`DragSession(start_image=...)`: no render), the last one full render per
session, made in the step thread the moment the steps end (while the stream may still be drawing a
preview) and read by everything after it: the session's last tracking (`sync`), the final frame, the
report's measures, the results. The final images are handed out as soon as they exist, before the report (optical
flow, fidelity) measures them: the user sees the result while its verdict is computed.
`summary_rows` turns the results into the app's table (`TABLE_HEADERS`, one short row per method,
narrow enough for a 1280 px screen): "reached" (the engine at target *and* the content moved at
least half way, by optical flow), the content moved, the colour cast and far-field change (when
the engine reports them; in brackets what is left of the far-field change once the content's motion is
followed: a turned head moves far pixels without damaging them), steps and seconds. `detail_rows` is the per-point table
(`DETAIL_HEADERS`): the engine's own distance and verdict beside the measured motion.
"""
import gc
import threading
import time
from dataclasses import dataclass, field

from dragcore.report import STOP_REASONS, all_held
from drags.engines import label
from ui.state import EngineRun

TABLE_HEADERS = ["method", "reached", "content moved (of the way)", "colour cast (/255)",
                 "far-field change (after motion) /255", "steps", "seconds"]
DETAIL_HEADERS = ["method", "point", "engine: distance to target (px)", "engine: at target", "content moved (px)",
                  "content moved (of the way)", "reached"]


@dataclass
class Frame:
    images: dict                      # method -> HxWx3 uint8
    status: str
    results: dict = field(default_factory=dict)   # method -> ui.state.EngineRun, on the last frame
    final: bool = False   # the images are the drag's final ones (the last two frames: before and with the results)


def _line(sessions, drawn_at=None):
    """The status line; drawn_at {method: px}: a live preview drawn below the image's height says so."""
    parts = []
    for m, s in sessions.items():
        st = s.status()
        dist = ", ".join(f"{d:.1f}" for d in st.distances)
        low = (drawn_at or {}).get(m, s.res) < s.res
        parts.append(f"**{label(m)}** step {st.step}/{s.max_steps}, remaining px: {dist}"
                     + (f" ({STOP_REASONS[s.stop_reason]})" if s.done else "")
                     + (f" (preview at {(drawn_at or {})[m]} px; the full image at the end)" if low else ""))
    return " · ".join(parts)


PREVIEW_SECONDS = 0.2   # at most one preview this often: what a person follows of a drag
PREVIEW_SHARE = 0.25    # ... and previews (render, draw, encode, send) take at most this share of the wall time
COLLECT_FROM = 256      # px: from this image height a stream collects garbage once its steps have started


class Stepper(threading.Thread):
    """Steps every session in turn until all are done, in its own thread: the step loop never waits
    for a preview to be rendered, drawn, encoded or sent. Then, in the same thread, each session's
    final image (`sync` and the one full render its report, its tracking and the app read): it starts the
    moment the last step ends, even while the stream is still drawing or sending a preview. `stepped` is
    set when the steps end, `finished` when the final images are rendered too. An error is kept for `check`."""

    def __init__(self, sessions):
        super().__init__(name="drag-steps", daemon=True)
        self.sessions, self.error = sessions, None
        self.stepped, self.finished, self.closing = threading.Event(), threading.Event(), threading.Event()

    def run(self):
        try:
            while not all(s.done for s in self.sessions.values()):
                for s in self.sessions.values():
                    if not s.done:
                        s.step()
            self.stepped.set()
            for s in self.sessions.values():
                if self.closing.is_set():   # nobody will see it
                    break
                s.sync()
                s.report.preview()
        except BaseException as e:  # noqa: BLE001 - raised again in the streaming thread (check)
            self.error = e
        finally:
            self.stepped.set()
            self.finished.set()

    def check(self):
        if self.error is not None:
            raise self.error

    def halt(self):
        """Stop the sessions (the stream was closed before they finished) and wait for the thread."""
        if not self.finished.is_set():
            self.closing.set()
            for s in self.sessions.values():
                s.stop()
        self.join()


def _steps(sessions):
    return tuple(s.snapshot()[0] for s in sessions.values())


def stream(sessions, interval=PREVIEW_SECONDS):
    """Step every session (in a `Stepper` thread) until all are done; yield a Frame at the start,
    then at most one every `interval` seconds while they step (a preview of each session's current
    latent, rendered here, beside the steps), spaced so that a frame's cost (its render and what the
    consumer does with it before asking for the next) is at most PREVIEW_SHARE of the time; then the
    final images as soon as the steps end (`final`, before the report measures them), and last the
    same images with the results.

    The steps start before the first frame is handed out: sending it (drawing, encoding, the
    transport) never delays them."""
    frames = {m: [s.report.preview()] for m, s in sessions.items()}
    stepper = Stepper(sessions)
    stepper.start()
    try:
        yield Frame({m: f[-1] for m, f in frames.items()}, _line(sessions))
        if max(s.res for s in sessions.values()) >= COLLECT_FROM:   # earlier drags' sessions (reference cycles,
            gc.collect()   # tens of MB of maps) go now, while the steps run, not after this drag's final render
        shown, wait = _steps(sessions), interval
        while not stepper.stepped.wait(wait):
            if _steps(sessions) == shown:
                continue
            t0 = time.perf_counter()
            drawn_at = {}
            for m, s in sessions.items():
                image, drawn_at[m] = s.report.live_preview()
                frames[m].append(image)
            shown = _steps(sessions)
            yield Frame({m: f[-1] for m, f in frames.items()}, _line(sessions, drawn_at))
            cost = time.perf_counter() - t0   # the render, and what the consumer did with the frame
            wait = max(interval, cost * (1 / PREVIEW_SHARE - 1))
    except BaseException:
        stepper.halt()   # the stream was closed (or failed): stop the steps, skip the final images
        raise
    stepper.join()   # the final images, rendered in the step thread as soon as the steps ended
    stepper.check()
    for m, s in sessions.items():
        frames[m].append(s.report.preview())   # rendered by the Stepper (after its sync): no second render
    yield Frame({m: f[-1] for m, f in frames.items()}, _line(sessions), final=True)
    results = {m: EngineRun(s.report.result(), image=frames[m][-1], frames=frames[m], latent=s.latent.detach().cpu())
               for m, s in sessions.items()}
    yield Frame({m: f[-1] for m, f in frames.items()}, _line(sessions), results, final=True)


def _fraction(f):
    return "n/a" if f is None else f"{f:.2f}"


def _moved_cell(r):
    return ", ".join("held" if h else _fraction(f) for f, h in zip(r.moved_fraction, r.held_points))


def _per255(value):
    return "—" if value is None else f"{float(value):.1f}"


def _far_cell(r):
    """The far-field change, then in brackets what is left of it once the content's motion is followed."""
    far = _per255(r.far_field)
    return far if r.far_after_motion is None else f"{far} ({_per255(r.far_after_motion)})"


def _verdict(r, reached, tracked, held=False):
    """A point's (or, held meaning every point is, a drag's) verdict for the tables."""
    if held:
        return "held (at its target)"
    if reached:
        return "yes"
    if tracked:
        return "no: content < half way"
    return f"no ({STOP_REASONS[r.stop_reason]})"


def summary_rows(runs):
    """Table rows (TABLE_HEADERS) for {method: EngineRun}."""
    rows = []
    for m, run in runs.items():
        r = run.result
        rows.append([label(m), _verdict(r, r.reached, r.tracked_reached, all_held(r.held_points)), _moved_cell(r),
                     _per255(r.colour_cast), _far_cell(r), r.steps, r.seconds])
    return rows


def detail_rows(runs):
    """Per-point rows (DETAIL_HEADERS) for {method: EngineRun}."""
    return [[label(m), i + 1, round(r.distances[i], 1), "yes" if r.tracked_reached_points[i] else "no",
             None if r.moved_px[i] is None else round(r.moved_px[i], 1), _fraction(r.moved_fraction[i]),
             _verdict(r, r.reached_points[i], r.tracked_reached_points[i], r.held_points[i])]
            for m, r in ((m, run.result) for m, run in runs.items()) for i in range(len(r.distances))]
