"""Images as every generator here returns them, [N, 3, H, W] floats in ~[-1, 1], turned into
8-bit pixels, and the PSNR between two of them. The one home of both: the drag engines, the
latent tools, the DCGAN, the training tools and the benchmarks import them from here."""
import math


def quantize(img):
    """[-1, 1] -> the 0..255 grid, still a float tensor (what a saved PNG would hold)."""
    return ((img.detach().float().clamp(-1, 1) + 1) * 127.5).round()


def to_uint8(img):
    """[N, C, H, W] -> [N, H, W, C] uint8 numpy; a single [C, H, W] image -> [H, W, C]."""
    if img.ndim not in (3, 4):
        raise ValueError(f"expected images [N, C, H, W] or one image [C, H, W], got shape {list(img.shape)}")
    return quantize(img).byte().movedim(-3, -1).cpu().numpy()


def psnr(a, b, quantize_first=True):
    """PSNR in dB of two images in [-1, 1] on the 0-255 scale (inf when they are equal).

    quantize_first=True compares the 8-bit images (as saved PNGs would be: the inversion numbers);
    False compares the float images as they are (the benchmarks, where two renders of the same
    latent must read as nearly identical rather than as a rounding tie)."""
    if quantize_first:
        diff = quantize(a) - quantize(b)
    else:
        diff = (a.detach().float().clamp(-1, 1) - b.detach().float().clamp(-1, 1)) * 127.5
    mse = float(diff.square().mean())
    return float("inf") if mse == 0 else 10 * math.log10(255 ** 2 / mse)
