"""The Gradio side of input safety: what every handler and input component of the app goes through.

- `handler(fn)`: every exception a handler raises reaches the user as one sentence in a
  `gr.Error` (never Gradio's bare "Error"); unexpected ones are also logged with their traceback.
  Messages are plain text, never HTML-escaped: API clients read them as they are, and the browser's
  toast passes them through Gradio's HTML sanitiser (so a quoted `<script>` never runs).
- Input components (`Number`, `Slider`, `Dropdown`, ...) that name themselves when Gradio's own
  preprocessing refuses a value (out of a slider's range, not a number, not a choice, not an
  image, not an editor value, a boolean for a number), and image inputs that check the pixel count
  from the file header before decoding (a decompression bomb is refused, never decoded).
  They are drawn exactly like Gradio's components (`is_template`).
"""
import functools
import inspect
import logging

import gradio as gr
import PIL.Image

import compat
import limits

log = logging.getLogger("latentlab")


def message(e, limit=300):
    """One line, at most `limit` characters, as plain text (see the module docstring on HTML)."""
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _user_error(text):
    # a user's mistake, not the server's: no traceback in the server log
    return gr.Error(text, print_exception=False)


def as_gr_error(e):
    if isinstance(e, gr.Error):
        e.print_exception = False
        return e
    if isinstance(e, RecursionError):
        return _user_error("the input is nested too deeply to be read")
    if isinstance(e, MemoryError):
        return _user_error("the request needs more memory than the server can give it; try smaller values")
    if isinstance(e, (ValueError, LookupError, OSError, RuntimeError)):  # every error our modules raise
        return _user_error(message(e))
    log.exception("unexpected error in a handler")
    return gr.Error(f"unexpected {type(e).__name__}: {message(e)}")


def warn(e):
    """A refusal said as a warning (a toast) instead of an error, which would mark every output of the event
    "Error" and blank its pictures: -> the status line '⚠ <message>' for the handler to show."""
    msg = as_gr_error(e).message
    gr.Warning(msg)
    return f"⚠ {msg}"


GUARDED = "__latentlab_guarded__"   # set on every wrapper `handler` makes


def _touch():
    """The session's idle clock restarts (ui.sessions): a handler of it starts or ends."""
    from ui import run_control, sessions
    sessions.touch(run_control.session_hash())


def handler(fn):
    """Wrap a Gradio handler (plain or generator) so every failure is one clear gr.Error (and the
    session's idle clock restarts when it starts and ends). Wrapping twice wraps once."""
    if getattr(fn, GUARDED, False):
        return fn
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            _touch()
            try:
                yield from fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - mapped, never swallowed
                raise as_gr_error(e) from None
            finally:
                _touch()
        setattr(gen_wrapper, GUARDED, True)
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _touch()
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - mapped, never swallowed
            raise as_gr_error(e) from None
        finally:
            _touch()
    setattr(wrapper, GUARDED, True)
    return wrapper


def guard_all(blocks):
    """Every event handler registered on `blocks` (compat.event_handlers) goes through `handler`:
    done once, after the Blocks are built, so no tab can register one that escapes it."""
    for dep in compat.event_handlers(blocks):
        if dep.fn is not None:
            dep.fn = handler(dep.fn)
    return guard_examples(blocks)


def number(x):
    """A number as quoted in a message: at most about 12 characters (1e308 is '1e+308', not 309 digits)."""
    try:
        x = float(x)
    except (TypeError, ValueError, OverflowError):
        return limits.short(x)
    return f"{x:.0f}" if abs(x) < 1e9 else f"{x:.3g}"


class Click(gr.SelectData):
    """The image's click (a `gr.SelectData`) read without trusting the event: a malformed one
    (no index, not a pair of numbers) has `index` None and the handler says so in one sentence,
    where Gradio's own SelectData would fail before any handler runs."""

    def __init__(self, target, data):
        gr.EventData.__init__(self, target, data)
        data = data if isinstance(data, dict) else {}
        index, self.value = data.get("index"), data.get("value")
        ok = (isinstance(index, (list, tuple)) and len(index) == 2
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in index))
        self.index = list(index) if ok else None
        self.selected = bool(data.get("selected", True))


def check_image_file(source, label):
    """Pixel count from the header (path or bytes) against limits, before anything decodes it."""
    import io
    try:
        with PIL.Image.open(source if isinstance(source, str) else io.BytesIO(source)) as im:
            w, h = im.size
    except PIL.Image.DecompressionBombError:   # Pillow refuses it from the header, before decoding
        raise _user_error(f"{label}: the image has too many pixels (at most "
                          f"{limits.SIZES['image_pixels']:,})") from None
    except (PIL.UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise _user_error(f"{label}: not an image file (or a corrupt one)") from None
    try:
        limits.check_size("image_pixels", w * h, f"{label}: the image ({w}x{h} pixels)")
    except limits.LimitError as e:
        raise _user_error(f"{e}: downscale it and upload it again") from None


def _numeric(value, slider):
    """A number, not a boolean; a Number field may also be empty (None) or text (checked by its handler)."""
    if value is None or isinstance(value, str):
        return not slider
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _editor_model(label):
    """ImageEditor's data model, refusing a value that is not an editor value with the field's name
    (Gradio validates the value against its model before any preprocess runs)."""
    EditorData = compat.editor_data()

    class Checked(EditorData):
        @classmethod
        def model_validate(cls, obj, *args, **kwargs):
            if not isinstance(obj, dict) or not set(obj) <= set(EditorData.model_fields):
                raise _user_error(f"{label}: not an image editor value (expected background, layers and composite), "
                                  f"got {type(obj).__name__}")
            if not isinstance(obj.get("layers") or [], list):
                raise _user_error(f"{label}: the layers must be a list of images")
            try:
                return super().model_validate(obj, *args, **kwargs)
            except ValueError as e:   # pydantic's ValidationError
                raise _user_error(f"{label}: not an image editor value ({message(e, 120)})") from None

    return Checked


def _discard_uploads(payload):
    """Delete the uploaded files of a refused input value (a file, or an editor's layers) from Gradio's folder."""
    from ui import disk
    values = [payload]
    for key in ("background", "composite", "layers"):
        part = getattr(payload, key, None)
        values += part if isinstance(part, list) else [part]
    for v in values:
        if getattr(v, "path", None):
            disk.discard_later(v.path)   # the page may be fetching a picture it was just given (ui.disk)


compat.skip_stub_files("ui.")   # Gradio would write ui/*.pyi at every start for the classes below


def _named(base):
    class Named(base):
        is_template = True  # the browser draws Gradio's own `base` component

        def preprocess(self, payload):
            label = self.label or "input"
            if isinstance(self, (gr.Number, gr.Slider)) and not _numeric(payload, isinstance(self, gr.Slider)):
                raise _user_error(f"{label}: must be a number, got {limits.short(payload)}")
            try:
                path = getattr(payload, "path", None)
                if path and isinstance(self, gr.Image):
                    check_image_file(path, self.label or "image")
                return super().preprocess(payload)
            except Exception as e:  # noqa: BLE001 - Gradio's own refusal, given the field's name
                _discard_uploads(payload)   # a refused upload leaves nothing in Gradio's folder
                text = message(as_gr_error(e).message)
                raise _user_error(text if text.startswith(label + ":") else f"{label}: {text}") from None

    Named.__name__ = Named.__qualname__ = base.__name__
    return Named


class ImageEditor(_named(gr.ImageEditor)):
    is_template = True
    __qualname__ = "ImageEditor"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.data_model = _editor_model(self.label or "image editor")
    # Gradio sends the page the attributes named by the class's __init__ signature: without this, none
    # (no brush, no height, no elem_id) and the page's editor could not be painted on
    __init__.__signature__ = inspect.signature(gr.ImageEditor.__init__)

    def get_block_name(self):
        return "imageeditor"

    def preprocess(self, payload):
        if payload is not None and len(getattr(payload, "layers", None) or []) > 8:
            _discard_uploads(payload)
            raise _user_error(f"{self.label}: at most 8 layers")
        return super().preprocess(payload)

    def convert_and_format_image(self, file, flatten_on_white=False):
        if file is not None:
            check_image_file(file.path if hasattr(file, "path") else bytes(file), self.label or "mask")
        return super().convert_and_format_image(file, flatten_on_white=flatten_on_white)


class File(_named(gr.File)):
    """gr.File whose `filepath` preprocessing creates nothing: Gradio's own opens an empty temporary file
    in its folder for every file it hands a handler, and never removes it."""
    is_template = True
    __qualname__ = "File"

    def get_block_name(self):
        return "file"

    def _process_single_file(self, f):
        if self.type != "filepath":
            return super()._process_single_file(f)
        from gradio_client import utils as client_utils
        if self.file_types and not client_utils.is_valid_file(f.path, self.file_types):
            raise gr.Error(f"Invalid file type. Please upload a file that is one of these formats: {self.file_types}")
        return compat.named_string(f.path)


Number, Slider, Dropdown, Radio, Textbox, Image = (_named(c) for c in (
    gr.Number, gr.Slider, gr.Dropdown, gr.Radio, gr.Textbox, gr.Image))


def ranged(name, value, step=None, **kwargs):
    """A Slider spanning exactly the range `limits.RANGES[name]` (the README's table): the slider and the
    handler's check accept the same values. Its label defaults to the range's."""
    label, kind, lo, hi = limits.RANGES[name]
    slider = Slider(lo, hi, value, step=step or (1 if kind is int else None), label=kwargs.pop("label", label),
                    **kwargs)
    slider.limit_name = name
    return slider


def guard_examples(blocks):
    """The example loaders (gr.Examples' Dataset): an index that names no example is refused with one
    sentence by the component's own `preprocess`, where Gradio would answer HTTP 500 (999, "x")."""
    for block in compat.components(blocks):
        if isinstance(block, gr.Dataset) and not getattr(block, GUARDED, False):
            block.preprocess = _example_index(block, block.preprocess)
            setattr(block, GUARDED, True)
    return blocks


def _example_index(dataset, preprocess):
    @functools.wraps(preprocess)
    def checked(payload):
        n = len(dataset.samples or [])
        if isinstance(payload, bool) or not isinstance(payload, int) or not 0 <= payload < n:
            raise _user_error(f"Example: no example number {limits.short(payload)}; "
                              f"choose a whole number from 0 to {n - 1}")
        return preprocess(payload)
    return checked


class KnownEvents:
    """ASGI middleware: a queue or predict request naming an `fn_index` the app does not have is
    answered with HTTP 400 and one sentence, where Gradio would answer HTTP 500 (a KeyError in its
    queue). The body is read here and handed on unchanged."""

    blocks = None          # set by app.py once the Blocks are built
    PATHS = ("/queue/join", "/run/predict")
    MAX_BODY = 64_000_000  # bytes read to look for fn_index; a larger body is handed on unread

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "").rstrip("/")
        if scope.get("type") != "http" or scope.get("method") != "POST" or KnownEvents.blocks is None \
                or not path.endswith(self.PATHS):
            return await self.app(scope, receive, send)
        chunks, size, more = [], 0, True
        while more and size <= self.MAX_BODY:
            msg = await receive()
            if msg["type"] != "http.request":
                return await self.app(scope, _replay(chunks, msg, receive), send)
            chunks.append(msg.get("body", b""))
            size += len(chunks[-1])
            more = msg.get("more_body", False)
        unknown = None if more else _unknown_fn(b"".join(chunks), KnownEvents.blocks)
        if unknown is not None:
            from starlette.responses import JSONResponse
            text = (f"unknown fn_index {limits.short(unknown)}: this app has no such event handler "
                    f"(its handlers are listed in /config)")
            return await JSONResponse({"detail": text, "error": text}, status_code=400)(scope, receive, send)
        return await self.app(scope, _replay(chunks, None, receive, more), send)


def _unknown_fn(body, blocks):
    """The request's fn_index when it names no handler of `blocks`; None otherwise (or unreadable JSON:
    Gradio's own validation answers that)."""
    import json
    try:
        fn_index = json.loads(body).get("fn_index")
    except (ValueError, AttributeError, RecursionError):
        return None
    if fn_index is None or (isinstance(fn_index, int) and not isinstance(fn_index, bool) and compat.has_handler(blocks, fn_index)):
        return None
    return fn_index if isinstance(fn_index, int) and not isinstance(fn_index, bool) else None


def _replay(chunks, pending, receive, more=False):
    """A `receive` that hands on the body chunks read so far (then `pending`, then the rest)."""
    queue = [dict(type="http.request", body=b"".join(chunks), more_body=more or pending is not None)]
    if pending is not None:
        queue.append(pending)

    async def replay():
        return queue.pop(0) if queue else await receive()
    return replay
