"""The drag engines, registered once: name -> display name, config class and session class.

The app, the replay of an edit JSON, the runner and the benchmarks look engines up here. The
session classes live in `draggan/` and `freedrag/` (libraries on top of dragcore); this table is
of the tool tier, so it imports them directly.
"""
from dataclasses import dataclass

from dragcore.config import DragGANConfig, FreeDragConfig
from draggan.engine import DragGANSession
from freedrag.engine import FreeDragSession


@dataclass(frozen=True)
class Engine:
    name: str          # the id used in edit JSON, API names and results
    label: str         # shown to users
    config: type       # its dragcore.config class
    session: type      # its session class (a dragcore.session.DragSession)


ENGINES = {
    "draggan": Engine("draggan", "DragGAN", DragGANConfig, DragGANSession),
    "freedrag": Engine("freedrag", "FreeDrag", FreeDragConfig, FreeDragSession),
}


def session_classes():
    """{name: session class} for every engine."""
    return {name: e.session for name, e in ENGINES.items()}


def labels():
    return {name: e.label for name, e in ENGINES.items()}
