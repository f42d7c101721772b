"""The drag engines, registered once: name -> display name, config class and session class.

The app, the replay of an edit JSON, the runner and the benchmarks look engines up here. The
session classes live in `draggan/` and `freedrag/`, which import dragcore, so they are imported
when first asked for (dragcore never imports them at import time).
"""
import importlib
from dataclasses import dataclass

from .config import DragGANConfig, FreeDragConfig


@dataclass(frozen=True)
class Engine:
    name: str          # the id used in edit JSON, API names and result dicts
    label: str         # shown to users
    config: type       # its dragcore.config class
    module: str        # where its session class lives
    class_name: str

    @property
    def session(self):
        return getattr(importlib.import_module(self.module), self.class_name)


ENGINES = {
    "draggan": Engine("draggan", "DragGAN", DragGANConfig, "draggan.engine", "DragGANSession"),
    "freedrag": Engine("freedrag", "FreeDrag", FreeDragConfig, "freedrag.engine", "FreeDragSession"),
}


def session_classes():
    """{name: session class} for every engine."""
    return {name: e.session for name, e in ENGINES.items()}


def labels():
    return {name: e.label for name, e in ENGINES.items()}
