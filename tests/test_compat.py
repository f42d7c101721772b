"""Every internal of Gradio and huggingface_hub the app reads (compat.py), exercised against the installed
versions on a real running Blocks, a real gradio_client and huggingface_hub's real client: an upgrade
that moves one fails here, naming the accessor."""
import json
import threading
import time

import pytest

import compat

pytestmark = pytest.mark.integration   # a launched Gradio server


@pytest.fixture(scope="module")
def app():
    import gradio as gr
    from benchmarks.app_process import free_port
    seen, deleted, release, entered = {}, [], threading.Event(), threading.Event()

    def look(value):
        session, event_id, blocks = compat.handler_context()
        seen.update(session=session, event_id=event_id, blocks=blocks, queued=compat.enqueue_time(blocks, event_id),
                    events=[e.session_hash for e in compat.queued_events(blocks)])
        return json.dumps([session, event_id]), (value or 0) + 1

    def hold():
        entered.set()
        release.wait(30)   # holds the one worker of "slow" while a second call waits in the queue
        return "held"

    with gr.Blocks() as demo:
        state = gr.State(0, delete_callback=lambda v: deleted.append(v))
        out = gr.Textbox()
        gr.Button("look").click(look, [state], [out, state], api_name="look")
        gr.Button("hold").click(hold, None, [out], api_name="hold", concurrency_id="slow", concurrency_limit=1)
    demo.queue().launch(server_port=free_port(), prevent_thread_lock=True, quiet=True)
    yield dict(demo=demo, seen=seen, deleted=deleted, release=release, entered=entered)
    release.set()
    demo.close()


def test_the_handler_context_and_its_queue_entry(app):
    from gradio_client import Client
    client = Client(app["demo"].local_url, verbose=False)
    session, event_id = json.loads(client.predict(api_name="/look"))
    seen = app["seen"]
    assert session == client.session_hash and event_id and seen["blocks"] is app["demo"]
    assert isinstance(seen["queued"], float) and seen["queued"] <= time.monotonic()   # enqueue_time
    assert client.session_hash in seen["events"]                                      # queued_events
    assert compat.handler_context() == (None, None, None)                             # outside a handler


def test_handlers_and_components_of_the_blocks(app):
    demo = app["demo"]
    names = [dep.name for dep in compat.event_handlers(demo)]
    assert names == ["look", "hold"] and all(dep.fn is not None for dep in compat.event_handlers(demo))
    assert compat.has_handler(demo, 0) and compat.has_handler(demo, 1) and not compat.has_handler(demo, 99)
    assert {type(c).__name__ for c in compat.components(demo)} >= {"State", "Textbox", "Button"}


def test_waiting_events_by_concurrency_id(app):
    from gradio_client import Client
    a, b = (Client(app["demo"].local_url, verbose=False) for _ in range(2))
    first = a.submit(api_name="/hold")
    assert app["entered"].wait(30)   # the first call holds the worker: it is no longer waiting
    deadline = time.perf_counter() + 30
    second = b.submit(api_name="/hold")
    while not compat.waiting(app["demo"], "slow") and time.perf_counter() < deadline:
        time.sleep(0.05)
    waiting = compat.waiting(app["demo"], "slow")
    app["release"].set()
    assert [e.session_hash for e in waiting] == [b.session_hash]
    assert compat.waiting(app["demo"], "no-such-id") == []
    assert first.result(timeout=30) == second.result(timeout=30) == "held"


def test_session_state_is_found_and_forgotten(app):
    from gradio_client import Client
    demo = app["demo"]
    client = Client(demo.local_url, verbose=False)
    client.predict(api_name="/look")
    client.predict(api_name="/look")   # the State now holds 2
    holder, blocks = compat.state_holder(blocks=demo)
    assert blocks is demo and client.session_hash in compat.session_ids(holder)
    compat.forget_session(holder, demo, client.session_hash)
    compat.drop_pending(demo, client.session_hash)
    assert client.session_hash not in compat.session_ids(holder) and 2 in app["deleted"]


def test_files_and_data_classes():
    import os
    folder = compat.upload_folder()
    assert isinstance(folder, str) and os.path.isabs(folder)
    assert {"background", "layers", "composite"} <= set(compat.editor_data().model_fields)
    s = compat.named_string("/tmp/x.png")
    assert isinstance(s, str) and s == "/tmp/x.png" and type(s) is not str


def test_the_image_saver_gradio_calls_is_the_one_set():
    import numpy as np
    from PIL import Image
    from gradio import processing_utils
    encode, folder_name = compat.image_cache_codec()
    img = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
    data = encode(img, "png")
    assert Image.open(__import__("io").BytesIO(data)).tobytes() == img.tobytes() and folder_name(data) != folder_name(b"")
    seen, real = [], processing_utils.save_pil_to_cache

    def saver(img, cache_dir, name="image", format="webp"):
        seen.append(format)
        return "saved"
    try:
        now = compat.set_image_saver(saver)
        assert compat.set_image_saver(saver) is now   # idempotent: not wrapped twice
        assert processing_utils.save_img_array_to_cache(np.asarray(img), "/nonexistent", format="png") == "saved"
        assert seen == ["png"]
        timed = __import__("functools").wraps(now)(lambda *a, **k: now(*a, **k))   # a timer put around it since
        processing_utils.save_pil_to_cache = timed
        assert compat.set_image_saver(saver) is timed   # found under the timer: the timer stays
    finally:
        processing_utils.save_pil_to_cache = real


def test_component_subclasses_of_skipped_modules_get_no_stub_file(tmp_path, monkeypatch):
    """Gradio writes a .pyi next to a component subclass's module; not for the prefixes skipped."""
    import importlib
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("stubbed_here", "skipped_here"):
        (tmp_path / f"{name}.py").write_text("import gradio as gr\n\n\nclass Box(gr.Textbox):\n    pass\n")
    compat.skip_stub_files("skipped_")
    importlib.import_module("stubbed_here"), importlib.import_module("skipped_here")
    assert (tmp_path / "stubbed_here.pyi").is_file() and not (tmp_path / "skipped_here.pyi").exists()


def test_hubguard_keeps_the_hubs_own_hook_in_its_client():
    import huggingface_hub
    import hubguard
    hubguard.install()
    client = huggingface_hub.get_session()
    hooks = client.event_hooks["request"]
    assert compat.hub_request_hook() in hooks and hubguard._on_request in hooks


def test_no_other_module_reads_these_internals():
    """compat.py is the one place: no other module of the app names one of the internals it wraps."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    internal = re.compile(r"LocalContext|\._queue\b|\.fns\b|\bblocks\.blocks\b|state_holder\.|session_data|"
                          r"gradio\.utils|gradio\.caching|image_editor import|huggingface_hub\.utils\._|"
                          r"set_client_factory|processing_utils\.(encode_pil_to_bytes|hash_bytes|save_pil_to_cache)")
    import os
    ours = []
    for folder, dirs, files in os.walk(root):   # this repository's modules: no venv inside it, no .git, no tests
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("tests", "site-packages", "__pycache__")]
        ours += [Path(folder) / f for f in files if f.endswith(".py") and f != "compat.py"]
    found = [f"{p.relative_to(root)}:{i}" for p in ours
             for i, line in enumerate(p.read_text().splitlines(), 1) if internal.search(line)]
    assert found == [], found
