"""What the Hub tests share: a tiny real generator in the official pickle format, the fake Hub started
with the registry's environment pointing at it, and the checkpoints command line in a subprocess."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

import stylegan
from fake_hub import FakeHub, serve_layouts
from official_format import write_official_pickle

ROOT = Path(__file__).resolve().parent.parent
REPO = "someone/stylegan-mirror"   # the repo of the test-only registry entry 'tiny'
TINY = {"tiny": dict(display_name="Tiny", resolution=16, category="faces", repo_id=REPO, filename="tiny.pkl")}
FAST = dict(LATENTLAB_HUB_TIMEOUT="2", LATENTLAB_HUB_STALL_WINDOW="1.5", LATENTLAB_HUB_MIN_RATE="4096")


def tiny_G(seed=0, width=None):
    torch.manual_seed(seed)
    return stylegan.Generator(z_dim=16, w_dim=16, resolution=16, width=width, mapping_layers=2, channel_base=128,
                              channel_max=16).eval()


def pickle_bytes(tmp_path, G, name="g.pkl"):
    write_official_pickle(tmp_path / name, G)
    return (tmp_path / name).read_bytes()


def start_hub(tmp_path, monkeypatch, layouts=False, models=None):
    """A FakeHub the registry talks to (HF_ENDPOINT), with empty caches under tmp_path; `layouts`: it
    serves both public repos' layouts; `models`: registry entries added through LATENTLAB_MODELS."""
    server = FakeHub()
    if layouts:
        serve_layouts(server)
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "latentlab"))
    for var in ("HF_HUB_OFFLINE", "HF_TOKEN", "LATENTLAB_MODELS"):
        monkeypatch.delenv(var, raising=False)
    if models:
        (tmp_path / "models.json").write_text(json.dumps(models))
        monkeypatch.setenv("LATENTLAB_MODELS", str(tmp_path / "models.json"))
    return server


def leftovers(tmp_path):
    """Partial downloads or blobs left in the Hub cache."""
    return [p for p in (tmp_path / "hub").rglob("*") if p.is_file() and ("incomplete" in p.name or "blobs" in p.parts)]


def checkpoints_cli(*args, env=None, timeout=60):
    """`python -m checkpoints ARGS` -> (CompletedProcess, seconds)."""
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "checkpoints", *args], capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, **(env or {})), cwd=ROOT)
    return p, time.perf_counter() - t
