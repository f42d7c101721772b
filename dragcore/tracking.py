"""Trackers: where the grabbed content is now, as the engines see it.

    features  the official rule: the nearest neighbour of the handle's start feature in a window
              around the last handle (DragGAN), or no tracking at all (FreeDrag's line point). It
              can run ahead of the content: a patch elsewhere that *looks* like the handle's
              features is taken for it, the engine believes it arrived and stops early (the
              DragGAN poster's "miss tracking").
    flow      content-true: the optical flow of the current image from the start image, read
              at each start handle (dragcore.motion), i.e. where the pixels under the handle
              went. DragGAN then refines that point by the feature match within one image
              pixel (a window too small to run ahead); FreeDrag never lets its line point run
              more than d ahead of it, and counts a point arrived when the content is at
              the target (instead of the official low template loss).

A flow that cannot be computed (an image too small for it, NaN) never ends a drag: that step
falls back to the feature rule and the report says how often (`tracker_fallbacks`).

Stall. With `flow` the engine sees where the content is, so it also sees when the content stops
coming: a move the model cannot show (far beyond what its latent neighbourhood holds) would keep
the engine pushing until max_steps while the W+ rows repaint the picture. `Progress` ends such a
drag: when the content has not come `STALL_PX` closer to its targets (summed over the points) for
`STALL_STEPS` steps, the session stops with stop_reason 'stalled'.
"""
import math

import torch

from . import motion
from .errors import DragInputError, MotionError

TRACKERS = ("features", "flow")
STALL_STEPS = 40   # tracker 'flow': steps without progress before a drag stops as 'stalled'
STALL_PX = 0.25    # ... progress: the content this much closer to its targets (sum over the points, image px)
FLOW_MIN_SIZE = 256   # tracking upscales small images to this size for the flow (the report's measure: 512)


def check_tracker(tracker):
    """The tracker name, or a DragInputError naming the choices."""
    if tracker not in TRACKERS:
        raise DragInputError(f"tracker must be one of {', '.join(TRACKERS)}, got {tracker!r}")
    return tracker


def content_points(start, current, handles0):
    """[N, 2] tensor: where the content under each start handle is in `current` (HxWx3 uint8 images),
    by optical flow; raises MotionError if the flow cannot be computed or is not finite."""
    flow = motion.dense_flow(start, current, min_size=FLOW_MIN_SIZE)
    pts = []
    for h in handles0.tolist():
        dx, dy = motion.read_flow(flow, h)
        if not (math.isfinite(dx) and math.isfinite(dy)):
            raise MotionError("optical flow is not finite")
        pts.append([h[0] + dx, h[1] + dy])
    return torch.tensor(pts, dtype=handles0.dtype, device=handles0.device)


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
