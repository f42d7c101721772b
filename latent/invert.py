"""GAN inversion of a photo: W projection, refined in W+, then pivotal tuning (PTI).

    image --project(W)--> w --project(W+, from w)--> pivot --pti--> tuned generator

The stages live in `projection.py` (StyleGAN2 paper) and `pti.py` (Roich et al.); this module
owns the pipeline around them: reading photos (`load_photo`; `load_image` centre-crops one to the
model's aspect and resizes it, when it is not aligned by `align.py`), PSNR as a saved PNG would
score, and the generator delta that stores what inversion changed in the weights and noise maps
next to the latent.
"""
import copy
import time

import numpy as np
import torch
from PIL import Image

import imagefile
from stylegan.imageops import psnr
from stylegan.precision import choose

from .losses import ImageLoss, make_loss
from .projection import project
from .pti import pti
from .util import LatentError, require_mapping

MAX_PIXELS = 40_000_000


def load_photo(path_or_image):
    """PIL/path -> an RGB PIL image, read by imagefile (a regular file only, pixels bounded, EXIF upright,
    16-bit and CMYK in their real levels, transparency on white)."""
    try:
        if isinstance(path_or_image, Image.Image):
            if path_or_image.width * path_or_image.height > MAX_PIXELS:
                raise LatentError(f"the image is {path_or_image.width}x{path_or_image.height}; "
                                  f"at most {MAX_PIXELS // 1_000_000} MP is accepted")
            im = imagefile.to_rgb(imagefile.normalise(path_or_image))
        else:
            im = imagefile.read_rgb(path_or_image, "the photo", MAX_PIXELS)
    except imagefile.ImageFileError as e:
        raise LatentError(str(e)) from None
    return im


def _hw(shape):
    """(H, W) of a shape given as (H, W) or as an int (square)."""
    return (shape, shape) if isinstance(shape, int) else (int(shape[0]), int(shape[1]))


def centre_crop(size, shape, box=None):
    """(x0, y0, x1, y1): the part of a picture of `size` (width, height) that `load_image` resizes to `shape`
    (H, W) or an int (square): the largest centred box of the shape's aspect, within `box` if given. A part
    narrower than a quarter of the shape (a 1x1 picture, a tiny crop box) is refused: upscaled that much it
    holds nothing to invert."""
    width, height = size
    x0, y0, x1, y1 = box if box is not None else (0, 0, width, height)
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise LatentError(f"crop box {box} is outside the {width}x{height} image")
    H, W = _hw(shape)
    w, h = x1 - x0, y1 - y0
    cw, ch = min(w, h * W // H), min(h, w * H // W)   # largest box of aspect W:H
    if cw * 4 < W or ch * 4 < H:
        raise LatentError(f"the picture{' in the crop box' if box is not None else ''} is {w}x{h} px: too small to "
                          f"invert at the model's {W}x{H} (at least {-(-W // 4)}x{-(-H // 4)} px of that aspect); use "
                          f"a larger picture")
    x0, y0 = x0 + (w - cw) // 2, y0 + (h - ch) // 2
    return x0, y0, x0 + cw, y0 + ch


def upscale_note(size, shape, box=None):
    """A sentence when the part of a picture of `size` that `load_image` uses (`centre_crop`, which refuses one far
    too small) is enlarged to `shape`, else None."""
    H, W = _hw(shape)
    x0, y0, x1, y1 = centre_crop(size, shape, box)
    w, h = x1 - x0, y1 - y0
    if w >= W and h >= H:
        return None
    return f"the picture used is {w}x{h} px, upscaled {W / w:.1f}x to the model's {W}x{H}: a larger one inverts sharper"


def load_image(path_or_image, shape, box=None):
    """PIL/path -> [1, 3, H, W] in [-1, 1] for `shape` (H, W) or an int (square): the photo
    (`load_photo`), cropped to the shape's aspect (`centre_crop`: centre, within `box` if given), resized."""
    im = load_photo(path_or_image)
    H, W = _hw(shape)
    im = im.crop(centre_crop(im.size, (H, W), box)).resize((W, H), Image.LANCZOS)
    return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)[None].float() / 127.5 - 1


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



def _stage_progress(progress, stage):
    return None if progress is None else (lambda i, n, loss: progress(stage, i, n, loss))


# The defaults, chosen on held-out real photos (benchmarks.real_photos; the candidates that lost are in
# docs/benchmarks.md): short W and W+ stages give the pivot, PTI does the rest with a plain L2 loss and
# the constant noise maps tuned beside the weights, its locality probe on every other step.
STEPS_W, STEPS_WPLUS, PTI_STEPS = 25, 25, 100
PTI_LOSS, PTI_LR, PTI_NOISE_LR, PTI_LOCALITY = "l2", 3e-3, 0.02, 0.1
PTI_NOISE_WEIGHT, PTI_NOISE_MIN_RES, PTI_LOCALITY_EVERY = 0.0, 0, 2


def check_steps(steps_w, steps_wplus, pti_steps):
    """An inversion needs steps in at least one stage: with none, the "reconstruction" is the model's average face
    (about 9 dB on a photo), not the photo. -> LatentError, said before any work."""
    if not (steps_w or steps_wplus or pti_steps):
        raise LatentError("every stage has 0 steps: the reconstruction would be the model's average face, not the "
                          "photo; give steps to the W, W+ or PTI stage")


def invert(G, image, steps_w=STEPS_W, steps_wplus=STEPS_WPLUS, pti_steps=PTI_STEPS, progress=None, precision=None,
           pti_loss=PTI_LOSS, noise_lr=PTI_NOISE_LR, locality_weight=PTI_LOCALITY, noise_weight=PTI_NOISE_WEIGHT,
           noise_min_res=PTI_NOISE_MIN_RES, seed=0, locality_every=PTI_LOCALITY_EVERY, pti_lr=PTI_LR,
           noise_max_res=None):
    """Run the pipeline on a path, PIL image or [1, 3, res, res] tensor in [-1, 1].

    Returns dict(ws, G_noise (G with the projected noise maps), G_tuned (or None without PTI),
    reconstruction, target, psnr per stage, seconds (stage_seconds: cumulative
    at the end of each stage; cpu_seconds: the process's CPU time), loss name, precision).
    progress(stage, i, n, loss); precision: a stylegan.precision.Precision for the synthesis passes
    (default float32). pti_loss ('l2' or 'multiscale', latent.losses.make_loss), noise_lr (0: the
    noise maps stay as projected), noise_weight (the whiteness penalty on the tuned maps), noise_min_res /
    noise_max_res (only maps of at least / at most this size are tuned), pti_lr (the weights'), locality_weight
    and locality_every (probe on every k-th step) are PTI's settings. `seed` fixes every random draw
    (the projections' start maps and jitter, PTI's locality probes): the same photo, seed and thread count give
    the same latent and generator."""
    require_mapping(G)
    check_steps(steps_w, steps_wplus, pti_steps)   # the CLI and the app say it before loading the model
    shape = tuple(G.img_shape)
    target = image if isinstance(image, torch.Tensor) else load_image(image, shape)
    if tuple(target.shape[-2:]) != shape:
        raise LatentError(f"target must be {shape[0]}x{shape[1]} px (height x width)")
    target = target.to(G.device)
    loss_fn = ImageLoss(G.device)
    started, cpu_started = time.perf_counter(), time.process_time()
    scores, seconds = {}, {}
    precision = precision or choose("fp32", G.device)
    ws_w, G_w = project(G, target, "w", steps_w, loss_fn=loss_fn, progress=_stage_progress(progress, "W"),
                        precision=precision, seed=seed)
    with torch.no_grad():
        scores["w"] = psnr(G_w.synthesis(ws_w), target)
    seconds["w"] = time.perf_counter() - started
    pivot, G_noise = project(G, target, "w+", steps_wplus, init=ws_w, loss_fn=loss_fn,
                             progress=_stage_progress(progress, "W+"), precision=precision, seed=seed + 1)
    with torch.no_grad():
        recon = G_noise.synthesis(pivot)
    scores["w+"] = psnr(recon, target)
    seconds["w+"] = time.perf_counter() - started
    G_tuned = None
    if pti_steps:
        tune_loss = make_loss(pti_loss, G.device)
        G_tuned = pti(G_noise, pivot, target, pti_steps, loss_fn=tune_loss, progress=_stage_progress(progress, "PTI"),
                      precision=precision, noise_lr=noise_lr, locality_weight=locality_weight,
                      noise_weight=noise_weight, noise_min_res=noise_min_res, seed=seed + 2, lr=pti_lr,
                      noise_max_res=noise_max_res,
                      locality_every=locality_every)
        with torch.no_grad():
            recon = G_tuned.synthesis(pivot)
        scores["pti"] = psnr(recon, target)
        seconds["pti"] = time.perf_counter() - started
    loss = loss_fn.name if not pti_steps else f"{loss_fn.name} (W, W+); {tune_loss.name} (PTI)"
    if pti_steps and noise_lr > 0:
        loss += ", noise maps tuned"
    return dict(ws=pivot, ws_w=ws_w, G_w=G_w, G_noise=G_noise, G_tuned=G_tuned, reconstruction=recon, target=target,
                psnr=scores, seconds=time.perf_counter() - started, stage_seconds=seconds, loss=loss,
                cpu_seconds=time.process_time() - cpu_started,
                precision=precision.name)
