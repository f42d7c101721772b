"""The FreeDrag step: no point tracking; each handle moves along its line in sub-motions.

Every handle i has a start p_i^0, a target t_i, a current point h_i on the segment p_i^0 -> t_i
(the handle position this engine reports) and a template T_i: features on a 3x3 patch of
offsets {-s, 0, s}^2 around a point, T_i^0 = F0 on the patch around p_i^0.

A sub-motion pulls the template to h_i: 1-5 Adam steps on
    L = sum_i mean_{patch, channels} |F(h_i + o) - T_i| + gamma mean_fixed |F - F0|   (gamma 10),
ending early after the step whose starting losses were all below 0.25 l. L_in is a point's loss
at the first step, L_en its loss after the sub-motion. Then, per point:
  - arrival: ||h - t|| < 1 px and L_en <= 0.25 l, re-evaluated after every sub-motion (an
    arrived point that a later sub-motion disturbs resumes); an arrived point keeps lambda = 1
    and stops moving;
  - template: T <- lambda F(h) + (1 - lambda) T, lambda = 1 / (1 + exp(alpha (L_en - beta))),
    alpha = ln 9 / (0.6 l), beta = 0.2 l (0.5 at L_en = 0.2 l, 0.1 at 0.8 l);
  - line search for the next h (candidates scored on the end-of-sub-motion features with the
    updated template): good move (L_en < 0.5 l) -> up to d further, the candidate whose loss is
    closest to l; insufficient (L_en < L_in) -> keep h; bad -> back off by up to d and search
    up to 2d forward from there for the smallest loss. 10 candidates each.
The first h is chosen by the good-move search from p^0 on F0, so the first sub-motion also
starts at a loss of about l ("l = expected initial loss").

Step accounting, as the official loop counts: `step()` is exactly one forward and one Adam step
(as DragGAN's, so step budgets compare fairly); a sub-motion is a small state machine across
step() calls. The early stop reads the losses the step *started* from and that step's update is
still taken, so a sub-motion is never empty. The end of a sub-motion (L_en, arrival, template,
line search) is evaluated at the start of the next step, on that step's forward pass: the same
latent the official "recomputed without gradients" L_en sees (ending it one step earlier arrives
2 steps sooner than the official loop).

Units: l is a loss value; d is in feature pixels (as in the paper); the 3x3 patch has 3 image px
between its points at every resolution, as the official code (3 x fr / res feature px).

Pixel convention (a deliberate difference): we read image pixel x at feature coordinate
(x + 0.5) fr / res - 0.5, the convention of DragGAN's bilinear resize (dragcore.features), so both
engines read a clicked pixel at the same place; the official FreeDrag reads it at x fr / res, a
quarter of a 128-block pixel away at 256 px. benchmarks.official_drag_parity measures it.

Modes: 'fast' reads the patches on the feature block's own map, which is what the official
FreeDrag code does (its synthesis stops at that block); 'reference' renders the whole image each
step and reads them on F resized to the image size, as the official *DragGAN* does, so both
engines can be compared under one convention.

What "arrived" means. Arrival is measured against a template that adapts, so it cannot tell a
move from an absorbed template: where a sub-motion barely lowers the loss (on the bundled 64 px
model, 5 steps at lr 0.002 take it from 0.30 to 0.29), the line search reports "insufficient"
again and again, each time lambda = 0.06-0.25 of the features found at h go into the template,
the loss falls without motion, and the point ends up "arrived" over unmoved content. That is the
paper's algorithm (it matches the official loop step for step); the session's `reached` therefore
also asks optical flow whether the content moved (dragcore.motion), and `tracked_reached` keeps
this engine's own verdict.

Renewal (content trackers only, never the official path). A content tracker can see the opposite: the
line point at its target with a template that absorbed the features found there (L_en <= 0.25 l, so no
sub-motion pulls any more) while the content is still short. Such a point's template goes back to T^0,
the handle's start features, so the pull towards the target returns (`renewed_templates` counts it);
without it the sub-motions repeat with nothing moving until the stall rule ends the drag.

Feature scale. Unlike DragGAN (whose loss terms all scale with F, and Adam does not care),
FreeDrag compares losses with l, so l is tied to the magnitude of the model's features: the
presets were tuned on the official StyleGAN2 models. A model whose features live on another
scale (the distilled bundled model's are ~50x smaller) makes every move look "good" and every
point "arrived" at once, with nothing moved. So by default (`feature_scale=None`, auto) features
are divided by a scale measured on the start image such that a move of 3 feature pixels costs
0.3 on average: the faces preset's own premise (l = the expected initial loss of a sub-motion
of d = 3). l and d then keep their meaning on any model. `feature_scale=1` gives the paper's
raw units.
"""
import math

import torch

from dragcore.config import FreeDragConfig, spec
from dragcore.engine import declare
from dragcore.features import patch_offsets, sample
from dragcore.points import distances
from dragcore.session import DragSession, in_range
from dragcore.tracking import cap_ahead

L_RANGE, D_RANGE = ((spec(n)["low"], spec(n)["high"]) for n in ("l", "d"))   # the paper's ranges (dragcore.config)
ARRIVAL_MAX = spec("arrival")["high"]
SUBMOTION_STEPS = 5
CANDIDATES = 10
PATCH_SPACING = 3.0  # image px between the 3x3 patch points, at every resolution (the official code)
FLOW_ARRIVAL_PX = 1.0   # tracker 'flow': the content must also be this close to the target (flow noise ~0.2 px)
CALIBRATION = (3, 0.3)  # 'auto' feature scale: a 3-feature-pixel move costs l = 0.3 (the faces preset)


def auto_feature_scale(feat):
    """The scale that makes the mean |F(x + 3 px) - F(x)| of this feature map (both axes) equal 0.3."""
    k, l_ref = CALIBRATION
    moves = torch.cat([(feat[..., k:] - feat[..., :-k]).abs().flatten(),
                       (feat[..., k:, :] - feat[..., :-k, :]).abs().flatten()])
    return float(moves.mean()) / l_ref


def template_weight(L_en, l):
    """lambda = 1 / (1 + exp(alpha (L_en - beta))), alpha = ln 9 / (0.6 l), beta = 0.2 l."""
    alpha, beta = math.log(9.0) / (0.6 * l), 0.2 * l
    return torch.sigmoid(-alpha * (torch.as_tensor(L_en, dtype=torch.float32) - beta))


def patch_loss(feat, points, templates, patch, shape):
    """mean |F(point + o) - T| over the patch and channels. points [M, 2], templates [M|1, P, C] -> [M]."""
    f = sample(feat, points[:, None, :] + patch[None], shape)
    return (f - templates).abs().mean(dim=(1, 2))


def _towards(h, t, dist_max):
    """min(dist_max / ||t - h||, 1) (t - h): a step of at most dist_max towards t."""
    v = t - h
    n = float(v.norm())
    return v if n <= dist_max else v * (dist_max / n)


def line_search(feat, h, t, p0, template, L_en, L_in, l, d, patch, shape):
    """The next point of one handle: (new h [2], case). d in image px here; template [P, C]."""
    if L_en < 0.5 * l:
        case, start, s = "good", h, _towards(h, t, d)
    elif L_en < L_in:
        return h.clone(), "insufficient"
    else:
        case, start = "bad", h - _towards(h, t, d)
        if torch.dot(start - p0, t - p0) < 0:  # never back off behind the start of the line
            start = p0.clone()
        s = _towards(start, t, 2 * d)
    j = torch.arange(1, CANDIDATES + 1, dtype=h.dtype, device=h.device)[:, None] / CANDIDATES
    cand = start[None] + j * s[None]
    scores = patch_loss(feat, cand, template[None], patch, shape)
    best = (scores - l).abs().argmin() if case == "good" else scores.argmin()
    return cand[best].clone(), case


class FreeDragSession(DragSession):
    method = "freedrag"
    Config = FreeDragConfig

    def __init__(self, generator, handles, targets, config=None, **kwargs):
        cfg = self.checked_config(config)
        scale = cfg.feature_scale
        if scale is not None:
            scale = in_range(scale, 0, math.inf, f"feature_scale must be a positive number or None (auto), got {scale!r}",
                             lo_open=True)
        for name, (lo, hi) in (("l", L_RANGE), ("d", D_RANGE)):
            in_range(getattr(cfg, name), lo, hi, f"FreeDrag {name} must be in [{lo:g}, {hi:g}], got {getattr(cfg, name)!r}")
        arrival = in_range(cfg.arrival, 0, ARRIVAL_MAX,
                           f"FreeDrag arrival distance must be in (0, {ARRIVAL_MAX:g}] image px, got {cfg.arrival!r}",
                           lo_open=True)
        super().__init__(generator, handles, targets, cfg, **kwargs)
        self.arrival = arrival  # a point has arrived within this many image px of its target (paper: 1)
        self.l, self.d = float(cfg.l), float(cfg.d)   # d in feature px, as in the paper
        self.feature_scale = auto_feature_scale(self.F0) if scale is None else scale
        self.F0 = self.F0 / self.feature_scale
        self.d_px = self.d * self.res / self.feature_res   # d in image px
        self.spacing = PATCH_SPACING
        self.patch = patch_offsets(self.spacing).to(self.device)
        self.ref_F0 = self._at_mode_res(self.F0)
        n = len(self.handles0)
        self.templates = sample(self.F0, self.handles0[:, None, :] + self.patch[None], self.shape)  # [N, P, C]
        self.templates0 = self.templates.clone()   # T^0: what a renewed template goes back to (content trackers)
        self.renewed = 0   # templates renewed because the content stayed short of a reached line point
        self.arrived = torch.zeros(n, dtype=torch.bool, device=self.device)
        self.last_lambda = torch.full((n,), float("nan"))
        self.last_case = ["start"] * n
        self.submotions = 0
        self.submotion_step, self._sub_over = 0, False   # Adam steps taken in the current sub-motion
        self._L_in = None
        self.make_tracker()   # dragcore.tracking; the official rule ('features') tracks nothing here
        self._content = self.handles0.clone()   # where a content tracker last found the content
        self.handles = torch.stack([
            line_search(self.F0, self.handles0[i], self.targets[i], self.handles0[i], self.templates[i],
                        0.0, 0.0, self.l, self.d_px, self.patch, self.shape)[0] for i in range(n)])

    def point_reached(self):
        return self.arrived.clone()

    def feature_reach(self):
        """The patch around the line points up to d ahead or back (the line search, the template), and a
        content tracker's own reach around the content."""
        reach = [(self.handles, self.d_px + self.spacing)]
        if self.tracker != "features":
            track = self.tracking.reach_px(force=True)
            if track is None:
                return None
            if track > 0:
                reach.append((self._content, track))
        return reach

    def point_losses(self, feat):
        return patch_loss(feat, self.handles, self.templates, self.patch, self.shape)

    def _near(self, feat):
        """(per point: the line point within the arrival distance of its target, and with a content
        tracker (any but the official 'features') the content too; the content points or None)."""
        near = distances(self.handles, self.targets) < self.arrival
        content = None
        if self.tracker != "features":
            content = self.tracking.locate(feat, self._content, force=True)
            if content is not None:
                self._content = content
        if content is not None:   # content-true: arrived only where the content is at the target too
            near &= distances(content, self.targets) <= max(self.arrival, FLOW_ARRIVAL_PX)
        return near, content

    def _end_submotion(self, feat, L_en):
        """Arrival, template update and line search after a sub-motion (feat detached)."""
        self.submotions += 1
        near, content = self._near(feat)
        # re-evaluated every sub-motion, as the official code does; with tracker 'flow' the content itself is
        # at the target (flow), which is what the template's low loss stands for in the official rule
        self.arrived = near if content is not None else near & (L_en <= 0.25 * self.l)
        lam = template_weight(L_en.cpu(), self.l)
        lam[self.arrived.cpu()] = 1.0
        self.last_lambda = lam
        lam = lam.to(self.device)[:, None, None]
        f_h = sample(feat, self.handles[:, None, :] + self.patch[None], self.shape)
        self.templates = lam * f_h + (1 - lam) * self.templates
        if content is not None:   # a content tracker: renew the templates that absorbed a short move
            absorbed = ~self.arrived & (distances(self.handles, self.targets) < self.arrival) & (L_en <= 0.25 * self.l)
            if bool(absorbed.any()):
                self.templates = torch.where(absorbed[:, None, None], self.templates0, self.templates)
                self.renewed += int(absorbed.sum())
        new_h = self.handles.clone()
        for i in range(len(new_h)):
            if self.arrived[i]:
                self.last_case[i] = "arrived"
                continue
            new_h[i], self.last_case[i] = line_search(
                feat, self.handles[i], self.targets[i], self.handles0[i], self.templates[i], float(L_en[i]),
                float(self._L_in[i]), self.l, self.d_px, self.patch, self.shape)
        if content is not None:   # never more than d ahead of where the content is
            new_h = torch.where(self.arrived[:, None], new_h,
                                cap_ahead(new_h, self.handles0, self.targets, content, self.d_px))
        self.handles = new_h
        self.reached_all = bool(self.arrived.all())

    def _step(self):
        feat = self.features(self._latent_for_grad())
        losses = self.point_losses(feat)
        if self._sub_over:  # this forward sees the latent after the sub-motion: its losses are L_en
            self._end_submotion(feat.detach(), losses.detach())
            if self.reached_all:
                return None
            self.submotion_step, self._sub_over = 0, False
            losses = self.point_losses(feat)
        if self.submotion_step == 0:
            self._L_in = losses.detach()
        loss = losses.sum() + self.fixed(feat, self.ref_F0)
        self.submotion_step += 1
        # The early stop reads the losses this step started from, and this step's update is still
        # taken (as in the official loop): a sub-motion is 1-5 steps, never 0.
        self._sub_over = self.submotion_step >= SUBMOTION_STEPS or bool((losses < 0.25 * self.l).all())
        return self._adam_step(loss)

    def features(self, latent):
        """F for `latent` in this engine's units (divided by the feature scale, as l expects)."""
        return super().features(latent) / self.feature_scale

    def sync(self):
        """At the end of a run: a point counts as arrived if it would at the end of its sub-motion."""
        if self.submotion_step == 0 or self.reached_all:
            return
        with torch.no_grad():   # F from the pass that renders the final image (no pass of its own)
            feat = self.current_features() / self.feature_scale
            L = self.point_losses(feat)
        near, content = self._near(feat)
        self.arrived = near if content is not None else near & (L <= 0.25 * self.l)
        self.reached_all = bool(self.arrived.all())

    def settings(self):
        return dict(super().settings(), feature_scale=self.feature_scale)

    def derived(self):
        return dict(super().derived(), d_px=self.d_px, patch_spacing_px=self.spacing,
                    submotion_steps=SUBMOTION_STEPS, submotions=self.submotions, renewed_templates=self.renewed)


ENGINE = declare("freedrag", "FreeDrag", FreeDragConfig, FreeDragSession,
                 "Drag a generated image with FreeDrag (adaptive template, line search, no point tracking).",
                 app_hidden=("feature_scale",))
