"""The third-party internals the app leans on, in one place.

Where Gradio or huggingface_hub has no public API for what the app needs, the app reads or patches an
internal. Every such read lives here, named for what it gives. The rest of the code uses public APIs
only. `tests/test_compat.py` runs each accessor against the installed versions, on a real running
Blocks and a real Hub client. So an upgrade that moves one of them fails that test, naming the
accessor, instead of failing in a user's session.

Gradio (`ui/`):
- `handler_context()`: the session, event and Blocks of the handler call in progress
  (`gradio.context.LocalContext`);
- `event_handlers`, `has_handler`, `components`: the Blocks' registered handlers (`blocks.fns`) and
  its components (`blocks.blocks`);
- `enqueue_time`, `queued_events`, `waiting`, `drop_pending`: the queue (`blocks._queue`);
- `state_holder`, `session_ids`, `forget_session`: per-session state (`app.state_holder`, Gradio's
  caches and streams);
- `upload_folder`: where Gradio keeps uploads; `EditorData`, `NamedString`: the data classes that
  ui.guard's checked components subclass or return;
- `image_cache_codec`, `set_image_saver`: how Gradio encodes and files the images it serves, and the
  function every image component saves them with (`gradio.processing_utils`; ui.gradio_cache);
- `skip_stub_files`: no typing stub written for our component subclasses (`gradio.component_meta`).

huggingface_hub (`hubguard`): `hub_request_hook` (its own request hook, kept when `hubguard` installs
a client with ours), `set_hub_client_factory`.

No import of ours: everything is imported lazily, so a library that never touches Gradio does not
load it.
"""


# ---- Gradio: the handler call in progress --------------------------------------------------------

def handler_context():
    """(session hash, event id, Blocks) of the Gradio handler call in progress. Gradio sets them in
    every handler call, also in worker threads. Outside a handler: (None, None, None)."""
    try:
        from gradio.context import LocalContext
        request, event_id, blocks = (LocalContext.request.get(None), LocalContext.event_id.get(None),
                                     LocalContext.blocks.get(None))
    except (ImportError, LookupError, AttributeError):
        return None, None, None
    return getattr(request, "session_hash", None), event_id, blocks


# ---- Gradio: handlers and components of a Blocks ------------------------------------------------

def event_handlers(blocks):
    """The Blocks' registered event handlers (Gradio's BlockFunction objects: `.fn`, `.name`)."""
    return list(blocks.fns.values())


def has_handler(blocks, fn_index):
    """Whether `fn_index` names one of the Blocks' event handlers."""
    return fn_index in blocks.fns


def components(blocks):
    """Every component of the Blocks, by Gradio's id table."""
    return list(blocks.blocks.values())


# ---- Gradio: the queue --------------------------------------------------------------------------

def _queue(blocks):
    return getattr(blocks, "_queue", None)


def enqueue_time(blocks, event_id):
    """time.monotonic() at which Gradio queued `event_id` (None if unknown)."""
    queue = _queue(blocks)
    event = queue.event_ids_to_events.get(event_id) if queue is not None and event_id else None
    return getattr(event, "enqueue_time", None)


def queued_events(blocks):
    """Every event the queue holds, waiting or running (each has `.session_hash`)."""
    queue = _queue(blocks)
    return list(queue.event_ids_to_events.values()) if queue is not None else []


def waiting(blocks, concurrency_id):
    """The events waiting (not yet running) for the workers of `concurrency_id`."""
    queue = _queue(blocks)
    if queue is None:
        return []
    held = queue.event_queue_per_concurrency_id.get(concurrency_id)
    return list(held.queue) if held is not None else []


def drop_pending(blocks, session):
    """Forget the messages and event ids the queue keeps for `session` (results nobody will read)."""
    queue = _queue(blocks)
    for name in ("pending_messages_per_session", "pending_event_ids_session"):
        held = getattr(queue, name, None)
        if isinstance(held, dict):
            held.pop(session, None)


# ---- Gradio: per-session state ------------------------------------------------------------------

def state_holder(request=None, blocks=None):
    """(Gradio's per-session state holder, the Blocks) from a gr.Request (its app) or from the Blocks."""
    if request is not None:
        app = getattr(getattr(request, "request", None), "app", None)
        blocks = app.get_blocks() if hasattr(app, "get_blocks") else blocks
        return getattr(app, "state_holder", None), blocks
    return getattr(blocks, "state_holder", None), blocks


def session_ids(holder):
    """The sessions Gradio holds state for."""
    with holder.lock:
        return list(holder.session_data)


def forget_session(holder, blocks, session):
    """Everything Gradio holds for `session`: each gr.State's value (its delete_callback runs), its
    per-session record (state, config copy), its caches and its pending streams."""
    holder.delete_state(session)
    with holder.lock:
        holder.session_data.pop(session, None)
        holder.time_last_used.pop(session, None)
    from gradio import caching
    caching.clear_session_caches(session)
    streams = getattr(blocks, "pending_streams", None)
    if isinstance(streams, dict):
        streams.pop(session, None)


# ---- Gradio: files and data classes -------------------------------------------------------------

def upload_folder():
    """The folder Gradio writes uploads and served files to (GRADIO_TEMP_DIR, or its default)."""
    import gradio.utils
    return gradio.utils.get_upload_folder()


def editor_data():
    """gr.ImageEditor's data model (ui.guard subclasses it to refuse a malformed value by name)."""
    from gradio.components.image_editor import EditorData
    return EditorData


def named_string(path):
    """The str subclass Gradio hands a `filepath` File handler."""
    from gradio.utils import NamedString
    return NamedString(path)


def image_cache_codec():
    """(encode, folder_name): Gradio's bytes of a PIL image in a format (`processing_utils.encode_pil_to_bytes`)
    and the name of the cache folder those bytes go to (`processing_utils.hash_bytes`)."""
    from gradio import processing_utils
    return processing_utils.encode_pil_to_bytes, processing_utils.hash_bytes


def set_image_saver(fn):
    """`fn(img, cache_dir, name, format) -> path` in the place of Gradio's `processing_utils.save_pil_to_cache`,
    which every image component reaches through that module, wrapped in Gradio's profiling trace as the original
    is. Idempotent. -> the function Gradio now calls."""
    import inspect
    from gradio import processing_utils
    current = processing_utils.save_pil_to_cache
    if inspect.unwrap(current) is fn:   # set before (and maybe wrapped since, e.g. by benchmarks.profile_edit's timer)
        return current
    traced = getattr(processing_utils, "traced_sync", None)   # functools.wraps: the result has __wrapped__
    processing_utils.save_pil_to_cache = traced("postprocess_save_pil_to_cache")(fn) if traced else fn
    return processing_utils.save_pil_to_cache


def skip_stub_files(prefix):
    """From now on, Gradio writes no typing stub (`.pyi`) for the component subclasses of modules whose
    name starts with `prefix`. Gradio's ComponentMeta writes one next to the source file of every
    component subclass it creates (`gradio.component_meta.create_or_modify_pyi`: that file parsed
    twice and a template rendered per class): an editor's aid no running app reads, paid at every
    start (ui.guard makes ten). Other classes keep Gradio's behaviour."""
    from gradio import component_meta
    real = component_meta.create_or_modify_pyi
    prefixes = getattr(real, "skipped_prefixes", None)
    if prefixes is None:
        def create_or_modify_pyi(component_class, class_name, events):
            if not str(getattr(component_class, "__module__", "")).startswith(tuple(prefixes)):
                real(component_class, class_name, events)
        prefixes = create_or_modify_pyi.skipped_prefixes = []
        component_meta.create_or_modify_pyi = create_or_modify_pyi
    if prefix not in prefixes:
        prefixes.append(prefix)


# ---- huggingface_hub ----------------------------------------------------------------------------

def hub_request_hook():
    """huggingface_hub's own request event hook (headers, tracing), kept in the client hubguard builds."""
    from huggingface_hub.utils._http import hf_request_event_hook
    return hf_request_event_hook


def set_hub_client_factory(factory):
    """Make huggingface_hub build its shared HTTP client with `factory`."""
    from huggingface_hub import set_client_factory
    set_client_factory(factory)
