"""Latent-space exploration on top of the generator API: Z vs W interpolation (lerp / slerp)
with a smoothness measure, style mixing at coarse / middle / fine rows, truncation sweeps,
SeFa closed-form semantic directions, and GAN inversion (W, W+, PTI).

Errors: `LatentError` (a ValueError) is the package's one error: a model without a mapping network,
rows or seeds out of range, an unreadable photo. A bad seed reaching `seed_z` is stylegan's ValueError.
`psnr`, `to_uint8` (stylegan.imageops) and `seed_z` (stylegan.seeds) are re-exported, not copies."""
from stylegan.imageops import psnr, to_uint8   # re-exported: the latent tools' callers use them with these
from stylegan.seeds import seed_z

from .invert import apply_delta, generator_delta, invert, load_image
from .interpolate import interpolate, slerp, lerp, smoothness
from .losses import ImageLoss
from .mixing import layer_ranges, style_mix_grid
from .projection import Projector, project
from .pti import pti
from .sefa import apply_direction, sefa_directions
from .truncation import truncation_sweep
from .util import LatentError, image_strip

__all__ = ["apply_delta", "generator_delta", "invert", "load_image", "psnr", "ImageLoss", "Projector", "project", "pti"]
__all__ += ["interpolate", "slerp", "lerp", "smoothness", "layer_ranges", "style_mix_grid", "sefa_directions"]
__all__ += ["apply_direction", "truncation_sweep", "LatentError", "image_strip", "seed_z", "to_uint8"]
