"""What the first drag of a fresh app process would pay for once, done in the background once the
first image is on screen (`start`, called after the page's first New image), so neither the first
image nor the first drag waits for it:

- the first backward pass and the first Adam step set up autograd and the optimiser's kernels (the drag's
  Adam is `adam.Adam`, which imports nothing: torch's own optimisers import `torch._dynamo`, seconds of
  imports, and only the Adapt and DCGAN tabs' training uses them);
- OpenCV (the report's optical flow, dragcore.motion) is imported and its DIS flow run once.

Each happens once per process; `start` returns at once and does nothing after its first call.
"""
import threading

_LOCK = threading.Lock()
_THREAD = None


def warm():
    """The one-time work itself (in the calling thread)."""
    import numpy as np
    import torch
    from adam import Adam
    from dragcore import motion
    p = torch.zeros(4, requires_grad=True)
    opt = Adam([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    img = np.zeros((16, 16, 3), np.uint8)
    img[4:8, 4:8] = 255
    motion.measure(img, img, [[6.0, 6.0]], [[8.0, 6.0]])


def start():
    """Warm in a daemon thread, once per process; the thread (already started or finished)."""
    global _THREAD
    with _LOCK:
        if _THREAD is None:
            _THREAD = threading.Thread(target=warm, name="warm-up", daemon=True)
            _THREAD.start()
        return _THREAD


def start_event():
    """`start` as a Gradio event handler (no inputs, no outputs)."""
    start()
