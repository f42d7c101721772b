"""The base drag session: the state one drag owns and the loop around an engine's step.

A session is a small stateful object in the spirit of a diffusers scheduler. It owns the
generator adapter, the latent (trainable part as one leaf tensor + frozen part), one Adam
optimiser for the whole drag (its moments carry across steps), the reference features F0,
the points, the optional mask, a step counter and a thread-safe stop flag. An engine
(DragGAN, FreeDrag) implements `_step()` (exactly one forward with gradients and at most one
Adam step) and the base turns it into `step() -> StepResult`. Rendering is separate and cheap:
`preview()` runs the generator once without gradients, so a UI can draw every N steps.

Threads: call `step()`/`run()` from one thread; `stop()`, `preview()`, `result()` and `done`
may be called from any other (the optimiser's in-place update and the preview's read of the
latent share a lock).

Precision. `precision` (fp32 | bf16 | fp16 | auto, stylegan.precision) runs every generator
pass of the session (F0, the step's features, previews) under autocast; the features and images
come back as float32, so losses, tracking and Adam are the same code in every precision. A
preview is cached per step: the app's last frame, the motion measure and the CLI's result.png
share one render.

Reached. An engine's own arrival (DragGAN: the tracked point within its stop distance;
FreeDrag: the line point at the target with a low template loss) says where the *engine* thinks
the handle is, not whether the picture changed. `result()` therefore also measures, with optical
flow between the start image and the result (dragcore.motion), where the content under each
start handle went, and a point counts as `reached` only if the engine arrived *and* the content
moved at least half of the requested way (`MOVED_ENOUGH`). The engine's own verdict stays
visible as `tracked_reached`. Beside it, what else the drag changed (dragcore.fidelity): the
colour cast and the far-field change of the result.

Tracker (dragcore.tracking): `features` is the official rule; with `flow` an engine asks
`content_handles()` where optical flow sees the content under its start handles now.
"""
import math
import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

import stylegan

from . import fidelity
from . import mask as maskmod
from . import motion as motionmod
from . import tracking
from .config import MODES, DragConfig as C
from .errors import DragInputError, MotionError
from .features import resize_to_image
from .points import distances, to_list, validate_points
from .protocol import adapt
from stylegan import imageops
from stylegan.precision import PrecisionError, choose as choose_precision, to_float32


MOVED_ENOUGH = 0.5  # content must move at least this fraction of the requested way to count as reached


@dataclass
class StepResult:
    """What one step reports (no image: render with `session.preview()`)."""
    step: int                 # Adam steps taken so far
    handles: list             # current handle positions [[x, y], ...], image px
    targets: list
    distances: list           # per point, image px (engine's handle to target)
    tracked_reached: list     # per point: the engine's own arrival (not a measure of the image)
    done: bool
    loss: float | None        # the loss of this step's Adam step (None if no step was taken)

    def to_dict(self):
        return asdict(self)


def to_uint8(img):
    """The one image of a generator's [1, 3, H, W] output -> HxWx3 uint8 (stylegan.imageops.to_uint8)."""
    return imageops.to_uint8(img[0])


def _positive(name, v, allow_zero=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise DragInputError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number, got {v!r}")
    return float(v)


class DragSession:
    method = "base"

    # defaults: dragcore.config (None: the model decides)
    def __init__(self, generator, handles, targets, *, seed=C.seed, psi=C.psi, space=C.space, latent=None, mask=None,
                 lr=C.lr, mask_weight=C.mask_weight, max_steps=C.max_steps, device=None, feature_res=C.feature_res,
                 mode=C.mode, rows=C.rows, precision=C.precision, tracker=C.tracker):
        if mode not in MODES:
            raise DragInputError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.tracker = tracking.check_tracker(tracker)
        self.tracker_fallbacks, self.tracker_note = 0, None   # flow failures (the step used the feature rule)
        self.device = device if isinstance(device, torch.device) else stylegan.pick_device(device)
        self.gen = adapt(generator, self.device, feature_res, rows)
        self.res, self.feature_res = self.gen.resolution, self.gen.feature_res   # res: the height (radii scale by it)
        self.shape = tuple(getattr(self.gen, "shape", (self.res, self.res)))   # (H, W) of the image
        try:
            self.precision = choose_precision(precision, self.device, self.res)
        except PrecisionError as e:
            raise DragInputError(str(e)) from None
        self.handles0, self.targets = validate_points(handles, targets, self.shape, self.device)
        self.handles = self.handles0.clone()
        if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 0:
            raise DragInputError(f"max_steps must be a non-negative integer, got {max_steps!r}")
        self.max_steps = int(max_steps)
        self.lr = _positive("lr", getattr(self.gen, "default_lr", 0.002) if lr is None else lr)
        self.mask_weight = _positive("mask weight", mask_weight, allow_zero=True)
        self.mask = None if mask is None else maskmod.validate_mask(mask, self.shape, self.device)
        self.seed, self.psi = seed, psi
        if latent is None:
            latent = self.gen.latent_init(seed, psi, space)
        else:
            latent = self.gen.check_latent(latent)
        self.space = self.gen.space_of(latent)
        self.latent0 = latent.detach().clone()
        trainable, frozen = self.gen.split(self.latent0)
        self._trainable = trainable.clone().requires_grad_(True)
        self._frozen = frozen.clone()
        self.optimizer = torch.optim.Adam([self._trainable], lr=self.lr)
        with torch.no_grad():
            self.F0 = self._in_precision(self.gen.features, self.latent0)
        self._mask_map = self._mask_weight_map(self.shape if mode == "reference" else tuple(self.F0.shape[-2:]))
        self.steps = 0
        self.seconds = 0.0
        self.reached_all = False
        self.last_loss = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._start_image = None
        self._preview = (None, None)  # (steps, image) of the last preview of the current latent
        self._motion = (None, None)  # (steps, measure) cache

    # --- state -----------------------------------------------------------------------------
    @property
    def latent(self):
        """The current latent: a fresh detached tensor (never a view of the parameter Adam updates in place)."""
        return self.gen.join(self._trainable.detach().clone(), self._frozen)

    def _latent_for_grad(self):
        return self.gen.join(self._trainable, self._frozen)

    def stop(self):
        """Ask the session to stop; honoured before the next step (safe from any thread)."""
        self._stop.set()

    @property
    def stop_reason(self):
        if self.reached_all:
            return "arrived"  # the engine's points are at their targets (see result() for the image)
        if self._stop.is_set():
            return "stopped"
        if self.steps >= self.max_steps:
            return "max_steps"
        return None

    @property
    def done(self):
        return self.stop_reason is not None

    def point_reached(self):
        """Per-point arrival flags (bool tensor [N]); engines define what arrival means."""
        raise NotImplementedError

    def content_handles(self):
        """[N, 2]: where the content under the start handles is in the current image (optical flow,
        dragcore.tracking), or None if the flow failed (counted and noted in the report)."""
        try:
            return tracking.content_points(self.start_image(), self.preview(), self.handles0)
        except MotionError as e:
            self.tracker_fallbacks += 1
            self.tracker_note = f"optical flow failed ({e}); the feature tracker was used for those steps"
            return None

    # --- stepping ----------------------------------------------------------------------------
    def _step(self):
        """One forward with gradients and at most one Adam step; returns the loss or None."""
        raise NotImplementedError

    def _adam_step(self, loss):
        self.optimizer.zero_grad(set_to_none=True)
        scale = self.precision.loss_scale  # fp16: keep tiny per-element gradients in range
        (loss * scale if scale != 1 else loss).backward()
        with self._lock:
            if scale == 1 or self._unscale(scale):
                self.optimizer.step()
            self.steps += 1
        return float(loss.detach())

    def _unscale(self, scale):
        grad = self._trainable.grad
        grad.div_(scale)
        return bool(torch.isfinite(grad).all())  # an overflowed step is skipped, not applied

    def step(self):
        loss = None
        if not self.done:
            t0 = time.perf_counter()
            loss = self._step()
            self.seconds += time.perf_counter() - t0
            self.last_loss = loss
        return self.status(loss)

    def status(self, loss=None):
        return StepResult(step=self.steps, handles=to_list(self.handles), targets=to_list(self.targets),
                          distances=[round(float(d), 3) for d in distances(self.handles, self.targets)],
                          tracked_reached=[bool(r) for r in self.point_reached()], done=self.done, loss=loss)

    def sync(self):
        """Bring the handles up to date with the current latent (after the last Adam step)."""

    def run(self, callback=None, every=1):
        """Step until done; callback(session, StepResult) every `every` steps and at the end."""
        every = max(1, int(every))
        while not self.done:
            r = self.step()
            if callback is not None and not r.done and r.step % every == 0:
                callback(self, r)
        self.sync()
        r = self.status(self.last_loss)
        if callback is not None:
            callback(self, r)
        return self.result()

    # --- rendering and reporting --------------------------------------------------------------
    def _in_precision(self, fn, latent):
        """fn(latent) under the session's autocast, returned in float32."""
        with self.precision.autocast():
            return to_float32(fn(latent))

    def render(self, latent=None):
        """Image tensor [1, 3, H, W] for `latent` (default: the current one), no gradients."""
        if latent is None:
            with self._lock:
                latent = self.latent
        with torch.no_grad():
            return self._in_precision(self.gen.image, latent)

    def preview(self, latent=None):
        """The current image as an HxWx3 uint8 array (one generator pass, no gradients; the current
        latent's is rendered once per step and shared, read-only)."""
        if latent is not None:
            return to_uint8(self.render(latent))
        with self._lock:
            steps, latent = self.steps, self.latent
        if self._preview[0] != steps:
            image = to_uint8(self.render(latent))
            image.flags.writeable = False
            self._preview = (steps, image)
        return self._preview[1]

    def params(self):
        """The hyper-parameters of this drag (engines extend)."""
        return dict(lr=self.lr, mask_weight=self.mask_weight, masked=self.mask is not None, max_steps=self.max_steps,
                    feature_res=self.feature_res, mode=self.mode, rows=getattr(self.gen, "rows", None),
                    precision=self.precision.name, tracker=self.tracker,
                    deformation_code=bool(getattr(self.gen, "code_rows", 0)) and self.space == "w+")

    def start_image(self):
        """The unedited image as HxWx3 uint8 (rendered once)."""
        if self._start_image is None:  # before the first step the current image is the start image
            self._start_image = self.preview() if self.steps == 0 else self.preview(self.latent0)
        return self._start_image

    def motion(self, image=None):
        """Optical-flow measure of the drag so far (dragcore.motion.measure): per point moved [dx, dy],
        moved_px and moved_fraction of the requested way, read at the start handles. Cached per step."""
        if image is None and self._motion[0] == self.steps:
            return self._motion[1]
        measured = motionmod.measure(self.start_image(), self.preview() if image is None else image,
                                     to_list(self.handles0), to_list(self.targets))
        if image is None:
            self._motion = (self.steps, measured)
        return measured

    def result(self):
        s = self.status(self.last_loss)
        moved = self.motion()
        content = [m["moved_fraction"] is None or m["moved_fraction"] >= MOVED_ENOUGH for m in moved]
        points = [bool(a and b) for a, b in zip(s.tracked_reached, content)]
        return dict(method=self.method, seed=self.seed, psi=self.psi, space=self.space, resolution=self.res,
                    shape=list(self.shape),
                    start_handles=to_list(self.handles0), handles=s.handles, targets=s.targets,
                    distances=s.distances, reached_points=points, reached=all(points),
                    tracked_reached_points=s.tracked_reached, tracked_reached=all(s.tracked_reached),
                    moved=[m["moved"] for m in moved], moved_px=[m["moved_px"] for m in moved],
                    moved_fraction=[m["moved_fraction"] for m in moved],
                    **fidelity.measure(self.start_image(), self.preview(), to_list(self.handles0) + s.targets),
                    tracker_fallbacks=self.tracker_fallbacks, tracker_note=self.tracker_note,
                    steps=self.steps, stop_reason=self.stop_reason, seconds=round(self.seconds, 3),
                    device=str(self.device), params=self.params())

    # --- shared loss pieces ----------------------------------------------------------------------
    def _features(self, latent):
        """F for `latent`. 'fast': synthesis stopped after the feature block, F at feature resolution.
        'reference': the whole generator runs and F is resized to the image size, as the official
        implementations do (for comparison and the benchmarks). Points are read the same way from both."""
        if self.mode == "fast":
            return self._in_precision(self.gen.features, latent)
        _, feat = self._in_precision(self.gen.image_and_features, latent)
        return resize_to_image(feat, self.shape)

    def _at_mode_res(self, feat):
        """A feature-resolution map (F0) at the resolution `_features` works at."""
        return resize_to_image(feat, self.shape) if self.mode == "reference" else feat

    def _mask_weight_map(self, size):
        if self.mask is None or self.mask_weight == 0:
            return None
        return maskmod.fixed_weight(self.mask, size)

    def _mask_term(self, feat, feat0, weight_map):
        if weight_map is None:
            return feat.new_zeros(())
        return self.mask_weight * maskmod.mask_loss(feat, feat0, weight_map)
