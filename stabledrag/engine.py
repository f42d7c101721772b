"""The StableDrag-GAN step, written from the paper (Cui et al., "StableDrag: Stable Dragging for
Point-based Image Editing", ECCV 2024, arXiv 2403.04437).

StableDrag keeps DragGAN's loop (features of the current latent, tracking, motion supervision, one
Adam step) and changes its two weak points:

  1. Discriminative point tracking (dragcore.tracking, tracker 'discriminative', the default here):
     per handle a 1 x C filter learned on the first step's features to tell the handle's feature
     from its surroundings, combined with the feature-difference match; its response at the tracked
     point is the tracking confidence s_i in [0, 1].
  2. Confidence-based latent enhancement: where s_i >= tau, motion supervision is DragGAN's,
     |sg(F(q)) - F(q + d_i)| over the disc around the tracked handle; where s_i < tau (the content
     under the handle no longer looks like it did), the supervision reads the *initial template*
     instead of the current features: |sg(F0(q0)) - F(q + d_i)|, q0 the same offset around the start
     handle, so the latent is pulled back towards a picture that still holds the handle's content.

Any other tracker can be chosen (the confidence is then 1 and the engine is DragGAN's motion
supervision with that tracker). Radii, stop rule and modes are DragGAN's (draggan.engine);
tau is `StableDragConfig.tau`.

Arrival confirmed by the picture (`confirm='flow'`, where a model's presets say so). A tracker that
follows features can claim arrival before the content gets there (on the bundled 64 px model the
features move ahead of the pixels). With 'flow', each claimed arrival is checked by optical flow
(dragcore.tracking.content_points): a handle whose content is farther than max(stop distance,
CONFIRM_PX) from its target is put back where the content is and the drag goes on; the content's
progress is watched by the trackers' stall rule (dragcore.tracking.Progress), so a move the model
cannot show ends as 'stalled' instead of running to max_steps. A flow that cannot be computed leaves
the claim standing (counted in `derived()['unconfirmed']`). The flow runs only on claimed arrivals.
"""
import torch

from dragcore.config import StableDragConfig
from dragcore.engine import declare
from dragcore.errors import DragInputError
from dragcore.errors import MotionError
from dragcore.features import sample_resized
from dragcore.points import distances
from dragcore.session import in_range
from dragcore.tracking import Progress, content_points
from draggan.engine import DragGANSession

CONFIRMS = ("none", "flow")
CONFIRM_PX = 0.5   # confirm 'flow': the content must be this close to its target too (flow noise ~0.2 px;
                   # 1 px let the 3.2 px smiles of the 64 px model end 0.7 of the way: docs/benchmarks.md)


def enhanced_motion_loss(feat, F0, handles, handles0, targets, disc, shape, stop_distance, confidence, tau):
    """Motion supervision with confidence-based enhancement: per handle farther than stop_distance from
    its target, mean |T(q) - F(q + d)| over the disc q in p + disc and the channels, where T is
    F(q).detach() if its confidence >= tau, else F0 at the same offset around the start handle.
    feat, F0 [1, C, h, w]; handles, handles0, targets [N, 2]; disc [K, 2]; confidence [N]."""
    delta = targets - handles
    dist = delta.norm(dim=1, keepdim=True)
    active = dist[:, 0] > stop_distance
    if not active.any():
        return feat.new_zeros(())
    p, p0, d = handles[active], handles0[active], (delta / dist.clamp_min(1e-8))[active]
    q = p[:, None, :] + disc[None]
    current = sample_resized(feat, q, shape).detach()
    template = sample_resized(F0, p0[:, None, :] + disc[None], shape)
    low = (confidence[active] < tau)[:, None, None]
    target = torch.where(low, template, current)
    return (target - sample_resized(feat, q + d[:, None, :], shape)).abs().mean(dim=(1, 2)).sum()


class StableDragSession(DragGANSession):
    method = "stabledrag"
    Config = StableDragConfig

    def __init__(self, generator, handles, targets, config=None, **kwargs):
        cfg = self.checked_config(config)
        tau = in_range(cfg.tau, 0, 1, f"tau must be a number from 0 to 1, got {cfg.tau!r}")
        if cfg.confirm not in CONFIRMS:
            raise DragInputError(f"confirm must be one of {', '.join(CONFIRMS)}, got {cfg.confirm!r}")
        super().__init__(generator, handles, targets, cfg, **kwargs)
        self.tau = tau
        self.confirm = cfg.confirm
        self.enhanced_steps = 0   # steps where at least one handle was supervised by its initial template
        self.rejected_arrivals = 0   # claimed arrivals the picture did not show (confirm 'flow')
        self.unconfirmed = 0         # claimed arrivals flow could not check
        self._content = Progress()
        self._content_stalled = False

    def _track(self, feat):
        super()._track(feat)
        if self.confirm == "flow" and self.reached_all:
            self._confirm_arrival()

    def _confirm_arrival(self):
        """The tracker claims arrival: where is the content (optical flow)? Handles whose content is short
        go back to it and the drag goes on, unless the content has stopped coming ('stalled')."""
        try:
            content = content_points(self.report.start_image(), self.report.preview(), self.handles0)
        except MotionError:
            self.unconfirmed += 1
            return
        remaining = distances(content, self.targets)
        short = remaining > max(self.stop_distance, CONFIRM_PX)
        if not short.any():
            return
        self._content_stalled = self._content.stalled(self.steps, float(remaining.sum()))
        if self._content_stalled:   # the claim ends the drag, reported as 'stalled'
            return
        self.reached_all = False
        self.rejected_arrivals += 1
        self.handles = torch.where(short[:, None], content, self.handles)

    def feature_reach(self):
        """DragGAN's; a confirmed arrival may put the handles anywhere the content is (the whole map then)."""
        return None if self.confirm == "flow" else super().feature_reach()

    @property
    def stop_reason(self):
        return "stalled" if self._content_stalled else super().stop_reason

    def motion_loss(self, feat):
        conf = self.tracking.confidence
        if bool((conf < self.tau).any()):
            self.enhanced_steps += 1
        return enhanced_motion_loss(feat, self.ref_F0, self.handles, self.handles0, self.targets, self._disc,
                                    self.shape, self.stop_distance, conf, self.tau)

    def derived(self):
        return dict(super().derived(), confidence=[round(float(c), 3) for c in self.tracking.confidence],
                    enhanced_steps=self.enhanced_steps, rejected_arrivals=self.rejected_arrivals,
                    unconfirmed=self.unconfirmed)


ENGINE = declare("stabledrag", "StableDrag", StableDragConfig, StableDragSession,
                 "Drag a generated image with StableDrag-GAN (discriminative point tracking + confidence-based "
                 "latent enhancement).", options=("r1", "r2", "stop_distance", "track_step", "approach", "tau", "confirm"), app_hidden=("approach", "confirm"))
