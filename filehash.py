"""A file's sha256, read in 1 MiB blocks: how a model file is known by its content (checkpoints.presets
knows a copy of a bundled model, ui.models an upload, stylegan.io a converted file's source)."""
import hashlib


def sha256(path, block=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(block), b""):
            h.update(chunk)
    return h.hexdigest()
