"""The few pictures an adaptation learns from: a folder read and checked, the images made the
model's size.

Every refusal is a `ShotError` with one line that names the path. An image of another size or
aspect is not refused: it is centre-cropped to a square and resized (Lanczos) to the model's
resolution, and `read_shots` says so in its notes. Only regular files are opened: a FIFO, a device,
a broken link or a link loop (as the folder or inside it) is refused before anything reads it.

A picture is read as every other command reads a user's image (imagefile.read_rgb): upright (its
EXIF orientation applied), in its real levels (16-bit scaled, not clipped) and with transparent
areas on white. The reading comes in two stages, so that a bad folder is reported before the model
is loaded (or downloaded): `read_pictures` decodes and checks every picture (each kept as a square
of at most MAX_SIDE px until the model's resolution is known), `to_shots` makes them the model's
size; `read_shots` does both. `fingerprint` names the shots a run learnt from (a resume compares it).
"""
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import clisafe
import imagefile

EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
MIN_SHOTS, MAX_SHOTS = 3, 50
MAX_PIXELS = 40_000_000      # one picture's width x height; a larger one is refused before decoding
MAX_SIDE = 1024              # StyleGAN2's largest resolution: a picture is kept at most this size before `to_shots`


class ShotError(ValueError):
    """A folder of pictures that cannot be adapted to."""


@dataclass
class Pictures:
    """A folder's pictures, decoded and checked: file names, original sizes (w, h) and the RGB squares."""
    names: list
    sizes: list
    squares: list


def _kind(path, what):
    """clisafe.path_kind of `path`, a failing stat (a link loop, no permission) as a ShotError naming it."""
    try:
        return clisafe.path_kind(path)
    except OSError as e:
        raise ShotError(f"{what} cannot be read ({e.strerror or type(e).__name__})") from None


def _entries(folder):
    """The folder's entries, sorted by name (ShotError when it cannot be listed)."""
    try:
        return sorted(Path(folder).iterdir())
    except OSError as e:
        raise ShotError(f"--images {folder}: cannot be read ({e.strerror or type(e).__name__})") from None


def list_images(folder):
    """The image files of `folder`, sorted by name; refuses what is not a folder of regular files (a FIFO, a
    device, a broken link or a link loop with an image's name inside it too). Sub-folders are skipped."""
    folder = Path(folder)
    kind = _kind(folder, f"--images {folder}:")
    if kind is None:
        raise ShotError(f"--images {folder}: no such folder")
    if kind == "file":
        raise ShotError(f"--images {folder}: is a file; give the folder that holds the pictures")
    if kind != "folder":
        raise ShotError(f"--images {folder}: is {kind}, not a folder of images")
    files = []
    for p in _entries(folder):
        if p.name.startswith(".") or p.suffix.lower() not in EXTENSIONS:
            continue
        kind = _kind(p, f"--images: {p}")
        if kind is None:
            raise ShotError(f"--images: {p} is a broken link (nothing is there); remove it or make it point to a "
                            f"picture")
        if kind not in ("file", "folder"):
            raise ShotError(f"--images: {p} is {kind}, not an image file")
        if kind == "file":
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


def square(img, res=None):
    """RGB PIL image, centre-cropped to a square, resized to res x res (None: kept, at most MAX_SIDE)."""
    w, h = img.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    img = img.crop((left, top, left + s, top + s))
    res = res or min(s, MAX_SIDE)
    return img if s == res else img.resize((res, res), Image.LANCZOS)


def read_picture(path):
    """(the RGB square of picture file `path`, at most MAX_SIDE px; its original (w, h)), read by
    imagefile.read_rgb; ShotError naming the file when it cannot be read."""
    try:
        img = imagefile.read_rgb(path, "the file", MAX_PIXELS)
    except imagefile.ImageFileError as e:
        raise ShotError(f"--images: {path} is not a readable image ({clisafe.one_line(e)})") from None
    return square(img), img.size


def read_pictures(folder):
    """Every picture of `folder` decoded and checked (Pictures): what can be known before the model is."""
    files = list_images(folder)
    read = [read_picture(p) for p in files]
    return Pictures([p.name for p in files], [size for _, size in read], [img for img, _ in read])


def to_shots(pictures, res):
    """(images [N, 3, res, res] in [-1, 1], file names, notes): `pictures` at the model's resolution."""
    imgs = [torch.from_numpy(np.asarray(square(img, res), dtype=np.float32)).permute(2, 0, 1) / 127.5 - 1
            for img in pictures.squares]
    reshaped = [f"{name} {w}x{h}" for name, (w, h) in zip(pictures.names, pictures.sizes) if (w, h) != (res, res)]
    notes = []
    if reshaped:
        verb = "is" if len(reshaped) == 1 else "are"
        notes.append(f"{len(reshaped)} of {len(pictures.names)} images {verb} not {res}x{res} "
                     f"({', '.join(reshaped[:3])}{', ...' if len(reshaped) > 3 else ''}): each is centre-cropped to "
                     f"a square, then resized to {res}x{res}")
    return torch.stack(imgs), list(pictures.names), notes


def read_shots(folder, res):
    """(images [N, 3, res, res] in [-1, 1], file names, notes): the pictures of `folder`."""
    return to_shots(read_pictures(folder), res)


def fingerprint(shots):
    """A short hash of the shots tensor's values: which pictures, decoded and sized, a run learns from."""
    data = shots.detach().float().contiguous().cpu().numpy().tobytes()
    return hashlib.sha256(data).hexdigest()[:16]
