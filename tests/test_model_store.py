"""ui/models.py: which models a request may name, the LRU cache by canonical path, and downloads
that never block other models (real generators, a real fake Hub that hangs)."""
import json
import os
import threading
import time

import pytest

import checkpoints
import stylegan
from drag_testing import small_G
from fake_hub import FakeHub
from ui.models import ModelChoiceError, ModelPending, ModelStore, register_upload


@pytest.fixture
def files(tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / f"g{i}.safetensors"
        stylegan.save(small_G(seed=i), p)
        paths.append(p)
    return paths


def test_paths_are_refused_registry_ids_accepted(files):
    store = ModelStore("cpu")
    for hostile in (str(files[0]), "../../../" + str(files[0]), "./g0.safetensors", "/etc/passwd"):
        with pytest.raises(ModelChoiceError, match="paths are not accepted"):
            store.get(hostile)
    G = store.get(checkpoints.DEFAULT_MODEL)
    assert isinstance(G, stylegan.Generator) and store.get(checkpoints.DEFAULT_MODEL) is G


def test_canonical_paths_share_one_entry_and_lru_is_bounded(files, tmp_path):
    store = ModelStore("cpu", size=2)
    spellings = [str(files[0]), str(tmp_path / "." / "." / "g0.safetensors"), str(tmp_path / "x" / ".." / "g0.safetensors")]
    os.mkdir(tmp_path / "x")
    for s in spellings:
        store.trust(s)
    g0 = store.get(spellings[0])
    assert all(store.get(s) is g0 for s in spellings)       # one load for every spelling of one file
    for p in files[1:]:
        store.trust(str(p))
    g1, g2 = store.get(str(files[1])), store.get(str(files[2]))
    assert store.get(str(files[2])) is g2 and store.get(str(files[1])) is g1   # the two most recent are kept
    assert store.get(str(files[0])) is not g0               # g0 was evicted (LRU, size 2): loaded again
    pinned = store.pin(checkpoints.DEFAULT_MODEL)
    store.get(str(files[0]))
    store.get(str(files[1]))
    store.get(str(files[2]))
    assert store.get(checkpoints.DEFAULT_MODEL) is pinned   # the default stays, whatever else was loaded


def test_uploads_only_from_this_session_and_from_the_upload_folder(files, tmp_path):
    store = ModelStore("cpu")
    with pytest.raises(ModelChoiceError, match="no model was uploaded"):
        store.get("upload", None)
    root = tmp_path / "gradio"
    root.mkdir()
    with pytest.raises(ModelChoiceError, match="only a file uploaded through this field"):
        register_upload(str(files[0]), str(root))
    (root / "abc").mkdir()
    inside = root / "abc" / "mine.safetensors"
    inside.write_bytes(files[1].read_bytes())
    up = register_upload(str(inside), str(root))
    assert store.get("upload", up).img_resolution == 64
    assert store.get("upload:" + up["sha256"][:12], up) is store.get("upload", up)
    with pytest.raises(ModelChoiceError, match="needs the uploaded model"):
        store.get("upload:0123456789ab", up)


@pytest.mark.integration   # a hanging fake Hub, ~3 s
def test_a_hanging_download_blocks_nobody_else(tmp_path, monkeypatch):
    with FakeHub() as hub:
        hub.add("me/m", "g.pkl", b"x" * 100, mode="hang")
        (tmp_path / "models.json").write_text(json.dumps({"remote": dict(
            display_name="Remote", resolution=64, category="faces", repo_id="me/m", filename="g.pkl")}))
        for k, v in dict(LATENTLAB_MODELS=str(tmp_path / "models.json"), HF_ENDPOINT=hub.url,
                         HF_HUB_CACHE=str(tmp_path / "hub"), LATENTLAB_HUB_TIMEOUT="3").items():
            monkeypatch.setenv(k, v)
        store = ModelStore("cpu")
        with pytest.raises(ModelPending, match="still downloading .*waiting for the Hub"):
            store.get("remote", wait=0.2)
        t = time.perf_counter()
        errors = []

        def wait_for_remote():
            try:
                store.get("remote", wait=10)
            except Exception as e:  # noqa: BLE001
                errors.append((e, time.perf_counter() - t))
        waiter = threading.Thread(target=wait_for_remote)
        waiter.start()
        time.sleep(0.3)
        t_other = time.perf_counter()
        store.get(checkpoints.DEFAULT_MODEL)   # another model meanwhile: no lock held by the download
        other = time.perf_counter() - t_other
        waiter.join(15)
        assert other < 2.0
        (e, seconds), = errors
        assert isinstance(e, checkpoints.HubUnavailableError) and "did not answer within 3 s" in str(e)
        assert seconds < 6


def test_a_rejected_download_moves_to_the_next_source_in_the_background(tmp_path, monkeypatch):
    """The app's background download loads what it fetched: a truncated file from the first source is
    removed and the second source used, without the request doing any of it."""
    from official_format import write_official_pickle
    G = small_G(seed=4)
    write_official_pickle(tmp_path / "g.pkl", G)
    good = (tmp_path / "g.pkl").read_bytes()
    with FakeHub() as hub:
        hub.add("me/a", "g.pkl", good[: len(good) // 3])
        hub.add("me/b", "g.pkl", good)
        (tmp_path / "models.json").write_text(json.dumps({"remote": dict(
            display_name="Remote", resolution=64, category="faces",
            sources=[dict(repo_id="me/a", filename="g.pkl"), dict(repo_id="me/b", filename="g.pkl")])}))
        for k, v in dict(LATENTLAB_MODELS=str(tmp_path / "models.json"), HF_ENDPOINT=hub.url,
                         HF_HUB_CACHE=str(tmp_path / "hub"), LATENTLAB_CACHE=str(tmp_path / "ll")).items():
            monkeypatch.setenv(k, v)
        store = ModelStore("cpu")
        G2 = store.get("remote", wait=60)
        import torch
        z = torch.randn(1, G.z_dim)
        assert torch.equal(G(z), G2(z))
        assert store.get("remote") is G2        # cached under the file it came from
        assert checkpoints.cached_source(checkpoints.get_info("remote"))[1].repo_id == "me/b"
