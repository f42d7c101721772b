"""Checkpoint files that ask for more than they hold: refused from their metadata, before any
network is built, and crafted pickles reported as unsafe (never as merely corrupt)."""
import io
import json
import os
import pickle
import resource
import struct
import time

import pytest
import torch

import stylegan
from official_format import write_official_pickle
from drag_testing import small_G


def _safetensors_with(path, init_kwargs, tensors=None):
    """A real safetensors file (header + data) whose metadata carries `init_kwargs`."""
    from safetensors.torch import save_file
    save_file(tensors or {"x": torch.zeros(4)}, str(path),
              metadata={"format": "latentlab.stylegan2", "version": "1", "init_kwargs": json.dumps(init_kwargs)})
    return path


HUGE = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3,
            mapping_kwargs=dict(num_layers=8), synthesis_kwargs=dict(channel_base=2 ** 20, channel_max=1024))


def test_tiny_file_asking_for_a_huge_network_is_refused_before_building(tmp_path):
    path = _safetensors_with(tmp_path / "bomb.safetensors", HUGE)
    assert path.stat().st_size < 1000
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    with pytest.raises(stylegan.CheckpointError, match="parameters"):
        stylegan.load(path)
    assert time.perf_counter() - t < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0 < 50_000  # KB: nothing big was allocated


@pytest.mark.parametrize("change, match", [
    (dict(synthesis_kwargs=dict(channel_base=1024, channel_max=2048)), r"channel_max must be an integer in \[1, 1024\]"),
    (dict(img_resolution=4096), r"img_resolution must be an integer in \[4, 2048\]"),
    (dict(img_resolution=96), "power of two"),
    (dict(mapping_kwargs=dict(num_layers=64)), r"num_layers must be an integer in \[1, 16\]"),
    (dict(z_dim=10 ** 6), r"z_dim must be an integer"),
    (dict(synthesis_kwargs=dict(channel_base=1024, channel_max=64, kernel_size=99)), "kernel_size"),
    (dict(synthesis_kwargs=dict(channel_base=1024, channel_max=64, resample_filter=[1] * 10 ** 5)), "list of 100000"),
    (dict(synthesis_kwargs=dict(channels={"4": 64})), "width for every resolution"),
])
def test_each_limit_names_what_is_wrong(tmp_path, change, match):
    kw = dict(z_dim=64, c_dim=0, w_dim=64, img_resolution=64, img_channels=3, mapping_kwargs=dict(num_layers=2),
              synthesis_kwargs=dict(channel_base=1024, channel_max=64))
    kw.update(change)
    with pytest.raises(stylegan.CheckpointError, match=match):
        stylegan.load(_safetensors_with(tmp_path / "g.safetensors", kw))


def test_metadata_asking_for_more_weights_than_stored(tmp_path):
    kw = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3, mapping_kwargs=dict(num_layers=8),
              synthesis_kwargs=dict(channel_base=16384, channel_max=512))   # a legal ~25 M parameter generator
    with pytest.raises(stylegan.CheckpointError, match="stores only 4"):
        stylegan.load(_safetensors_with(tmp_path / "g.safetensors", kw))


def test_real_models_pass_the_limits(tmp_path):
    G = small_G()
    stylegan.save(G, tmp_path / "g.safetensors")
    assert stylegan.load(tmp_path / "g.safetensors").img_resolution == G.img_resolution
    write_official_pickle(tmp_path / "g.pkl", G)
    assert stylegan.load(tmp_path / "g.pkl", use_cache=False).img_resolution == G.img_resolution


def test_pickle_record_asking_for_a_huge_network(tmp_path):
    # the record says 1024 channels; its tensors are the small ones
    write_official_pickle(tmp_path / "g.pkl", small_G(), **HUGE)
    with pytest.raises(stylegan.CheckpointError, match="channel_max|parameters"):
        stylegan.load(tmp_path / "g.pkl", use_cache=False)


def test_oversized_header_is_not_read(tmp_path):
    path = tmp_path / "h.safetensors"
    path.write_bytes(struct.pack("<Q", 10 ** 9) + b"{" + b" " * 100)
    with pytest.raises(stylegan.CheckpointError, match="header size"):
        stylegan.load(path)


class _Reduce:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def test_crafted_tensor_stream_is_unsafe_not_corrupt(tmp_path):
    """An allowed global (torch.storage._load_from_bytes) carrying a torch.save stream that would
    run os.system: torch's weights-only loader refuses it, and we call that unsafe."""
    marker = tmp_path / "pwned"
    inner = io.BytesIO()
    torch.save(_Reduce(os.system, f"touch {marker}"), inner)
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({"G_ema": _Reduce(torch.storage._load_from_bytes, inner.getvalue())}, f)
    with pytest.raises(stylegan.UnsafeCheckpointError, match="refusing"):
        stylegan.load(tmp_path / "evil.pkl", use_cache=False)
    assert not marker.exists()


def test_unsafe_is_a_kind_of_checkpoint_error():
    assert issubclass(stylegan.UnsafeCheckpointError, stylegan.CheckpointError)
    assert issubclass(stylegan.UnsafeCheckpointError, pickle.UnpicklingError)
