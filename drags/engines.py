"""The drag engines of this repository: one import line each. Each engine module declares itself
(`dragcore.engine.declare`: name, label, config class, session class, which settings a user sees);
importing it is what puts it in `ENGINES`, the one table the app, the command line, the replay of
an edit JSON, the runner and the benchmarks look engines up in (declaration order: the order of
the app's buttons, panels and table rows). Adding an engine: its module, and one line here.
"""
import draggan.engine     # noqa: F401  (declares "draggan")
import freedrag.engine    # noqa: F401  (declares "freedrag")
import stabledrag.engine  # noqa: F401  (declares "stabledrag")
from dragcore.engine import ENGINES, Engine   # noqa: F401  (the table; live: a later declaration joins it)


def make_sessions(configs, generator, handles, targets, *, latent=None, mask=None, device=None, start_image=None):
    """One session per {engine name: its dragcore.config}, all from the same latent (the configs' seed,
    psi and space, or `latent`), points and mask: the one place sessions are built from the table (the
    app, its runner, the benchmarks). `start_image`: that latent's image as the caller already shows it
    (uint8 HxWx3), so no session renders it again."""
    return {m: ENGINES[m].session(generator, handles, targets, cfg, latent=latent, mask=mask, device=device,
                                  start_image=start_image)
            for m, cfg in configs.items()}


def session_classes():
    """{name: session class} for every engine."""
    return {name: e.session for name, e in ENGINES.items()}


def labels():
    """{name: label} for every engine."""
    return {name: e.label for name, e in ENGINES.items()}


def label(name):
    """An engine's label (its name if it is not declared)."""
    e = ENGINES.get(name)
    return e.label if e is not None else str(name)
