"""DragGAN (Pan et al., SIGGRAPH 2023): motion supervision + nearest-neighbour point tracking."""
from .engine import DragGANSession, track_points

__all__ = ["DragGANSession", "track_points"]
