"""The editable-region mask and the loss that keeps everything outside it in place.

The user paints the region that may change (True / 1 = editable). Outside it both methods add
`weight * mean |F - F0|` over the fixed area (DragGAN lambda 10 in the paper, 20 in its UI;
FreeDrag gamma 10). The mask is given at image resolution and reduced to the feature map by
area averaging, so a feature pixel straddling the border counts by the fraction that is fixed.
"""
import numpy as np
import torch
import torch.nn.functional as F

from .errors import DragInputError
from .features import as_shape


def validate_mask(mask, shape, device="cpu"):
    """Array-like HxW (bool, or numbers in [0, 1]) -> bool tensor [H, W] of the editable region, for an
    image of `shape` (height, width; an int means square)."""
    H, W = as_shape(shape)
    if isinstance(mask, (str, bytes)) or hasattr(mask, "read"):
        raise DragInputError("pass a mask array; use dragcore.mask.load_mask(path, res) for an image file")
    if hasattr(mask, "convert") and hasattr(mask, "size"):  # a PIL image: grey level >= 128 is editable
        mask = np.asarray(mask.convert("L")) >= 128
    m = mask.detach().cpu() if isinstance(mask, torch.Tensor) else torch.as_tensor(np.asarray(mask))
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.ndim != 2:
        raise DragInputError(f"mask must be a 2-D HxW array, got shape {list(m.shape)}")
    if tuple(m.shape) != (H, W):
        raise DragInputError(f"mask is {m.shape[0]}x{m.shape[1]} but the image is {H}x{W} (height x width)")
    if m.dtype != torch.bool:
        if not (m.dtype.is_floating_point or m.dtype in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)):
            raise DragInputError(f"mask has unsupported dtype {m.dtype}")
        m = m.to(torch.float32)
        if not torch.isfinite(m).all():
            raise DragInputError("mask contains NaN or Inf")
        if m.min() < 0 or m.max() > 1:
            raise DragInputError(f"mask values must be 0/1 or bool, got range [{m.min():g}, {m.max():g}]")
        m = m >= 0.5
    if not m.any():
        raise DragInputError("mask is all zeros: nothing is editable (paint the region that may change)")
    return m.to(device)


def load_mask(path, shape=None, max_pixels=None):
    """A PNG (or any image) painted white where editable -> bool mask (validated against `shape` if given).
    Only a regular file is opened (a FIFO would block the reader forever); an image of more than
    `max_pixels` pixels (default imagefile.MAX_PIXELS) is refused from its header; imagefile reads it."""
    import imagefile
    try:
        im = imagefile.open_image(path, f"mask {path}", max_pixels or imagefile.MAX_PIXELS)
    except imagefile.ImageFileError as e:
        raise DragInputError(str(e)) from None
    if im.mode in ("RGBA", "LA"):  # a transparent background is not editable
        arr = (np.asarray(im.getchannel("A")) >= 128) & (np.asarray(im.convert("L")) >= 128)
    else:
        arr = np.asarray(im.convert("L")) >= 128
    if shape is None:
        return arr
    return validate_mask(arr, shape)


def fixed_weight(mask, size):
    """Editable bool mask [H, W] -> [1, 1, h, w] fraction of each cell that must stay fixed; `size` is
    the feature map's (h, w) (an int: square)."""
    size = as_shape(size)
    m = mask.to(torch.float32)[None, None]
    if tuple(m.shape[-2:]) != size:
        m = F.adaptive_avg_pool2d(m, size) if m.shape[-1] > size[1] else F.interpolate(m, size=size, mode="nearest")
    return 1.0 - m


def mask_loss(feat, feat0, weight):
    """mean |F - F0| over the fixed area (weighted by `weight`, broadcast over channels)."""
    total = weight.sum()
    if total <= 0:  # everything editable: nothing to hold
        return feat.new_zeros(())
    return ((feat - feat0).abs() * weight).sum() / (total * feat.shape[1])


class FixedRegion:
    """The term that keeps the region outside the mask as it was: weight * mean over the fixed
    region (weighted by `fixed_weight` at `size`) of |F - F0|; zero without a mask or at weight 0."""

    def __init__(self, mask, weight, size):
        self.weight = weight
        self.map = None if mask is None or weight == 0 else fixed_weight(mask, size)

    def __call__(self, feat, feat0):
        if self.map is None:
            return feat.new_zeros(())
        return self.weight * mask_loss(feat, feat0, self.map)
