"""Low-level StyleGAN2 operations in plain PyTorch: FIR filters, 2x up-sampling,
bias + activation with gain and clamp, and the modulated convolution.

No custom CUDA/C++ ops: everything here is a handful of standard torch calls, so the
generator runs unchanged on CPU, CUDA and MPS.
"""
import math

import torch
import torch.nn.functional as F

# Activation name -> (function, default gain). lrelu keeps unit variance with gain sqrt(2).
ACTIVATIONS = {
    "linear": (lambda x: x, 1.0),
    "relu": (F.relu, math.sqrt(2)),
    "lrelu": (lambda x: F.leaky_relu(x, 0.2), math.sqrt(2)),
}


def normalize_2nd_moment(x, dim=1, eps=1e-8):
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def setup_filter(taps=(1, 3, 3, 1)):
    """Separable FIR kernel as a 2D tensor normalised to sum 1 (outer product of the taps)."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def bias_act(x, b=None, act="linear", gain=None, clamp=None):
    """x + b, activation, times gain (default: the activation's own gain), then clamp to +-clamp."""
    fn, def_gain = ACTIVATIONS[act]
    if b is not None:
        x = x + b.reshape([1, -1] + [1] * (x.ndim - 2))
    x = fn(x)
    gain = def_gain if gain is None else gain
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def _depthwise(x, f2d):
    c = x.shape[1]
    return F.conv2d(x, f2d[None, None].to(x.dtype).expand(c, 1, *f2d.shape), groups=c)


def upsample2d(x, f):
    """2x up-sampling with the FIR filter f (gain 4, so a constant stays constant).

    Equivalent to zero-insertion, padding (2, 1) and a 4x4 filter; written as a stride-2
    transposed depthwise convolution, which never materialises the zero-stuffed image.
    """
    c = x.shape[1]
    k = (f * 4).to(x.dtype).flip([0, 1])[None, None].expand(c, 1, *f.shape)
    pad = (f.shape[0] - 2) // 2  # 1 for the 4-tap filter: output is exactly 2H x 2W
    return F.conv_transpose2d(x, k, stride=2, padding=pad, groups=c)


def conv3x3_up2(x, weight, f):
    """3x3 convolution of the 2x up-sampled input, as StyleGAN2 does it: a stride-2 transposed
    convolution (output 2H+1) followed by the FIR filter with a 1-pixel crop on each side."""
    x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
    # the filter is symmetric, so correlation == convolution
    return _depthwise(F.pad(x, [1, 1, 1, 1]), f * 4)


def modulated_conv2d(x, weight, styles, demodulate=True, up=False, resample_filter=None):
    """Modulated convolution without per-sample weights.

    Modulation scales the input channels (x * s), the shared weight is applied as one ordinary
    convolution over the whole batch, and demodulation scales the output channels by
    rsqrt(s^2 @ sum_k(w^2)^T): the same numbers as building [N, out, in, k, k] weights, at a
    fraction of the cost (the official op spends about half its CPU time on those weights).
    """
    n = x.shape[0]
    x = x * styles.to(x.dtype).reshape(n, -1, 1, 1)
    if up:
        x = conv3x3_up2(x, weight.to(x.dtype), resample_filter)
    else:
        x = F.conv2d(x, weight.to(x.dtype), padding=weight.shape[-1] // 2)
    if demodulate:
        wsq = weight.square().sum(dim=[2, 3])  # [out, in]
        dcoefs = (styles.square() @ wsq.t() + 1e-8).rsqrt()  # [N, out]
        x = x * dcoefs.to(x.dtype).reshape(n, -1, 1, 1)
    return x
