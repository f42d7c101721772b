"""Gradio's image cache, rewritten atomically.

Gradio (6.x) saves each image an event returns to `<cache>/<hash of its bytes>/image.<format>` with a plain
`write_bytes`. An image returned again (a drag panel that did not change between two frames of a stream, the
same start image twice) rewrites that file in place, truncated first, while the browser or a client may still be
downloading it from the earlier frame: the download meets a short file that grows under it (h11's "Too much data
for declared Content-Length", a traceback in the server's log) or shows a cut-off picture. `install()` makes the
save write under a temporary name and rename it into place, as Gradio's own `save_file_to_cache` does: a reader
has the old file or the new one, each whole. Everything else is Gradio's: the bytes, the path, the URL, and the
file written anew each time.
"""
import os
import tempfile
from pathlib import Path

import compat


def save_pil_to_cache(img, cache_dir, name="image", format="webp"):
    """Gradio's own save of an image it serves, except that the file appears whole: written aside, then
    renamed into place (over the same bytes when the image was saved before: its folder is their hash)."""
    encode, folder_name = compat.image_cache_codec()
    data = encode(img, format)
    folder = Path(cache_dir) / folder_name(data)
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / f"{name}.{format}").resolve()
    fd, part = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(part, 0o644)
        os.replace(part, path)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    return str(path)


def install():
    """Make `save_pil_to_cache` the one every Gradio image component saves with. Idempotent."""
    compat.set_image_saver(save_pil_to_cache)
