"""The arithmetic of StyleGAN2 in plain PyTorch: FIR up-sampling, modulated convolutions and
the fused bias / noise / activation step that follows them.

No custom kernels: each function is a few standard torch calls, so the generator runs the same
on CPU, CUDA and MPS and under autocast. Small per-sample coefficients (styles, demodulation)
are computed in float32 and cast to the activations' dtype just before they touch them, so
float32 never leaks into a bf16/fp16 pass.
"""
import math

import torch
import torch.nn.functional as F

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2)  # keeps unit variance through a leaky ReLU


def unit_rms(v, eps=1e-8):
    """v scaled so that each row has mean square 1 (how z and label embeddings enter the mapping)."""
    return v * torch.rsqrt(v.pow(2).mean(1, keepdim=True) + eps)


def fir_2d(taps):
    """2D low-pass kernel: outer product of the 4 taps, normalised to sum 1. (Four taps make
    the padding of both up-sampling paths below exactly one pixel.)"""
    t = torch.tensor(taps, dtype=torch.float32)
    k = t[:, None] * t[None, :]
    return k / k.sum()


def _blur(x, kernel, pad):
    """Depthwise correlation with the flipped kernel, i.e. a true convolution with the FIR."""
    c = x.shape[1]
    k = kernel.flip(0, 1).to(x.dtype)[None, None].expand(c, 1, -1, -1)
    return F.conv2d(x, k, padding=pad, groups=c)


def upsample2x(x, kernel):
    """Zero-insertion 2x up-sampling followed by the FIR (times 4, so flat regions keep their
    value), done as one stride-2 transposed depthwise convolution that never builds the
    zero-stuffed image. Output: exactly twice the input size."""
    c = x.shape[1]
    k = (kernel * 4).to(x.dtype)[None, None].expand(c, 1, -1, -1)
    return F.conv_transpose2d(x, k, stride=2, padding=1, groups=c)


def up_conv3x3(x, weight, kernel):
    """3x3 convolution of the 2x up-sampled input as the paper's generator computes it: a
    stride-2 transposed convolution (2H+1 wide) then the FIR over a one-pixel border, which
    lands exactly on 2H x 2W. Nine multiply-adds per input pixel and channel pair, the least of
    any ordering (filtering first would run the 3x3 at the doubled size)."""
    y = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
    return _blur(y, kernel * 4, pad=1)


def demod_scale(styles, weight, eps=1e-8):
    """Per-sample, per-output-channel 1 / ||s * w||: rsqrt(s^2 @ sum_k(w^2)^T), in float32.

    Equal to the norm of the modulated weights [N, out, in, k, k] without ever building them."""
    with torch.autocast(styles.device.type, enabled=False):
        energy = weight.float().pow(2).sum((2, 3))          # [out, in]
        return torch.rsqrt(styles.float().pow(2) @ energy.t() + eps)  # [N, out]


def modulate(x, styles):
    """Scale input channels by the per-sample styles (the modulation half of the paper's
    weight modulation; the convolution itself stays shared by the whole batch)."""
    return x * styles.to(x.dtype)[:, :, None, None]


def styled_epilogue(y, scale, shift, clamp=None):
    """lrelu(y * scale + shift) clamped to +-clamp, in three passes over y.

    scale [N, C] folds demodulation and the activation gain; shift (broadcastable to y) folds
    bias and noise times that gain, which is exact because a leaky ReLU is positively
    homogeneous. The ReLU runs in place on the fresh addcmul result; the clamp, done as a
    hardtanh, has a one-pass backward."""
    t = torch.addcmul(shift.to(y.dtype), y, scale.to(y.dtype)[:, :, None, None])
    t = F.leaky_relu(t, LRELU_SLOPE, inplace=True)
    return t if clamp is None else F.hardtanh(t, -clamp, clamp)


def rgb_projection(x, weight, styles):
    """1x1 modulated convolution without demodulation, as a batched matmul with per-sample
    weights [N, out, in]: for the 3 RGB outputs that is far cheaper than scaling the input."""
    n, c, h, w = x.shape
    wn = weight[:, :, 0, 0].to(x.dtype)[None] * styles.to(x.dtype)[:, None, :]
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        y = torch.bmm(x.permute(0, 2, 3, 1).reshape(n, h * w, c), wn.transpose(1, 2))
        return y.reshape(n, h, w, -1).permute(0, 3, 1, 2)
    return torch.bmm(wn, x.reshape(n, c, h * w)).reshape(n, -1, h, w)
