"""Hostile input and a hanging Hub against the real app (issue 14 targets), with the default
deadlines (no test shortcuts):

- memory: RSS of the `python app.py` process after warm-up and after N hostile requests
  (edits naming server files in many spellings, metadata bombs and unsafe pickles uploaded as
  models, huge r2, 300 mixing seeds, deep / huge JSON, out-of-range numbers); target <= 200 MB growth;
- a dead Hub (nothing listens) and a hanging Hub (accepts, never answers): seconds until
  `python -m checkpoints fetch` and the app's New image report it; target <= 30 s;
- another user's New image on the bundled model while the download hangs; target <= 5 s.

    python -m benchmarks.hostile [--requests 100] [--skip-hub]

Writes benchmarks/results/hostile.{json,csv,md}.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))   # the real app launcher and the real fake Hub of the tests


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _files(tmp):
    """The hostile files, written once."""
    import torch
    from safetensors.torch import save_file
    from official_format import write_malicious_pickle
    huge = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3, mapping_kwargs={},
                synthesis_kwargs=dict(channel_base=2 ** 20, channel_max=1024))
    save_file({"x": torch.zeros(1)}, str(tmp / "bomb.safetensors"),
              metadata={"format": "latentlab.stylegan2", "version": "1", "init_kwargs": json.dumps(huge)})
    write_malicious_pickle(tmp / "evil.pkl", tmp / "pwned")
    (tmp / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    edit = dict(version=1, model="faces-64-offline", seed=3, psi=0.7, space="w+", points=[[20, 32], [28, 32]],
                mask=None, method="draggan", params=dict(lr=0.002, r2=12), steps=5)
    (tmp / "secret").mkdir(exist_ok=True)   # a real weights file on the server that no edit may load
    secret = str(tmp / "secret" / "copy.safetensors")
    Path(secret).write_bytes((ROOT / "stylegan" / "pretrained" / "faces64.safetensors").read_bytes())
    variants = [dict(model=secret), dict(model="../" * 8 + secret.lstrip("/")), dict(seed=-5), dict(steps=10 ** 9),
                dict(params=[1, 2]), dict(params=dict(r2=8000)), dict(psi=1e308)]
    variants += [dict(model="./" * k + os.path.relpath(secret, ROOT)) for k in range(1, 13)]   # 12 spellings
    for i, v in enumerate(variants):
        (tmp / f"edit{i}.json").write_text(json.dumps(dict(edit, **v)))
    return len(variants)


def hostile_requests(client, tmp, n, model):
    """n hostile requests, cycling over the kinds; returns the messages (each must be an error)."""
    from gradio_client import handle_file
    n_edits = _files(tmp)
    kinds = [lambda i: client.predict(handle_file(str(tmp / f"edit{i % n_edits}.json")), api_name="/replay"),
             lambda i: client.predict(handle_file(str(tmp / "bomb.safetensors")), api_name="/upload_model"),
             lambda i: client.predict(handle_file(str(tmp / "evil.pkl")), api_name="/upload_model"),
             lambda i: client.predict(handle_file(str(tmp / "deep.json")), api_name="/replay"),
             lambda i: client.predict(None, 0.002, 10, 3, 8000, 5, 0.3, 3, api_name="/drag_draggan"),
             lambda i: client.predict(None, 1e300, 10, 3, 12, 5, 0.3, 3, api_name="/drag_draggan"),
             lambda i: client.predict(model, 3, " ".join(map(str, range(300))), 0.7, api_name="/style_mix"),
             lambda i: client.predict(2 ** 70, 16, api_name="/dcgan_samples")]
    messages = []
    for i in range(n):
        try:
            kinds[i % len(kinds)](i // len(kinds))
        except Exception as e:  # noqa: BLE001 - every one of them must be refused
            messages.append(str(e))
        else:
            raise AssertionError(f"hostile request {i} (kind {i % len(kinds)}) was accepted")
    return messages


def _message_files(tmp):
    """The files of the issue-25 message probes: edit JSONs, a 30000x30000 PNG (about 100 KB)."""
    from PIL import Image
    edit = dict(version=1, model="faces-64-offline", seed=3, psi=0.7, space="w+", points=[[20, 32], [28, 32]],
                mask=None, method="draggan", params={}, steps=5)
    for name, fields in (("e3_list", dict(method=["draggan"])), ("e3_object", dict(method={"a": 1})),
                         ("html", dict(model="<b>x</b>"))):
        (tmp / f"{name}.json").write_text(json.dumps(dict(edit, **fields)))
    (tmp / "e4.json").write_text(json.dumps(edit).replace('"steps": 5', '"steps": ' + "9" * 5000))
    if not (tmp / "bomb.png").exists():
        Image.new("1", (30000, 30000)).save(tmp / "bomb.png")


# issue 25's message probes: (id, what is sent, endpoint, arguments(tmp, model), what the message must say)
MESSAGE_PROBES = [
    ("E3", "edit JSON whose method is a list", "/replay", lambda t, m: [_file(t / "e3_list.json")], "unknown method"),
    ("E3", "edit JSON whose method is an object", "/replay", lambda t, m: [_file(t / "e3_object.json")],
     "unknown method"),
    ("E4", "edit JSON with a 5000-digit steps", "/replay", lambda t, m: [_file(t / "e4.json")],
     "the edit's steps must be a whole number from 1 to 1000"),
    ("U12", "30000x30000 PNG as the photo", "/invert", lambda t, m: [_file(t / "bomb.png"), m, 10, 10, 0],
     "Photo: the image has too many pixels"),
    ("U13", "30000x30000 PNG as an editor layer", "/drag_draggan",
     lambda t, m: [dict(background=None, layers=[_file(t / "bomb.png")], composite=None)],
     "Editable region (paint; empty = whole image): the image has too many pixels"),
    ("U14", "editor value that is text", "/drag_draggan", lambda t, m: ["hello"],
     "Editable region (paint; empty = whole image): not an image editor value"),
    ("U14", "editor value that is a list", "/drag_draggan", lambda t, m: [[1, 2]],
     "Editable region (paint; empty = whole image): not an image editor value"),
    ("A3", "psi as a string", "/new_image", lambda t, m: [m, 3, "abc", "w+"], "Truncation ψ: must be a number"),
    ("A3", "psi as None", "/interpolate", lambda t, m: [m, 1, 2, 5, None], "Truncation ψ: must be a number"),
    ("A4", "precision fp64", "/drag_draggan", lambda t, m: [None, None, None, None, None, 2, None, None, "fp64"],
     "Precision: "),
    ("HTML", "a model id with HTML in an edit JSON", "/replay", lambda t, m: [_file(t / "html.json")],
     "unknown model '<b>x</b>'"),
    ("BOOL", "booleans as /add_point coordinates", "/add_point", lambda t, m: [True, False], "x: must be a number"),
]


def _file(path):
    from gradio_client import handle_file
    return handle_file(str(path))


def message_probes(client, tmp, model):
    """Send every MESSAGE_PROBES probe in one session (with an image and a point pair); one row each:
    refused, the message, whether it says what it must (and carries no HTML escape)."""
    _message_files(tmp)
    client.predict(model, 3, 0.7, "w+", api_name="/new_image")
    client.predict(180, 256, api_name="/add_point")
    client.predict(240, 256, api_name="/add_point")
    rows = []
    for pid, what, api, args, expect in MESSAGE_PROBES:
        try:
            client.predict(*args(tmp, model), api_name=api)
            refused, text = False, ""
        except Exception as e:  # noqa: BLE001 - each must be refused with its message
            refused, text = True, " ".join(str(e).split())
        rows.append(dict(probe=pid, what=what, endpoint=api, refused=refused, message=text[:200],
                         named=refused and expect in text and "&lt;" not in text and "&gt;" not in text
                         and "unexpected" not in text))
    return rows


def measure_memory(n=100, tmp=None):
    from gradio_client import Client
    from app_server import AppServer, model_for_tests
    tmp = Path(tmp or tempfile.mkdtemp())
    tmp.mkdir(parents=True, exist_ok=True)
    srv = AppServer(model_for_tests(tmp), extra_env=dict(HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_CACHE=str(tmp / "hub")))
    try:
        model = srv.proc.args[srv.proc.args.index("--model") + 1]
        c = Client(srv.url, verbose=False)
        c.predict(model, 3, 0.7, "w+", api_name="/new_image")
        c.predict(180, 256, api_name="/add_point")
        c.predict(240, 256, api_name="/add_point")
        c.predict(None, 0.002, 10, 3, 12, 5, 0.3, 3, api_name="/drag_draggan")   # warm: every code path loaded
        start = rss_mb(srv.proc.pid)
        t = time.perf_counter()
        messages = hostile_requests(c, tmp, n, model)
        seconds = time.perf_counter() - t
        end = rss_mb(srv.proc.pid)
        status = c.predict(None, 0.002, 10, 3, 12, 5, 0.3, 3, api_name="/drag_draggan")[2]   # still works
        return dict(requests=n, refused=len(messages), rss_start_mb=round(start, 1), rss_end_mb=round(end, 1),
                    growth_mb=round(end - start, 1), seconds=round(seconds, 1), next_valid_request_ok="done" in status,
                    unsafe_code_ran=(tmp / "pwned").exists(), sample_messages=sorted(set(messages))[:12])
    finally:
        srv.close()


def _fetch_seconds(env):
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "checkpoints", "fetch", "faces-ffhq-512"], cwd=ROOT, capture_output=True,
                       text=True, env=dict(os.environ, **env), timeout=600)
    return time.perf_counter() - t, p.returncode, p.stderr.strip()


def _app_seconds(env, tmp):
    """(seconds until the app reports the model, another user's bundled image latency, message)."""
    from gradio_client import Client
    from app_server import AppServer, model_for_tests
    srv = AppServer(model_for_tests(tmp), extra_env=env)
    try:
        model = srv.proc.args[srv.proc.args.index("--model") + 1]
        a, b = Client(srv.url, verbose=False), Client(srv.url, verbose=False)
        t0 = time.perf_counter()
        job = a.submit("faces-ffhq-512", 1, 0.7, "w+", api_name="/new_image")
        time.sleep(1.0)
        t1 = time.perf_counter()
        b.predict(model, 5, 0.7, "w+", api_name="/new_image")
        other = time.perf_counter() - t1
        note = job.result(timeout=600)[-1]
        return time.perf_counter() - t0, other, note
    finally:
        srv.close()


def measure_hub(tmp):
    from fake_hub import DRAGGAN_FFHQ_REVISION, FakeHub
    from app_server import free_port
    rows = []
    hub = FakeHub()
    hub.revisions.add(DRAGGAN_FFHQ_REVISION)   # the registry pins faces-ffhq-512 to that revision
    hub.add("DragGan/DragGan-Models", "stylegan2-ffhq-512x512.pkl", b"x" * 1000, mode="hang")
    dead = f"http://127.0.0.1:{free_port()}"   # nothing listens there
    try:
        for name, endpoint in (("dead Hub", dead), ("hanging Hub", hub.url)):
            env = dict(HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(tmp / name.replace(" ", "_")))
            s, rc, err = _fetch_seconds(env)
            rows.append(dict(case=name, client="python -m checkpoints fetch", seconds=round(s, 1), exit_code=rc,
                             other_user_image_s=None, message=err))
            s, other, note = _app_seconds(env, tmp)
            rows.append(dict(case=name, client="app New image", seconds=round(s, 1), exit_code=None,
                             other_user_image_s=round(other, 2), message=note))
    finally:
        hub.close()
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--skip-hub", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    from benchmarks.report import write
    tmp = Path(tempfile.mkdtemp(prefix="latentlab_hostile_"))
    mem = measure_memory(args.requests, tmp / "mem")
    hub = [] if args.skip_hub else measure_hub(tmp)
    md = ["Hostile input and a hanging Hub against `python app.py` (default deadlines).",
          f"Reproduce: `python -m benchmarks.hostile --requests {args.requests}`", "",
          "| measure | value | target |", "|---|---|---|",
          f"| RSS after warm-up / after {mem['requests']} hostile requests | {mem['rss_start_mb']} / {mem['rss_end_mb']} MB "
          f"(+{mem['growth_mb']} MB) | <= +200 MB |",
          f"| hostile requests refused with a message | {mem['refused']}/{mem['requests']} | all |",
          f"| next valid drag works | {'yes' if mem['next_valid_request_ok'] else 'no'} | yes |"]
    for r in hub:
        md.append(f"| {r['case']}: {r['client']} reports it | {r['seconds']} s | <= 30 s |")
        if r["other_user_image_s"] is not None:
            md.append(f"| {r['case']}: another user's bundled-model image meanwhile | {r['other_user_image_s']} s | <= 5 s |")
    write(args.out, "hostile", dict(memory=mem, hub=hub), hub, md)


if __name__ == "__main__":
    main()
