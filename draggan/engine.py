"""The DragGAN step: point tracking (dragcore.tracking; the official nearest neighbour by default) against the initial handle features, then motion supervision.

Per step, for every handle p_i with target t_i (all coordinates in image pixels):
  1. F = features of the current latent (one forward, with gradients).
  2. Tracking (from the second step on): p_i <- argmin_q ||F(q) - f_i|| over the square of
     radius r2 around p_i, f_i = F0 at the *initial* handle (nearest neighbour, L2 over channels).
  3. If every handle is within max(2 res/512, 2) px of its target: done, no update.
  4. Motion supervision over the disc Omega(p_i, r1), for the handles not yet within that distance:
     L = sum_i mean_{q, channels} |F(q).detach() - F(q + d_i)| + lambda mean_fixed |F - F0|,
     d_i the unit vector towards t_i, F(q + d_i) bilinear. The stop-gradient on F(q) is what
     pushes the content forward instead of pulling the target back. (The mean over the disc is
     the paper's sum normalised, as the official code does, so lambda keeps its meaning.)
  5. One Adam step on the trainable latent (with `approach` > 0, a shorter one within that many px of the targets:
     `DragGANSession._approach`; off by default and in every preset).
r1 = 3 and r2 = 12 at 512 px, scaled with res/512 and never below one feature pixel.

Modes. 'fast' (default) runs the synthesis only up to the feature block and reads F at
image-pixel points with `sample_resized`, which returns exactly what a bilinear read of F
resized to the image returns (the official F(q + d) is bilinear on the resized map); 'reference'
runs the whole generator and resizes F (and F0) to the image size, computing the loss, the mask
term and tracking there, as the official implementation does. They differ only in cost and in
the resolution of the mask term (benchmarks.official_drag_parity measures both against the
official renderer).

Radii as the official renderer computes them from 256 px up (round(r res / 512): r1 2 / 3 / 6 px
at 256 / 512 / 1024), never below one feature pixel on smaller models; Omega(p, r1) holds the
pixels *less* than r1 from p. One deliberate difference: the official renderer measures that
distance on a grid `linspace(0, res, res)` (pixel i at i res / (res - 1)), so its disc sits up to
one pixel off the handle towards the origin; ours is centred on it.
"""

from dragcore.config import DragGANConfig
from dragcore.engine import declare
from dragcore.errors import DragInputError
from dragcore.features import disc_offsets, sample_resized, scaled_radius, square_offsets
from dragcore.points import distances
from dragcore.session import DragSession, in_range, positive
from dragcore.tracking import REFINE_PX, flow_every, track_points   # noqa: F401  (flow_every, track_points: this engine's API)


def motion_loss(feat, handles, targets, disc, shape, stop_distance):
    """Motion supervision: sum over the handles farther than stop_distance from their targets of
    mean |F(q).detach() - F(q + d)| over the disc q in p + disc and the channels, d the unit
    vector towards the target. feat [1, C, h, w]; handles, targets [N, 2]; disc [K, 2] image px;
    shape: the image's (H, W) (or its side)."""
    delta = targets - handles
    dist = delta.norm(dim=1, keepdim=True)
    active = dist[:, 0] > stop_distance
    if not active.any():
        return feat.new_zeros(())
    p, d = handles[active], (delta / dist.clamp_min(1e-8))[active]
    q = p[:, None, :] + disc[None]  # [N, K, 2]
    read = lambda pts: sample_resized(feat, pts, shape)
    return (read(q).detach() - read(q + d[:, None, :])).abs().mean(dim=(1, 2)).sum()


APPROACH_FLOOR = 0.25   # the shortest step `approach` takes, a fraction of lr (the pilots: docs/benchmarks.md, session 21)


def default_stop_distance(res):
    """The paper's stop criterion: within max(2 res/512, 2) image px of the target."""
    return max(2.0 * res / 512, 2.0)


class DragGANSession(DragSession):
    method = "draggan"
    Config = DragGANConfig

    def __init__(self, generator, handles, targets, config=None, **kwargs):
        cfg = self.checked_config(config)
        for name in ("r1", "r2", "track_step") + (("stop_distance",) if cfg.stop_distance is not None else ()):
            positive(name, getattr(cfg, name))
        if cfg.track_step > 1:
            raise DragInputError(f"track_step is the tracking grid in image px, at most 1, got {cfg.track_step!r}")
        super().__init__(generator, handles, targets, cfg, **kwargs)
        self.r1_px = scaled_radius(cfg.r1, self.res, self.feature_res)   # cfg.r1 / r2 are px at 512
        self.r2_px = scaled_radius(cfg.r2, self.res, self.feature_res)
        self.stop_distance = default_stop_distance(self.res) if cfg.stop_distance is None else float(cfg.stop_distance)
        self.track_step = float(cfg.track_step)
        self.approach = in_range(cfg.approach, 0, float("inf"), f"approach must be a number >= 0 (image px; 0: off), "
                                 f"got {cfg.approach!r}")
        self._disc = disc_offsets(self.r1_px).to(self.device)
        self._refine = square_offsets(REFINE_PX, self.track_step).to(self.device)
        self.flow_every = flow_every(self.res)
        self.ref_F0 = self._at_mode_res(self.F0)
        self.make_tracker(self.r2_px, self.track_step)   # dragcore.tracking: its search square is r2
        self.refs = self.tracking.refs  # f_i, read once at the initial handles
        self._tracked_at = 0  # the step whose latent the handles correspond to

    def point_reached(self):
        return distances(self.handles, self.targets) <= self.stop_distance

    def _track(self, feat):
        if self._tracked_at != self.steps:  # F0 == F before the first update: nothing to track
            found = self.tracking.locate(feat, self.handles)
            if found is None:     # no answer this step: the official nearest neighbour around the last handle
                self.handles = track_points(feat, self.handles, self.refs, self.tracking.window, self.shape)
            elif self.tracking.coarse:   # content-true: the flow's point, refined by the feature match within REFINE_PX
                self.handles = track_points(feat, found, self.refs, self._refine, self.shape)
            else:
                self.handles = found
            self._tracked_at = self.steps
        self.reached_all = bool(self.point_reached().all())

    def feature_reach(self):
        """The tracker's square around the handles, then the disc and its unit step around the point found."""
        track = self.tracking.reach_px()
        if track is None:
            return None
        return [(self.tracking.centres(self.handles), max(track, self.tracking.radius_px) + self.r1_px + 1.0)]

    def motion_loss(self, feat):
        return motion_loss(feat, self.handles, self.targets, self._disc, self.shape, self.stop_distance)

    def _step(self):
        if self._tracked_at != self.steps:   # a tracker may answer before the pass (tracker 'flow' from 256 px)
            self.tracking.prepare(self.handles)
        feat = self.features(self._latent_for_grad())
        self._track(feat.detach())
        if self.reached_all:
            return None
        if self.approach:
            self._approach()
        loss = self.motion_loss(feat) + self.fixed(feat, self.ref_F0)
        return self._adam_step(loss)

    def _approach(self):
        """Within `approach` px of the targets the step shrinks: lr x (the farthest handle's distance / approach),
        never under APPROACH_FLOOR x lr. Adam moves every coordinate by about lr a step, so near the end a full step
        overshoots and the tracker hops around the target; shorter ones are meant to let a fine stop distance be
        reached with less disturbance to the rest of the picture. Measured on photo drags and not adopted there
        (docs/benchmarks.md, "Your own photo, session 21": the far field held, the smiles moved no further over the
        tuning photos)."""
        far = float(distances(self.handles, self.targets).max())
        for g in self.optimizer.param_groups:
            g["lr"] = self.lr * min(1.0, max(APPROACH_FLOOR, far / self.approach))

    def sync(self):
        if self._tracked_at != self.steps:   # the features of the pass that renders the final image
            self._track(self.current_features())

    def settings(self):
        return dict(super().settings(), stop_distance=self.stop_distance)

    def derived(self):
        return dict(super().derived(), r1_px=self.r1_px, r2_px=self.r2_px, flow_every=self.flow_every)


ENGINE = declare("draggan", "DragGAN", DragGANConfig, DragGANSession,
                 "Drag a generated image with DragGAN (motion supervision + nearest-neighbour point tracking).",
                 app_hidden=("approach",))   # left to the presets in the app (the drag API's positional order is kept)
