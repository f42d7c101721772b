"""The per-user state of the Drag tab: one `DragState` per browser session (a `gr.State`).

Handlers change it in place and return it. Stop reaches a session's run through ui.runs (by the
Gradio session, not this object), and a replay `adopt`s its fresh state only once it owns the
session's one run, so nothing adopts a state that a run is writing.
"""
from dataclasses import dataclass, field, fields

import numpy as np


@dataclass
class DragState:
    model: str | None = None     # the model choice ('upload:<sha>' for this session's upload)
    seed: int = 0
    psi: float = 0.7
    space: str = "w+"
    shape: tuple = (0, 0)        # (height, width) of the model's image
    start: np.ndarray | None = None   # the unedited image, HxWx3 uint8
    image: np.ndarray | None = None   # the current image (the last drag's result)
    points: list = field(default_factory=list)    # [handle, target, handle, ...] in model px
    running: list = field(default_factory=list)   # unused since issue 25 (Stop goes through ui.runs)
    results: dict = field(default_factory=dict)   # method -> result dict of the last drag
    mask: np.ndarray | None = None    # the editable region of the last drag
    generator: object = None     # an inverted photo's tuned generator ...
    latent: object = None        # ... and its W+ latent

    @property
    def ready(self):
        """An image to click on exists."""
        return self.image is not None

    def adopt(self, other):
        """Become `other`, keeping this object (a running replay stays reachable by Stop)."""
        for f in fields(self):
            setattr(self, f.name, getattr(other, f.name))
        return self

    def reset(self):
        self.image, self.points, self.results = self.start, [], {}

    def pairs(self):
        """(handles, targets) of the complete pairs."""
        return self.points[0::2], self.points[1::2]
