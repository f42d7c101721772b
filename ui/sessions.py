"""Sessions that never close give their memory back: the idle limit.

A browser tab (and gradio_client) holds a *heartbeat* connection open; when it closes, Gradio's
unload event frees the session at once (ui.run_control.session_closed). A client of the raw queue or
`/call/` API never opens one, and a session whose heartbeat vanished without Gradio noticing keeps
its state (inverted photos with their tuned generators, drag chains) until Gradio's 10,000-session
cap. Here every session is given back once it has been idle for `$LATENTLAB_SESSION_IDLE` seconds
(`limits.SETTINGS["session_idle"]`, default 900):

- *idle* means: no open heartbeat, no handler of the session running or waiting in the queue, and
  no handler call started or ended for that long (`touch`, called by every handler: ui.guard);
- an expired session is forgotten exactly as a closed one (`run_control.forget`): its state is deleted,
  its run record dropped, freed memory handed back to the operating system. A later request of the
  same session starts from fresh state (New image), as after a closed tab.

`Heartbeats` is an ASGI middleware (installed through `launch(app_kwargs=...)`, a public hook) that
counts the open heartbeat connections per session. `start(blocks)` runs the sweep in a daemon
thread every min(30 s, idle limit / 4), with ui.disk's cap on Gradio's folder.
"""
import re
import threading
import time

import compat
import limits

_LOCK = threading.Lock()
_LIVE = {}       # session hash -> open heartbeat connections
_USED = {}       # session hash -> time.monotonic() of its last handler call (start or end)
_SWEEPER = None

_HEARTBEAT = re.compile(r"/heartbeat/([^/?]+)/?$")


def idle_limit():
    return limits.setting("session_idle")


def touch(session):
    """A handler of `session` starts or ends now (ui.guard calls it for every handler)."""
    if session:
        with _LOCK:
            _USED[session] = time.monotonic()


def live(session):
    """A heartbeat connection of `session` is open now."""
    with _LOCK:
        return session in _LIVE


class Heartbeats:
    """ASGI middleware: while a `/heartbeat/<session>` response streams, that session is alive."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        m = _HEARTBEAT.search(scope.get("path", "")) if scope.get("type") == "http" else None
        if m is None:
            return await self.app(scope, receive, send)
        session = m.group(1)
        with _LOCK:
            _LIVE[session] = _LIVE.get(session, 0) + 1
        try:
            return await self.app(scope, receive, send)
        finally:
            with _LOCK:
                _USED[session] = time.monotonic()   # the idle clock starts when the heartbeat ends
                _LIVE[session] -= 1
                if not _LIVE[session]:
                    del _LIVE[session]


def expired(sessions, busy, now=None, limit=None):
    """The sessions among `sessions` that are idle past the limit (`busy(session)`: a run or a queued
    event). A session seen for the first time starts its idle clock now."""
    now = time.monotonic() if now is None else now
    limit = idle_limit() if limit is None else limit
    out = []
    with _LOCK:
        for s in sessions:
            last = _USED.setdefault(s, now)
            if s not in _LIVE and now - last > limit and not busy(s):
                out.append(s)
    return out


def sweep(blocks, limit=None):
    """Forget every idle session of `blocks` now -> how many were forgotten."""
    from ui import run_control
    holder, _ = compat.state_holder(blocks=blocks)
    if holder is None:
        return 0
    held = compat.session_ids(holder)
    gone = expired(held, lambda s: run_control.session_busy(blocks, s), limit=limit)
    for s in gone:
        run_control.forget(s, holder, blocks)
        with _LOCK:
            _USED.pop(s, None)
    with _LOCK:   # sessions Gradio no longer holds (closed tabs): nothing to remember of them
        held = set(compat.session_ids(holder))
        for s in [s for s in _USED if s not in held and s not in _LIVE]:
            del _USED[s]
    if gone:
        run_control.trim()
    return len(gone)


def start(blocks):
    """The sweeper thread (once per process)."""
    global _SWEEPER

    def loop():
        while True:
            time.sleep(min(30.0, idle_limit() / 4))
            try:
                sweep(blocks)
                from ui import disk
                disk.enforce_cap(blocks)   # images Gradio wrote for handlers count against its folder's cap
            except Exception:  # noqa: BLE001 - the sweeper must outlive one bad pass
                import logging
                logging.getLogger("latentlab").exception("session sweep failed")
    if _SWEEPER is None:
        _SWEEPER = threading.Thread(target=loop, name="latentlab-session-sweeper", daemon=True)
        _SWEEPER.start()
