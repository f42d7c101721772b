"""The drag session: the optimisation one drag owns, in the spirit of a diffusers scheduler.

`DragSession(G, handles, targets, config, latent=..., mask=..., device=...)` takes the drag's
settings as one `dragcore.config` object (the engine's own class: `DragGANConfig`,
`FreeDragConfig`; None: its defaults) and owns the generator adapter, the latent (trainable part
as one leaf tensor + frozen part), one Adam optimiser for the whole drag (its moments carry
across steps), the reference features F0, the points, the optional mask, a step counter and a
thread-safe stop flag. An engine (DragGAN, FreeDrag) implements `_step()` (exactly one forward
with gradients and at most one Adam step) and the base turns it into `step() -> StepResult`.

What the user sees is the reporter's (`session.report`, dragcore.report): previews, the start
image, the optical-flow measure and the typed `DragResult` of `run()` / `report.result()`.

Threads: call `step()`/`run()` from one thread; `stop()`, `report.preview()`, `report.result()`
and `done` may be called from any other (the optimiser's in-place update and a render's read of
the latent share a lock).

Precision. `precision` (fp32 | bf16 | fp16 | auto, stylegan.precision) runs every generator
pass of the session (F0, the step's features, previews) under autocast; the features and images
come back as float32, so losses, tracking and Adam are the same code in every precision.

F0 (and the partial image live previews are matched to) is read from the render that drew the start image,
when the latent, noise and weights match it exactly (dragcore.startpass): the image on screen was rendered
from the same latent (the app's New image, the previous drag's final render), so the drag makes no start pass.

The final image on arrival: an engine that arrives ends on a pass at the final latent and takes no update after it
(DragGAN, FreeDrag); when that pass was a whole one to the feature block (`features_and_preview`: a mask term, or
windows off), the final render runs only the stages above the block from its F and partial image
(`render_and_features`, the adapter's `image_above`). A step that updates keeps nothing of its pass.

Windows (stylegan.windows). In fast mode the step's pass computes the feature block only near the points
the step reads (`feature_windows`: the engine's `feature_reach`, its tracker's square, the disc), when it
knows them all before the pass and no mask term reads the whole map; the values there are the whole map's.

Tracker (dragcore.tracking): the engine makes it (`self.make_tracker(radius_px, step_px)`, its
search square) and asks it where the content is (`self.tracking.locate(feat, around)`); the
session reports its failures and notes and ends a drag it finds stalled.
"""
import math
import threading
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from . import mask as maskmod
from . import tracking
from .config import MODES, WARP_WEIGHTS, DragConfig
from .errors import DragInputError
from .features import feature_boxes, resize_to_image
from .points import distances, to_list, validate_points
from .protocol import adapt, warp_of
from .report import STEP_PREVIEW_RATIO, Reporter
from .warpguard import WarpGuard
from adam import Adam
from stylegan.device import pick_device
from stylegan.precision import PrecisionError, choose as choose_precision, to_float32


@dataclass
class StepResult:
    """What one step reports (no image: render with `session.report.preview()`)."""
    step: int                 # Adam steps taken so far
    handles: list             # current handle positions [[x, y], ...], image px
    targets: list
    distances: list           # per point, image px (engine's handle to target)
    tracked_reached: list     # per point: the engine's own arrival (not a measure of the image)
    done: bool
    loss: float | None        # the loss of this step's Adam step (None if no step was taken)

    def to_dict(self):
        return asdict(self)


def positive(name, v, allow_zero=False):
    """`v` as a float, or a DragInputError if it is not a finite positive (or non-negative) number."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise DragInputError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number, got {v!r}")
    return float(v)


def in_range(v, lo, hi, message, lo_open=False):
    """`v` as a float, or DragInputError(message) if it is not a finite number in [lo, hi] ((lo, hi] with lo_open):
    an engine's bounded setting, checked before the session is built."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or not (lo < v if lo_open else lo <= v) or v > hi:
        raise DragInputError(message)
    return float(v)


class DragSession:
    method = "base"
    Config = DragConfig   # each engine's own dragcore.config class
    windows = True   # the step's pass computes the feature block only near what it reads (`feature_windows`)
    render_on_arrival = True   # a drag that ends on a pass at its final latent renders only above it (`render_and_features`)

    def __init__(self, generator, handles, targets, config=None, *, latent=None, mask=None, device=None,
                 start_image=None):
        self.config = cfg = self.checked_config(config)
        if cfg.mode not in MODES:
            raise DragInputError(f"mode must be one of {MODES}, got {cfg.mode!r}")
        self.mode = cfg.mode
        self.tracker = tracking.check_tracker(cfg.tracker)   # its name; the Tracker: `self.tracking`
        self.tracking = None
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        self.gen = adapt(generator, self.device, cfg.feature_res, cfg.rows)
        self.res, self.feature_res = self.gen.resolution, self.gen.feature_res   # res: the height (radii scale by it)
        self.shape = tuple(getattr(self.gen, "shape", (self.res, self.res)))   # (H, W) of the image
        try:
            self.precision = choose_precision(cfg.precision, self.device, self.res)
        except PrecisionError as e:
            raise DragInputError(str(e)) from None
        self.handles0, self.targets = validate_points(handles, targets, self.shape, self.device)
        self.handles = self.handles0.clone()
        steps = cfg.max_steps
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise DragInputError(f"max_steps must be a non-negative integer, got {steps!r}")
        self.max_steps = int(steps)
        self.lr = positive("lr", self.gen.default_lr if cfg.lr is None else cfg.lr)
        self.mask_weight = positive("mask weight", cfg.mask_weight, allow_zero=True)
        self.mask = None if mask is None else maskmod.validate_mask(mask, self.shape, self.device)
        self.seed, self.psi = cfg.seed, cfg.psi
        latent = self.gen.latent_init(cfg.seed, cfg.psi, cfg.space) if latent is None else self.gen.check_latent(latent)
        self.space = self.gen.space_of(latent)
        self.latent0 = latent.detach().clone()
        trainable, frozen = self.gen.split(self.latent0)
        self._trainable = trainable.clone().requires_grad_(True)
        self._frozen = frozen.clone()
        self.optimizer = Adam([self._trainable], lr=self.lr)
        floor = positive("warp floor", cfg.warp_floor)
        if floor >= 1:
            raise DragInputError(f"warp floor must be below 1 (the guard's band is [floor, 1 / floor]), got {floor!r}")
        given = [f"{name.replace('_', ' ')} {getattr(cfg, name):g}" for name in WARP_WEIGHTS if getattr(cfg, name)]
        if given and warp_of(self.gen) is None:   # set by hand (no model's presets give them without a pathway)
            raise DragInputError(f"{', '.join(given)}: this model has no warp pathway (stylegan.warp), so there is no "
                                 f"field for the warp guard to hold; leave them at 0")
        # a photo drag's twist: its weight a setting (drags.in_photo.SETTINGS), its angle set by in_photo.prepare
        self.guard = WarpGuard(self.gen, positive("warp guard", cfg.warp_guard, allow_zero=True), floor).keep_heading(
            positive("warp heading", cfg.warp_heading, allow_zero=True), self.handles0, self.targets, self.shape
        ).limit_twist(positive("warp twist", cfg.warp_twist, allow_zero=True)).keep_reach(
            positive("warp reach", cfg.warp_reach, allow_zero=True), self.handles0, self.targets, self.shape,
            start=self._trainable[:, -1] if self._trainable.ndim == 3 else None)
        # Previews from the step's own pass (dragcore.report.Reporter.live_preview): fast mode, a skip
        # synthesis, and a feature block at most 1/STEP_PREVIEW_RATIO of the image (512 px models and up)
        self.step_previews = (self.mode == "fast" and getattr(self.gen, "step_previews", False)
                              and self.gen.resolution >= STEP_PREVIEW_RATIO * self.gen.feature_res)
        with torch.no_grad():
            if self.step_previews:   # the start's partial image calibrates the live previews' colours
                self.F0, self._coarse0 = self._in_precision(self.gen.features_and_preview, self.latent0)
            else:
                self.F0, self._coarse0 = self._in_precision(self.gen.features, self.latent0), None
        self.fixed = maskmod.FixedRegion(self.mask, self.mask_weight,   # the mask term, at the resolution F is read at
                                         self.shape if self.mode == "reference" else tuple(self.F0.shape[-2:]))
        self._arrival = None   # (steps, latent version, F, partial image) of a last pass at the final latent
        self.steps = 0
        self.windowed_steps = 0   # steps whose pass ran on windows (feature_windows)
        self.last_step_windowed = False
        self.seconds = 0.0
        self.reached_all = False
        self.last_loss = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.report = Reporter(self, start_image)   # start_image: the start latent's image, if the caller has it
        if self._coarse0 is not None:
            self.report.keep_step_image(0, self._coarse0)

    @classmethod
    def checked_config(cls, config):
        """`config`, or the engine's defaults for None; another engine's config is a DragInputError."""
        cfg = cls.Config() if config is None else config
        if not isinstance(cfg, cls.Config):
            raise DragInputError(f"{cls.method} takes a {cls.Config.__name__}, got {type(config).__name__}")
        return cfg

    # --- state -----------------------------------------------------------------------------
    @property
    def latent(self):
        """The current latent: a fresh detached tensor (never a view of the parameter Adam updates in place)."""
        return self.gen.join(self._trainable.detach().clone(), self._frozen)

    def snapshot(self):
        """(steps, latent) read together (safe from any thread)."""
        with self._lock:
            return self.steps, self.latent

    def _latent_for_grad(self):
        return self.gen.join(self._trainable, self._frozen)

    def stop(self):
        """Ask the session to stop; honoured before the next step (safe from any thread)."""
        self._stop.set()

    @property
    def stop_reason(self):
        if self.reached_all:
            return "arrived"  # the engine's points are at their targets (the report measures the image)
        if self._stop.is_set():
            return "stopped"
        if self.stalled:
            return "stalled"   # the content stopped coming closer (tracker 'flow')
        if self.steps >= self.max_steps:
            return "max_steps"
        return None

    @property
    def done(self):
        return self.stop_reason is not None

    def point_reached(self):
        """Per-point arrival flags (bool tensor [N]); engines define what arrival means."""
        raise NotImplementedError

    def make_tracker(self, radius_px=None, step_px=1.0):
        """The session's Tracker (dragcore.tracking), searching `radius_px` image px around the last point."""
        self.tracking = tracking.make(self.tracker, self, radius_px, step_px)
        return self.tracking

    @property
    def stalled(self):
        """The tracker saw the content stop coming closer (dragcore.tracking: 'Stall')."""
        return self.tracking is not None and self.tracking.stalled

    @property
    def tracker_fallbacks(self):
        """Steps where the tracker had no answer because it failed (the engine's rule ran)."""
        return 0 if self.tracking is None else self.tracking.fallbacks

    @property
    def tracker_note(self):
        """Why the tracker differs from what was asked: it failed, or the presets did not cover it."""
        return (self.tracking.note if self.tracking is not None else None) or self.config.fallback

    def settings(self):
        """The drag's settings in dragcore.config units (replayable), with what the model decided
        (lr, rows, feature block) and the precision that ran filled in. Engines extend."""
        return dict(self.config.engine_settings(), lr=self.lr, rows=getattr(self.gen, "rows", None),
                    feature_res=self.feature_res, precision=self.precision.name)

    def derived(self):
        """Values the session derived from its settings, named with their unit. Engines extend."""
        return dict(masked=self.mask is not None,
                    deformation_code=bool(getattr(self.gen, "code_rows", 0)) and self.space == "w+")

    # --- stepping ----------------------------------------------------------------------------
    def _step(self):
        """One forward with gradients and at most one Adam step; returns the loss or None."""
        raise NotImplementedError

    def _adam_step(self, loss):
        guard = self.guard(self._trainable)   # dragcore.warpguard: the code kept from folding, swirling, and across
        if guard is not None:                 # the request (its heading term)
            loss = loss + guard
        self.optimizer.zero_grad(set_to_none=True)
        scale = self.precision.loss_scale  # fp16: keep tiny per-element gradients in range
        (loss * scale if scale != 1 else loss).backward()
        if scale != 1:
            self._trainable.grad.div_(scale)
        with self._lock:
            if scale == 1 or bool(torch.isfinite(self._trainable.grad).all()):   # an overflowed step is skipped
                self.optimizer.step()
            self.steps += 1
        return float(loss.detach())

    def step(self):
        loss = None
        if not self.done:
            t0 = time.perf_counter()
            loss = self._step()
            if not self.done or self._arrival is None or self._arrival[:2] != (self.steps, self._trainable._version):
                self._arrival = None   # held only by a last pass at the final latent (`render_and_features`)
            if getattr(self.gen, "follower", None) is not None:   # the noise maps follow the handles' motion
                self._arrival = None
                self.gen.follower.update(self.handles0, self.handles, self.targets, latent=self.latent)
            self.seconds += time.perf_counter() - t0
            self.last_loss = loss
        return self.status(loss)

    def status(self, loss=None):
        return StepResult(step=self.steps, handles=to_list(self.handles), targets=to_list(self.targets),
                          distances=[round(float(d), 3) for d in distances(self.handles, self.targets)],
                          tracked_reached=[bool(r) for r in self.point_reached()], done=self.done, loss=loss)

    def follow_noise(self, sigma=None, min_res=None, mode="nearest", start=None, resample="nearest"):
        """Let the generator's constant noise maps follow the drag (dragcore.noise_follow): for an inverted
        photo, whose tuned maps hold detail at fixed pixels. sigma: image px (default res / 8, the ideal
        local move's). `start`: every map as an earlier drag left them (NoiseFollower.maps; default the generator's).
        `resample`: how mode 'field' reads the maps along its field (NoiseFollower).
        Only a StyleGAN has such maps; elsewhere a DragInputError."""
        if getattr(self.gen, "kind", None) != "stylegan":
            raise DragInputError("only a StyleGAN's noise maps can follow a drag")
        from .noise_follow import NoiseFollower
        self.gen.follower = NoiseFollower(self.gen.G.synthesis, self.shape, self.res / 8 if sigma is None else sigma,
                                          self.feature_res * 2 if min_res is None else min_res, mode, start,
                                          resample)
        if mode == "field":   # the maps as the start latent's deformation code has them (a continued drag)
            self.gen.follower.update(self.handles0, self.handles, self.targets, latent=self.latent)
            self._start_image_again()   # with these maps
        return self

    def field_picture(self, mode="bilinear"):
        """Show every picture of this drag as the start latent's picture, its deformation code set to zero (an
        inverted photo's reconstruction), moved by the warp pathway's field for each latent's code
        (dragcore.field_picture): what the code means, without the tuned stages after the pathway drawing the
        detail again; `mode`: how it is read along the field (dragcore.field_picture.MODES). Only a generator with a
        warp pathway has that field; elsewhere a DragInputError."""
        warp = warp_of(self.gen)
        if warp is None or getattr(self.gen, "kind", None) != "stylegan":
            raise DragInputError("only a StyleGAN with a warp pathway can show its drag as the field's move")
        from .field_picture import FieldPicture
        n = self.gen.G.num_ws
        zero = self.latent.detach().clone()
        if zero.ndim == 3 and zero.shape[1] == n + 1:
            zero[:, -1] = 0
        start = self.render(zero)
        self.gen.picture = FieldPicture(warp, start, n, mode)
        self._start_image_again()   # as this picture
        return self

    def _start_image_again(self):
        """The start image the report (and a tracker's start) rendered before a change to how pictures are made
        (`follow_noise`, `field_picture`), rendered again; one the caller gave is kept."""
        rep = self.report
        if rep._preview[0] == 0 and rep._start_image is rep._preview[1]:
            rep._preview, rep._start_image = (None, None, None), None
            rep.start_image()

    def sync(self):
        """Bring the handles up to date with the current latent (after the last Adam step)."""

    def run(self, callback=None, every=1):
        """Step until done; callback(session, StepResult) every `every` steps and at the end.
        Returns the DragResult (dragcore.report)."""
        every = max(1, int(every))
        while not self.done:
            r = self.step()
            if callback is not None and not r.done and r.step % every == 0:
                callback(self, r)
        self.sync()
        r = self.status(self.last_loss)
        if callback is not None:
            callback(self, r)
        return self.report.result()

    # --- rendering -----------------------------------------------------------------------------
    def _in_precision(self, fn, latent):
        """fn(latent) under the session's autocast, returned in float32."""
        with self.precision.autocast():
            return to_float32(fn(latent))

    def render(self, latent=None):
        """Image tensor [1, 3, H, W] for `latent` (default: the current one), no gradients."""
        if latent is None:
            latent = self.snapshot()[1]
        with torch.no_grad():
            return self._in_precision(self.gen.image, latent)

    def render_and_features(self, latent):
        """(image [1, 3, H, W], F at the feature block) of `latent` in one generator pass, no gradients. When the
        drag ended on a pass at this very latent (the latent unchanged since, and `latent` equal to it; an engine's
        arrival: its last step tracked, found the points at their targets and took no update), only the stages
        above the feature block run, from that pass's F and partial image (`image_above`)."""
        kept, self._arrival = self._arrival, None
        if kept is not None and kept[:2] == (self.steps, self._trainable._version) and self.render_on_arrival \
                and hasattr(self.gen, "image_above") and torch.equal(latent, self._latent_for_grad().detach()):
            with torch.no_grad():
                img = self._in_precision(lambda lat: self.gen.image_above(lat, kept[2], kept[3]), latent)
            if img is not None:
                return img, to_float32(kept[2])
        with torch.no_grad():
            return self._in_precision(self.gen.image_and_features, latent)

    def current_features(self):
        """F of the current latent as `features` returns it, from the pass that renders its preview (the
        final tracking and the final image share one generator pass)."""
        return self._at_mode_res(self.report.features())

    # --- what the engines' losses read ----------------------------------------------------------------------
    def features(self, latent):
        """F for `latent` in the session's mode and precision (with gradients if `latent` has them). 'fast': synthesis stopped after the feature block, F at feature resolution.
        'reference': the whole generator runs and F is resized to the image size, as the official
        implementations do (for comparison and the benchmarks). Points are read the same way from both."""
        if self.mode == "fast":
            step_pass = latent.requires_grad and torch.is_grad_enabled()
            near = self._windowed(latent) if step_pass else None
            if step_pass:
                self.last_step_windowed = near is not None   # its live preview: Reporter.live_preview
            if near is not None:
                return near
            if self.step_previews and step_pass:
                steps = self.steps   # the latent of this pass: after `steps` updates
                with self.precision.autocast():
                    raw = self.gen.features_and_preview(latent)
                feat, image = to_float32(raw)
                self.report.keep_step_image(steps, image)
                # `step` keeps it on arrival, in the pass's own dtypes: the stages above it then run as in a whole
                # render
                self._arrival = (steps, self._trainable._version, raw[0].detach(), raw[1])
                return feat
            return self._in_precision(self.gen.features, latent)
        _, feat = self._in_precision(self.gen.image_and_features, latent)
        return resize_to_image(feat, self.shape)

    def feature_reach(self):
        """Where the coming step reads its features: [(centres [M, 2] image px, radius image px per axis),
        ...], or None when it may read anywhere. Engines say; the base reads anywhere."""
        return None

    def feature_windows(self):
        """The coming step's reads as boxes of the feature map (stylegan.windows.Box), or None: the whole map
        runs. The rule: windows only in fast mode, without a mask term (it reads the whole map), with the
        `windows` switch on, on a generator that has them (StyleGAN), and when the engine and its tracker
        know every point they will read before the pass (`feature_reach`; the flow tracker does not: its
        answer can be anywhere). The synthesis may still run whole where windows do not pay."""
        if not self.windows or self.mode != "fast" or self.fixed.map is not None \
                or not hasattr(self.gen, "features_near"):
            return None
        reach = self.feature_reach()
        if reach is None:
            return None
        fshape = tuple(self.F0.shape[-2:])
        return [b for centres, radius in reach for b in feature_boxes(centres, radius, self.shape, fshape)]

    def _windowed(self, latent):
        """F inside the step's windows (zeros elsewhere), or None: the whole map."""
        boxes = self.feature_windows()
        if boxes is None:
            return None
        near = self._in_precision(lambda lat: self.gen.features_near(lat, boxes), latent)
        if near is not None:
            self.windowed_steps += 1
        return near

    def _at_mode_res(self, feat):
        """A feature-resolution map (F0) at the resolution `features` works at in the session's mode."""
        return resize_to_image(feat, self.shape) if self.mode == "reference" else feat
