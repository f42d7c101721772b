"""The editable-region mask from the image editor's brush layer."""
import numpy as np
from PIL import Image

from dragcore.features import as_shape



class MaskError(ValueError):
    pass


def from_editor(value, shape):
    """Gradio ImageEditor value (dict with 'layers') -> bool mask of `shape` (height, width; an int
    means square; True = editable), or None when nothing is painted. The painted layer may be at
    display size (an integer multiple or fraction of the image): it is resized."""
    if value is None:
        return None
    layers = value.get("layers") if isinstance(value, dict) else None
    if not layers:
        return None
    alpha = None
    for layer in layers:
        if layer is None:
            continue
        a = np.asarray(layer)
        if a.ndim != 3 or a.shape[2] not in (2, 4):
            raise MaskError(f"the mask layer has an unexpected shape {a.shape}")
        a = a[..., -1] > 0
        alpha = a if alpha is None else (alpha | a) if alpha.shape == a.shape else None
        if alpha is None:
            raise MaskError("mask layers of different sizes")
    if alpha is None or not alpha.any():
        return None
    (H, W), (h, w) = as_shape(shape), alpha.shape
    if h * W != w * H or (h % H and H % h):
        raise MaskError(f"the painted mask is {h}x{w}, which does not match the {H}x{W} image (height x width)")
    small = Image.fromarray(alpha.astype(np.uint8) * 255).resize((W, H), Image.BOX)
    return np.asarray(small) >= 128
