"""Device choice: use an accelerator when there is one, never require it."""
import torch

KINDS = ("cpu", "cuda", "mps")


def pick_device(prefer=None):
    """torch.device: `prefer` if given ('cpu', 'cuda', 'mps', 'cuda:1'), else cuda > mps > cpu. A
    device that cannot run a generator here (not one of KINDS, not on this machine, a CUDA index
    beyond the GPUs there are) is a ValueError naming it."""
    if prefer:
        try:
            dev = torch.device(prefer)
        except (RuntimeError, TypeError, ValueError):
            dev = None
        if dev is None or dev.type not in KINDS:
            raise ValueError(f"unknown device {str(prefer)[:40]!r}: use cpu, cuda, cuda:N or mps")
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("CUDA was requested but is not available on this machine")
        if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {prefer!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        if dev.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError("MPS was requested but is not available on this machine")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
