"""Hostile input and a hanging Hub against the real app, with the default
deadlines (no test shortcuts):

- memory: RSS of the `python app.py` process after warm-up and after N hostile requests
  (edits naming server files in many spellings, metadata bombs and unsafe pickles uploaded as
  models, huge r2, 300 mixing seeds, deep / huge JSON, out-of-range numbers); target <= 200 MB growth;
- a dead Hub (nothing listens) and a hanging Hub (accepts, never answers): seconds until
  `python -m checkpoints fetch` and the app's New image report it; target <= 30 s;
- another user's New image on the bundled model while the download hangs; target <= 5 s;
- runs: Stop against a second run in a session (R1), against queued runs (R2), a replay during a
  compare (R3), another user's short run behind one session's six long ones (R4), RSS after 12
  sessions that invert and close (R5), export folders (R6), Stop during an inversion (R7), and the
  message probes (E3, E4, U12-U14, A3, A4, HTML escapes, booleans); `--before DIR` runs the same
  against another checkout's app for a before/after table;
- issue 31, the app side (`issue31`): memory after 50 sessions of the raw queue API (no heartbeat) that
  open, invert and vanish, once the idle limit has passed (M1), a heartbeat session kept (M2); Gradio's
  folder (files, bytes) before / peak / after 50 refused uploads (D1), an upload past the cap (D2),
  after SIGTERM and SIGINT (D3); one line for malformed clicks, huge coordinates, points during a drag,
  an unknown fn_index, bad example indexes and bad operator settings (A1-A6). The command-line probes
  of issue 31 are benchmarks/hostile_cli.py's.

    python -m benchmarks.hostile [--requests 100] [--skip-hub] [--skip-runs] [--skip-issue31] [--skip-cli] [--before DIR]

Writes benchmarks/results/hostile.{json,csv,md} (with `--only-issue31`: hostile_issue31.*).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))   # the real fake Hub of the tests (the app launcher: benchmarks.app_process)


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


# the named-message probes: (id, what is sent, endpoint, arguments(tmp, model), what the message must say)
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


def closed_sessions_memory(n=12, tmp=None, root=None):
    """Issue 25 R5: n sessions, one after another, each inverts a photo (10/10/10 steps), sends it to the
    Drag tab and closes; RSS of the app after a warm-up session and after the n (settled 5 s)."""
    from gradio_client import Client, handle_file
    from benchmarks.app_process import AppProcess as AppServer, bundled_model
    tmp = Path(tmp or tempfile.mkdtemp())
    tmp.mkdir(parents=True, exist_ok=True)
    _photo(tmp)
    srv = AppServer(bundled_model(), root=root)
    try:
        model = srv.model

        def one():
            c = Client(srv.url, verbose=False)
            c.predict(handle_file(str(tmp / "photo.png")), model, 10, 10, 10, api_name="/invert")
            c.predict(api_name="/send_to_drag")
            c.close()
        one()   # warm: every code path loaded once
        time.sleep(3)
        start = rss_mb(srv.proc.pid)
        t = time.perf_counter()
        for _ in range(n):
            one()
        seconds = time.perf_counter() - t
        time.sleep(5)
        end = rss_mb(srv.proc.pid)
    finally:
        srv.close()
    return dict(sessions=n, rss_start_mb=round(start, 1), rss_end_mb=round(end, 1), growth_mb=round(end - start, 1),
                seconds=round(seconds, 1))


def _session(srv, model, seed=3):
    """A session with an image and one far point pair (a drag that does not arrive early)."""
    from gradio_client import Client
    c = Client(srv.url, verbose=False)
    c.predict(model, seed, 0.7, "w+", api_name="/new_image")
    c.predict(40, 40, api_name="/add_point")
    c.predict(470, 470, api_name="/add_point")
    return c


def _outcome(job, timeout):
    """(status line or error message, seconds until the job ended; None if still running at timeout)."""
    t = time.perf_counter()
    while not job.done() and time.perf_counter() - t < timeout:
        time.sleep(0.1)
    if not job.done():
        return "still running", None
    try:
        out = job.result(timeout=1)
        return " ".join(str(out[2] if len(out) > 2 else out[-1]).split()), round(time.perf_counter() - t, 1)
    except Exception as e:  # noqa: BLE001 - a refusal is an outcome
        return " ".join(str(e).split())[:160], round(time.perf_counter() - t, 1)


def _started(job, timeout=60):
    t = time.perf_counter()
    while not job.outputs() and not job.done() and time.perf_counter() - t < timeout:
        time.sleep(0.1)


def measure_runs(tmp, root=None, long_steps=300, patience=60):
    """Issue 25 R1-R4, R6, R7 against the app of `root` (default: this checkout), as the issue ran them
    (long runs of `long_steps`); a run that goes on after Stop is waited for at most `patience` s."""
    from gradio_client import handle_file
    from benchmarks.app_process import AppProcess as AppServer, bundled_model
    tmp = Path(tmp)
    (tmp / "sys").mkdir(parents=True, exist_ok=True)
    srv = AppServer(bundled_model(), extra_env=dict(TMPDIR=str(tmp / "sys")), root=root)
    model = srv.model
    kw = lambda n: dict(editor=None, max_steps=n)   # noqa: E731
    out = {}
    try:
        # R1: a long compare, a short drag a second later, Stop after the short one
        c = _session(srv, model)
        long = c.submit(**kw(long_steps), api_name="/compare")
        _started(long)
        time.sleep(1)
        short, _ = _outcome(c.submit(**kw(5), api_name="/drag_draggan"), patience)
        t = time.perf_counter()
        answer = c.predict(api_name="/stop")
        status, after = _outcome(long, patience)
        out["R1"] = dict(short_run=short, stop_answer=answer, long_run=status, seconds_after_stop=after,
                         stopped="(stopped)" in status)
        # R2: six sessions start long compares, all press Stop at 3 s
        clients = [_session(srv, model, seed=s) for s in range(6)]
        jobs = [cl.submit(**kw(long_steps), api_name="/compare") for cl in clients]
        time.sleep(3)
        answers = [cl.predict(api_name="/stop") for cl in clients]
        t = time.perf_counter()
        ends = [_outcome(j, patience) for j in jobs]
        out["R2"] = dict(stop_answers=answers, outcomes=[e[0] for e in ends], seconds_after_stop=[e[1] for e in ends],
                         all_stopped=all(e[1] is not None and ("(stopped)" in e[0] or "before it started" in e[0])
                                         for e in ends), last_done_s=round(time.perf_counter() - t, 1))
        for j in jobs:   # nothing of R2 may still run into R3
            _outcome(j, 600)
        # R3: a replay of a 5-step edit (seed 3) during a 150-step compare (seed 77)
        c = _session(srv, model, seed=77)
        long = c.submit(**kw(150), api_name="/compare")
        _started(long)
        edit = tmp / "r3.json"
        edit.write_text(json.dumps(dict(version=1, model="faces-64-offline", seed=3, psi=0.7, space="w+",
                                        points=[[20.0, 32.0], [28.0, 32.0]], mask=None, method="draggan",
                                        params={}, steps=5)))
        replay, _ = _outcome(c.submit(handle_file(str(edit)), api_name="/replay"), 600)
        _outcome(long, 600)
        seeds = sorted({json.loads(Path(f).read_text())["seed"] for f in c.predict(api_name="/export")
                        if f.endswith("_edit.json")})
        out["R3"] = dict(replay=replay, exported_seeds=seeds, consistent=seeds == [77])
        # R4: one session enqueues six long compares; another user's 3-step compare
        a, b = _session(srv, model), _session(srv, model, seed=5)
        t0 = time.perf_counter()
        jobs = [a.submit(**kw(long_steps), api_name="/compare") for _ in range(6)]
        _started(jobs[0])
        time.sleep(1)
        t = time.perf_counter()
        short, _ = _outcome(b.submit(**kw(3), api_name="/compare"), 1800)
        wait = round(time.perf_counter() - t, 1)
        ended = {}
        while len(ended) < len(jobs) and time.perf_counter() - t0 < 1800:
            ended.update({i: time.perf_counter() - t0 for i, j in enumerate(jobs) if i not in ended and j.done()})
            time.sleep(0.1)
        outcomes = {i: _outcome(j, 1)[0] for i, j in enumerate(jobs)}
        ran = [ended[i] for i, o in outcomes.items() if "done" in o and i in ended]
        out["R4"] = dict(short_run=short, short_wait_s=wait, refused=sum("already running" in o for o in outcomes.values()),
                         first_long_run_s=round(min(ran), 1) if ran else None)
        # R6: twenty exports
        for _ in range(20):
            c.predict(api_name="/export")
        loose = len(list((tmp / "sys").glob("latentlab_export_*")))
        owned = sum(len([q for q in p.iterdir()]) for p in (tmp / "sys").glob("latentlab_app_*"))
        out["R6"] = dict(exports=20, folders_left=loose + owned, loose_in_tmp=loose)
        # R7: a 500/500/500 inversion, Stop at 4 s; another user's New image meanwhile
        job = c.submit(handle_file(str(_photo(tmp))), model, 500, 500, 500, api_name="/invert")
        time.sleep(4)
        t = time.perf_counter()
        b.predict(model, 5, 0.7, "w+", api_name="/new_image")
        other = round(time.perf_counter() - t, 2)
        answer = c.predict(api_name="/stop")
        status, after = _outcome(job, patience)
        out["R7"] = dict(stop_answer=answer, outcome=status, seconds_after_stop=after, other_user_image_s=other)
    finally:
        srv.close()
    out["R6"]["folders_after_exit"] = (len(list((tmp / "sys").glob("latentlab_export_*")))
                                       + len(list((tmp / "sys").glob("latentlab_app_*"))))
    return out


def measure_memory(n=100, tmp=None):
    from gradio_client import Client
    from benchmarks.app_process import AppProcess as AppServer, bundled_model
    tmp = Path(tmp or tempfile.mkdtemp())
    tmp.mkdir(parents=True, exist_ok=True)
    srv = AppServer(bundled_model(), extra_env=dict(HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_CACHE=str(tmp / "hub")))
    try:
        model = srv.model
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
        _dg, _fd, _sd, status, _table = c.predict(None, 0.002, 10, 3, 12, 5, 0.3, 3, api_name="/drag_draggan")
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
    from benchmarks.app_process import AppProcess as AppServer, bundled_model
    srv = AppServer(bundled_model(), extra_env=env)
    try:
        model = srv.model
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
    from benchmarks.app_process import free_port
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


def issue25(tmp, root=None, long_steps=300):
    """Every issue-25 probe against the app of `root` (default: this checkout)."""
    from gradio_client import Client
    from benchmarks.app_process import AppProcess as AppServer, bundled_model
    tmp = Path(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    srv = AppServer(bundled_model(), root=root)
    try:
        model = srv.model
        messages = message_probes(Client(srv.url, verbose=False), tmp, model)
    finally:
        srv.close()
    return dict(measure_runs(tmp / "runs", root, long_steps), R5=closed_sessions_memory(12, tmp / "r5", root),
                messages=messages)


# --- issue 31: memory and disk bounded by construction, every handler's message ------------------------------

def deps(url):
    """{api name: fn_index} of the launched app (from /config)."""
    import urllib.request
    config = json.loads(urllib.request.urlopen(url + "config", timeout=30).read())
    return {d.get("api_name"): d["id"] for d in config["dependencies"]}


def _post(url, body, timeout=60):
    """(HTTP status, text) of a JSON POST."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def raw_join(url, fn_index, data, session):
    """An event joined through the raw queue API whose result is never read (its stream never opened)
    -> the HTTP status of the join."""
    return _post(url + "gradio_api/queue/join", dict(data=data, fn_index=fn_index, session_hash=session,
                                                      event_data=None, trigger_id=None))[0]


def raw_call(url, fn_index, data, session, event_data=None, timeout=300):
    """One event through the raw queue API (`/gradio_api/queue/join`, then the session's event stream),
    as a client that never opens a heartbeat -> dict(status=HTTP status of the join, ok, output, error)."""
    import urllib.request
    status, text = _post(url + "gradio_api/queue/join", dict(data=data, fn_index=fn_index, session_hash=session,
                                                              event_data=event_data, trigger_id=None))
    if status != 200:
        try:
            error = json.loads(text).get("detail") or text
        except ValueError:
            error = text
        return dict(status=status, ok=False, output=None, error=str(error))
    with urllib.request.urlopen(f"{url}gradio_api/queue/data?session_hash={session}", timeout=timeout) as r:
        for line in r:
            if not line.startswith(b"data:"):
                continue
            msg = json.loads(line[5:])
            if msg.get("msg") == "process_completed":
                out = msg.get("output") or {}
                return dict(status=status, ok=bool(msg.get("success")), output=out.get("data"),
                            error=None if msg.get("success") else out.get("error"))
    return dict(status=status, ok=False, output=None, error="the event stream ended without a result")


def raw_upload(url, path):
    """A file sent to Gradio's `/upload` as a browser does -> (HTTP status, the FileData dict or the refusal)."""
    import urllib.error
    import urllib.request
    import uuid
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{Path(path).name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + Path(path).read_bytes() + \
        f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(url + "gradio_api/upload", data=body,
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            server_path = json.loads(r.read())[0]
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    return 200, dict(path=server_path, orig_name=Path(path).name, meta={"_type": "gradio.FileData"})


def folder_usage(root):
    """(files, bytes) under `root` (Gradio's folder of a test or benchmark run). The app may remove a file or a
    whole folder while this counts (a refused upload's cleanup): os.walk skips a folder gone before it is listed
    (Path.rglob raised FileNotFoundError there), and a file gone before its stat is not counted."""
    sizes = []
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                sizes.append(os.stat(os.path.join(folder, name)).st_size)
            except OSError:   # removed while counting
                pass
    return len(sizes), sum(sizes)


def _photo(tmp):
    """A face photo for the Invert tab, which aligns the face first: the shipped public-domain astronaut."""
    path = Path(tmp) / "photo.png"
    if not path.exists():
        shutil.copyfile(ROOT / "tests" / "data" / "astronaut_64.png", path)
    return path


def vanished_sessions(srv, tmp, n=50, steps=10, idle=None, settle=120):
    """M1: n sessions through the raw queue API, never a heartbeat: each opens (New image), inverts a
    photo (the Inversion tab, `steps` W / W+ / PTI steps) and vanishes without closing; every other
    one never even reads its results (its event stream is never opened). RSS of the app after a
    warm-up session, at its peak, and once the idle limit has passed (polled until the sweep gave the
    sessions back, at most `settle` s past it) -> dict."""
    import uuid
    url, model, fns = srv.url, srv.model, deps(srv.url)

    def one(read=True):
        s = uuid.uuid4().hex[:12]
        _, photo = raw_upload(url, _photo(tmp))
        if not read:
            codes = (raw_join(url, fns["new_image"], [model, 3, 0.7, "w+", None, None], s),
                     raw_join(url, fns["invert"], [photo, model, steps, steps, steps, None], s))
            return codes == (200, 200), f"join answered {codes}"
        a = raw_call(url, fns["new_image"], [model, 3, 0.7, "w+", None, None], s)
        b = raw_call(url, fns["invert"], [photo, model, steps, steps, steps, None], s)
        return a["ok"] and b["ok"], (a["error"] or b["error"])
    ok, err = one()   # warm: every code path loaded once
    if not ok:
        raise RuntimeError(f"the warm-up session failed: {err}")
    time.sleep((idle or 0) + 3)
    base = peak = rss_mb(srv.proc.pid)
    failures, t = [], time.perf_counter()
    for i in range(n):
        ok, err = one(read=i % 2 == 0)
        peak = max(peak, rss_mb(srv.proc.pid))
        if not ok:
            failures.append(err)
    while _queued(srv) and time.perf_counter() - t < 1800:   # the unread inversions finish
        peak = max(peak, rss_mb(srv.proc.pid))
        time.sleep(1)
    seconds, t_end = time.perf_counter() - t, time.monotonic()
    after = rss_mb(srv.proc.pid)
    while time.monotonic() - t_end < (idle or 0) + settle:
        time.sleep(1)
        after = rss_mb(srv.proc.pid)
        if time.monotonic() - t_end > (idle or 0) + 2 and after - base < 100:
            break
    return dict(sessions=n, failures=len(failures), rss_before_mb=round(base, 1), rss_peak_mb=round(peak, 1),
                rss_after_mb=round(after, 1), growth_mb=round(after - base, 1), seconds=round(seconds, 1),
                after_s=round(time.monotonic() - t_end, 1), errors=failures[:3])


def _queued(srv):
    """Events waiting or running in the app's queue (Gradio's /queue/status)."""
    import urllib.request
    with urllib.request.urlopen(srv.url + "gradio_api/queue/status", timeout=30) as r:
        status = json.loads(r.read())
    return int(status.get("queue_size") or 0)   # waiting (a running inversion ends within seconds)


def session_kept(srv, idle):
    """A gradio_client session (it holds a heartbeat) idle past the limit keeps its image; a raw one
    (no heartbeat) is given back -> dict(client_kept, raw_given_back, raw_message)."""
    import uuid
    from gradio_client import Client
    url, model, fns = srv.url, srv.model, deps(srv.url)
    c = Client(url, verbose=False)
    c.predict(model, 3, 0.7, "w+", api_name="/new_image")
    s, unread = uuid.uuid4().hex[:12], uuid.uuid4().hex[:12]
    raw_call(url, fns["new_image"], [model, 3, 0.7, "w+", None, None], s)
    raw_join(url, fns["new_image"], [model, 3, 0.7, "w+", None, None], unread)   # its result is never read
    t = time.perf_counter()
    while _queued(srv) and time.perf_counter() - t < 60:
        time.sleep(0.2)
    time.sleep(idle + min(30.0, idle / 4) + 2)
    raw = raw_call(url, fns["add_point"], [100, 100, None], s)
    late = raw_call(url, fns["add_point"], [100, 100, None], unread)
    kept = "1: (" in c.predict(100, 100, api_name="/add_point")[-1]
    c.close()
    return dict(client_kept=kept, raw_given_back=not raw["ok"] and "Generate an image first" in str(raw["error"]),
                unread_given_back=not late["ok"] and "Generate an image first" in str(late["error"]),
                raw_message=raw["error"])


def refused_upload_files(tmp):
    """The refused uploads of D1, written once: (name, endpoint, message it must give)."""
    import torch
    import stylegan
    from drag_testing import small_G
    tmp = Path(tmp)
    (tmp / "junk.safetensors").write_bytes(b"junk" * 1_250_000)
    G = small_G()
    with torch.no_grad():
        for p in G.parameters():
            p.fill_(float("nan"))
    stylegan.save(G, tmp / "nan.safetensors")
    (tmp / "junk.json").write_text("{not json" + " " * 200_000)
    (tmp / "junk.png").write_bytes(b"not an image" * 10_000)
    return [("junk.safetensors", "/upload_model", "Model upload: junk.safetensors: not a"),
            ("nan.safetensors", "/upload_model", "the weights hold NaN or Inf values"),
            ("junk.json", "/replay", "not an edit JSON file"),
            ("junk.png", "/invert", "Photo: not an image file")]


def refused_uploads(srv, gradio_dir, tmp, n=50):
    """D1: n refused uploads (5 MB junk model, all-NaN model, broken edit JSON, not-an-image photo, in
    turn), each sent to `/upload` and then to its handler through the raw queue API -> Gradio's folder
    (files, bytes) before, at peak (each upload received) and after (once the refused pictures' grace is
    over), and each refusal's message."""
    import uuid
    model, fns = srv.model, deps(srv.url)
    files = refused_upload_files(tmp)
    session = uuid.uuid4().hex[:12]
    raw_call(srv.url, fns["new_image"], [model, 3, 0.7, "w+", None, None], session)
    before = peak = folder_usage(gradio_dir)
    bad, grew = [], []
    for i in range(n):
        name, api, expect = files[i % len(files)]
        status, fd = raw_upload(srv.url, Path(tmp) / name)
        peak = max(peak, folder_usage(gradio_dir), key=lambda u: u[1])
        data = {"/upload_model": [fd, None], "/replay": [fd, None, None], "/invert": [fd, model, 10, 10, 0, None]}[api]
        r = raw_call(srv.url, fns[api[1:]], data, session) if status == 200 else dict(ok=False, error=fd)
        if r["ok"] or expect not in str(r["error"]):
            bad.append(f"{name}: {'accepted' if r['ok'] else str(r['error'])[:120]}")
        now = folder_usage(gradio_dir)
        if now != before:
            grew.append(f"{name}: {now[0] - before[0]:+} files, {now[1] - before[1]:+} bytes")
    from ui import disk
    deadline = time.monotonic() + disk.GRACE_S + 5   # a refused picture goes a moment later (ui.disk.discard_later)
    while (after := folder_usage(gradio_dir)) != before and time.monotonic() < deadline:
        time.sleep(0.1)
    return dict(uploads=n, files_before=before[0], bytes_before=before[1], files_peak=peak[0], bytes_peak=peak[1],
                files_after=after[0], bytes_after=after[1], wrong_messages=bad[:5], left_files=grew[:5])


def upload_cap(srv, gradio_dir, tmp, cap_mb):
    """D2: a file larger than what is left under the cap is refused by `/upload` (413, one sentence);
    the folder is as it was."""
    big = Path(tmp) / "big.bin"
    big.write_bytes(b"\0" * int(cap_mb * 1_000_000 + 1_000_000))
    before = folder_usage(gradio_dir)
    status, answer = raw_upload(srv.url, big)
    after = folder_usage(gradio_dir)
    big.unlink()
    return dict(cap_mb=cap_mb, status=status, message=str(answer)[:160], files_before=before[0], bytes_before=before[1],
                files_after=after[0], bytes_after=after[1])


def exit_cleanup(tmp, sig, root=None):
    """D3: an app in its own GRADIO_TEMP_DIR does a New image, an accepted model upload and a refused
    one, then gets `sig` (SIGTERM or SIGINT): (files, bytes) of the folder before launch, while it runs,
    and after it exits."""
    import signal
    from gradio_client import Client, handle_file
    import stylegan
    from benchmarks.app_process import AppProcess as AppServer, bundled_model
    from drag_testing import small_G
    tmp = Path(tmp)
    gradio_dir = tmp / f"gradio_{sig}"
    gradio_dir.mkdir(parents=True, exist_ok=True)
    stylegan.save(small_G(seed=7), tmp / "mine.safetensors")
    before = folder_usage(gradio_dir)
    srv = AppServer(bundled_model(), extra_env=dict(GRADIO_TEMP_DIR=str(gradio_dir)), root=root)
    try:
        model = srv.model
        c = Client(srv.url, verbose=False)
        c.predict(model, 3, 0.7, "w+", api_name="/new_image")
        c.predict(handle_file(str(tmp / "mine.safetensors")), api_name="/upload_model")
        running = folder_usage(gradio_dir)
        c.close()
        srv.proc.send_signal(sig)
        code = srv.proc.wait(timeout=60)
    finally:
        srv.close()
    after = folder_usage(gradio_dir)
    return dict(signal=signal.Signals(sig).name, exit_code=code, files_before=before[0], files_running=running[0],
                bytes_running=running[1], files_after=after[0], bytes_after=after[1])


def app_messages(srv, tmp):
    """A1-A7: the message of each app-side probe of issue 31 -> rows (probe, what, refused, message, ok)."""
    import uuid
    from gradio_client import Client
    url, model, fns = srv.url, srv.model, deps(srv.url)
    rows = []

    def row(pid, what, refused, message, ok):
        rows.append(dict(probe=pid, what=what, refused=refused, message=" ".join(str(message).split())[:200], ok=ok))
    s = uuid.uuid4().hex[:12]
    raw_call(url, fns["new_image"], [model, 3, 0.7, "w+", None, None], s)
    for what, event in (("no index", {"value": None}), ("index null", {"index": None, "value": None}),
                        ("event is text", "abc"), ("index of text", {"index": ["a", "b"], "value": None})):
        r = raw_call(url, fns["on_click"], [None], s, event_data=event)
        said = (r["output"] or [None])[-1] if r["ok"] else r["error"]   # a refused click: a warning, the points line
        row("A1", f"image click, malformed event ({what})", str(said).startswith("⚠"), said,
            r["ok"] and str(said).startswith("⚠ The click did not give a pixel of the image"))
    c = Client(url, verbose=False)
    c.predict(model, 3, 0.7, "w+", api_name="/new_image")
    for x in (1e308, -1e300, 10 ** 30):
        try:
            c.predict(x, 5, api_name="/add_point")
            row("A2", f"/add_point x={x:g}", False, "accepted", False)
        except Exception as e:  # noqa: BLE001 - refused with a short message
            row("A2", f"/add_point x={x:g}", True, e, "outside the" in str(e) and len(str(e)) < 100)
    c.predict(40, 40, api_name="/add_point")
    c.predict(470, 470, api_name="/add_point")
    job = c.submit(editor=None, max_steps=200, api_name="/drag_draggan")
    t = time.perf_counter()
    while not job.outputs() and not job.done() and time.perf_counter() - t < 120:
        time.sleep(0.1)
    for api, args in (("/add_point", (200, 200)), ("/undo_point", ()), ("/clear_points", ())):
        try:
            c.predict(*args, api_name=api)
            row("A3", f"{api} while a drag streams", False, "accepted", False)
        except Exception as e:  # noqa: BLE001 - refused with one line
            row("A3", f"{api} while a drag streams", True, e, "is running: points can be changed when it ends" in str(e))
    c.predict(api_name="/stop")
    job.result(timeout=120)
    r = raw_call(url, 99999, [], s)
    row("A4", "queue join with an unknown fn_index", not r["ok"], f"HTTP {r['status']}: {r['error']}",
        r["status"] == 400 and "unknown fn_index 99999" in str(r["error"]))
    for index in (999, "x", -1):
        status, text = _post(url + "gradio_api/run/predict", dict(data=[index], fn_index=fns["load_example"],
                                                                   session_hash=s))
        row("A5", f"example loader with index {index!r}", status != 200, f"HTTP {status}: {text}",
            "Example: no example number" in text)
    c.close()
    return rows


def operator_settings(root=None, timeout=120):
    """A6: `python app.py` with a bad operator environment variable: exit 2 and one line naming it, in
    seconds (before any model loads); an app that starts anyway is stopped once it serves -> rows."""
    rows = []
    for env in (dict(LATENTLAB_CHAIN_DRAGS="0.5"), dict(LATENTLAB_CHAIN_DRAGS="abc"),
                dict(LATENTLAB_SESSION_IDLE="-1"), dict(LATENTLAB_GRADIO_CAP_MB="nan"),
                dict(LATENTLAB_MODEL_CACHE="1e400"), dict(LATENTLAB_PRESETS_DIR="/nonexistent")):
        (name, value), = env.items()
        from benchmarks.app_process import free_port
        t = time.perf_counter()
        p = subprocess.Popen([sys.executable, "app.py", "--server-port", str(free_port())], cwd=root or ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, **env))
        started = False
        for line in p.stdout:   # the app prints its URL once it serves: then it started anyway
            if "Running on" in line or time.perf_counter() - t > timeout:
                started = True
                p.terminate()
                break
        try:
            err = p.communicate(timeout=60)[1]
        except subprocess.TimeoutExpired:
            p.kill()
            err = p.communicate()[1]
        lines = err.strip().splitlines()
        message = "started anyway (stopped once it served)" if started else err.strip()[:200]
        rows.append(dict(probe="A6", what=f"{name}={value}", refused=p.returncode == 2, message=message,
                         ok=not started and p.returncode == 2 and len(lines) == 1 and name in lines[0]
                         and "Traceback" not in err, seconds=round(time.perf_counter() - t, 1)))
    return rows


def issue31(tmp, sessions=50, uploads=50, idle=20.0, cap_mb=300, root=None):
    """Every app-side probe of issue 31 against one launched app (idle limit `idle` s, Gradio folder cap
    `cap_mb`, its own GRADIO_TEMP_DIR), then the exit probes (SIGTERM, SIGINT) on two more."""
    import signal
    from benchmarks.app_process import AppProcess as AppServer, bundled_model
    tmp = Path(tmp)
    gradio_dir = tmp / "gradio"
    gradio_dir.mkdir(parents=True, exist_ok=True)
    srv = AppServer(bundled_model(), extra_env=dict(GRADIO_TEMP_DIR=str(gradio_dir), LATENTLAB_SESSION_IDLE=str(idle),
                                                         LATENTLAB_GRADIO_CAP_MB=str(cap_mb)), root=root)
    try:
        out = dict(idle_s=idle, M1=vanished_sessions(srv, tmp, sessions, idle=idle), M2=session_kept(srv, idle),
                   D1=refused_uploads(srv, gradio_dir, tmp, uploads), D2=upload_cap(srv, gradio_dir, tmp, cap_mb),
                   messages=app_messages(srv, tmp))
    finally:
        srv.close()
    out["D3"] = [exit_cleanup(tmp, signal.SIGTERM, root), exit_cleanup(tmp, signal.SIGINT, root)]
    out["messages"] += operator_settings(root)
    return out


def issue31_rows(r):
    """(probe, result, target, pass) rows of issue31()'s result."""
    m1, m2, d1, d2 = r["M1"], r["M2"], r["D1"], r["D2"]
    rows = [("M1: RSS before / peak / after {} raw sessions (no heartbeat) open, invert, vanish; after the {:g} s "
             "idle limit".format(m1["sessions"], r["idle_s"]),
             f"{m1['rss_before_mb']} / {m1['rss_peak_mb']} / {m1['rss_after_mb']} MB ({m1['growth_mb']:+} MB, "
             f"{m1['after_s']} s after the last; {m1['failures']} failed)", "<= +100 MB, 0 failed",
             m1["growth_mb"] <= 100 and not m1["failures"]),
            ("M2: idle past the limit: a client with a heartbeat keeps its image; raw sessions (one that never "
             "read its results) are given back",
             f"kept: {m2['client_kept']}; given back: {m2['raw_given_back']}, unread {m2['unread_given_back']}",
             "kept; given back", m2["client_kept"] and m2["raw_given_back"] and m2["unread_given_back"]),
            (f"D1: Gradio's folder before / peak / after {d1['uploads']} refused uploads (files, bytes)",
             f"{d1['files_before']}, {d1['bytes_before']:,} / {d1['files_peak']}, {d1['bytes_peak']:,} / "
             f"{d1['files_after']}, {d1['bytes_after']:,}" + (f"; {d1['wrong_messages']}" if d1["wrong_messages"] else ""),
             "after = before, each refused with its message",
             (d1["files_after"], d1["bytes_after"]) == (d1["files_before"], d1["bytes_before"]) and not d1["wrong_messages"]),
            (f"D2: an upload past the {d2['cap_mb']} MB cap", f"HTTP {d2['status']}: {d2['message'][:90]}; folder "
             f"{d2['bytes_before']:,} -> {d2['bytes_after']:,} bytes", "413, folder unchanged",
             d2["status"] == 413 and d2["bytes_after"] == d2["bytes_before"])]
    for e in r["D3"]:
        rows.append((f"D3: {e['signal']}: Gradio's folder before launch / running / after exit (files)",
                     f"{e['files_before']} / {e['files_running']} ({e['bytes_running']:,} bytes) / {e['files_after']} "
                     f"(exit code {e['exit_code']})", "after = before", e["files_after"] == e["files_before"]))
    for m in r["messages"]:
        rows.append((f"{m['probe']}: {m['what']}", m["message"][:140], "one clear line", m["ok"]))
    return rows


def _stop_text(status, seconds):
    """How a run ended after Stop, in a few words."""
    import re
    if seconds is None:
        return "still running 60 s after Stop"
    step = re.search(r"step (\d+)/(\d+)", status)
    where = f" at step {step.group(1)} of {step.group(2)}" if step else ""
    if "stopped" in status:
        return f"stopped{where}, {seconds} s after Stop"
    return f"ran to its end{where}, {seconds} s after Stop"


ISSUE25_TARGETS = [
    ("R1: Stop after a second run was started in the session", "stopped within a step"),
    ("R2: six sessions' long compares (2 running, 4 queued), all Stop at 3 s", "all stop; queued never start"),
    ("R3: a replay during a compare", "refused; export consistent"),
    ("R4: another user's 3-step compare behind one session's six long ones: wait", "<= one long run"),
    ("R5: RSS after 12 sessions invert, send to Drag, close", "<= +100 MB"),
    ("R6: folders left by 20 exports (while running / after exit)", "bounded / none"),
    ("R7: a 500/500/500 inversion, Stop at 4 s", "stops between steps"),
    ("messages: E3, E4, U12-U14, A3, A4, HTML, booleans: named, no escape, no traceback", "all"),
]


def issue25_cells(r):
    """One table cell per ISSUE25_TARGETS row, from issue25()'s result."""
    r2 = r["R2"]
    ends = list(zip(r2["outcomes"], r2["seconds_after_stop"]))
    counts = [(sum(s is not None and "(stopped)" in o for o, s in ends), "stopped while running"),
              (sum(s is not None and "before it started" in o for o, s in ends), "stopped before they started"),
              (sum(s is not None and "(stopped)" not in o and "before it started" not in o for o, s in ends),
               "ran to their end"),
              (sum(s is None for _, s in ends), "still running")]
    r2_text = ", ".join(f"{n} {what}" for n, what in counts if n) + (
        f" {r2['last_done_s']} s after Stop" if counts[-1][0] else f"; all ended within {r2['last_done_s']} s of Stop")
    r3 = r["R3"]
    r3_text = ("refused" if "already running" in r3["replay"] else "ran") + f"; exported seeds {r3['exported_seeds']}"
    r4 = r["R4"]
    r5 = r["R5"]
    r6 = r["R6"]
    named = sum(m["named"] for m in r["messages"])
    return [f"Stop says {r['R1']['stop_answer']!r}; the long run {_stop_text(r['R1']['long_run'], r['R1']['seconds_after_stop'])}",
            r2_text, r3_text, f"{r4['short_wait_s']} s (one long run: {r4['first_long_run_s']} s; {r4['refused']} of "
                              f"the six refused)",
            f"{r5['rss_start_mb']} -> {r5['rss_end_mb']} MB ({r5['growth_mb']:+} MB)",
            f"{r6['folders_left']} ({r6['loose_in_tmp']} loose in the system temp) / {r6['folders_after_exit']}",
            _stop_text(r["R7"]["outcome"], r["R7"]["seconds_after_stop"]) +
            f"; another user's New image {r['R7']['other_user_image_s']} s",
            f"{named}/{len(r['messages'])}"]


def issue31_report(r, cli=None, before=None, before_label=None):
    """The Markdown rows of the issue-31 probes (with `before`: the same probes against another
    checkout, a column of their own), and the command-line ones when given."""
    def cell(text):   # one table cell: one line, no column separator
        return " ".join(str(text).split()).replace("|", "/")
    rows = [(p, cell(res), target, ok) for p, res, target, ok in issue31_rows(r)]
    old = {p: cell(res) for p, res, _, _ in issue31_rows(before)} if before else {}
    md = ["", f"Issue 31, the app side (idle limit {r['idle_s']:g} s for the run; default 900)"
          + (f"; before: {before_label}" if before else "") + ":", ""]
    if before:
        md += ["| probe | before | after | target | pass |", "|---|---|---|---|---|"]
        md += [f"| {p} | {old.get(p, '')} | {res} | {target} | {'yes' if ok else '**no**'} |" for p, res, target, ok in rows]
    else:
        md += ["| probe | result | target | pass |", "|---|---|---|---|"]
        md += [f"| {p} | {res} | {target} | {'yes' if ok else '**no**'} |" for p, res, target, ok in rows]
    md.append(f"\n{sum(not ok for *_, ok in rows)} failures of {len(rows)} app-side probes"
              + (f" ({sum(not ok for *_, ok in issue31_rows(before))} before)." if before else "."))
    if cli is not None:
        md += ["", cli]
    return md


def report(mem, hub, runs, requests, long_steps, before=None):
    """The Markdown of a run (benchmarks/results/hostile.md)."""
    md = ["Hostile input and a hanging Hub against `python app.py` (default deadlines).",
          f"Reproduce: `python -m benchmarks.hostile --requests {requests}`", "",
          "| measure | value | target |", "|---|---|---|",
          f"| RSS after warm-up / after {mem['requests']} hostile requests | {mem['rss_start_mb']} / {mem['rss_end_mb']} MB "
          f"(+{mem['growth_mb']} MB) | <= +200 MB |",
          f"| hostile requests refused with a message | {mem['refused']}/{mem['requests']} | all |",
          f"| next valid drag works | {'yes' if mem['next_valid_request_ok'] else 'no'} | yes |"]
    for r in hub:
        md.append(f"| {r['case']}: {r['client']} reports it | {r['seconds']} s | <= 30 s |")
        if r["other_user_image_s"] is not None:
            md.append(f"| {r['case']}: another user's bundled-model image meanwhile | {r['other_user_image_s']} s | <= 5 s |")
    if runs:
        cols = [k for k in ("before", "after") if k in runs]
        cells = {k: issue25_cells(runs[k]) for k in cols}
        md += ["", f"Runs, Stop, the queue, memory and exports (long runs of {long_steps} steps"
               + (f"; before: {before}, with `--before DIR`" if before else "") + "):", "",
               "| probe | " + " | ".join(cols) + " | target |", "|---" * (len(cols) + 2) + "|"]
        for i, (probe, target) in enumerate(ISSUE25_TARGETS):
            md.append(f"| {probe} | " + " | ".join(cells[k][i] for k in cols) + f" | {target} |")
    return md


def main(argv=None):
    from benchmarks import cli
    ap = cli.CheckedParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=100, help="requests of each flood probe (default 100)")
    ap.add_argument("--skip-hub", action="store_true", help="skip the probes against the fake Hub")
    ap.add_argument("--skip-runs", action="store_true", help="skip the run, Stop, queue, memory, export "
                    "and message probes")
    ap.add_argument("--before", default=None, metavar="DIR", help="also run the run probes against the app in "
                    "another checkout DIR (e.g. `git worktree add DIR COMMIT`): a before/after table")
    ap.add_argument("--before-label", default=None, help="what --before is, for the table (e.g. 'commit 1d60230')")
    ap.add_argument("--long-steps", type=int, default=300, help="steps of the long runs of R1, R2 and R4")
    ap.add_argument("--skip-issue31", action="store_true", help="skip the issue-31 app probes (idle sessions, "
                    "Gradio's folder, messages)")
    ap.add_argument("--only-issue31", action="store_true", help="run only the issue-31 probes")
    ap.add_argument("--skip-cli", action="store_true", help="leave out the command-line probes of issue 31 "
                    "(benchmarks/hostile_cli.py)")
    ap.add_argument("--sessions", type=int, default=50, help="vanished sessions of M1")
    ap.add_argument("--uploads", type=int, default=50, help="refused uploads of D1")
    ap.add_argument("--idle", type=float, default=20.0, help="LATENTLAB_SESSION_IDLE (s) of the issue-31 app")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="where the results go")
    args = ap.parse_args(argv)
    for name in ("requests", "long_steps", "sessions", "uploads", "idle"):
        if not getattr(args, name) > 0:
            ap.error(f"--{name.replace('_', '-')} must be above 0, got {getattr(args, name)}")
    from benchmarks.report import write
    tmp = Path(tempfile.mkdtemp(prefix="latentlab_hostile_"))
    if args.only_issue31:
        args.skip_hub = args.skip_runs = True
    mem = None if args.only_issue31 else measure_memory(args.requests, tmp / "mem")
    hub = [] if args.skip_hub else measure_hub(tmp)
    runs = {} if args.skip_runs else {"after": issue25(tmp / "after", None, args.long_steps)}
    if args.before and not args.skip_runs:
        runs["before"] = issue25(tmp / "before", args.before, args.long_steps)
    i31 = None if args.skip_issue31 else issue31(tmp / "issue31", args.sessions, args.uploads, args.idle)
    i31_before = issue31(tmp / "issue31_before", args.sessions, args.uploads, args.idle, root=args.before) \
        if args.before and not args.skip_issue31 else None
    cli = None if args.skip_issue31 or args.skip_cli else cli_probes(tmp / "cli")
    md = report(mem, hub, runs, args.requests, args.long_steps, args.before and (args.before_label or args.before)) \
        if mem else ["Hostile input against `python app.py`: the issue-31 probes only.",
                     "Reproduce: `python -m benchmarks.hostile --only-issue31" + (" --skip-cli" if args.skip_cli else "")
                     + (" --before DIR` (DIR: a checkout of the code before; see --help)" if args.before else "`")]
    if i31 is not None:
        md += issue31_report(i31, cli and cli.get("markdown"), i31_before, args.before_label or args.before)
    rows = (hub or []) + ([dict(probe=p, result=res, target=t, ok=ok) for p, res, t, ok in issue31_rows(i31)]
                          if i31 else [])
    write(args.out, "hostile_issue31" if args.only_issue31 else "hostile",
          dict(memory=mem, hub=hub, issue25=runs, issue31=i31, issue31_before=i31_before, cli=cli), rows, md)


def cli_probes(tmp, timeout=180):
    """The command-line probes of issue 31 (benchmarks/hostile_cli.py, each a process of its own)
    -> dict(probes, failed, rows, markdown) for this report."""
    from benchmarks import hostile_cli
    rows = hostile_cli.run(Path(tmp), timeout=timeout)
    failed = [r for r in rows if not r["ok"]]
    md = [f"Command lines (`benchmarks/hostile_cli.py`): {len(rows)} probes, {len(failed)} failed.", "",
          "| probe | expected | exit | ok | peak RSS MB | message or why it failed |", "|---|---|---|---|---|---|"]
    md += [f"| {r['probe']} | {r['expect']} | {r['exit']} | {'yes' if r['ok'] else '**no**'} | {r['peak_rss_mb']} | "
           f"{(r['why'] or r['message']).replace('|', '/')} |" for r in rows]
    return dict(probes=len(rows), failed=len(failed), rows=rows, markdown="\n".join(md))


if __name__ == "__main__":
    from benchmarks import cli
    sys.exit(cli.run(main))
