"""stylegan.allocator on this system's C library: what a pass freed inside glibc's heap goes back to the system
with trim(), measured as the resident size of a fresh process; the user's own malloc settings are left alone."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stylegan import allocator

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = r'''
import json, re
import torch
from stylegan import allocator

def rss():
    return int(re.search(r"VmRSS:\s+(\d+)", open("/proc/self/status").read()).group(1)) // 1024

def holes(n, floats):   # n freed blocks, each with a 512 KB live block after it (a pass's outputs, kept)
    blocks, kept = [], []
    for _ in range(n):
        blocks.append(torch.ones(floats))
        kept.append(torch.ones(128 << 10))
    del blocks
    return kept

big = torch.ones(4 << 20)   # one 16 MB block freed: glibc's dynamic threshold now keeps blocks up to 16 MB in its heap
del big
base = rss()
kept = holes(60, 2 << 20)   # 60 x 8 MB freed, 30 MB live
freed = rss() - 30
trimmed = allocator.trim()
print(json.dumps(dict(trimmed=trimmed, freed=freed - base, after=rss() - 30 - base)))
'''


def _start(**env):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"} | env
    return subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(env, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1"))


def _read(p):
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.integration
@pytest.mark.skipif(allocator._libc() is None, reason="glibc only: elsewhere the module is a no-op")
def test_trim_hands_freed_blocks_back_to_the_system():
    ours, left = _start(LATENTLAB_MALLOC="trim"), _start(LATENTLAB_MALLOC="")   # left: glibc's own behaviour
    ours, left = _read(ours), _read(left)
    assert ours["freed"] > 300 and left["freed"] > 300   # 480 MB freed, kept by glibc's heap
    assert ours["trimmed"] and ours["after"] < 40          # handed back
    assert not left["trimmed"] and left["after"] > 300     # a no-op unless asked for (opt-in)


def test_the_users_own_malloc_settings_are_left_alone(monkeypatch):
    for k in [k for k in os.environ if k.startswith("MALLOC_") or k in ("GLIBC_TUNABLES", "LATENTLAB_MALLOC")]:
        monkeypatch.delenv(k)
    assert not allocator.user_chose() and not allocator.active()   # opt-in: off by default
    monkeypatch.setenv("LATENTLAB_MALLOC", "trim")
    assert allocator.active() == (allocator._libc() is not None)
    monkeypatch.delenv("LATENTLAB_MALLOC")
    for name, value in (("MALLOC_ARENA_MAX", "2"), ("MALLOC_MMAP_THRESHOLD_", "1048576"),
                        ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0"), ("LATENTLAB_MALLOC", "keep")):
        monkeypatch.setenv(name, value)
        assert allocator.user_chose() and not allocator.active() and not allocator.trim()
        monkeypatch.delenv(name)


HEAPS = r'''
import ctypes, json, re, tempfile, threading
import torch
from stylegan import allocator

def work():   # a pass in another thread (the app's step thread): blocks freed where the next pass could reuse them
    for _ in range(3):
        x = torch.ones(1 << 20)
        del x

t = threading.Thread(target=work)
t.start()
t.join()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
with tempfile.NamedTemporaryFile(suffix=".xml") as f:
    h = libc.fopen(f.name.encode(), b"w")
    libc.malloc_info(0, h)
    libc.fclose(h)
    heaps = len(re.findall(r'<heap nr="', open(f.name).read()))
print(json.dumps(dict(one_heap=allocator.one_heap(), heaps=heaps)))
'''


@pytest.mark.integration
@pytest.mark.skipif(allocator._libc() is None, reason="glibc only: elsewhere the module is a no-op")
def test_every_thread_allocates_from_one_heap_unless_the_user_chose(monkeypatch):
    def run(**env):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"
               and k != "LATENTLAB_MALLOC"} | env
        p = subprocess.run([sys.executable, "-c", HEAPS], cwd=ROOT, text=True, capture_output=True, timeout=120,
                           env=dict(env, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1"))
        assert p.returncode == 0, p.stderr[-2000:]
        return json.loads(p.stdout.strip().splitlines()[-1])
    assert run() == dict(one_heap=True, heaps=1)   # the thread's blocks came from the main heap
    assert run(LATENTLAB_MALLOC="keep") == dict(one_heap=False, heaps=2)   # glibc's own: a heap per thread
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    monkeypatch.setattr(allocator, "_state", {})
    assert allocator.one_heap() is False   # the user's own setting is left alone
