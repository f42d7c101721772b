"""Primitives shared by the drag engines (DragGAN, FreeDrag): the generator protocol, feature
sampling at image-space points, masks, point validation, the base session, the settings and where a
headless drag starts. A library: the engine table and the command line are in `drags` (the tool tier).

Errors (dragcore.errors, shared by draggan and freedrag): `DragInputError` (a ValueError) for every
bad input, and its subclass `MotionError` from the motion measure; a precision the device cannot run
(stylegan's PrecisionError) and a bad seed are reported as DragInputError too."""
from .errors import DragInputError, MotionError
from .protocol import DCGANAdapter, StyleGANAdapter, adapt, default_feature_res, generator_kind
from .report import DragResult
from .session import DragSession, StepResult

__all__ = ["DragInputError", "MotionError", "DCGANAdapter", "StyleGANAdapter", "adapt", "default_feature_res", "generator_kind",
           "DragResult", "DragSession", "StepResult"]
