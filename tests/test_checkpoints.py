"""The registry against a real local HTTP server speaking the Hub's download protocol."""
import json
import subprocess
import sys
import time

import pytest
import torch

import checkpoints
import dcgan
import hubguard
import stylegan
from fake_hub import FakeHub
from official_format import write_malicious_pickle, write_official_pickle

REPO = "someone/stylegan-mirror"


def tiny_G(seed=0):
    torch.manual_seed(seed)
    return stylegan.Generator(z_dim=16, w_dim=16, resolution=16, mapping_layers=2, channel_base=128, channel_max=16).eval()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    server = FakeHub()
    models = {"tiny": dict(display_name="Tiny", resolution=16, category="faces", repo_id=REPO, filename="tiny.pkl")}
    (tmp_path / "models.json").write_text(json.dumps(models))
    monkeypatch.setenv("LATENTLAB_MODELS", str(tmp_path / "models.json"))
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "latentlab"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield server
    server.close()


def pickle_bytes(tmp_path, G):
    write_official_pickle(tmp_path / "src.pkl", G)
    return (tmp_path / "src.pkl").read_bytes()


def test_download_load_and_cache_hit_without_server(hub, tmp_path):
    G = tiny_G()
    hub.add(REPO, "tiny.pkl", pickle_bytes(tmp_path, G))
    assert not checkpoints.is_cached("tiny")
    G2 = checkpoints.load("tiny")
    z = torch.randn(2, 16)
    assert torch.equal(G(z), G2(z))
    assert checkpoints.is_cached("tiny") and any(m == "GET" for m, _ in hub.requests)
    hub.close()  # the Hub goes away: the cached copy still loads, with no request at all
    assert torch.equal(checkpoints.load("tiny")(z), G(z))


def test_404_names_the_model(hub):
    with pytest.raises(checkpoints.HubUnavailableError, match="'tiny'.*not found.*faces-64-offline"):
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


def test_unreachable_hub_is_a_clear_error(hub, monkeypatch):
    hub.close()
    with pytest.raises(checkpoints.HubUnavailableError, match="cannot be reached.*faces-64-offline"):
        checkpoints.load("tiny")


def test_unknown_id_and_bad_override(tmp_path, monkeypatch):
    with pytest.raises(checkpoints.UnknownModelError, match="known models: faces-64-offline"):
        checkpoints.get_info("nope")
    (tmp_path / "m.json").write_text("{not json")
    monkeypatch.setenv("LATENTLAB_MODELS", str(tmp_path / "m.json"))
    with pytest.raises(ValueError, match="not valid JSON"):
        checkpoints.list_models()
    (tmp_path / "m.json").write_text(json.dumps({"faces-ffhq-512": {"resolutionn": 3}}))
    with pytest.raises(ValueError, match="unknown field 'resolutionn'"):
        checkpoints.list_models()
    (tmp_path / "m.json").write_text(json.dumps({"faces-ffhq-512": {"repo_id": "me/mirror"}}))
    assert checkpoints.get_info("faces-ffhq-512").repo_id == "me/mirror"


def test_registry_defaults_and_presets():
    ids = [m.id for m in checkpoints.list_models()]
    assert ids[0] == checkpoints.DEFAULT_MODEL
    for mid in ("faces-ffhq-512", "cats-afhq-512", "dogs-1024", "horses-256", "cars-512", "lions-512", "elephants-512"):
        assert mid in ids
    assert checkpoints.get_info("lions-512").presets["freedrag"] == {"l": 0.4, "d": 4.0}
    assert (checkpoints.get_info("faces-ffhq-512").presets["freedrag"]["l"],
            checkpoints.get_info("cars-512").presets["freedrag"]["d"]) == (0.3, 3.0)


def test_path_is_accepted_as_is(tmp_path):
    stylegan.save(tiny_G(), tmp_path / "g.safetensors")
    assert checkpoints.resolve(tmp_path / "g.safetensors") == tmp_path / "g.safetensors"
    assert checkpoints.load(str(tmp_path / "g.safetensors")).img_resolution == 16


@pytest.mark.integration   # the CLI in subprocesses
def test_cli_lists_and_fetch_reports_errors(hub, tmp_path):
    out = subprocess.run([sys.executable, "-m", "checkpoints"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "faces-64-offline" in out.stdout and "tiny" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "checkpoints", "fetch", "tiny"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "not found" in bad.stderr and "Traceback" not in bad.stderr
    hub.add(REPO, "tiny.pkl", pickle_bytes(tmp_path, tiny_G()))
    ok = subprocess.run([sys.executable, "-m", "checkpoints", "fetch", "tiny"], capture_output=True, text=True,
                        timeout=60)
    assert ok.returncode == 0 and "ready (16x16 px" in ok.stdout


# --- a Hub that hangs, trickles or fails: bounded by hubguard (short deadlines set by env vars) ---
FAST = dict(LATENTLAB_HUB_TIMEOUT="2", LATENTLAB_HUB_STALL_WINDOW="1.5", LATENTLAB_HUB_MIN_RATE="4096")


def leftovers(tmp_path):
    """Partial downloads or blobs left in the Hub cache."""
    return [p for p in (tmp_path / "hub").rglob("*") if p.is_file() and ("incomplete" in p.name or "blobs" in p.parts)]


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


def _cli(*args, env=None, timeout=60):
    import os
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "checkpoints", *args], capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, **(env or {})))
    return p, time.perf_counter() - t


@pytest.mark.integration   # the CLI in a subprocess against a hanging fake Hub
def test_cli_fetch_hanging_hub_one_line_in_seconds(hub, tmp_path):
    hub.add(REPO, "tiny.pkl", b"x" * 1000, mode="hang")
    p, seconds = _cli("fetch", "tiny", env=FAST)
    assert p.returncode == 2 and seconds < 15
    assert p.stderr.strip().count("\n") == 0 and "did not answer within 2 s" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.integration   # the CLI in a subprocess
def test_cli_fetch_malicious_pickle_is_refused_in_one_line(hub, tmp_path):
    marker = tmp_path / "pwned"
    write_malicious_pickle(tmp_path / "evil.pkl", marker)
    hub.add(REPO, "tiny.pkl", (tmp_path / "evil.pkl").read_bytes())
    p, _ = _cli("fetch", "tiny")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.startswith("error:") and "refusing to load" in p.stderr and p.stderr.strip().count("\n") == 0
    assert not marker.exists() and not checkpoints.is_cached("tiny")


@pytest.mark.integration   # the CLI in a subprocess
def test_missing_file_says_no_such_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        checkpoints.resolve(tmp_path / "missing.safetensors")
    with pytest.raises(FileNotFoundError, match="no such file"):
        checkpoints.load("./models/g.pkl")
    with pytest.raises(checkpoints.UnknownModelError, match="unknown model 'nope'"):
        checkpoints.resolve("nope")
    p, _ = _cli("fetch", str(tmp_path / "missing.pkl"))
    assert p.returncode == 2 and "no such file" in p.stderr


def test_a_dcgan_entry_loads_its_own_resolved_file(tmp_path, monkeypatch):
    """A `kind: "dcgan"` entry loads the file it resolves to (a LATENTLAB_MODELS override included),
    not always the bundled DCGAN; a file that is not a DCGAN is a one-line DCGANCheckpointError."""
    from safetensors.torch import save_file
    torch.manual_seed(3)
    mine = dcgan.Generator(ngf=8).apply(dcgan.init_weights)
    save_file({k: v.contiguous() for k, v in mine.state_dict().items()}, str(tmp_path / "mine.safetensors"))
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file at all")
    (tmp_path / "m.json").write_text(json.dumps({
        "dcgan-faces-64": {"local_path": str(tmp_path / "mine.safetensors")},
        "my-dcgan": {"display_name": "mine", "resolution": 64, "category": "faces", "kind": "dcgan",
                     "local_path": str(tmp_path / "mine.safetensors")},
        "bad-dcgan": {"display_name": "bad", "resolution": 64, "category": "faces", "kind": "dcgan",
                      "local_path": str(tmp_path / "bad.safetensors")}}))
    monkeypatch.setenv("LATENTLAB_MODELS", str(tmp_path / "m.json"))
    z = torch.randn(2, 100, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = mine.eval()(z)
        for mid in ("dcgan-faces-64", "my-dcgan"):
            G = checkpoints.load(mid)
            assert isinstance(G, dcgan.Generator) and G.main[0].weight.shape == (100, 64, 4, 4)   # ngf 8, not 64
            assert torch.equal(G(z), want), mid
    with pytest.raises(dcgan.DCGANCheckpointError, match=r"bad\.safetensors: not a DCGAN generator's weights"):
        checkpoints.load("bad-dcgan")
    monkeypatch.delenv("LATENTLAB_MODELS")
    assert checkpoints.load("dcgan-faces-64").main[0].weight.shape == (100, 512, 4, 4)   # the bundled one, ngf 64
