"""FreeDrag (Ling et al., CVPR 2024): adaptive template features + line search with backtracking."""
from .engine import FreeDragSession, line_search, template_weight

__all__ = ["FreeDragSession", "line_search", "template_weight"]
