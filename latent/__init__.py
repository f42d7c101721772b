"""Latent-space exploration on top of the generator API: Z vs W interpolation (lerp / slerp)
with a smoothness measure, style mixing at coarse / middle / fine rows, truncation sweeps,
SeFa closed-form semantic directions, and GAN inversion (W, W+, PTI)."""
from .invert import apply_delta, generator_delta, invert, load_image, project, psnr, pti
from .interpolate import interpolate, slerp, lerp, smoothness
from .mixing import layer_ranges, style_mix_grid
from .sefa import apply_direction, sefa_directions
from .truncation import truncation_sweep
from .util import LatentError, image_strip, seed_z, to_uint8

__all__ = ["apply_delta", "generator_delta", "invert", "load_image", "project", "psnr", "pti", "interpolate", "slerp", "lerp", "smoothness", "layer_ranges", "style_mix_grid", "sefa_directions",
           "apply_direction", "truncation_sweep", "LatentError", "image_strip", "seed_z", "to_uint8"]
