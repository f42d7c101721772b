"""One run at a time per session, a Stop that reaches it, and what a closed session gives back.

A *run* is what computes for seconds to minutes: a drag, a compare, a replay, an inversion. Rules:

- **One at a time per session, refused.** A run that starts while the same session has one running
  is refused with one sentence (`exclusive`); it is not queued behind it. What changes the drag
  chain between runs (Undo drag, Reset image, Continue both from ...) is refused the same way while
  one runs (`idle`). So nothing adopts or writes state that a run is writing.
- **Stop reaches the session's run** (`stop`), by the Gradio session, not by a state object (New
  image replaces the state; the run it left goes on). The running run stops at its next step (the
  engines' sessions are `attach`ed to it; an inversion calls `check` between steps). A run of the
  session still waiting in Gradio's queue when Stop is pressed never starts: it reports
  "Stopped before it started."
- **A fair queue** is Gradio's: every run shares one concurrency group (`QUEUE`: `RUN_WORKERS`
  at a time, first come first served). A session's second run, when it reaches a worker, is refused at
  once, so one user's queue holds another user's run for at most the one long run it is computing.
- **A closed session gives its memory back** (`session_closed`, Gradio's unload event): its run is
  stopped and its state (tuned generators, inversion results, drag results) deleted within `CLOSE_GRACE`
  seconds (unless a heartbeat of the session is open again by then: a reconnect), not an
  hour later (Gradio keeps a closed session's state for an hour so a reopened tab finds it). A
  session that never closes (no heartbeat) is given back the same way (`forget`) once idle past
  the limit (ui.sessions).

The session and the time the run was queued are read from Gradio's request context
(compat.handler_context: Gradio's context of every handler call, also in worker threads).
Outside Gradio (a direct call) every call is its own session.
"""
import ctypes
import ctypes.util
import functools
import inspect
import threading
import time
from dataclasses import dataclass, field

import gradio as gr

import compat

RUN_WORKERS = 2    # runs computing at once, all sessions together (the machine's cores)
QUEUE = dict(concurrency_id="runs", concurrency_limit=RUN_WORKERS)   # the `.click(...)` arguments of every run
STOPPED_BEFORE = "Stopped before it started."


class Stopped(Exception):
    """Raised by `Run.check` once Stop was pressed: a step loop without a stop flag of its own ends there."""


@dataclass
class Run:
    kind: str                                   # "drag", "compare", "replay", "inversion"
    session: str | None = None                  # Gradio's session hash
    stoppers: list = field(default_factory=list)   # callables that stop the engines' sessions
    stopped: bool = False

    def stop(self):
        self.stopped = True
        for s in list(self.stoppers):
            s()

    def attach(self, stoppers):
        """The engines' `stop` methods: Stop calls them (at once if it was already pressed)."""
        self.stoppers.extend(stoppers)
        if self.stopped:
            self.stop()

    def check(self):
        if self.stopped:
            raise Stopped()


@dataclass
class _Slot:
    run: Run | None = None
    stopped_at: float = float("-inf")   # time.monotonic() of the session's last Stop
    used: float = field(default_factory=time.monotonic)


IDLE_SLOTS = 1000   # beyond this many sessions on record, those idle for an hour are forgotten


_LOCK = threading.Lock()
_SLOTS = {}          # session hash -> _Slot


def _context():
    """(session hash or None, time.monotonic() at which Gradio queued this event, or now)."""
    session, event_id, blocks = compat.handler_context()
    queued = compat.enqueue_time(blocks, event_id) if blocks is not None else None
    return session, queued or time.monotonic()


def session_hash():
    """The Gradio session of the handler call in progress (None outside Gradio)."""
    return _context()[0]


def article(kind):
    """'A drag', 'An inversion'."""
    return ("An " if kind[0] in "aeiou" else "A ") + kind


def _refusal(run):
    return gr.Error(f"{article(run.kind)} is already running in this session: wait for it to finish or press Stop.",
                    print_exception=False)


def _begin(kind):
    """The session's new Run; None when a Stop came after it was queued; gr.Error when one runs."""
    session, queued_at = _context()
    run = Run(kind, session)
    if session is None:
        return run
    with _LOCK:
        if len(_SLOTS) > IDLE_SLOTS:   # sessions that never close (API clients without a heartbeat)
            old = time.monotonic() - 3600
            for key in [k for k, v in _SLOTS.items() if v.run is None and v.used < old]:
                del _SLOTS[key]
        slot = _SLOTS.setdefault(session, _Slot())
        slot.used = time.monotonic()
        if queued_at <= slot.stopped_at:
            return None
        if slot.run is not None:
            raise _refusal(slot.run)
        slot.run = run
    return run


def _end(run):
    with _LOCK:
        slot = _SLOTS.get(run.session)
        if slot is not None and slot.run is run:
            slot.run = None


def current():
    """The session's running Run (the one this handler started), or a fresh one outside Gradio."""
    session, _ = _context()
    with _LOCK:
        slot = _SLOTS.get(session)
        return slot.run if slot is not None and slot.run is not None else Run("run")


def busy():
    """The session's run in progress (None: the session runs nothing; outside Gradio always None)."""
    session, _ = _context()
    with _LOCK:
        slot = _SLOTS.get(session)
        return slot.run if slot is not None else None


def idle():
    """Between runs, or one sentence: what changes a session's drag chain (Undo drag, Reset image,
    Continue both from ...) waits for its run, which pushes its drag onto the chain it started from."""
    run = busy()
    if run is not None:
        raise gr.Error(f"{article(run.kind)} is running: wait for it to finish, or Stop it first.", print_exception=False)


def exclusive(kind, stopped_outputs):
    """Make a handler (plain or generator) a run of `kind`: refused while the session runs another,
    "Stopped before it started" (`stopped_outputs(message)`: the handler's outputs) when a Stop came
    while it waited in the queue."""
    def wrap(fn):
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen(*args, **kwargs):
                run = _begin(kind)
                if run is None:
                    yield stopped_outputs(STOPPED_BEFORE)
                    return
                try:
                    yield from fn(*args, **kwargs)
                finally:
                    _end(run)
            return gen

        @functools.wraps(fn)
        def plain(*args, **kwargs):
            run = _begin(kind)
            if run is None:
                return stopped_outputs(STOPPED_BEFORE)
            try:
                return fn(*args, **kwargs)
            finally:
                _end(run)
        return plain
    return wrap


def _waiting(session):
    """How many of the session's runs wait in Gradio's queue (0 when the queue cannot be read)."""
    blocks = compat.handler_context()[2]
    if blocks is None:
        return 0
    return sum(e.session_hash == session for e in compat.waiting(blocks, QUEUE["concurrency_id"]))


def stop():
    """Stop the session's run and every run of it that waits in the queue; the status line."""
    session, now = _context()[0], time.monotonic()
    with _LOCK:
        slot = _SLOTS.setdefault(session, _Slot()) if session is not None else _Slot()
        slot.stopped_at, slot.used, run = now, now, slot.run
    waiting = _waiting(session) if session is not None else 0
    if run is not None:
        run.stop()
        return f"Stopping the {run.kind}…" + (" The run waiting in the queue will not start." if waiting else "")
    if waiting:
        return "Stopped: the run waiting in the queue will not start."
    gr.Warning("Nothing is running.")
    return "Nothing is running."


def _trim_heap():
    """Hand freed memory back to the operating system (glibc keeps freed heap pages otherwise)."""
    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass   # not glibc: nothing to trim


def trim():
    """Collect garbage now and hand freed memory back to the operating system."""
    import gc
    gc.collect()
    _trim_heap()


def session_busy(blocks, session):
    """The session has a run, or an event waiting in Gradio's queue (an idle session has neither)."""
    with _LOCK:
        slot = _SLOTS.get(session)
        if slot is not None and slot.run is not None:
            return True
    return any(getattr(e, "session_hash", None) == session for e in compat.queued_events(blocks))   # waiting or running


def forget(session, holder, blocks=None):
    """Give back everything the app and Gradio hold for `session`: its run is stopped, its run
    record dropped, each gr.State's value deleted (its delete_callback runs) and Gradio's per-session
    record (state, config copy, caches, streams) removed. Used for a closed tab (`session_closed`)
    and for a session idle past the limit (ui.sessions)."""
    with _LOCK:
        slot = _SLOTS.pop(session, None)
    if slot is not None and slot.run is not None:
        slot.run.stop()
    if holder is None or session is None:
        return
    compat.forget_session(holder, blocks, session)   # each gr.State's delete_callback runs
    if blocks is not None and not session_busy(blocks, session):
        compat.drop_pending(blocks, session)   # results nobody will read


CLOSE_GRACE = 2.0   # s after a heartbeat ends: a heartbeat of the session open then keeps the session


def session_closed(request: gr.Request):
    """Gradio's unload event, fired when one heartbeat connection of the session ends: stop the session's
    run, forget it and delete its state `CLOSE_GRACE` seconds later, unless a heartbeat of the session is
    open by then (another connection of the same session that never closed, or a client reconnecting
    after a dropped one): Gradio fires the event for every heartbeat that ends, not once per session."""
    holder, blocks = compat.state_holder(request=request)
    session = getattr(request, "session_hash", None)

    def settle():
        from ui import sessions
        if session is not None and sessions.live(session):
            return
        try:
            forget(session, holder, blocks)
        finally:
            trim()
    timer = threading.Timer(CLOSE_GRACE, settle)
    timer.daemon = True
    timer.start()
