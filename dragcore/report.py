"""The reporter of a drag: what the picture shows, measured apart from the engine's own signal.

A session (dragcore.session) owns the optimisation; its `report` (a `Reporter`) owns everything a
user looks at: the preview of the current latent (rendered once per step and shared, read-only:
the app's last frame, the motion measure and the CLI's result.png read the same array), the live
preview a stream shows while the drag runs (on models of 512 px and up: the image the step's own pass
accumulated at the feature block, `live_preview`, no generator pass of its own; when the steps run on
windows around the handles, a pass to the feature block without gradients, as often as the stream asks), the start
image (rendered once, or the one the caller already shows: `DragSession(..., start_image=...)`, so an
edit renders only its final image), the optical-flow measure of where the content under each start handle went
(dragcore.motion), and the typed `DragResult` that the app, the command lines, the exports and
the benchmarks read.

Reached. An engine's own arrival (DragGAN: the tracked point within its stop distance; FreeDrag:
the line point at the target) says where the *engine* thinks the handle is, not whether the picture
changed. A point counts as `reached` only if the engine arrived *and* the content moved at least
`MOVED_ENOUGH` of the requested way by optical flow from the start image to the result; the
engine's verdict stays visible as `tracked_reached`. Only the points that ask for a move of at least
`HELD_BELOW` px count towards `reached`: a point already at its target (say, the handle of the last
drag, left a fraction of a pixel from its target) is `held`, still supervised as in the official
app, and neither reached nor missed. The app's tables, the command lines, the exports and the
benchmarks all read these fields, so they share the rule. Beside it, what else the drag changed
(dragcore.fidelity): the colour cast and the far-field change.
"""
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import fidelity
from . import motion as motionmod
from .errors import DragInputError
from .points import to_list
from stylegan import imageops

# Why a drag ended (DragSession.stop_reason, DragResult.stop_reason), and how the app, the CLI and the
# replay of an edit say it: the one vocabulary.
STOP_REASONS = {"arrived": "the engine's points at their targets", "stopped": "stopped by you",
                "stalled": "the content stopped moving", "max_steps": "the step limit"}
MOVED_ENOUGH = 0.5  # content must move at least this fraction of the requested way to count as reached
HELD_BELOW = 1.0    # px: a point asking for a shorter move is held in place, not counted as reached or missed
STEP_PREVIEW_RATIO = 4   # live previews come from the step's pass when the feature block is <= 1/4 of the image


@dataclass(frozen=True)
class DragResult:
    """One drag's outcome. Points are [[x, y], ...] in image px; per-point lists follow the points."""
    method: str
    seed: int | None              # the start image's seed and psi (None when the drag started from a latent)
    psi: float | None
    space: str
    resolution: int               # the image height
    shape: list                   # [H, W]
    start_handles: list
    handles: list                 # where the engine thinks each handle is now
    targets: list
    distances: list               # engine's handle to target, px
    reached_points: list          # engine at target and content moved >= MOVED_ENOUGH of the way
    reached: bool                 # every point that asks for a move (held_points False) reached
    tracked_reached_points: list  # the engine's own verdict
    tracked_reached: bool
    moved: list                   # [dx, dy] of the content under each start handle (optical flow), px
    moved_px: list
    moved_fraction: list          # of the requested way, along it (None for a zero-length drag)
    colour_cast: float            # /255 (dragcore.fidelity)
    far_field: float | None       # /255
    far_after_motion: float | None   # /255: the far field once the content's motion is followed (fidelity.far_residual)
    tracker_fallbacks: int        # steps where the flow tracker failed and the feature rule ran
    tracker_note: str | None
    steps: int
    stop_reason: str | None       # a key of STOP_REASONS (None: still running)
    seconds: float                # time spent in steps
    device: str
    params: dict                  # the drag's settings in dragcore.config units, the model's choices filled in
    derived: dict                 # what the session derived from them, named with their unit (r1_px, ...)
    held_points: list             # the point asked for a move shorter than HELD_BELOW px: held, not counted

    def to_dict(self):
        return asdict(self)


def held_points(handles, targets):
    """Per point: does it ask for a move shorter than HELD_BELOW px (so it is held, not counted)?"""
    return [math.dist(h, t) < HELD_BELOW for h, t in zip(handles, targets)]


def all_held(held):
    """Does no point of a drag ask for a move (every one held: Compare right after a drag that arrived)?"""
    return bool(held) and all(held)


def reached_points(tracked, moved_fraction, held):
    """(per point: engine arrived and content moved >= MOVED_ENOUGH of the way; the drag's verdict):
    the drag is reached when every point that asks for a move is (all points, if none asks)."""
    points = [bool(t and (f is None or f >= MOVED_ENOUGH)) for t, f in zip(tracked, moved_fraction)]
    asked = [p for p, h in zip(points, held) if not h]
    return points, all(asked) if asked else all(points)


class Reporter:
    """Previews, the start image, the motion measure and the result of one session."""

    def __init__(self, session, start_image=None):
        self.session = session
        self._start_image = None if start_image is None else self._checked_start(start_image)
        self._preview = (None, None, None)  # (steps, image, F) of the last preview of the current latent
        self._motion = (None, None)   # (steps, measure)
        self._flow = (None, None)     # (steps, [H, W, 2] flow start -> preview)
        self._step_image = (None, None)   # (steps, [1, 3, fr, fw] float32) from the step's own pass
        self._live = (None, None)         # (steps, HxWx3 uint8) the last live preview, up-sampled
        self._colour = None               # (gain, offset) of the live previews (fitted once)
        self._shown = 0                   # the step of the full preview `live_preview` gave last

    def _checked_start(self, image):
        """The caller's start image (the one its user already sees) as a read-only HxWx3 uint8 array."""
        s = self.session
        a = np.asarray(image)
        if a.dtype != np.uint8 or a.shape != (*s.shape, 3):
            raise DragInputError(f"start_image must be the {s.shape[1]}x{s.shape[0]} RGB uint8 image of the start "
                                 f"latent, got {a.dtype} {list(a.shape)}")
        a = a.copy()
        a.flags.writeable = False
        return a

    def preview(self, latent=None):
        """The current image (or `latent`'s) as HxWx3 uint8: one generator pass, no gradients; the
        current latent's is rendered once per step and shared, read-only (before the first step: the
        start image, when the caller gave it)."""
        s = self.session
        if latent is not None:
            return imageops.to_uint8(s.render(latent))[0]
        steps, latent = s.snapshot()
        if steps == 0 and self._start_image is not None:
            return self._start_image
        if self._preview[0] != steps:
            self._render(steps, latent)
        return self._preview[1]

    def latest(self):
        """(steps, image) of the last preview rendered of the current latent, whoever asked for it (a
        content tracker renders the current image too), or None; never renders."""
        steps, image, _ = self._preview
        return None if image is None else (steps, image)

    def keep_step_image(self, steps, image):
        """The image a step's pass accumulated at the feature block (the session calls it): the
        latent after `steps` updates, seen at the feature block's resolution."""
        self._step_image = (steps, image.detach())

    def live_preview(self):
        """(HxWx3 uint8, the height it was drawn at): what a stream shows while the drag runs. With
        `session.step_previews` (models of 512 px and up), once a step has run, the image its pass
        accumulated at the feature block, colour-matched and up-sampled to the image size: no
        generator pass of its own, one step behind the latent. Otherwise a full preview: the one the
        step thread last rendered (a content tracker's flow renders the current image) when it is
        newer than the one given last, else one rendered now.

        The accumulated image is the StyleGAN2 skip outputs of the stages up to the feature block:
        the final image without the stages above, which add detail but also contrast and colour (on
        its own it looks washed out). A per-channel gain and offset, fitted once between the start
        latent's partial image and its full image at the partial's size, brings it back."""
        s = self.session
        steps, image = self._step_image
        if not s.step_previews or image is None:
            return self._newest_render(), s.res
        if s.last_step_windowed and steps is not None and steps < s.steps:
            steps, image = self._partial()   # a windowed pass draws no image: one pass to the feature block
        if steps == 0:   # the step saw the start latent
            return self.start_image(), s.res
        if self._live[0] != steps:
            gain, offset = self._colour_match()
            up = F.interpolate(image * gain + offset, size=s.shape, mode="bilinear", align_corners=False)
            frame = imageops.to_uint8(up)[0]
            frame.flags.writeable = False
            self._live = (steps, frame)
        return self._live[1], image.shape[-2]

    def _partial(self):
        """(steps, the image accumulated at the feature block) of the current latent: one pass to the feature
        block without gradients, for a live preview when the steps run on windows (DragSession.feature_windows)."""
        s = self.session
        steps, latent = s.snapshot()
        with torch.no_grad():
            _, image = s._in_precision(s.gen.features_and_preview, latent)
        self.keep_step_image(steps, image)
        return steps, image.detach()

    def _newest_render(self):
        """A full preview without a second render competing with the steps: the last one rendered if
        it is newer than the one given last, else the current latent's (rendered unless it was)."""
        latest = self.latest()
        if latest is not None and latest[0] is not None and latest[0] > self._shown:
            self._shown, image = latest
            return image
        image = self.preview()
        latest = self.latest()
        if latest is not None and latest[1] is image:
            self._shown = latest[0]
        return image

    def _colour_match(self):
        """(gain, offset) [1, 3, 1, 1]: the least-squares per-channel map from the start latent's
        partial image to its full image averaged down to the partial's size (fitted once)."""
        if self._colour is None:
            coarse = self.session._coarse0
            full = self.start_image()
            full = torch.from_numpy(np.ascontiguousarray(full)).permute(2, 0, 1)[None].float() / 127.5 - 1
            full = F.adaptive_avg_pool2d(full, coarse.shape[-2:]).flatten(2)
            part = coarse.float().cpu().flatten(2)
            dp, df = part - part.mean(-1, keepdim=True), full - full.mean(-1, keepdim=True)
            gain = (dp * df).mean(-1, keepdim=True) / dp.pow(2).mean(-1, keepdim=True).clamp_min(1e-8)
            offset = full.mean(-1, keepdim=True) - gain * part.mean(-1, keepdim=True)
            self._colour = (gain[..., None].to(coarse.device), offset[..., None].to(coarse.device))
        return self._colour

    def features(self):
        """F at the feature block of the current latent, from the pass that renders its preview."""
        steps, latent = self.session.snapshot()
        if self._preview[0] != steps:
            self._render(steps, latent)
        return self._preview[2]

    def _render(self, steps, latent):
        image, feat = self.session.render_and_features(latent)   # F too: the final tracking reads it
        image = imageops.to_uint8(image)[0]
        image.flags.writeable = False
        self._preview = (steps, image, feat)

    def start_image(self):
        """The unedited image as HxWx3 uint8 (rendered once)."""
        if self._start_image is None:  # before the first step the current image is the start image
            s = self.session
            if self._preview[0] == 0:     # rendered before the first step (a stream's first frame)
                self._start_image = self._preview[1]
            else:
                self._start_image = self.preview() if s.steps == 0 else self.preview(s.latent0)
        return self._start_image

    def motion(self, image=None):
        """Optical-flow measure of the drag so far (dragcore.motion.measure): per point moved [dx, dy],
        moved_px and moved_fraction of the requested way, read at the start handles. Cached per step."""
        s = self.session
        if image is None and self._motion[0] == s.steps:
            return self._motion[1]
        measured = motionmod.measure(self.start_image(), self.preview() if image is None else image,
                                     to_list(s.handles0), to_list(s.targets),
                                     flow=self.flow() if image is None else None)
        if image is None:
            self._motion = (s.steps, measured)
        return measured

    def flow(self):
        """The dense optical flow [H, W, 2] from the start image to the current preview (dragcore.motion.dense_flow),
        which the motion measure reads; kept per step, so a caller's far field after motion
        (dragcore.fidelity.far_residual) reads the same flow without computing it again."""
        s = self.session
        if self._flow[0] != s.steps:
            self._flow = (s.steps, motionmod.dense_flow(self.start_image(), self.preview()))
        return self._flow[1]

    def result(self):
        s = self.session
        st = s.status(s.last_loss)
        moved = self.motion()
        held = held_points(to_list(s.handles0), st.targets)
        points, reached = reached_points(st.tracked_reached, [m["moved_fraction"] for m in moved], held)
        return DragResult(
            method=s.method, seed=s.seed, psi=s.psi, space=s.space, resolution=s.res, shape=list(s.shape),
            start_handles=to_list(s.handles0), handles=st.handles, targets=st.targets, distances=st.distances,
            reached_points=points, reached=reached, held_points=held,
            tracked_reached_points=st.tracked_reached, tracked_reached=all(st.tracked_reached),
            moved=[m["moved"] for m in moved], moved_px=[m["moved_px"] for m in moved],
            moved_fraction=[m["moved_fraction"] for m in moved],
            **fidelity.measure(self.start_image(), self.preview(), to_list(s.handles0) + st.targets, flow=self.flow()),
            tracker_fallbacks=s.tracker_fallbacks, tracker_note=s.tracker_note,
            steps=s.steps, stop_reason=s.stop_reason, seconds=round(s.seconds, 3), device=str(s.device),
            params=s.settings(), derived=s.derived())
