"""A flat folder of face images (the CelebA `img_align_celeba` layout works as is), centre-cropped
to a square and resized to 64x64, as tensors in [-1, 1]. Files are read by imagefile: FIFOs, devices,
bombs and unreadable files are skipped with one warning naming them."""
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import imagefile

from .errors import DataError

MAX_PIXELS = 40_000_000   # an image of the folder; larger ones (and decompression bombs) are skipped, named

EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def scan(folder, min_size=64):
    """Readable images of at least min_size px on the short side; warns about the rest."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"data folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTS)
    if not files:
        raise DataError(f"no images (.jpg/.png/...) in {folder}")
    good, bad, small = [], [], []
    for p in files:
        try:
            size = imagefile.probe(p, p.name, MAX_PIXELS)   # a regular file, bounded, checked without decoding
        except imagefile.ImageFileError as e:
            bad.append((p, str(e)))
            continue
        (small if min(size) < min_size else good).append(p)
    if bad:
        warnings.warn(f"skipping {len(bad)} unreadable file(s): {'; '.join(why for _, why in bad[:3])}")
    if small:
        warnings.warn(f"skipping {len(small)} image(s) smaller than {min_size}px: {', '.join(p.name for p in small[:5])}")
    if not good:
        why = f" ({bad[0][1]})" if bad else ""
        raise DataError(f"no usable images in {folder}: {len(bad)} unreadable, {len(small)} smaller than "
                        f"{min_size}px{why}")
    return good


def load_image(path, size=64):
    im = imagefile.read_rgb(path, Path(path).name, MAX_PIXELS)
    w, h = im.size
    s = min(w, h)
    im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((size, size), Image.BICUBIC)
    return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float() / 127.5 - 1


class ImageFolder(torch.utils.data.Dataset):
    def __init__(self, folder, size=64):
        self.files, self.size = scan(folder, size), size

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return load_image(self.files[i], self.size)
