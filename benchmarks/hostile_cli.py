"""Hostile input against every command line, each probe a process of its own, as a user's terminal
sees it: `python -m latent | dcgan | draggan | checkpoints | training | training.warp | benchmarks.*`.

Every probe is named and says what must happen: exit 2 with one `error:` line naming the problem
(bad input; argparse's usage line aside), exit 130 with one line (Ctrl-C, sent once the run has
started), or exit 0 (an input that must work: a DCGAN in `latent interp`, a 16-bit grey photo, a PNG
with a 20 MB text chunk). Never a traceback, never a hang (each probe is killed after --timeout
seconds), and nothing half-written: the files and bytes of the probe's output folder are counted
before and after, and an interrupted run into a folder holding a finished one must leave that folder
byte for byte as it was. Each probe runs under an 8 GB address-space limit (the machine has 24 GB
shared by several users), so a memory bomb fails the probe instead of the machine; its peak RSS is
reported.

    python -m benchmarks.hostile_cli [--only NAME ...] [--timeout 180] [--root DIR] [--out benchmarks/results]

--root runs the same probes against another checkout (e.g. an older release) for a before/after
table. `run(tmp, root, names, timeout)` returns the rows; benchmarks.hostile can call it for its report.
Writes benchmarks/results/hostile_cli.{json,csv,md}.
"""
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import clisafe
from benchmarks import cli

ROOT = Path(__file__).resolve().parents[1]
ADDRESS_LIMIT = 8 * 2**30


@dataclass
class Probe:
    name: str                      # what a reader of the report sees
    argv: list                     # after `python -m`
    expect: int = 2                # 2 bad input, 130 interrupted, 0 works
    match: str = ""                # a substring of stderr (2, 130) or stdout (0)
    env: dict = field(default_factory=dict)
    interrupt_on: str = None       # send SIGINT once stdout holds this text (then expect 130)
    out: Path = None               # the output file or folder: counted before and after
    check: object = None           # check(tmp) -> None or the reason the probe failed


# --- the hostile files ------------------------------------------------------------------------------
def _files(tmp):
    """Every hostile file, written once into tmp (a scratch folder of this run)."""
    import numpy as np
    import torch
    from PIL import Image, PngImagePlugin
    from safetensors.torch import save_file
    sys.path.insert(0, str(ROOT / "tests"))
    from drag_testing import small_G
    import stylegan
    tmp.mkdir(parents=True, exist_ok=True)
    os.mkfifo(tmp / "fifo.png")
    os.mkfifo(tmp / "fifo.pt")
    (tmp / "afile").write_text("x")
    bomb_png(tmp / "bomb.png")
    Image.fromarray(np.full((64, 64), 32768, np.uint16)).save(tmp / "grey16.png")   # mid-grey, 16 bit
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * 20_000_000, zip=True)
    Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)).save(
        tmp / "text_chunk.png", pnginfo=info)
    (tmp / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    G = small_G()
    stylegan.save(G, tmp / "small.safetensors")
    ws = G.mapping(torch.randn(1, G.z_dim))
    for name, value in (("nan", float("nan")), ("huge", 1e38)):
        save_file({"latent": ws.clone().fill_(value).contiguous()}, str(tmp / f"latent_{name}.safetensors"),
                  metadata={"model": str(tmp / "small.safetensors")})
    inv = tmp / "inverted_nan"
    inv.mkdir()
    save_file({"ws": ws.contiguous()}, str(inv / "latent.safetensors"), metadata={"model": str(tmp / "small.safetensors")})
    deep = tmp / "inverted_deep_metrics"   # no model in the latent's metadata: metrics.json is read for it
    deep.mkdir()
    save_file({"ws": ws.contiguous()}, str(deep / "latent.safetensors"))
    save_file({}, str(deep / "generator_delta.safetensors"))
    (deep / "metrics.json").write_text("[" * 100_000 + "]" * 100_000)
    name, weight = next((k, v) for k, v in G.state_dict().items() if v.is_floating_point() and v.ndim > 1)
    save_file({name: torch.full_like(weight, float("nan"))}, str(inv / "generator_delta.safetensors"))
    # weights files that claim more than they store: stride-0 views of one number, views sharing bytes
    views_pickle(tmp / "views_stride0.pkl", "stride0")
    views_pickle(tmp / "views_shared.pkl", "shared")
    overlapping_safetensors(tmp / "overlap.safetensors", tmp / "small.safetensors")
    # a finished drag and a finished inversion, to interrupt a second run into
    subprocess.run([sys.executable, "-m", "draggan", "--seed", "1", "--point", "20,30,26,30", "--steps", "2",
                    "--model", str(tmp / "small.safetensors"), "--out", str(tmp / "drag_done")], cwd=ROOT,
                   env=_env(), capture_output=True, timeout=300, check=True)
    data = tmp / "faces"
    subprocess.run([sys.executable, "-m", "dcgan", "make-faces", "--n", "64", "--out", str(data)], cwd=ROOT,
                   env=_env(), capture_output=True, timeout=300, check=True)
    for d, what in (("fifo_data", "fifo"), ("bomb_data", "bomb")):
        (tmp / d).mkdir()
        if what == "fifo":
            os.mkfifo(tmp / d / "face.png")
        else:
            (tmp / d / "face.png").write_bytes((tmp / "bomb.png").read_bytes())
    (tmp / "foreign").mkdir()
    (tmp / "foreign" / "my_thesis.pdf").write_text("the user's own file")
    return tmp


def bomb_png(path, w=30000, h=30000):
    """A PNG whose header says w x h 1-bit pixels, with almost no data: what a decompression bomb looks
    like to a reader that checks the header first (a few hundred bytes)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


class _View:
    """A tensor pickled as a view of a storage other tensors share (the pickle memoises the storage
    object: one copy of its bytes in the file, however many tensors claim it)."""

    def __init__(self, storage, shape):
        self.storage, self.shape = storage, tuple(shape)

    def __reduce__(self):
        import collections
        import math
        import torch
        stride = tuple(math.prod(self.shape[i + 1:]) for i in range(len(self.shape)))
        return torch._utils._rebuild_tensor_v2, (self.storage, 0, self.shape, stride, False, collections.OrderedDict())


def views_pickle(path, kind):
    """An official-format pickle of the tests' small generator whose tensors are views that store far
    fewer bytes than they claim: kind "stride0" (each a stride-0 view of one number) or "shared" (all
    views of one 4096-number storage)."""
    import pickle
    import torch
    sys.path.insert(0, str(ROOT / "tests"))
    from drag_testing import small_G
    import official_format as of
    if kind == "stride0":
        zero = torch.zeros(1)

        def fn(t):
            return zero.expand(t.shape) if t.numel() > 1 else t
    else:
        storage = torch.randn(4096)._typed_storage()

        def fn(t):
            return _View(storage, t.shape) if 1 < t.numel() <= 4096 else t
    r = of.official_record(small_G())

    def each(node):
        st = node.meta["state"]
        for group in ("_parameters", "_buffers"):
            st[group].update({k: fn(t) for k, t in st[group].items()})
        for m in st["_modules"].values():
            each(m)
    each(r)
    with of._fake_modules(**{"torch_utils.persistence": {"_reconstruct_persistent_obj": of._reconstruct_persistent_obj},
                             "dnnlib.util": {"EasyDict": of.EasyDict}}):
        with open(path, "wb") as f:
            pickle.dump(dict(G=r, D=None, G_ema=r), f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def overlapping_safetensors(path, source):
    """A safetensors file whose tensors name the same bytes (its header edited: every tensor at offset 0)."""
    import struct
    raw = Path(source).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    for k, v in header.items():
        if k != "__metadata__":
            v["data_offsets"] = [0, v["data_offsets"][1] - v["data_offsets"][0]]
    text = json.dumps(header).encode()
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n:])
    return path


def _env(**extra):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


# --- the probes -------------------------------------------------------------------------------------
def _unchanged(folder, before):
    def check(tmp):
        now = _snapshot(folder)
        return None if now == before else f"{folder.name} changed: {sorted(set(now.items()) ^ set(before.items()))[:3]}"
    return check


def _absent(path):
    return lambda tmp: f"{path.name} was created" if path.exists() else None


def _present(path):
    return lambda tmp: None if path.is_file() else f"{path.parent.name}/{path.name} was not kept"


def _grey_target(folder):
    def check(tmp):
        from PIL import Image
        import numpy as np
        v = float(np.asarray(Image.open(folder / "target.png").convert("L")).mean())
        return None if abs(v - 128) <= 2 else f"the 16-bit mid-grey photo came out at level {v:.0f}, not 128"
    return check


def probes(tmp):
    """Every probe, named with what must happen."""
    m = str(tmp / "small.safetensors")
    o = tmp / "out"
    P = Probe
    ps = [
        # latent
        P("latent interp --scale 400 (memory)", ["latent", "interp", "--scale", "400", "--out", str(o / "a.png")],
          match="GB of memory", out=o / "a.png", check=_absent(o / "a.png")),
        P("latent interp --scale 0", ["latent", "interp", "--scale", "0", "--out", str(o / "a.png")], match="--scale"),
        P("latent interp --steps 1000000", ["latent", "interp", "--steps", "1000000", "--out", str(o / "a.png")],
          match="--steps"),
        P("latent mix --seeds x50", ["latent", "mix", "--seeds", *map(str, range(50)), "--out", str(o / "a.png")],
          match="--seeds"),
        P("latent interp --psi nan", ["latent", "interp", "--psi", "nan", "--out", str(o / "a.png")], match="--psi"),
        P("latent interp --seeds 1", ["latent", "interp", "--seeds", "1", "--out", str(o / "a.png")],
          match="two different seeds", out=o / "a.png", check=_absent(o / "a.png")),
        P("latent truncation --k 5", ["latent", "truncation", "--k", "5", "--out", str(o / "a.png")],
          match="--k is for `latent sefa`"),
        P("latent interp --out DIR", ["latent", "interp", "--out", str(tmp)], match="is a folder"),
        P("latent interp --out x.txt", ["latent", "interp", "--out", str(o / "a.txt")], match="file extension"),
        P("latent interp --out /proc/x.png", ["latent", "interp", "--out", "/proc/x.png"], match="/proc"),
        P("latent interp --model dcgan-faces-64 (works in Z)",
          ["latent", "interp", "--model", "dcgan-faces-64", "--out", str(o / "dc.png")], expect=0, match="dc.png"),
        P("latent mix --model dcgan-faces-64", ["latent", "mix", "--model", "dcgan-faces-64", "--out", str(o / "a.png")],
          match="needs a StyleGAN2"),
        P("latent invert --model dcgan-faces-64",
          ["latent", "invert", str(tmp / "grey16.png"), "--model", "dcgan-faces-64", "--out", str(o / "inv")],
          match="needs a StyleGAN2"),
        P("latent invert --steps-w -1", ["latent", "invert", str(tmp / "grey16.png"), "--steps-w", "-1", "--out",
                                         str(o / "inv")], match="--steps-w"),
        P("latent invert with 0 steps in every stage",
          ["latent", "invert", str(tmp / "grey16.png"), "--steps-w", "0", "--steps-wplus", "0", "--no-pti", "--out",
           str(o / "inv")], match="every stage has 0 steps"),
        P("latent invert --steps-w 1e9", ["latent", "invert", str(tmp / "grey16.png"), "--steps-w", "1000000000",
                                          "--out", str(o / "inv")], match="--steps-w"),
        P("latent invert --out FILE", ["latent", "invert", str(tmp / "grey16.png"), "--out", str(tmp / "afile")],
          match="not a folder"),
        P("latent invert --out /proc/x", ["latent", "invert", str(tmp / "grey16.png"), "--out", "/proc/x"],
          match="/proc"),
        P("latent invert FIFO photo", ["latent", "invert", str(tmp / "fifo.png"), "--out", str(o / "inv")],
          match="not a regular file"),
        P("latent invert bomb PNG", ["latent", "invert", str(tmp / "bomb.png"), "--model", m, "--out", str(o / "inv")],
          match="too many pixels"),
        P("latent invert 16-bit grey PNG (real levels)",
          ["latent", "invert", str(tmp / "grey16.png"), "--model", m, "--steps-w", "1", "--steps-wplus", "1",
           "--no-pti", "--out", str(o / "g16")], expect=0, match="->", check=_grey_target(o / "g16")),
        P("latent invert PNG with a 20 MB text chunk",
          ["latent", "invert", str(tmp / "text_chunk.png"), "--model", m, "--steps-w", "1", "--steps-wplus", "1",
           "--no-pti", "--out", str(o / "txt")], expect=0, match="->"),
        P("latent interp --model stride-0 views pickle", ["latent", "interp", "--model", str(tmp / "views_stride0.pkl"),
                                                          "--out", str(o / "a.png")], match="repeats its bytes"),
        P("latent interp --model shared-storage pickle", ["latent", "interp", "--model", str(tmp / "views_shared.pkl"),
                                                          "--out", str(o / "a.png")], match="share"),
        P("latent interp --model overlapping safetensors",
          ["latent", "interp", "--model", str(tmp / "overlap.safetensors"), "--out", str(o / "a.png")], match="share"),
        P("latent interp LATENTLAB_MODELS nested 100000 deep", ["latent", "interp", "--out", str(o / "a.png")],
          env=dict(LATENTLAB_MODELS=str(tmp / "deep.json")), match="nested"),
        # dcgan
        P("dcgan sample --n 100000 (memory)", ["dcgan", "sample", "--n", "100000", "--out", str(o / "s.png")],
          match="GB of memory"),
        P("dcgan sample --n 0", ["dcgan", "sample", "--n", "0", "--out", str(o / "s.png")], match="--n"),
        P("dcgan sample --out DIR", ["dcgan", "sample", "--out", str(tmp)], match="is a folder"),
        P("dcgan sample --out x.txt", ["dcgan", "sample", "--out", str(o / "s.txt")], match="file extension"),
        P("dcgan sample --checkpoint FIFO", ["dcgan", "sample", "--checkpoint", str(tmp / "fifo.pt"), "--out",
                                             str(o / "s.png")], match="not a regular file"),
        P("dcgan train --data with a FIFO", ["dcgan", "train", "--data", str(tmp / "fifo_data"), "--out",
                                             str(o / "run")], match="not a regular file", check=_absent(o / "run")),
        P("dcgan train --data with a bomb PNG", ["dcgan", "train", "--data", str(tmp / "bomb_data"), "--out",
                                                 str(o / "run")], match="too many pixels", check=_absent(o / "run")),
        P("dcgan train --lr nan", ["dcgan", "train", "--data", str(tmp / "faces"), "--lr", "nan", "--out",
                                   str(o / "run")], match="--lr"),
        P("dcgan train --out foreign folder", ["dcgan", "train", "--data", str(tmp / "faces"), "--out",
                                               str(tmp / "foreign")], match="did not write"),
        P("dcgan make-faces --n 1000000", ["dcgan", "make-faces", "--n", "1000000", "--out", str(o / "f")],
          match="--n"),
        P("dcgan train Ctrl-C", ["dcgan", "train", "--data", str(tmp / "faces"), "--epochs", "50", "--batch-size",
                                 "16", "--out", str(o / "run_int")], expect=130, match="interrupted",
          interrupt_on="training on", check=_present(o / "run_int" / "checkpoint.pt")),   # --resume continues it
        # the drag CLI
        P("draggan --latent holding NaN", ["draggan", "--latent", str(tmp / "latent_nan.safetensors"), "--point",
                                           "20,30,26,30", "--out", str(o / "d")], match="NaN", check=_absent(o / "d")),
        P("draggan --latent holding 1e38", ["draggan", "--latent", str(tmp / "latent_huge.safetensors"), "--point",
                                            "20,30,26,30", "--out", str(o / "d")], match="1e+38", check=_absent(o / "d")),
        P("draggan --inverted delta holding NaN", ["draggan", "--inverted", str(tmp / "inverted_nan"), "--point",
                                                   "20,30,26,30", "--out", str(o / "d")], match="NaN",
          check=_absent(o / "d")),
        P("draggan --inverted metrics.json nested 100000 deep", ["draggan", "--inverted", str(tmp / "inverted_deep_metrics"),
                                                                 "--point", "20,30,26,30", "--out", str(o / "d")],
          match="nested more than", check=_absent(o / "d")),
        P("draggan --out foreign folder", ["draggan", "--seed", "1", "--model", m, "--point", "20,30,26,30", "--out",
                                           str(tmp / "foreign")], match="did not write"),
        P("draggan --mask FIFO", ["draggan", "--seed", "1", "--model", m, "--point", "20,30,26,30", "--mask",
                                  str(tmp / "fifo.png"), "--out", str(o / "d")], match="not a regular file"),
        P("draggan --model stride-0 views pickle", ["draggan", "--seed", "1", "--model", str(tmp / "views_stride0.pkl"),
                                                    "--point", "20,30,26,30", "--out", str(o / "d")],
          match="repeats its bytes"),
        P("draggan Ctrl-C into a finished drag", ["draggan", "--seed", "2", "--model", m, "--point", "20,30,40,30",
                                                  "--steps", "1000", "--out", str(tmp / "drag_done")],
          expect=130, match="interrupted", interrupt_on="precision"),
        # checkpoints, training
        P("checkpoints list LATENTLAB_MODELS nested 100000 deep", ["checkpoints", "list"],
          env=dict(LATENTLAB_MODELS=str(tmp / "deep.json")), match="nested"),
        P("checkpoints fetch unknown id", ["checkpoints", "fetch", "no-such-model"], match="no-such-model"),
        P("training --figures-from missing", ["training", "--figures-from", str(tmp / "missing.safetensors"),
                                              "--out", str(o / "figs")], match="no such file"),
        P("training --figures-from FIFO", ["training", "--figures-from", str(tmp / "fifo.pt"), "--out",
                                           str(o / "figs")], match="not a regular file"),
        P("training.warp --gain nan", ["training.warp", "--from", m, "--out", str(o / "w.safetensors"), "--gain",
                                       "nan"], match="--gain"),
        P("training.warp --from FIFO", ["training.warp", "--from", str(tmp / "fifo.pt"), "--out",
                                        str(o / "w.safetensors")], match="not a regular file"),
        # benchmarks
        P("benchmarks.drag_back --threads 0", ["benchmarks.drag_back", "--threads", "0"], match="--threads"),
        P("benchmarks.reachability --seeds 1-100000000", ["benchmarks.reachability", "--seeds", "1-100000000"],
          match="--seeds"),
        P("benchmarks.inversion --out DIR", ["benchmarks.inversion", "--out", str(tmp)], match="is a folder"),
        P("benchmarks.drag_motion --steps -5", ["benchmarks.drag_motion", "--steps", "-5"], match="--steps"),
    ]
    return ps


def _snapshot(folder):
    """{relative path: (size, mtime_ns)} of every file under folder (hidden temporary folders included)."""
    folder = Path(folder)
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _disk(folder):
    snap = _snapshot(folder)
    return len(snap), sum(s for s, _ in snap.values())


def _limit():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))
    os.setsid()


def run_one(p, tmp, root=ROOT, timeout=180):
    """Run one probe; a row: name, expected and real exit code, stderr lines, seconds, peak RSS (MB),
    files/bytes of the scratch folder before and after, ok, why."""
    before = _disk(tmp)
    t0 = time.perf_counter()
    out_f, err_f = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([sys.executable, "-m", *p.argv], cwd=root, env=_env(**p.env), stdout=subprocess.PIPE,
                            stderr=err_f, text=True, preexec_fn=_limit)
    killed = threading.Event()

    def kill():
        killed.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    timer = threading.Timer(timeout, kill)
    timer.start()

    def pump():   # stdout to a file; Ctrl-C once the run has said it started
        sent = False
        for line in proc.stdout:
            out_f.write(line)
            if p.interrupt_on and not sent and p.interrupt_on in line:
                time.sleep(1.0)
                os.killpg(proc.pid, signal.SIGINT)   # as a terminal's Ctrl-C: the whole process group
                sent = True
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    timer.cancel()
    reader.join(5)
    seconds = time.perf_counter() - t0
    out_f.seek(0), err_f.seek(0)
    stdout, stderr = out_f.read(), err_f.read()
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("usage:") and not ln.startswith(" ")
             and "it/s]" not in ln and "s/it]" not in ln and "%|" not in ln]   # progress bars are not messages
    why = None
    if killed.is_set():
        why = f"killed after {timeout} s (hung, or working instead of refusing)"
    elif "Traceback" in stderr:
        why = "traceback: " + stderr.strip().splitlines()[-1][:160]
    elif proc.returncode != p.expect:
        why = f"exit {proc.returncode}, expected {p.expect}: " + (lines[-1][:160] if lines else "")
    elif p.expect != 0 and len(lines) != 1:
        why = f"{len(lines)} stderr lines, expected one: {' | '.join(lines)[:200]}"
    elif p.match and p.match not in (stdout if p.expect == 0 else stderr):
        why = f"message does not say {p.match!r}: {(lines[-1] if lines else stdout[-160:])[:160]}"
    if why is None and p.check is not None:
        why = p.check(tmp)
    leftovers = [q.name for q in Path(tmp).rglob(".*partial-*")]
    if why is None and leftovers:
        why = f"temporary files left: {leftovers[:3]}"
    after = _disk(tmp)
    return dict(probe=p.name, expect=p.expect, exit=proc.returncode, ok=why is None, why=why or "",
                message=(lines[-1] if lines else "")[:200], seconds=round(seconds, 1),
                peak_rss_mb=round(usage.ru_maxrss / 1024), files_before=before[0], files_after=after[0],
                bytes_before=before[1], bytes_after=after[1])


def run(tmp=None, root=ROOT, names=None, timeout=180, log=print):
    """Every probe (or those whose names contain one of `names`) against the checkout `root`."""
    tmp = Path(tmp or tempfile.mkdtemp(prefix="hostile_cli_"))
    _files(tmp)
    rows = []
    for p in probes(tmp):
        if names and not any(n in p.name for n in names):
            continue
        if p.interrupt_on == "precision":   # a fresh snapshot of the finished drag it must leave alone
            p.check = _unchanged(tmp / "drag_done", _snapshot(tmp / "drag_done"))
        rows.append(run_one(p, tmp, root, timeout))
        r = rows[-1]
        log(f"{'ok  ' if r['ok'] else 'FAIL'} {r['probe']}: exit {r['exit']} in {r['seconds']} s, "
            f"peak {r['peak_rss_mb']} MB{'; ' + r['why'] if r['why'] else ''}", flush=True)
    return rows


def table(rows, before=None):
    """The report's Markdown rows; with `before` (rows of a run against another checkout), its outcome too."""
    then = {r["probe"]: r for r in before or []}
    head = "| probe | expected | exit | ok | peak RSS MB | s | message, or why it failed |"
    if then:
        head = "| probe | expected | before: exit, ok | exit | ok | peak RSS MB | s | message, or why it failed |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        b = then.get(r["probe"])
        was = [f"{b['exit']}, {'yes' if b['ok'] else 'NO'}" if b else "-"] if then else []
        cells = [r["probe"], r["expect"], *was, r["exit"], "yes" if r["ok"] else "NO", r["peak_rss_mb"], r["seconds"],
                 re.sub(r"/tmp/hostile_cli_\w+/probe", "TMP", r["why"] or r["message"]).replace("|", "/")[:160]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines


def main(argv=None):
    ap = cli.parser(__doc__, threads=None)
    ap.add_argument("--only", nargs="+", default=None, help="run the probes whose names contain one of these")
    ap.add_argument("--timeout", type=int, default=180, help="seconds before a probe counts as hung")
    ap.add_argument("--root", default=str(ROOT), help="the checkout whose command lines are probed")
    ap.add_argument("--before", default=None, help="hostile_cli.json of a run against another checkout, "
                                                   "shown beside this one")
    ap.add_argument("--rows-from", default=None, metavar="JSON",
                    help="no probes: rebuild the report from a run's hostile_cli.json (e.g. to add --before)")
    args = ap.parse_args(argv)
    before = clisafe.json_file(args.before, "--before")["rows"] if args.before else None
    if args.rows_from:
        rows = clisafe.json_file(args.rows_from, "--rows-from")["rows"]
    else:
        with tempfile.TemporaryDirectory(prefix="hostile_cli_") as tmp:
            rows = run(Path(tmp) / "probe", Path(args.root).resolve(), args.only, args.timeout)
    failed = [r for r in rows if not r["ok"]]
    was = f"; before: {sum(not r['ok'] for r in before)} of {len(before)} failed" if before else ""
    lines = [f"Hostile input to every command line, each probe a process of its own: {len(rows)} probes, "
             f"{len(failed)} failed{was}.", "Reproduce: `python -m benchmarks.hostile_cli`", ""] + table(rows, before)
    from benchmarks.report import write
    write(args.out, "hostile_cli", dict(probes=len(rows), failed=len(failed), root=str(args.root), rows=rows,
                                        before=before), rows, lines)
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(cli.run(main))
