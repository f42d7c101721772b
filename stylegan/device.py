"""Device choice: use an accelerator when there is one, never require it."""
import torch


def pick_device(prefer=None):
    """torch.device: `prefer` if given ('cpu', 'cuda', 'mps', 'cuda:1'), else cuda > mps > cpu."""
    if prefer:
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("CUDA was requested but is not available on this machine")
        if dev.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError("MPS was requested but is not available on this machine")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
