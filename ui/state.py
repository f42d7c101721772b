"""The per-user state of the Drag tab: one `DragState` per browser session (a `gr.State`).

Handlers change it in place and return it. Stop reaches a session's run through ui.run_control (by the
Gradio session, not this object), and the chain changes (undo, reset, continue, a replay's `adopt`)
only while the session has no run (ui.run_control.idle, ui.run_control.exclusive), so nothing changes or adopts a
state that a run is writing.

Drags build on each other. `chain` holds the drags made on this image, in order, one `DragRecord`
each: the points and mask it was given, per engine the result it started from, and per engine its
result (settings as recorded, the steps it really took, the resulting latent, image and frames).
An engine's next drag starts from the *head* the last drag left it (`source`): the result chosen
with *Continue both from ...*, else the engine's own result, else the last drag's only result;
before any drag, the start (the seed's latent, or an inverted photo's with its tuned generator,
which every drag of the chain uses). An inverted photo's tuned noise maps follow each drag
(dragcore.noise_follow, as `--inverted` on the command line): each result keeps the maps as its drag
moved them, and a drag from that result starts from them (`head_noise`), so undo and Continue restore them
too. The handles stay where that engine left them, with their targets, until the user changes the points. `undo` pops the last drag, `reset` empties the chain;
the start image and every result are kept as the uint8 images that were shown, so both restore
the exact earlier picture.
"""
import itertools
from dataclasses import dataclass, field, fields

import numpy as np

from dragcore.report import DragResult

_EPOCHS = itertools.count(1)


@dataclass(frozen=True)
class EngineRun:
    """One engine's finished drag in the app."""
    result: DragResult     # what the engine's reporter measured (dragcore.report)
    image: np.ndarray      # the result as shown, HxWx3 uint8
    frames: list           # the frames the drag streamed (GIF size once the drag is in a chain)
    latent: object         # the latent it left (its next drag starts there)
    noise: tuple = None    # an inverted photo's noise maps as the drag left them (every map of the synthesis,
                           # dragcore.noise_follow): its next drag starts from them; None: the generator's own
    picture: str = None    # what a photo drag showed ('field' or 'render', drags.in_photo): its next drag shows the same


def engine_points(run):
    """[handle, target, ...] where a drag's engine left its handles."""
    return [list(q) for pair in zip(run.result.handles, run.result.targets) for q in pair]


@dataclass
class DragRecord:
    """One drag of a chain."""
    points: dict                 # method -> [handle, target, ...] it was given (model px)
    mask: np.ndarray | None      # the editable region (None: the whole image)
    sources: dict                # method -> the previous drag's engine whose result it started at (None: the start)
    results: dict = field(default_factory=dict)   # method -> EngineRun
    chosen: str | None = None    # "Continue both from <method>'s result": every engine's next drag starts there

    def shown(self):
        """The engine whose result the clickable image shows (the first one run, unless one was chosen)."""
        return self.chosen or next(iter(self.results))


@dataclass
class DragState:
    model: str | None = None     # the model choice ('upload:<sha>' for this session's upload)
    seed: int = 0
    psi: float = 0.7
    space: str = "w+"
    shape: tuple = (0, 0)        # (height, width) of the model's image
    start: np.ndarray | None = None   # the unedited image, HxWx3 uint8
    image: np.ndarray | None = None   # the image shown for clicking: the start, or the last drag's shown result
    points: list = field(default_factory=list)    # [handle, target, handle, ...] in model px, as shown
    chain: list = field(default_factory=list)     # DragRecord per drag, in order (at most limits.max_chain())
    generator: object = None     # an inverted photo's tuned generator ...
    latent: object = None        # ... and its W+ latent (the start; None: the seed's)
    photo: dict = None           # ... and its photo, alignment and reconstruction (latent.align.paste_back)
    mask_epoch: int = field(default_factory=lambda: next(_EPOCHS))   # a new one each time the mask editor is set

    @property
    def ready(self):
        """An image to click on exists."""
        return self.image is not None

    @property
    def results(self):
        """method -> EngineRun of the last drag ({} before the first)."""
        return self.chain[-1].results if self.chain else {}

    def adopt(self, other):
        """Become `other`, keeping this object (the one the session's gr.State and its callers hold)."""
        for f in fields(self):
            if f.name != "mask_epoch":   # the mask editor is not set: what is painted in it still holds
                setattr(self, f.name, getattr(other, f.name))
        return self

    def new_mask_epoch(self):
        """The mask editor was set (emptied): a mask painted before is not used (ui.mask.Painted)."""
        self.mask_epoch = next(_EPOCHS)

    def pairs(self):
        """(handles, targets) of the complete pairs shown."""
        return self.points[0::2], self.points[1::2]

    # --- the chain -------------------------------------------------------------------------------
    def source(self, method):
        """The engine of the last drag whose result `method`'s next drag starts from (None: the start)."""
        if not self.chain:
            return None
        last = self.chain[-1]
        if last.chosen:
            return last.chosen
        return method if method in last.results else last.shown()

    def head_latent(self, source):
        """The latent a drag from `source` (a `source()` value) starts at; None: the seed's."""
        return self.latent if source is None else self.chain[-1].results[source].latent

    def head_noise(self, source):
        """The noise maps a drag from `source` starts with (an inverted photo's, as that result's drag moved
        them); None: the generator's own."""
        return None if source is None else self.chain[-1].results[source].noise

    def head_picture(self, source):
        """What a photo drag from `source` shows: what that result's drag showed; None (the reconstruction): the
        engine's own (drags.in_photo.PICTURE)."""
        return None if source is None else self.chain[-1].results[source].picture

    def head_image(self, source):
        """The image shown for the latent a drag from `source` starts at (the start, or that result's)."""
        return self.start if source is None else self.chain[-1].results[source].image

    def points_for(self, method):
        """The points `method`'s next drag is given: where its source's engine left them (with their
        targets) while the points shown are the ones the last drag left; else the points shown."""
        src = self.source(method)
        if src is not None:
            last = self.chain[-1]
            if self.points == engine_points(last.results[last.shown()]):
                return engine_points(last.results[src])
        return [list(p) for p in self.points]

    def push(self, record):
        """A finished drag joins the chain; its shown result becomes the image to click on."""
        self.chain.append(record)
        self._show()

    def undo(self):
        """Back to before the last drag: its start image, and the points it was given. -> the record."""
        record = self.chain.pop()
        self._show()
        shown = self.chain[-1].shown() if self.chain else None
        self.points = [list(p) for p in record.points.get(shown, next(iter(record.points.values())))]
        return record

    def choose(self, method):
        """Every engine's next drag starts from `method`'s result of the last drag."""
        self.chain[-1].chosen = method
        self._show()

    def reset(self):
        """Back to the start image: the chain and the points are cleared (and the mask editor)."""
        self.chain, self.points, self.image = [], [], self.start
        self.new_mask_epoch()

    def lineage(self, method):
        """[(record, engine)] of the drags that led to `method`'s result of the last drag, first to last."""
        out, cur = [], method
        for record in reversed(self.chain):
            out.append((record, cur))
            cur = record.sources[cur]
            if cur is None:
                break
        return out[::-1]

    def _show(self):
        if self.chain:
            last = self.chain[-1]
            r = last.results[last.shown()]
            self.image, self.points = r.image, engine_points(r)
        else:
            self.image = self.start
