"""A flat folder of face images (the CelebA `img_align_celeba` layout works as is), centre-cropped
to a square and resized to 64x64, as tensors in [-1, 1]."""
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from .errors import DataError

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
            with Image.open(p) as im:
                im.verify()
            with Image.open(p) as im:
                (small if min(im.size) < min_size else good).append(p)
        except (UnidentifiedImageError, OSError, SyntaxError):
            bad.append(p)
    if bad:
        warnings.warn(f"skipping {len(bad)} unreadable file(s): {', '.join(p.name for p in bad[:5])}")
    if small:
        warnings.warn(f"skipping {len(small)} image(s) smaller than {min_size}px: {', '.join(p.name for p in small[:5])}")
    if not good:
        raise DataError(f"no usable images in {folder}: {len(bad)} unreadable, {len(small)} smaller than {min_size}px")
    return good


def load_image(path, size=64):
    im = Image.open(path).convert("RGB")
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
