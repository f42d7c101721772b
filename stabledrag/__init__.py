"""StableDrag-GAN (Cui et al., ECCV 2024, arXiv 2403.04437): DragGAN's motion supervision with
discriminative point tracking and confidence-based latent enhancement."""
from .engine import StableDragSession, enhanced_motion_loss

__all__ = ["StableDragSession", "enhanced_motion_loss"]
