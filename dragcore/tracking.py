"""Trackers: where the grabbed content is now, and how sure that is. Any engine takes any tracker.

A `Tracker` (made by `make(name, session)`) has one job: `locate(feat, around)` returns, for each
handle, where the content under its start point is in the current features `feat` (searching
near `around`, the last known points), or None when it has no answer this step (the engine then
uses its official rule); `confidence` holds how sure the last answer was ([N] in [0, 1], 1 where
the tracker does not measure it).

    features        the official rule: the nearest neighbour (L2 over channels) of the handle's
                    start feature in the square of radius r2 around the last point (DragGAN;
                    FreeDrag's official rule tracks nothing). It can run ahead of the content: a
                    patch that *looks* like the handle is taken for it (the poster's "miss tracking").
    flow            content-true: the optical flow of the current image from the start image, read
                    at each start handle (dragcore.motion): where the pixels under the handle went.
                    `coarse`: DragGAN refines that point by its feature match within REFINE_PX.
                    Every `flow_every(res)` steps (a render and a flow cost more than a step), and
                    whenever the refined point alone would end the drag (the flow confirms it);
                    in between it answers the last point, which the engine refines (never the r2
                    search: that runs ahead of the content). The start image is rendered once,
                    when the tracker is made (the report reuses it). From FLOW_WINDOW_FROM px only the
                    region around the points is rendered and compared, and DragGAN asks before its pass,
                    so its steps stay on windows (FlowTracker). A flow that cannot be computed never ends a drag: that step has
                    no answer (the engine's rule runs) and the report says how often.
    discriminative  StableDrag's (Cui et al. 2024): per handle a 1 x C filter z, learned on the
                    first step's features to answer 1 at the handle and a Gaussian fall-off around
                    it over the r2 square (so a look-alike nearby is pushed towards 0), combined
                    with the feature-difference match, both read in context (over a small Gaussian
                    patch around each point; the match compares it with the same patch around the
                    start handle, so a look-alike that matches at one point but not around it loses);
                    the filter's response at the chosen point is the confidence.

Stall. A content-true tracker (`stalls`: flow) also sees when the content stops coming: a move the
model cannot show would keep the engine pushing until max_steps while the W+ rows repaint the
picture. `Progress` ends such a drag: when the content has not come `STALL_PX` closer to its targets
(summed over the points) for `STALL_STEPS` steps, the session stops with stop_reason 'stalled'.

Fallback. A model's presets are calibrated with one tracker; `covered(tracker, preset)` keeps a
tracker the presets cover (the official `features`, or the one they were calibrated with) and
otherwise runs `features`, with a note the drag's report carries (dragcore.config.with_presets).
"""
import math

import torch

from . import motion
from stylegan.imageops import to_uint8
from stylegan.windows import Box

from .errors import DragInputError, MotionError
from .features import clamp_to_image, sample_resized, scaled_radius, square_offsets
from .points import distances

TRACKERS = ("features", "flow", "discriminative")
R2_AT_512 = 12.0   # the search square of a tracker in an engine without its own r2 (DragGAN's default, px at 512)
REFINE_PX = 1.0    # tracker 'flow': DragGAN refines the flow's point by the feature match within this many image px
LABEL_SIGMA_FPX = 0.5   # tracker 'discriminative': the learned response's fall-off, in feature px
RIDGE = 1.0        # ... its filter's pull towards the start feature (relative to the window's mean energy)
MATCH_WEIGHT = 4.0
CONTEXT_FPX = 0.5  # ... scores read in context: over a Gaussian patch of this many feature px around each point
REFINE_CONTEXT = 1.0   # ... then the best point itself within this many context widths of the best in context  # ... weight of the feature-difference match (normalised by |f_i|^2) beside the response
STALL_STEPS = 40   # tracker 'flow': steps without progress before a drag stops as 'stalled'
STALL_PX = 0.25    # ... progress: the content this much closer to its targets (sum over the points, image px)
FLOW_MIN_SIZE = 256   # tracking upscales small images to this size for the flow (the report's measure: 512)
FLOW_EVERY_MIN = 6    # tracker 'flow': at least this many steps between two scheduled flows (flow_every)
FLOW_WINDOW_FROM = 256   # tracker 'flow' renders only the region around its points from this image height up
FLOW_MARGIN = 1 / 16     # ... that region: the start handles and the last points, grown by this share of the
FLOW_MARGIN_MIN = 24     # ... image's height (twice the flow's read radius), at least this many px


def covered(tracker, preset_tracker=None, official="features"):
    """(the tracker to run, a note or None): `tracker` when the presets cover it (`features`, the
    official rule, the engine's own `official` one, or `preset_tracker`, the one they were calibrated
    with), else `features`."""
    if tracker not in TRACKERS or tracker in ("features", official, preset_tracker):
        return tracker, None
    cover = sorted({c for c in ("features", official, preset_tracker) if c})
    return "features", (f"tracker {tracker!r} is not calibrated for this model (its presets cover "
                        f"{', '.join(cover)}); the features tracker was used")


def flow_every(res):
    """Tracker 'flow' runs its flow every k steps (between them: the last content point, refined by the
    engine; an arrival is always confirmed by a flow): one flow renders the whole image and compares it
    with the start, which costs more than a step that stops at the feature block, and the more so the
    larger the image, so k = max(FLOW_EVERY_MIN, res / 64) keeps it a small share of a step
    (benchmarks.tracking_cost; docs/benchmarks.md)."""
    return max(FLOW_EVERY_MIN, res // 64)


def track_points(feat, handles, refs, offsets, shape):
    """Nearest-neighbour tracking: for each handle, the candidate handle + offset (clamped to the
    image of `shape` (H, W), or an int: square) whose feature is closest (L2) to its reference
    feature. feat [1, C, h, w]; handles [N, 2]; refs [N, C]; offsets [K, 2] image px. -> [N, 2]."""
    cand = clamp_to_image(handles[:, None, :] + offsets.to(handles)[None], shape)  # [N, K, 2]
    f = sample_resized(feat, cand, shape)  # [N, K, C]
    idx = (f - refs[:, None, :]).square().sum(dim=-1).argmin(dim=1)
    return cand[torch.arange(len(handles), device=cand.device), idx]


def check_tracker(tracker):
    """The tracker name, or a DragInputError naming the choices."""
    if tracker not in TRACKERS:
        raise DragInputError(f"tracker must be one of {', '.join(TRACKERS)}, got {tracker!r}")
    return tracker


def content_points(start, current, handles0, origin=(0, 0), radius=None, min_size=FLOW_MIN_SIZE):
    """[N, 2] tensor: where the content under each start handle is in `current` (HxWx3 uint8 images),
    by optical flow; raises MotionError if the flow cannot be computed or is not finite. origin: the
    images are the region of the whole image from (x, y) = origin (flow_region); radius: the flow's read
    disc (motion.read_flow; default: that of the images' size, so give the whole image's with a region);
    min_size: small images are upscaled to this size for the flow (motion.dense_flow)."""
    flow = motion.dense_flow(start, current, min_size=min_size)
    pts = []
    for h in handles0.tolist():
        dx, dy = motion.read_flow(flow, (h[0] - origin[0], h[1] - origin[1]), radius)
        if not (math.isfinite(dx) and math.isfinite(dy)):
            raise MotionError("optical flow is not finite")
        pts.append([h[0] + dx, h[1] + dy])
    return torch.tensor(pts, dtype=handles0.dtype, device=handles0.device)


def flow_region(shape, *points):
    """The Box (stylegan.windows, image px) holding every point of `points` ([N, 2] tensors), grown by
    FLOW_MARGIN of the image's height (at least FLOW_MARGIN_MIN px) and clipped to the image of `shape`."""
    p = torch.cat([q.detach().float().reshape(-1, 2).cpu() for q in points])
    lo, hi = p.min(0).values.floor(), p.max(0).values.floor() + 1
    box = Box(int(lo[1]), int(lo[0]), int(hi[1]), int(hi[0]))
    return box.grow(max(FLOW_MARGIN_MIN, math.ceil(FLOW_MARGIN * shape[0]))).clip(shape)


def cap_ahead(points, starts, targets, content, ahead):
    """Points on their lines start -> target, pulled back so that none is more than `ahead` px
    further along its line than the content is (all [N, 2]; projections onto each line)."""
    line = targets - starts
    length = line.norm(dim=1, keepdim=True).clamp_min(1e-8)
    u = line / length
    along = ((points - starts) * u).sum(1, keepdim=True)
    limit = ((content - starts) * u).sum(1, keepdim=True) + ahead
    over = along > limit
    capped = starts + u * limit.clamp(min=0).minimum(length)
    return torch.where(over, capped, points)


class Progress:
    """Whether the content still comes closer to its targets (see 'Stall' above)."""

    def __init__(self, steps=STALL_STEPS, px=STALL_PX):
        self.steps, self.px = steps, px
        self.best, self.best_at = math.inf, 0

    def stalled(self, step, remaining):
        """Record the content's remaining distance (image px, summed over the points) at `step`; True
        once it has not improved by `px` for `steps` steps."""
        if remaining < self.best - self.px:
            self.best, self.best_at = remaining, step
        return step - self.best_at >= self.steps


# --- the trackers ------------------------------------------------------------------------------------------
class Tracker:
    """Base: no answer (the engine's own rule), full confidence, no stall rule."""
    name = "base"
    coarse = False    # its points are refined by the engine's feature match (flow)
    stalls = False    # it ends a drag whose content stops coming (Progress)

    def __init__(self, session, radius_px=None, step_px=1.0):
        s = self.session = session
        self.radius_px = radius_px if radius_px is not None else scaled_radius(R2_AT_512, s.res, s.feature_res)
        self.window = square_offsets(self.radius_px, step_px).to(s.device)
        self.refs = sample_resized(s.F0, s.handles0, s.shape)   # f_i: the start features at the handles
        self.confidence = torch.ones(len(s.handles0), device=s.device)
        self.fallbacks, self.note, self.stalled = 0, None, False
        self._progress = Progress()

    def locate(self, feat, around, force=False):
        """[N, 2] points (or None: no answer this step); `force`: answer now even if the tracker
        answers only every few steps (FreeDrag asks at the end of a sub-motion)."""
        return None

    def prepare(self, around):
        """Called by an engine before its step's pass, with the last points: a tracker may answer then."""

    def centres(self, around):
        """Where the coming step's `locate` reads (around which `reach_px` holds): `around` itself."""
        return around

    def reach_px(self, force=False):
        """How far from `around` (image px per axis) `locate` reads the features, and the point it answers
        lies: the engine then reads no farther than this plus its own reach (DragSession.feature_reach).
        None: anywhere. The base has no answer, so the engine's rule (its square) runs."""
        return self.radius_px


class FeatureTracker(Tracker):
    name = "features"

    def locate(self, feat, around, force=False):
        s = self.session
        return track_points(feat, around, self.refs, self.window, s.shape)


class FlowTracker(Tracker):
    """Flow every `every` steps, and to confirm an arrival (see the module doc). From FLOW_WINDOW_FROM px
    (`windowed`) the flow compares only the region around the points (flow_region) of the current image,
    rendered there alone (`image_near`), with the same region of the start image; and an engine that asks
    before its pass (`prepare`: DragGAN) gets the flow's answer then, so that its pass needs the features
    only around that answer (`centres`, `reach_px`): the step stays on windows (DragSession.feature_windows).
    Its arrival check is then made before the pass, from the last point: a flow whenever that point is within
    the stop distance plus the refinement's reach of its target (every case where the refined point could
    end the drag)."""
    name, coarse, stalls = "flow", True, True

    def __init__(self, session, radius_px=None, step_px=1.0):
        super().__init__(session, radius_px, step_px)
        self.every = flow_every(session.res)
        self.flows = 0          # flows computed (benchmarks.tracking_cost counts them)
        self.refine = square_offsets(REFINE_PX, step_px).to(session.device)
        self.windowed = session.res >= FLOW_WINDOW_FROM and hasattr(session.gen, "image_near")
        self._early = None      # (steps, the answer for that step's latent) from `prepare`
        session.report.start_image()   # rendered now, while the current image is the start: no second render

    def reach_px(self, force=False):
        """Forced (FreeDrag): the flow reads no features. After `prepare` (and before the first step, which
        tracks nothing): its square around `centres` (the flow's point, refined by the engine, or the last
        point). Otherwise its point can be anywhere."""
        if force:
            return 0.0
        first = self.windowed and self.session.steps == 0   # the first step tracks nothing (F == F0)
        return self.radius_px if first or self._prepared() else None

    def centres(self, around):
        """Where the coming step's tracking reads: the flow's answer when `prepare` found one, else `around`."""
        answer = self._early[1] if self._prepared() else None
        return around if answer is None else answer

    def _prepared(self):
        return self._early is not None and self._early[0] == self.session.steps

    def prepare(self, around):
        """Before the step's pass (windowed only): this step's answer, with the flow when one is due (a
        scheduled flow, or the last points `around` near enough to their targets for an arrival)."""
        s = self.session
        if not self.windowed:
            return
        reach = getattr(s, "stop_distance", None)
        near = reach is not None and bool((distances(around, s.targets) <= reach + REFINE_PX * math.sqrt(2)).all())
        self._early = (s.steps, self._flow(around) if s.steps % self.every == 0 or near else around)

    def arrival_check(self, feat, around):
        """An off-step whose refined point puts every point within the engine's stop distance: the flow
        decides, so no drag ends on a look-alike."""
        s = self.session
        reach = getattr(s, "stop_distance", None)
        if reach is None:
            return False
        found = track_points(feat, around, self.refs, self.refine, s.shape)
        return bool((distances(found, s.targets) <= reach).all())

    def locate(self, feat, around, force=False):
        s = self.session
        if not force and self._prepared():
            return self._early[1]
        if s.steps % self.every and not force and not self.arrival_check(feat, around):
            return around   # between flows: the last point (the engine refines it within REFINE_PX)
        return self._flow(around)

    def _flow(self, around):
        """The content points by optical flow from the start image (None, counted, when it fails)."""
        s = self.session
        try:
            content = self._region_flow(around) if self.windowed else \
                content_points(s.report.start_image(), s.report.preview(), s.handles0)
        except MotionError as e:
            self.fallbacks += 1
            self.note = f"optical flow failed ({e}); the feature tracker was used for those steps"
            return None
        self.flows += 1
        self.stalled = self._progress.stalled(s.steps, float(distances(content, s.targets).sum()))
        return content

    def _region_flow(self, around):
        """content_points on the region around the points (flow_region) of the current image, drawn there
        alone, against the same region of the start image, at the whole image's scale and read radius."""
        s = self.session
        box = flow_region(s.shape, s.handles0, around, s.handles)   # the content is near the last points
        radius = max(motion.FLOW["min_radius"], motion.FLOW["radius_frac"] * min(s.shape))
        scale = max(1, math.ceil(FLOW_MIN_SIZE / min(s.shape)))   # the whole image's upscale, not the region's
        rows, cols = box.slices()
        return content_points(s.report.start_image()[rows, cols], self._current(box), s.handles0,
                              (box.left, box.top), radius, scale * min(box.bottom - box.top, box.right - box.left))

    def _current(self, box):
        """The current image inside `box` (HxWx3 uint8): from the preview when it is already rendered, else
        drawn there alone (the whole image when windows would not pay)."""
        s = self.session
        steps, latent = s.snapshot()
        latest = s.report.latest()
        if latest is None or latest[0] != steps:
            with torch.no_grad():
                near = s._in_precision(lambda lat: s.gen.image_near(lat, [box]), latent)
            if near is not None:
                return to_uint8(near[(..., *box.slices())])[0]
        return s.report.preview()[box.slices()]


class DiscriminativeTracker(Tracker):
    """StableDrag's tracker. The filter z_i of each handle is learned once, on the start features
    (the first step's, F == F0), by least squares with a pull towards its start: minimise
    ||X z - y||^2 + rho ||z - z0||^2 over the window X (the features of the r2 square around the
    handle), y a Gaussian of LABEL_SIGMA_FPX feature px peaking at 1 on the handle, z0 = f / |f|^2 (so
    z0 . f = 1), rho = RIDGE times the window's mean energy per channel (closed form: a C x C solve;
    the paper learns the same objective by gradient steps). Locating scores every point q of the
    square around the last point by z . F(q) - MATCH_WEIGHT |F(q) - f|^2 / |f|^2, read in context: both
    terms averaged over a Gaussian of CONTEXT_FPX feature px around q (a 5 x 5 grid of offsets e), the
    match as |F(q + e) - F0(h + e)|^2 (the patch around the start handle h, not f alone: the paper's
    match is pointwise; a look-alike that matches at one point but not around it loses). The best point
    in context is then refined to the best point itself within REFINE_CONTEXT context widths (the
    context blurs the peak). The confidence is the response in context there, clamped to [0, 1]."""
    name = "discriminative"

    def __init__(self, session, radius_px=None, step_px=1.0):
        super().__init__(session, radius_px, step_px)
        s = self.session
        sigma = LABEL_SIGMA_FPX * s.res / s.feature_res
        y = torch.exp(-self.window.square().sum(1) / (2 * sigma * sigma))   # [K]
        X = sample_resized(s.F0, clamp_to_image(s.handles0[:, None, :] + self.window[None], s.shape), s.shape)  # [N, K, C]
        self.filters = torch.stack([learn_filter(X[i], y, self.refs[i]) for i in range(len(X))])   # [N, C]
        self.ref_energy = self.refs.square().sum(1).clamp_min(1e-12)   # [N]
        c = self.context_px = CONTEXT_FPX * s.res / s.feature_res
        self.context = square_offsets(2 * c, c).to(s.device) if c > 0 else torch.zeros(1, 2, device=s.device)   # [D, 2]
        g = torch.exp(-self.context.square().sum(1) / (2 * c * c)) if c > 0 else torch.ones(1, device=s.device)
        self.context_w = g / g.sum()
        # the start features around each handle, at the same offsets: the match compares patches
        self.ref_patch = sample_resized(s.F0, clamp_to_image(s.handles0[:, None, :] + self.context[None], s.shape), s.shape)

    def scores(self, feat, around):
        """(candidates [N, K, 2], response [N, K], combined score [N, K])."""
        s = self.session
        cand = clamp_to_image(around[:, None, :] + self.window[None], s.shape)
        N, K, D = cand.shape[0], cand.shape[1], len(self.context)
        pts = clamp_to_image(cand[:, :, None, :] + self.context[None, None], s.shape).reshape(N, K * D, 2)
        f = sample_resized(feat, pts, s.shape)   # [N, K D, C]
        resp = (f * self.filters[:, None, :]).sum(-1).view(N, K, D)
        match = (f.view(N, K, D, -1) - self.ref_patch[:, None]).square().sum(-1) / self.ref_energy[:, None, None]
        w, mid = self.context_w, D // 2   # the context's middle offset is (0, 0): the point itself
        self.point_score = resp[..., mid] - MATCH_WEIGHT * match[..., mid]
        response, match = (resp * w).sum(-1), (match * w).sum(-1)
        return cand, response, response - MATCH_WEIGHT * match

    def reach_px(self, force=False):
        return self.radius_px + 2 * self.context_px   # the square, each point read in context

    def locate(self, feat, around, force=False):
        cand, response, score = self.scores(feat, around)
        rows = torch.arange(len(cand), device=cand.device)
        coarse = cand[rows, score.argmax(dim=1)]
        near = (cand - coarse[:, None, :]).norm(dim=-1) <= REFINE_CONTEXT * self.context_px + 1e-6
        idx = self.point_score.masked_fill(~near, -math.inf).argmax(dim=1)
        self.confidence = response[rows, idx].clamp(0, 1)
        return cand[rows, idx]


def learn_filter(X, y, f):
    """argmin_z ||X z - y||^2 + rho ||z - z0||^2, z0 = f / |f|^2, rho = RIDGE mean_k |X_k|^2 / C.
    X [K, C] (float64 for the solve), y [K], f [C] -> z [C]."""
    Xd, yd, fd = X.double(), y.double().to(X.device), f.double()
    z0 = fd / fd.square().sum().clamp_min(1e-12)
    rho = RIDGE * float(Xd.square().sum(1).mean()) / X.shape[1] + 1e-12
    A = Xd.T @ Xd + rho * torch.eye(X.shape[1], dtype=torch.float64, device=X.device)
    z = z0 + torch.linalg.solve(A, Xd.T @ (yd - Xd @ z0))
    return z.to(X.dtype)


KINDS = {"features": FeatureTracker, "flow": FlowTracker, "discriminative": DiscriminativeTracker}


def make(name, session, radius_px=None, step_px=1.0):
    """The tracker `name` for a session (its F0, handles, shape, device, report), searching a square of
    `radius_px` image px (default: DragGAN's r2 at this resolution) on a grid of `step_px`."""
    return KINDS[check_tracker(name)](session, radius_px, step_px)
