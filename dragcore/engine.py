"""What an engine declares about itself, once, and the table of declared engines.

An engine module (draggan/engine.py, freedrag/engine.py, stabledrag/engine.py, a test's toy) ends
with one `declare(...)`: its name (the id in edit JSON, API names, results and presets files), its
label (what users read), its `dragcore.config` class, its session class (a
`dragcore.session.DragSession`), a one-line summary, and which of its settings a user sees
(`options`: command-line flags and app fields, derived from each setting's `setting()` metadata;
`app_hidden`: those the app leaves to the presets). Everything else (the config registry, the
engine table of the tool tier, the command line, presets, the app's fields, panels, Compare,
results, exports, replay and the chain) reads `ENGINES`, in declaration order.

`declare` also registers the config class in `dragcore.config.CONFIGS`; `forget(name)` undoes a
declaration (a test's toy engine).
"""
from dataclasses import dataclass, fields

from . import config

ENGINES = {}   # name -> Engine, in declaration order


@dataclass(frozen=True)
class Engine:
    name: str            # the id used in edit JSON, API names, presets files and results
    label: str           # shown to users
    config: type         # its dragcore.config class
    session: type        # its session class (a dragcore.session.DragSession)
    summary: str = ""    # one line: what the method does (the command line's description)
    options: tuple = ()  # its own settings a user sets (flags, app fields); default: those its config adds
    app_hidden: tuple = ()   # of those, the ones the app leaves to the presets (the command line still has them)

    def own_settings(self):
        """The settings its config adds to the shared ones (dragcore.config.DragConfig)."""
        shared = set(config.names(config.DragConfig))
        return [n for n in config.names(self.config) if n not in shared]


def declare(name, label, config_cls, session, summary="", options=None, app_hidden=()):
    """Register an engine (and its config class in dragcore.config.CONFIGS); returns its `Engine`.
    The session class must say the same name and config (`method`, `Config`)."""
    if not (name.isascii() and name.isalnum() and name.islower()):
        raise ValueError(f"engine name {name!r}: lower-case letters and digits only (presets files use '<name>_...' keys)")
    if getattr(session, "method", None) != name or getattr(session, "Config", None) is not config_cls:
        raise ValueError(f"engine {name!r}: its session class {session.__name__} must have method={name!r} and "
                         f"Config={config_cls.__name__}")
    if not issubclass(config_cls, config.DragConfig):
        raise ValueError(f"engine {name!r}: {config_cls.__name__} is not a dragcore.config.DragConfig")
    engine = Engine(name, label, config_cls, session, summary, (), tuple(app_hidden))
    opts = tuple(engine.own_settings() if options is None else options)
    unknown = [o for o in opts + engine.app_hidden if o not in {f.name for f in fields(config_cls)}]
    if unknown:
        raise ValueError(f"engine {name!r}: {unknown} are not settings of {config_cls.__name__}")
    engine = Engine(name, label, config_cls, session, summary, opts, tuple(app_hidden))
    ENGINES[name] = engine
    config.CONFIGS[name] = config_cls
    return engine


def forget(name):
    """Undo a declaration (a test's engine)."""
    ENGINES.pop(name, None)
    config.CONFIGS.pop(name, None)
