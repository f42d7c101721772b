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
from torch.autograd.function import once_differentiable

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


def upsample2x(x, kernel, pad=1):
    """Zero-insertion 2x up-sampling followed by the FIR (times 4, so flat regions keep their
    value), done as one stride-2 transposed depthwise convolution that never builds the
    zero-stuffed image. Output: exactly twice the input size (pad=0: 2H + 2, the border kept, for a
    window of the map: stylegan.windows)."""
    c = x.shape[1]
    k = (kernel * 4).to(x.dtype)[None, None].expand(c, 1, -1, -1)
    return F.conv_transpose2d(x, k, stride=2, padding=pad, groups=c)


def up_conv3x3(x, weight, kernel, pad=1, transposed=None):
    """3x3 convolution of the 2x up-sampled input as the paper's generator computes it: a
    stride-2 transposed convolution (2H+1 wide) then the FIR over a one-pixel border, which
    lands exactly on 2H x 2W. Nine multiply-adds per input pixel and channel pair, the least of
    any ordering (filtering first would run the 3x3 at the doubled size). pad=0: the FIR without
    the border (2H - 2 wide, a window of the map: stylegan.windows). transposed: the weight already as
    `weight.transpose(0, 1).contiguous()` (a caller that keeps it)."""
    # a contiguous [in, out, k, k] weight: a transposed view makes oneDNN write, then copy, the output
    y = F.conv_transpose2d(x, weight.transpose(0, 1).contiguous() if transposed is None else transposed, stride=2)
    return _blur(y, kernel * 4, pad=pad)


def weight_energy(weight):
    """sum over the kernel of w^2, [out, in] float32: what demodulation reads of a convolution's weight."""
    with torch.autocast(weight.device.type, enabled=False):
        return weight.float().pow(2).sum((2, 3))


def demod_scale(styles, weight, eps=1e-8, energy=None):
    """Per-sample, per-output-channel 1 / ||s * w||: rsqrt(s^2 @ sum_k(w^2)^T), in float32.

    Equal to the norm of the modulated weights [N, out, in, k, k] without ever building them. energy:
    `weight_energy(weight)` when the caller keeps it."""
    with torch.autocast(styles.device.type, enabled=False):
        energy = weight_energy(weight) if energy is None else energy          # [out, in]
        return torch.rsqrt(styles.float().pow(2) @ energy.t() + eps)  # [N, out]


def channel_dot(a, b):
    """sum over H and W of a * b, [N, C]: one pass as a batched dot product when both are NCHW."""
    n, c = a.shape[:2]
    if a.is_contiguous() and b.is_contiguous():
        return torch.bmm(a.reshape(n * c, 1, -1), b.reshape(n * c, -1, 1)).reshape(n, c)
    return (a * b).sum((2, 3))


class _ChannelScale(torch.autograd.Function):
    """x * s[:, :, None, None]; backward in two passes over x (autograd's generic one takes three)."""

    @staticmethod
    def forward(ctx, x, s):
        ctx.save_for_backward(x, s)
        return x * s[:, :, None, None]

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        x, s = ctx.saved_tensors
        gx = g * s[:, :, None, None] if ctx.needs_input_grad[0] else None
        return gx, channel_dot(g, x) if ctx.needs_input_grad[1] else None


def modulate(x, styles):
    """Scale input channels by the per-sample styles (the modulation half of the paper's
    weight modulation; the convolution itself stays shared by the whole batch)."""
    return _ChannelScale.apply(x, styles.to(x.dtype))


class _Epilogue(torch.autograd.Function):
    """lrelu(y * scale + shift), clamped: three passes forward, five backward (autograd's
    generic chain takes eight and allocates a tensor for each), saving only y and the output."""

    @staticmethod
    def forward(ctx, y, scale, shift, clamp):
        t = torch.addcmul(shift, y, scale[:, :, None, None], out=torch.empty_like(y))  # y's layout, not shift's
        F.leaky_relu_(t, LRELU_SLOPE)
        if clamp is not None:
            t.clamp_(-clamp, clamp)
        ctx.save_for_backward(y, scale, t)
        ctx.clamp, ctx.shift_shape = clamp, shift.shape
        return t

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        y, scale, t = ctx.saved_tensors
        aten = torch.ops.aten
        # one fresh buffer, then in place: large allocations cost page faults on every step
        if ctx.clamp is not None:  # the output is strictly inside the bounds exactly where the input was
            g = aten.hardtanh_backward(g, t, -ctx.clamp, ctx.clamp)
            aten.leaky_relu_backward.grad_input(g, t, LRELU_SLOPE, True, grad_input=g)
        else:
            g = aten.leaky_relu_backward(g, t, LRELU_SLOPE, True)  # sign of the output = sign of the input
        need = ctx.needs_input_grad
        g_scale = channel_dot(g, y) if need[1] else None
        g_shift = None
        if need[2]:  # (sum_to_size returns g itself when nothing is summed: copy it before g.mul_)
            g_shift = g.clone() if tuple(ctx.shift_shape) == tuple(g.shape) else g.sum_to_size(ctx.shift_shape)
        return g.mul_(scale[:, :, None, None]) if need[0] else None, g_scale, g_shift, None


def styled_epilogue(y, scale, shift, clamp=None):
    """lrelu(y * scale + shift) clamped to +-clamp.

    scale [N, C] folds demodulation and the activation gain; shift (broadcastable to y) folds
    bias and noise times that gain, which is exact because a leaky ReLU is positively
    homogeneous (lrelu(k x) = k lrelu(x) for k > 0)."""
    return _Epilogue.apply(y, scale.to(y.dtype), shift.to(y.dtype), clamp)


def rgb_projection(x, weight, styles):
    """1x1 modulated convolution without demodulation, as a batched matmul with per-sample
    weights [N, out, in]: for the 3 RGB outputs that is far cheaper than scaling the input."""
    n, c, h, w = x.shape
    wn = weight[:, :, 0, 0].to(x.dtype)[None] * styles.to(x.dtype)[:, None, :]
    return torch.bmm(wn, x.reshape(n, c, h * w)).reshape(n, -1, h, w)
