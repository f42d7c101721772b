"""The few pictures an adaptation learns from: a folder read and checked, the images made the
model's size.

Every refusal is a `ShotError` with one line that names the path. An image of another size or
aspect is not refused: it is centre-cropped to a square and resized (Lanczos) to the model's
resolution, and `read_shots` says so in its notes. Only regular files are opened: a FIFO or a
device (as the folder or inside it) is refused before anything reads it.
"""
import os
import stat
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
MIN_SHOTS, MAX_SHOTS = 3, 50
MAX_PIXELS = 40_000_000      # one picture's width x height; a larger one is refused before decoding


class ShotError(ValueError):
    """A folder of pictures that cannot be adapted to."""


def _kind(mode):
    return "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) \
        else "a socket" if stat.S_ISSOCK(mode) else None


def list_images(folder):
    """The image files of `folder`, sorted by name; refuses what is not a folder of regular files."""
    folder = Path(folder)
    try:
        mode = os.stat(folder).st_mode
    except FileNotFoundError:
        raise ShotError(f"--images {folder}: no such folder") from None
    except OSError as e:
        raise ShotError(f"--images {folder}: cannot be read ({e.strerror})") from None
    if _kind(mode):
        raise ShotError(f"--images {folder}: is {_kind(mode)}, not a folder of images")
    if not stat.S_ISDIR(mode):
        raise ShotError(f"--images {folder}: is a file; give the folder that holds the pictures")
    files = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.suffix.lower() not in EXTENSIONS:
            continue
        kind = _kind(os.stat(p).st_mode)
        if kind:
            raise ShotError(f"--images: {p} is {kind}, not an image file")
        if p.is_file():
            files.append(p)
    if not files:
        raise ShotError(f"--images {folder}: no images in the folder (looked for {', '.join(EXTENSIONS)})")
    if len(files) < MIN_SHOTS:
        raise ShotError(f"--images {folder}: {len(files)} image{'s' * (len(files) != 1)}; adaptation needs at "
                        f"least {MIN_SHOTS} (5-{MAX_SHOTS} work best)")
    if len(files) > MAX_SHOTS:
        raise ShotError(f"--images {folder}: {len(files)} images; few-shot adaptation takes at most {MAX_SHOTS} "
                        f"(pick the ones that show the kind of image best)")
    return files


def square(img, res):
    """PIL image -> RGB, centre-cropped to a square, resized to res x res."""
    img = img.convert("RGB")
    w, h = img.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    img = img.crop((left, top, left + s, top + s))
    return img if s == res else img.resize((res, res), Image.LANCZOS)


def read_shots(folder, res):
    """(images [N, 3, res, res] in [-1, 1], file names, notes): the pictures of `folder`."""
    files = list_images(folder)
    imgs, reshaped = [], []
    for p in files:
        try:
            with Image.open(p) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise ShotError(f"--images: {p} is {im.width}x{im.height}, more than {MAX_PIXELS // 1_000_000} "
                                    f"megapixels")
                if im.size != (res, res):
                    reshaped.append(f"{p.name} {im.width}x{im.height}")
                a = np.asarray(square(im, res), dtype=np.float32)
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
            if isinstance(e, ShotError):
                raise
            raise ShotError(f"--images: {p} is not a readable image ({type(e).__name__})") from None
        imgs.append(torch.from_numpy(a).permute(2, 0, 1) / 127.5 - 1)
    notes = []
    if reshaped:
        verb = "is" if len(reshaped) == 1 else "are"
        notes.append(f"{len(reshaped)} of {len(files)} images {verb} not {res}x{res} "
                     f"({', '.join(reshaped[:3])}{', ...' if len(reshaped) > 3 else ''}): each is centre-cropped to "
                     f"a square, then resized to {res}x{res}")
    return torch.stack(imgs), [p.name for p in files], notes
