"""Running drags for a UI: one method, or both from the identical start, as a stream of frames.

`stream(...)` is a plain generator: each item is a `Frame` with the current image of every
method and one status line; the last item carries each method's result dict. Both sessions
step in turn (one Adam step each), so the two panels advance together and a Stop reaches both.
"""
from dataclasses import dataclass, field

from draggan import DragGANSession
from freedrag import FreeDragSession

ENGINES = {"draggan": DragGANSession, "freedrag": FreeDragSession}
LABELS = {"draggan": "DragGAN", "freedrag": "FreeDrag"}


@dataclass
class Frame:
    images: dict                      # method -> HxWx3 uint8
    status: str
    results: dict = field(default_factory=dict)   # method -> result dict, on the last frame


def make_sessions(methods, generator, handles, targets, *, seed, psi, space, latent=None, mask=None,
                  common=None, per_method=None):
    """One session per method, all from the same latent, points and mask."""
    common, per_method = dict(common or {}), dict(per_method or {})
    return {m: ENGINES[m](generator, handles, targets, seed=seed, psi=psi, space=space, latent=latent, mask=mask,
                          **common, **per_method.get(m, {})) for m in methods}


def _line(sessions):
    parts = []
    for m, s in sessions.items():
        st = s.status()
        dist = ", ".join(f"{d:.1f}" for d in st.distances)
        parts.append(f"**{LABELS[m]}** step {st.step}/{s.max_steps}, remaining px: {dist}"
                     + (f" ({s.stop_reason})" if s.done else ""))
    return " · ".join(parts)


def stream(sessions, every=5):
    """Step every session in turn until all are done; yield a Frame every `every` steps."""
    frames = {m: [s.preview()] for m, s in sessions.items()}
    yield Frame({m: f[-1] for m, f in frames.items()}, _line(sessions))
    k = 0
    while not all(s.done for s in sessions.values()):
        for s in sessions.values():
            if not s.done:
                s.step()
        k += 1
        if k % every == 0:
            for m, s in sessions.items():
                frames[m].append(s.preview())
            yield Frame({m: f[-1] for m, f in frames.items()}, _line(sessions))
    results = {}
    for m, s in sessions.items():
        s.sync()
        frames[m].append(s.preview())
        results[m] = dict(s.result(), frames=frames[m], latent=s.latent.detach().cpu())
    yield Frame({m: f[-1] for m, f in frames.items()}, _line(sessions), results)


def summary_rows(results):
    """Table rows: method, steps, seconds, final distance per point, reached."""
    rows = []
    for m, r in results.items():
        rows.append([LABELS[m], r["steps"], r["seconds"], ", ".join(f"{d:.1f}" for d in r["distances"]),
                     "yes" if r["reached"] else f"no ({r['stop_reason']})"])
    return rows
