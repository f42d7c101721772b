"""Running drags for a UI: one method, or both from the identical start, as a stream of frames.

`stream(...)` is a plain generator: each item is a `Frame` with the current image of every
method and one status line; the last item carries each method's result dict. Both sessions
step in turn (one Adam step each), so the two panels advance together and a Stop reaches both.
`summary_rows` turns the results into the app's table (`TABLE_HEADERS`): the engine's own
verdict and the optical-flow measure of what moved side by side, and "reached" only where both agree.
"""
from dataclasses import dataclass, field

from dragcore.engines import ENGINES, labels

LABELS = labels()
STOP_REASONS = {"arrived": "engine's point at target", "stopped": "stopped", "max_steps": "step limit"}
TABLE_HEADERS = ["method", "steps", "seconds", "engine: distance to target per point (px)", "engine: at target",
                 "content moved (fraction of the requested way, per point)", "reached (engine at target and content "
                 ">= half way)"]


@dataclass
class Frame:
    images: dict                      # method -> HxWx3 uint8
    status: str
    results: dict = field(default_factory=dict)   # method -> result dict, on the last frame


def make_sessions(configs, generator, handles, targets, *, latent=None, mask=None, device=None):
    """One session per {method: its dragcore.config}, all from the same latent (the configs' seed, psi
    and space, or `latent`), points and mask."""
    return {m: ENGINES[m].session(generator, handles, targets, latent=latent, mask=mask, device=device,
                                  **cfg.session_kwargs()) for m, cfg in configs.items()}


def _line(sessions):
    parts = []
    for m, s in sessions.items():
        st = s.status()
        dist = ", ".join(f"{d:.1f}" for d in st.distances)
        parts.append(f"**{LABELS[m]}** step {st.step}/{s.max_steps}, remaining px: {dist}"
                     + (f" ({STOP_REASONS.get(s.stop_reason, s.stop_reason)})" if s.done else ""))
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


def _fractions(r):
    return ", ".join("n/a" if f is None else f"{f:.2f}" for f in r["moved_fraction"])


def summary_rows(results):
    """Table rows (TABLE_HEADERS) for {method: result dict}."""
    rows = []
    for m, r in results.items():
        engine = "yes" if r["tracked_reached"] else f"no ({STOP_REASONS.get(r['stop_reason'], r['stop_reason'])})"
        if r["reached"]:
            verdict = "yes"
        elif r["tracked_reached"]:
            verdict = "no: the content did not move half way"
        else:
            verdict = "no"
        rows.append([LABELS[m], r["steps"], r["seconds"], ", ".join(f"{d:.1f}" for d in r["distances"]), engine,
                     _fractions(r), verdict])
    return rows
