"""GAN inversion: project an image into W, then W+, then pivotal tuning (PTI).

Projection (after the StyleGAN2 paper's projector, written from its description): Adam on the
latent, started at w_avg, with a learning-rate ramp (linear warm-up, cosine ramp-down), Gaussian
noise added to the latent early on (decaying to zero), and the per-layer noise maps optimised
too under a multi-scale autocorrelation penalty so they cannot absorb the image. W first (one
w for all layers), then W+ (one per layer) from the W result.

PTI (Roich et al. 2022): keep the W+ pivot fixed and fine-tune a copy of the generator so it
reproduces the photo exactly, with a locality regulariser: at latents between the pivot and
random w, the tuned generator must still produce what the original one did.

Loss: LPIPS is used when the `lpips` package and its weights are installed; otherwise (the
offline default here) a multi-scale image loss, L1 + L2 on a 4-level Gaussian pyramid, which
needs no download. Face photos are centre-cropped to a square (or to a crop box) and resized to
the model's resolution.
"""
import copy
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from .util import LatentError, require_mapping

MAX_PIXELS = 40_000_000


def load_image(path_or_image, shape, box=None):
    """PIL/path -> [1, 3, H, W] in [-1, 1] for `shape` (H, W) or an int (square): RGB, crop to the
    shape's aspect (centre, within `box` if given), resize."""
    try:
        im = path_or_image if isinstance(path_or_image, Image.Image) else Image.open(path_or_image)
        im.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise LatentError(f"cannot read the image: not an image file or corrupt ({type(e).__name__})") from None
    if im.width * im.height > MAX_PIXELS:
        raise LatentError(f"the image is {im.width}x{im.height}; at most {MAX_PIXELS // 1_000_000} MP is accepted")
    if im.mode in ("RGBA", "LA", "P"):  # transparent areas become white, not black
        bg = Image.new("RGB", im.size, (255, 255, 255))
        bg.paste(im.convert("RGBA"), mask=im.convert("RGBA").split()[-1])
        im = bg
    im = im.convert("RGB")
    if box is not None:
        x0, y0, x1, y1 = box
        if not (0 <= x0 < x1 <= im.width and 0 <= y0 < y1 <= im.height):
            raise LatentError(f"crop box {box} is outside the {im.width}x{im.height} image")
        im = im.crop(box)
    H, W = (shape, shape) if isinstance(shape, int) else (int(shape[0]), int(shape[1]))
    cw, ch = min(im.width, im.height * W // H), min(im.height, im.width * H // W)   # largest box of aspect W:H
    x0, y0 = (im.width - cw) // 2, (im.height - ch) // 2
    im = im.crop((x0, y0, x0 + cw, y0 + ch)).resize((W, H), Image.LANCZOS)
    return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)[None].float() / 127.5 - 1


def psnr(a, b):
    """PSNR in dB of images in [-1, 1] (after quantising to 8 bits, as a saved PNG would be)."""
    q = lambda x: ((x.clamp(-1, 1) + 1) * 127.5).round()
    mse = (q(a) - q(b)).square().mean().item()
    return float("inf") if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def _pyramid(x, levels=4):
    out = [x]
    for _ in range(levels - 1):
        x = F.avg_pool2d(x, 2) if x.shape[-1] >= 8 else x
        out.append(x)
    return out


class ImageLoss:
    """LPIPS when available with its weights, else multi-scale L1 + L2 (documented fallback)."""

    def __init__(self, device):
        self.name = "multiscale-l1-l2"
        self.lpips = None
        try:
            import lpips  # noqa: F401
            self.lpips = lpips.LPIPS(net="vgg", verbose=False).to(device).eval().requires_grad_(False)
            self.name = "lpips-vgg + l2"
        except Exception:  # not installed, or its weights cannot be fetched offline
            self.lpips = None

    def __call__(self, x, y):
        loss = sum((a - b).abs().mean() + (a - b).square().mean() for a, b in zip(_pyramid(x), _pyramid(y)))
        if self.lpips is not None:
            up = lambda t: F.interpolate(t, size=max(64, t.shape[-1]), mode="bilinear", align_corners=False)
            loss = loss + self.lpips(up(x), up(y)).mean()
        return loss


def _noise_reg(noises):
    """Multi-scale autocorrelation of the noise maps (they should stay white noise)."""
    reg = 0.0
    for n in noises:
        x = n[None, None]
        while True:
            reg = reg + (x * torch.roll(x, 1, dims=3)).mean() ** 2 + (x * torch.roll(x, 1, dims=2)).mean() ** 2
            if x.shape[-1] <= 8:
                break
            x = F.avg_pool2d(x, 2)
    return reg


def project(G, target, space="w", steps=200, lr=0.1, init=None, noise_weight=1e4, progress=None, loss_fn=None):
    """Optimise a W ([1, w_dim], broadcast) or W+ ([1, num_ws, w_dim]) latent to reproduce target.

    Works on a copy of G (its noise maps are optimised); returns (ws [1, num_ws, w_dim], G_copy)."""
    require_mapping(G)
    if space not in ("w", "w+"):
        raise LatentError(f"space must be 'w' or 'w+', got {space!r}")
    dev = next(G.parameters()).device
    Gc = copy.deepcopy(G).eval().requires_grad_(False)
    loss_fn = loss_fn or ImageLoss(dev)
    target = target.to(dev)
    with torch.no_grad():  # the spread of w sets the size of the exploration noise
        w_samples = G.mapping(torch.randn(2000, G.z_dim, device=dev))[:, 0]
        w_std = (w_samples - G.mapping.w_avg).square().sum(1).mean().sqrt().item()
    if init is None:
        init = G.mapping.w_avg[None, None].repeat(1, G.num_ws, 1)
    w = (init[:, 0].clone() if space == "w" else init.clone()).detach().requires_grad_(True)
    noises = [torch.randn_like(n).requires_grad_(True) for n in Gc.synthesis.noise_maps()]
    Gc.synthesis.set_noise_maps(noises)
    opt = torch.optim.Adam([w] + noises, lr=lr, betas=(0.9, 0.999))
    for i in range(steps):
        t = i / max(1, steps - 1)
        ramp = min(1.0, (1 - t) / 0.25)
        ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
        ramp *= min(1.0, t / 0.05)
        for g in opt.param_groups:
            g["lr"] = lr * ramp
        wn = w + torch.randn_like(w) * w_std * 0.05 * max(0.0, 1 - t / 0.75) ** 2
        ws = wn[:, None].repeat(1, G.num_ws, 1) if space == "w" else wn
        img = Gc.synthesis(ws, noise_mode="const")
        loss = loss_fn(img, target) + noise_weight * _noise_reg(noises)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():  # keep noise maps at zero mean and unit variance
            for n in noises:
                n.sub_(n.mean()).div_(n.square().mean().sqrt() + 1e-8)
        if progress is not None:
            progress(i + 1, steps, float(loss))
    Gc.synthesis.set_noise_maps([n.detach() for n in noises])
    ws = w.detach()[:, None].repeat(1, G.num_ws, 1) if space == "w" else w.detach()
    return ws, Gc


def pti(G, pivot, target, steps=150, lr=3e-3, locality_weight=0.1, locality_alpha=0.3, progress=None, loss_fn=None):
    """Fine-tune a copy of G so that G(pivot) reproduces target; the pivot stays fixed.

    Locality: at w_r = pivot + alpha * (w_z - pivot) / ||w_z - pivot|| * ||...|| (a random direction),
    the tuned generator matches the original one."""
    dev = next(G.parameters()).device
    Gt = copy.deepcopy(G).train().requires_grad_(True)
    G0 = G
    loss_fn = loss_fn or ImageLoss(dev)
    params = [p for n, p in Gt.synthesis.named_parameters()]
    opt = torch.optim.Adam(params, lr=lr)
    target = target.to(dev)
    for i in range(steps):
        img = Gt.synthesis(pivot, noise_mode="const")
        loss = loss_fn(img, target)
        if locality_weight > 0:
            with torch.no_grad():
                wz = G0.mapping(torch.randn(1, G.z_dim, device=dev))
                wr = pivot + locality_alpha * (wz - pivot)
                ref = G0.synthesis(wr, noise_mode="const")
            loss = loss + locality_weight * loss_fn(Gt.synthesis(wr, noise_mode="const"), ref)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if progress is not None:
            progress(i + 1, steps, float(loss))
    return Gt.eval().requires_grad_(False)


def generator_delta(G, Gt):
    """The tensors PTI changed (tuned - original), to store next to the latent."""
    base = G.state_dict()
    return {k: (v - base[k]).contiguous() for k, v in Gt.state_dict().items()
            if v.dtype.is_floating_point and not torch.equal(v, base[k])}


def apply_delta(G, delta):
    """A copy of G with a PTI delta added (what the drag engines use to drag an inverted photo)."""
    Gt = copy.deepcopy(G)
    sd = Gt.state_dict()
    unknown = set(delta) - set(sd)
    if unknown:
        raise LatentError(f"the generator delta does not fit this model (e.g. {sorted(unknown)[:3]})")
    for k, v in delta.items():
        if v.shape != sd[k].shape:
            raise LatentError(f"the generator delta does not fit this model ({k}: {list(v.shape)} vs {list(sd[k].shape)})")
        sd[k] = sd[k] + v.to(sd[k])
    Gt.load_state_dict(sd)
    return Gt.eval().requires_grad_(False)


def invert(G, image, steps_w=150, steps_wplus=150, pti_steps=150, progress=None):
    """Full pipeline -> dict(ws, G_tuned or None, images, psnr per stage, seconds, loss name)."""
    require_mapping(G)
    shape = tuple(G.img_shape)
    target = image if isinstance(image, torch.Tensor) else load_image(image, shape)
    if tuple(target.shape[-2:]) != shape:
        raise LatentError(f"target must be {shape[0]}x{shape[1]} px (height x width)")
    dev = next(G.parameters()).device
    target = target.to(dev)
    loss_fn = ImageLoss(dev)
    t0 = time.perf_counter()
    report = {}
    ws_w, Gw = project(G, target, "w", steps_w, loss_fn=loss_fn, progress=progress and (lambda i, n, l: progress("W", i, n, l)))
    with torch.no_grad():
        report["w"] = psnr(Gw.synthesis(ws_w), target)
    ws, Gp = project(G, target, "w+", steps_wplus, init=ws_w, loss_fn=loss_fn,
                     progress=progress and (lambda i, n, l: progress("W+", i, n, l)))
    with torch.no_grad():
        recon = Gp.synthesis(ws)
        report["w+"] = psnr(recon, target)
    Gt = None
    if pti_steps:
        Gt = pti(Gp, ws, target, pti_steps, loss_fn=loss_fn,
                 progress=progress and (lambda i, n, l: progress("PTI", i, n, l)))
        with torch.no_grad():
            recon = Gt.synthesis(ws)
        report["pti"] = psnr(recon, target)
    return dict(ws=ws, G_noise=Gp, G_tuned=Gt, reconstruction=recon, target=target, psnr=report,
                seconds=time.perf_counter() - t0, loss=loss_fn.name)
