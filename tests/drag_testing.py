"""Helpers shared by the drag-engine tests: a small real generator and the bundled face model."""
import os

import torch

import stylegan


def small_G(res=64, seed=0):
    """A small random-weight StyleGAN2 (real network, real layers), float32 CPU."""
    torch.manual_seed(seed)
    G = stylegan.Generator(z_dim=64, w_dim=64, resolution=res, mapping_layers=2, channel_base=2048, channel_max=64)
    return G.eval()


def face_model():
    """The bundled offline 64 px face model through the registry, or None until it ships."""
    try:
        import checkpoints
    except ImportError:
        return None
    try:
        return checkpoints.load(getattr(checkpoints, "DEFAULT_MODEL", None) or "faces64")
    except Exception:  # registry present but the bundled weights are not (yet)
        return None


def drag_model():
    """The model end-to-end drag tests use: the bundled face model when present, else small_G()."""
    return face_model() or small_G()
