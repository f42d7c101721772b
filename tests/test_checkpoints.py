"""The registry against a real local HTTP server speaking the Hub's download protocol."""
import json
import subprocess
import sys

import pytest
import torch

import checkpoints
import dcgan
import stylegan
from hub_testing import REPO, TINY, checkpoints_cli, pickle_bytes, start_hub, tiny_G


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """The fake Hub, and the registry with the test entry 'tiny' (its repo is REPO)."""
    server = start_hub(tmp_path, monkeypatch, models=TINY)
    yield server
    server.close()


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


def test_the_bundled_model_by_its_file_takes_its_presets(tmp_path):
    """`python app.py --model stylegan/pretrained/faces64.safetensors` (and every launch of the tests) names the
    bundled model by its file: its drags take the registry id's calibrated presets (session 16 found the app on
    the file dragging with the engines' defaults: a 2 px request 'arrived' at step 0). A copy elsewhere is another
    file with the same bytes, and the same file uploaded through the app's model box, are the same model (by
    content: sha256); a file of the same size with one byte changed is another model, with only what its own
    metadata carries."""
    from benchmarks.app_process import BUNDLED
    by_id = checkpoints.presets(checkpoints.DEFAULT_MODEL)
    assert by_id["draggan"]["stop_distance"] == 0.5 and by_id["draggan"]["tracker"] == "flow"   # calibrated
    assert checkpoints.presets(str(BUNDLED)) == by_id
    assert checkpoints.registry_id(str(BUNDLED)) == checkpoints.registry_id(checkpoints.DEFAULT_MODEL) \
        == checkpoints.DEFAULT_MODEL
    data = BUNDLED.read_bytes()
    copy = tmp_path / "copy.safetensors"
    copy.write_bytes(data)
    assert checkpoints.registry_id(str(copy)) == checkpoints.DEFAULT_MODEL and checkpoints.presets(str(copy)) == by_id
    assert checkpoints.layout_file(str(copy)) == checkpoints.layout_file(checkpoints.DEFAULT_MODEL)
    from ui import models
    up = models.register_upload(str(copy), str(tmp_path))
    assert models.presets(f"{models.UPLOAD}:{up['sha256'][:12]}") == by_id
    from ui.tab_invert import layout_model   # the Inversion tab aligns a photo for an uploaded copy as for the model
    assert checkpoints.layout_file(layout_model(models.UPLOAD, up)) == \
        checkpoints.layout_file(checkpoints.DEFAULT_MODEL)
    changed = bytearray(data)
    changed[-1] ^= 1                                  # a float's last bit: the same size, another model
    other = tmp_path / "other.safetensors"
    other.write_bytes(bytes(changed))
    assert checkpoints.registry_id(str(other)) is None and checkpoints.presets(str(other)) == {}
    up = models.register_upload(str(other), str(tmp_path))
    assert models.presets(f"{models.UPLOAD}:{up['sha256'][:12]}") == {}
    assert checkpoints.registry_id(str(tmp_path)) is None and checkpoints.registry_id(str(tmp_path / "none")) is None


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


@pytest.mark.integration   # the CLI in a subprocess
def test_missing_file_says_no_such_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        checkpoints.resolve(tmp_path / "missing.safetensors")
    with pytest.raises(FileNotFoundError, match="no such file"):
        checkpoints.load("./models/g.pkl")
    with pytest.raises(checkpoints.UnknownModelError, match="unknown model 'nope'"):
        checkpoints.resolve("nope")
    p, _ = checkpoints_cli("fetch", str(tmp_path / "missing.pkl"))
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
