"""When the Hub fails: unreachable, hanging, trickling, erroring, over budget, a truncated, corrupt,
oversized or malicious file, a gated repo, every source of a model failing. Each is one clear line in
seconds, leaves nothing half-written in the cache, runs nothing it downloaded, and the next attempt
works once the Hub recovers. Against the fake Hub (a real HTTP server), the registry and its CLI."""
import time

import pytest
import torch

import checkpoints
import hubguard
import stylegan
from hub_testing import FAST, REPO, ROOT, TINY, checkpoints_cli, leftovers, pickle_bytes, start_hub, tiny_G
from official_format import write_malicious_pickle

DGM, MIRROR = checkpoints.DRAGGAN_HUB, checkpoints.MIRROR


_STARTUP = []


def startup_seconds():
    """Seconds a process takes to start and import what `python -m checkpoints verify` imports (measured
    once per run: a loaded machine is slow, and the deadline is judged beside it)."""
    if not _STARTUP:
        import subprocess
        import sys
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import checkpoints.__main__, checkpoints.verify, huggingface_hub, torch"],
                       check=True, cwd=ROOT)
        _STARTUP.append(time.perf_counter() - t)
    return _STARTUP[0]


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """The fake Hub serving both public repos' layouts, and the registry with the test entry 'tiny'."""
    server = start_hub(tmp_path, monkeypatch, layouts=True, models=TINY)
    yield server
    server.close()


def test_unreachable_hub_is_a_clear_error(hub, monkeypatch):
    hub.close()
    with pytest.raises(checkpoints.HubUnavailableError, match="cannot be reached.*faces-64-offline"):
        checkpoints.load("tiny")


@pytest.mark.integration   # the fake Hub, ~5 s truncating
@pytest.mark.parametrize("mode", ["truncate", "corrupt"])
def test_bad_download_leaves_nothing_in_cache(hub, tmp_path, mode):
    data = pickle_bytes(tmp_path, tiny_G())
    hub.add(REPO, "tiny.pkl", data, mode=mode)
    with pytest.raises((checkpoints.HubUnavailableError, stylegan.CheckpointError)):
        checkpoints.load("tiny")
    assert not checkpoints.is_cached("tiny")
    assert not [p for p in (tmp_path / "hub").rglob("*") if p.is_file() and p.stat().st_size == len(data)]
    hub.add(REPO, "tiny.pkl", data, mode="ok")  # the server is fixed: the next attempt succeeds
    assert checkpoints.load("tiny").img_resolution == 16


def test_malicious_download_refused_and_not_run(hub, tmp_path):
    marker = tmp_path / "pwned"
    write_malicious_pickle(tmp_path / "evil.pkl", marker)
    hub.add(REPO, "tiny.pkl", (tmp_path / "evil.pkl").read_bytes())
    with pytest.raises(stylegan.UnsafeCheckpointError):
        checkpoints.load("tiny")
    assert not marker.exists() and not checkpoints.is_cached("tiny")


@pytest.mark.integration   # the fake Hub, 2-3 s each
@pytest.mark.parametrize("mode, match", [
    ("hang", "did not answer within 2 s"),
    ("hang-body", "did not send the file within 2 s"),
    ("error", r"did not send the file within 2 s \(its last answer: HTTP 500\)"),
    ("trickle", "stalled .* below the 4096 bytes/s floor.*partial file was removed"),
])
def test_hanging_or_trickling_hub_is_given_up_quickly(hub, tmp_path, monkeypatch, mode, match):
    for k, v in FAST.items():
        monkeypatch.setenv(k, v)
    hub.add(REPO, "tiny.pkl", pickle_bytes(tmp_path, tiny_G()) * 20, mode=mode)
    t = time.perf_counter()
    with pytest.raises(checkpoints.HubUnavailableError, match=match):
        checkpoints.resolve("tiny", progress=False)
    assert time.perf_counter() - t < 6   # 2 s deadline + one retry pause of huggingface_hub, never its minutes
    assert not leftovers(tmp_path) and not checkpoints.is_cached("tiny")
    hub.add(REPO, "tiny.pkl", pickle_bytes(tmp_path, tiny_G()), mode="ok")   # the Hub recovers: next call works
    assert checkpoints.load("tiny").img_resolution == 16


def test_request_budget_bounds_retries(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_HUB_TIMEOUT", "30")
    monkeypatch.setenv("LATENTLAB_HUB_MAX_REQUESTS", "2")
    hub.add(REPO, "tiny.pkl", b"x", mode="error")
    with pytest.raises(checkpoints.HubUnavailableError, match="gave up after 2 requests"):
        checkpoints.resolve("tiny", progress=False)
    assert len([r for r in hub.requests if "/resolve/" in r[1]]) == 2


def test_oversized_download_is_refused(hub, tmp_path, monkeypatch):
    hub.add(REPO, "tiny.pkl", b"x" * 5000)
    with pytest.raises(checkpoints.HubUnavailableError, match="more than the 1,000 allowed"):
        checkpoints.resolve("tiny", progress=False, transfer=hubguard.Transfer("tiny", max_bytes=1000))
    assert not leftovers(tmp_path)


@pytest.mark.integration   # the CLI in a subprocess against a hanging fake Hub
def test_cli_fetch_hanging_hub_one_line_in_seconds(hub, tmp_path):
    hub.add(REPO, "tiny.pkl", b"x" * 1000, mode="hang")
    p, seconds = checkpoints_cli("fetch", "tiny", env=FAST)
    assert p.returncode == 2 and seconds < 15
    assert p.stderr.strip().count("\n") == 0 and "did not answer within 2 s" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.integration   # the CLI in a subprocess
def test_cli_fetch_malicious_pickle_is_refused_in_one_line(hub, tmp_path):
    marker = tmp_path / "pwned"
    write_malicious_pickle(tmp_path / "evil.pkl", marker)
    hub.add(REPO, "tiny.pkl", (tmp_path / "evil.pkl").read_bytes())
    p, _ = checkpoints_cli("fetch", "tiny")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.startswith("error:") and "refusing to load" in p.stderr and p.stderr.strip().count("\n") == 0
    assert not marker.exists() and not checkpoints.is_cached("tiny")


def test_every_source_failing_is_one_line_naming_each(hub, tmp_path):
    hub.remove(MIRROR, "self_distill/elephants_512_pytorch.pkl")
    hub.add_repo(DGM, mode="private", token="t")
    with pytest.raises(checkpoints.HubUnavailableError) as e:
        checkpoints.load("elephants-512", report=lambda t: None)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("cannot download model 'elephants-512' (Elephants (self-distilled "
                                              "512)) from any of its 2 sources: ")
    assert "elephants_512_pytorch.pkl was not found in aaronb/StyleGAN2-pkl" in msg
    assert "DragGan/DragGan-Models needs a token or does not exist (HTTP 401" in msg and "faces-64-offline" in msg


def test_rejected_file_is_removed_and_the_next_source_used(hub, tmp_path):
    G = tiny_G(3)
    good = pickle_bytes(tmp_path, G)
    hub.add(DGM, "stylegan2_dogs_1024_pytorch.pkl", good[: len(good) // 2])    # a truncated upload
    hub.add(MIRROR, "self_distill/dogs_1024_pytorch.pkl", good)
    notes = []
    z = torch.randn(1, 16)
    assert torch.equal(checkpoints.load("dogs-1024", report=notes.append)(z), G(z))
    assert notes[0].startswith("dogs-1024: DragGan/DragGan-Models:stylegan2_dogs_1024_pytorch.pkl: the file was "
                               "rejected (") and notes[0].endswith("trying aaronb/StyleGAN2-pkl:self_distill/"
                                                                   "dogs_1024_pytorch.pkl next")
    blobs = [p for p in (tmp_path / "hub").rglob("*") if p.is_file() and "blobs" in p.parts]
    assert [p.stat().st_size for p in blobs] == [len(good)]   # the rejected file left nothing behind


@pytest.mark.integration   # a hanging fake Hub, ~2 s
def test_a_hanging_hub_stops_the_chain_at_once(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_HUB_TIMEOUT", "2")
    hub.add(MIRROR, "self_distill/giraffes_512_pytorch.pkl", b"x" * 100, mode="hang")
    t = time.perf_counter()
    with pytest.raises(checkpoints.HubUnavailableError, match="giraffes-512.*did not answer within 2 s"):
        checkpoints.load("giraffes-512")
    assert time.perf_counter() - t < 6


@pytest.mark.integration   # deadlines against a dead fake Hub, 1.5-5 s
@pytest.mark.parametrize("how", ["refused", "unresolvable", "hanging", "offline"])
def test_verify_without_a_hub_is_one_line_within_the_deadline(hub, how):
    env = dict(LATENTLAB_HUB_TIMEOUT="2")
    if how == "refused":
        hub.close()
    elif how == "unresolvable":
        env["HF_ENDPOINT"] = "http://hub.invalid"
    elif how == "hanging":
        hub.add_repo(MIRROR, mode="hang")
    else:
        env["HF_HUB_OFFLINE"] = "1"
    p, seconds = checkpoints_cli("verify", "lions-512", env=env)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and p.stderr.startswith("error: cannot verify the registry")
    start_up = startup_seconds()   # the same imports in a process of its own, measured now (a loaded machine is slow)
    assert seconds < start_up + 8, (seconds, start_up)   # 2 s deadline, never huggingface_hub's retries
    expect = {"refused": "cannot be reached", "unresolvable": "cannot be reached", "hanging": "within 2 s",
              "offline": "HF_HUB_OFFLINE is set"}[how]
    assert expect in p.stderr
