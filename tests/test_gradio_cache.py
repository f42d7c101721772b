"""ui.gradio_cache: an image Gradio saves twice is not rewritten in place (a download of the first frame would
meet a truncated file growing under it): each save appears whole, through Gradio's own save functions."""
import os
import sys
import threading

import numpy as np
from PIL import Image

from gradio import processing_utils as pu

from ui import gradio_cache

_OPENS = []          # (path, mode) of every open while a test listens
_LISTEN = threading.Event()


def _hook(event, args):
    if _LISTEN.is_set() and event == "open" and args and isinstance(args[0], (str, os.PathLike)):
        _OPENS.append((os.path.realpath(os.fspath(args[0])), args[1] if len(args) > 1 else None))
    if _LISTEN.is_set() and event == "os.rename":   # os.replace too: (source, destination, ...)
        _OPENS.append((os.path.realpath(os.fspath(args[1])), "->"))   # a rename into the path (no w, a, x or + in it)


sys.addaudithook(_hook)   # inert unless _LISTEN is set


def _writes(path):
    return [m for p, m in _OPENS if p == path and m and any(c in str(m) for c in "wax+")]


def test_an_image_saved_again_is_renamed_into_place_not_written_in_place(tmp_path):
    gradio_cache.install()
    gradio_cache.install()   # idempotent
    assert getattr(pu.save_pil_to_cache, "__wrapped__", pu.save_pil_to_cache) is gradio_cache.save_pil_to_cache
    arr = np.random.default_rng(0).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    _OPENS.clear()
    _LISTEN.set()
    try:
        first = pu.save_img_array_to_cache(arr, str(tmp_path), format="png")   # as gr.Image(format="png") saves
        again = pu.save_img_array_to_cache(arr, str(tmp_path), format="png")
        pu.save_pil_to_cache(Image.fromarray(arr), str(tmp_path), format="png")
    finally:
        _LISTEN.clear()
    assert first == again
    assert not _writes(first), "the cached file was opened for writing: it was written in place, not renamed into it"
    assert [m for p, m in _OPENS if p == first].count("->") == 3   # written anew, aside, each time
    assert np.array_equal(np.asarray(Image.open(first)), arr)
    folder = tmp_path / pu.hash_bytes(pu.encode_pil_to_bytes(Image.fromarray(arr), "png"))
    assert sorted(p.name for p in folder.iterdir()) == ["image.png"]   # nothing left aside


def test_readers_always_see_the_whole_file_while_frames_are_saved(tmp_path):
    """What a server does per download (the size for Content-Length, then the bytes) never disagrees while
    the same two frames are saved over and over, as a drag's unchanged panel is."""
    gradio_cache.install()
    frames = [np.random.default_rng(v).integers(0, 256, (512, 512, 3), dtype=np.uint8) for v in (1, 2)]   # ~800 KB
    paths = [pu.save_img_array_to_cache(f, str(tmp_path), format="png") for f in frames]
    bad, stop = [], threading.Event()

    def read():
        while not stop.is_set():
            for p in paths:
                size = os.stat(p).st_size
                with open(p, "rb") as f:
                    data = f.read()
                if len(data) != size or size == 0:
                    bad.append((p, size, len(data)))

    t = threading.Thread(target=read)
    t.start()
    try:
        for _ in range(40):   # 80 saves, each rewriting a file the reader is reading
            for f in frames:
                pu.save_img_array_to_cache(f, str(tmp_path), format="png")
    finally:
        stop.set()
        t.join()
    assert not bad, bad[:3]
