"""The generator's learnable layers: equalised-lr linear maps and the three kinds of synthesis
convolution (styled 3x3, to-RGB 1x1, and the resnet shortcut).

Equalised learning rate (Karras et al. 2018): weights are stored at unit variance and scaled
by 1/sqrt(fan_in) at run time, so Adam's per-parameter step means the same for every layer.
"""
import math
import threading
from contextlib import contextmanager

import torch
from torch import nn
import torch.nn.functional as F

from .ops import (LRELU_GAIN, LRELU_SLOPE, demod_scale, modulate, rgb_projection, styled_epilogue, up_conv3x3,
                  upsample2x, weight_energy)

NOISE_MODES = ("const", "random", "none")


_UNDRAWN = threading.local()   # inside `undrawn()`: tensors are allocated, not drawn (their values come next)


@contextmanager
def undrawn():
    """Layers built inside allocate their parameters and noise maps without drawing them: for a network whose
    every tensor is loaded right after (stylegan.convert.build). Pages never written are never resident, so
    a loaded network costs one copy of its weights, not two."""
    _UNDRAWN.on = True
    try:
        yield
    finally:
        _UNDRAWN.on = False


def _randn(shape):
    return torch.empty(shape) if getattr(_UNDRAWN, "on", False) else torch.randn(shape)


def learnable(*shape, fill=None):
    """A parameter drawn from N(0, 1) (equalised lr stores weights at unit scale) or filled with `fill`."""
    return nn.Parameter(_randn(shape) if fill is None else torch.full(shape, float(fill)))


class ScaledLinear(nn.Module):
    """y = x W^T g + b m, with g = lr_mul / sqrt(fan_in); optional leaky ReLU (gain sqrt 2)."""

    def __init__(self, fan_in, fan_out, lr_mul=1.0, lrelu=False, bias_init=0.0):
        super().__init__()
        self.weight = learnable(fan_out, fan_in)
        with torch.no_grad():
            self.weight /= lr_mul  # stored larger so that lr_mul slows its learning (mapping: 0.01)
        self.bias = learnable(fan_out, fill=bias_init)
        self.gain, self.lr_mul, self.lrelu = lr_mul / math.sqrt(fan_in), lr_mul, lrelu

    def forward(self, x):
        y = F.linear(x, self.weight * self.gain, self.bias * self.lr_mul)
        return F.leaky_relu(y, LRELU_SLOPE) * LRELU_GAIN if self.lrelu else y


class ModConv(nn.Module):
    """Modulated 3x3 convolution (optionally up-sampling 2x), demodulated, plus per-pixel
    noise and a bias, then a leaky ReLU and the optional clamp (paper Fig. 2c-d)."""

    def __init__(self, c_in, c_out, w_dim, shape, up=False, use_noise=True, clamp=None):
        super().__init__()
        self.up, self.clamp = up, clamp
        self.style = ScaledLinear(w_dim, c_in, bias_init=1.0)
        self.weight, self.bias = learnable(c_out, c_in, 3, 3), learnable(c_out, fill=0)
        self.use_noise = use_noise
        if use_noise:
            self.noise_scale = learnable(fill=0)
            self.register_buffer("noise", _randn(shape))  # the fixed map of noise_mode 'const'

    def _noise_map(self, y, noise_mode, box=None):
        """The noise added to y before its scale (box: y's window of the map), or None without noise."""
        if not self.use_noise or noise_mode == "none":
            return None
        if noise_mode == "random":
            return torch.randn(y.shape[0], 1, *y.shape[2:], device=y.device, dtype=torch.float32)
        return self.noise if box is None else self.noise[(..., *box.slices())]

    def _shift(self, y, noise_mode, gain, box=None):
        """Bias plus noise, times the activation gain, broadcastable to y (box: y's window of the map)."""
        b = self.bias[:, None, None]
        n = self._noise_map(y, noise_mode, box)
        return b * gain if n is None else (n * self.noise_scale + b) * gain

    def _derived(self, dtype):
        """(the up-sampling weight transposed in `dtype` or None, weight_energy): what every pass derives from
        the weight alone, kept while the weight is frozen and unchanged (a drag's steps, an inversion's)."""
        w = self.weight
        if w.requires_grad and torch.is_grad_enabled():   # training: derived afresh, in the graph
            return None, None
        key = (w._version, w.data_ptr(), w.device, dtype)
        kept = getattr(self, "_kept", None)
        if kept is None or kept[0] != key:
            with torch.no_grad():
                if self.up and not w.requires_grad and dtype == w.dtype and not w.transpose(0, 1).is_contiguous():
                    # a frozen weight is held in the layout the up-sampling convolution reads: the same values
                    # and shape, and the transposed weight below is a view of it, not a second copy
                    w.data = w.transpose(0, 1).contiguous().transpose(0, 1)
                    key = (w._version, w.data_ptr(), w.device, dtype)
                t = w.to(dtype).transpose(0, 1).contiguous() if self.up else None
                kept = (key, t, weight_energy(w))
            self._kept = kept
        return kept[1], kept[2]

    def forward(self, x, w, fir, noise_mode="const", gain=1.0, window=None):
        """window (stylegan.windows): (the box x covers, the box of the output wanted), both boxes of the
        map; x is then convolved without padding (the zeros past the map's edge are already in it)."""
        with torch.autocast(x.device.type, enabled=False):  # tiny, and feeds the fp32 demodulation
            s = self.style(w.float())
        x = modulate(x, s)
        w_conv = self.weight.to(x.dtype)
        transposed, energy = self._derived(x.dtype)
        pad = 1 if window is None else 0
        y = up_conv3x3(x, w_conv, fir, pad, transposed) if self.up else F.conv2d(x, w_conv, padding=pad)
        box = None
        fresh = not torch.is_grad_enabled() and y.dtype == torch.float32   # a pass without gradients, in fp32
        if window is not None:
            have, box = window
            oy, ox = (2 * have.top + 1, 2 * have.left + 1) if self.up else (have.top + 1, have.left + 1)
            y = y[..., box.top - oy:box.bottom - oy, box.left - ox:box.right - ox]
            y = y if fresh else y.contiguous()
        k = LRELU_GAIN * gain
        clamp = None if self.clamp is None else self.clamp * gain
        scale = demod_scale(s, self.weight, energy=energy) * k
        if fresh:
            return self._epilogue_fresh(y, scale, noise_mode, k, box, clamp)
        return styled_epilogue(y, scale, self._shift(y, noise_mode, k, box), clamp)

    def _epilogue_fresh(self, y, scale, noise_mode, gain, box, clamp):
        """`styled_epilogue` without gradients in fp32, one map fewer: the per-pixel shift (bias plus noise, times
        the gain) is written into the output's buffer and the rest applied there in place (the same operations
        on the same values, so the same result; y may be a window's view, never copied)."""
        out = torch.empty(y.shape, dtype=y.dtype, device=y.device)
        n = self._noise_map(y, noise_mode, box)
        if n is None:
            torch.addcmul(self.bias[:, None, None] * gain, y, scale[:, :, None, None], out=out)
        else:
            noise = (n * self.noise_scale).expand(y.shape[0], 1, *y.shape[2:])
            torch.add(noise, self.bias[None, :, None, None], out=out).mul_(gain)
            torch.addcmul(out, y, scale[:, :, None, None], out=out)
        F.leaky_relu_(out, LRELU_SLOPE)
        return out if clamp is None else out.clamp_(-clamp, clamp)


class RGBHead(nn.Module):
    """Modulated 1x1 convolution to image channels; no demodulation, no activation."""

    def __init__(self, c_in, c_img, w_dim, clamp=None):
        super().__init__()
        self.clamp = clamp
        self.style = ScaledLinear(w_dim, c_in, bias_init=1.0)
        self.weight, self.bias = learnable(c_img, c_in, 1, 1), learnable(c_img, fill=0)
        self.gain = 1 / math.sqrt(c_in)

    def forward(self, x, w):
        with torch.autocast(x.device.type, enabled=False):
            s = self.style(w.float()) * self.gain
        y = rgb_projection(x, self.weight, s).float() + self.bias[:, None, None]  # the image sums in fp32
        return y if self.clamp is None else y.clamp(-self.clamp, self.clamp)


class ShortcutUp(nn.Module):
    """The resnet shortcut: a bias-free 1x1 convolution, then 2x FIR up-sampling."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.weight = learnable(c_out, c_in, 1, 1)
        self.gain = 1 / math.sqrt(c_in)

    def forward(self, x, fir, gain=1.0):
        return upsample2x(F.conv2d(x, self.weight.to(x.dtype) * (self.gain * gain)), fir)
