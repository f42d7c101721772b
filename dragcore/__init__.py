"""Primitives shared by the drag engines (DragGAN, FreeDrag): the generator protocol, feature
sampling at image-space points, masks, point validation, the base session and the CLI."""
from .errors import DragInputError
from .protocol import DCGANAdapter, StyleGANAdapter, adapt, default_feature_res, seed_z
from .session import DragSession, StepResult, to_uint8

__all__ = ["DragInputError", "DCGANAdapter", "StyleGANAdapter", "adapt", "default_feature_res", "seed_z",
           "DragSession", "StepResult", "to_uint8"]
