"""Reading an image file a user gives (a photo to invert, a mask, a DCGAN training image), the one
place that knows the file's pitfalls:

- only a regular file is opened (a FIFO would block forever, a device never ends);
- the pixel count is read from the header and refused above `max_pixels` before decoding (a
  decompression bomb of a few KB), and Pillow's own bomb error becomes the same refusal;
- a PNG whose compressed text chunk is larger than Pillow accepts (a 3 MB comment) is still an
  image: its text chunks are dropped and it is read again;
- EXIF orientation is applied (a phone photo stands up as it was taken);
- every mode comes out in its real levels: 16-bit grey (I;16, I) is scaled 65535 -> 255 rather
  than clipped (mid-grey stays mid-grey), float images (F) from [0, 1] or [0, 255], CMYK / YCbCr /
  LAB converted, palette and grey with alpha (P, PA, LA, RGBA) composited on a background.

`open_image` returns a loaded PIL image in L, LA, RGB or RGBA; `to_rgb` flattens it on white;
every refusal is an `ImageFileError` (a ValueError) naming the file. Importing this module raises
Pillow's limit on one decompressed PNG text chunk from 1 MB to TEXT_CHUNK_BYTES for the whole process
(the app's uploads are decoded by Gradio, through Pillow). Imports nothing of ours.
"""
import io
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from clisafe import unreadable

MAX_PIXELS = 40_000_000
TEXT_CHUNK_BYTES = 16 * 2**20   # Pillow's total for all text chunks stays 64 MB
PngImagePlugin.MAX_TEXT_CHUNK = max(PngImagePlugin.MAX_TEXT_CHUNK, TEXT_CHUNK_BYTES)
TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


class ImageFileError(ValueError):
    """An image file that cannot be used; the message names it."""


def _without_text(data):
    """PNG bytes without their text chunks (None if `data` is not a well-formed PNG)."""
    sig = b"\x89PNG\r\n\x1a\n"
    if not data.startswith(sig):
        return None
    out, i = [sig], len(sig)
    while i + 12 <= len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        kind, end = data[i + 4:i + 8], i + 12 + n
        if end > len(data):
            return None
        if kind not in TEXT_CHUNKS:
            out.append(data[i:end])
        i = end
        if kind == b"IEND":
            break
    return b"".join(out)


def _open(path, what, max_pixels, decode=True):
    """The decoded PIL image of a regular file (or bytes), its size checked from the header (below
    Pillow's own warning limit, so nothing large is ever decoded; Pillow's warning itself is not printed:
    the refusal below says it in one line). A file it refuses is closed at once (none left to the collector)."""
    im = None
    try:
        source = io.BytesIO(path) if isinstance(path, (bytes, bytearray)) else path
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(source)
        except ValueError:   # Pillow's text chunk limits: the image itself may be fine
            if isinstance(path, (bytes, bytearray)):
                data = bytes(path)
            else:
                with open(path, "rb") as f:
                    data = f.read()
            stripped = _without_text(data)
            if stripped is None:
                raise
            im = Image.open(io.BytesIO(stripped))
        if im.width * im.height > max_pixels:
            raise ImageFileError(f"{what}: the image is too large ({im.width}x{im.height} pixels, "
                                 f"at most {max_pixels:,})")
        if decode:
            im.load()
        else:
            im.verify()   # the file's structure and checksums, without decoding the pixels
        return im
    except BaseException as e:
        if im is not None:
            im.close()
        if isinstance(e, Image.DecompressionBombError):
            raise ImageFileError(f"{what} has too many pixels to be decoded safely "
                                 f"(at most {max_pixels:,} are accepted)") from None
        if isinstance(e, (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error, EOFError)) \
                and not isinstance(e, ImageFileError):
            raise ImageFileError(f"cannot read {what}: not an image file or corrupt ({type(e).__name__})") from None
        raise


def _levels(im):
    """Any Pillow mode -> L, LA, RGB or RGBA with its real levels."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        return im
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(im).astype(np.float64)
        if mode == "I" and a.size and a.max() <= 255 and a.min() >= 0:
            scale = 1.0                        # an 8-bit image stored wide
        else:
            scale = 255.0 / 65535.0            # 16-bit levels
        return Image.fromarray(np.clip(np.round(a * scale), 0, 255).astype(np.uint8), "L")
    if mode == "F":
        a = np.nan_to_num(np.asarray(im, dtype=np.float64))
        scale = 255.0 if a.size and a.max() <= 1.0 else 1.0
        return Image.fromarray(np.clip(np.round(a * scale), 0, 255).astype(np.uint8), "L")
    if mode == "1":
        return im.convert("L")
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        return im.convert("RGBA" if has_alpha else "RGB")
    if mode in ("La", "RGBa"):
        return im.convert("RGBA")
    return im.convert("RGB")   # CMYK, YCbCr, LAB, HSV


def probe(path, what=None, max_pixels=MAX_PIXELS):
    """(width, height) of an image file checked as `open_image` would, without decoding its pixels."""
    what = _regular(path, what)
    im = _open(path, what, max_pixels, decode=False)
    im.close()   # verified, not decoded: its file would stay open until collected
    return im.size


def open_image(path, what=None, max_pixels=MAX_PIXELS):
    """A user's image file (a path, or the bytes of one) -> loaded PIL image in L, LA, RGB or RGBA,
    upright (EXIF) and in its real levels; ImageFileError otherwise."""
    what = _regular(path, what)
    return normalise(_open(path, what, max_pixels))


def _regular(path, what):
    what = what or ("the image" if isinstance(path, (bytes, bytearray)) else f"image {path}")
    if not isinstance(path, (bytes, bytearray)):
        why = unreadable(path)
        if why:
            raise ImageFileError(f"{what}: {why}")
    return what


def normalise(im):
    """A decoded PIL image upright (its EXIF orientation applied) and in L, LA, RGB or RGBA."""
    try:
        im = ImageOps.exif_transpose(im) or im
    except (ValueError, TypeError, OSError, SyntaxError, struct.error):
        pass   # unreadable EXIF: the pixels as stored
    return _levels(im)


def to_rgb(im, background=(255, 255, 255)):
    """A normalised image as RGB; transparent areas become `background` (white: not a black hole)."""
    im = _levels(im)
    if im.mode in ("LA", "RGBA"):
        rgba = im.convert("RGBA")
        bg = Image.new("RGB", im.size, background)
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    return im.convert("RGB")


def read_rgb(path, what=None, max_pixels=MAX_PIXELS):
    """open_image flattened on white: the RGB picture a user sees."""
    return to_rgb(open_image(path, what, max_pixels))
