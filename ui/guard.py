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


def handler(fn):
    """Wrap a Gradio handler (plain or generator) so every failure is one clear gr.Error."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - mapped, never swallowed
                raise as_gr_error(e) from None
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - mapped, never swallowed
            raise as_gr_error(e) from None
    return wrapper


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
        raise _user_error(str(e)) from None


def _numeric(value, slider):
    """A number, not a boolean; a Number field may also be empty (None) or text (checked by its handler)."""
    if value is None or isinstance(value, str):
        return not slider
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _editor_model(label):
    """ImageEditor's data model, refusing a value that is not an editor value with the field's name
    (Gradio validates the value against its model before any preprocess runs)."""
    from gradio.components.image_editor import EditorData

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


def _named(base):
    class Named(base):
        is_template = True  # the browser draws Gradio's own `base` component

        def preprocess(self, payload):
            label = self.label or "input"
            if isinstance(self, (gr.Number, gr.Slider)) and not _numeric(payload, isinstance(self, gr.Slider)):
                raise _user_error(f"{label}: must be a number, got {limits.short(payload)}")
            path = getattr(payload, "path", None)
            if path and isinstance(self, gr.Image):
                check_image_file(path, self.label or "image")
            try:
                return super().preprocess(payload)
            except Exception as e:  # noqa: BLE001 - Gradio's own refusal, given the field's name
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

    def get_block_name(self):
        return "imageeditor"

    def preprocess(self, payload):
        if payload is not None and len(getattr(payload, "layers", None) or []) > 8:
            raise _user_error(f"{self.label}: at most 8 layers")
        return super().preprocess(payload)

    def convert_and_format_image(self, file, flatten_on_white=False):
        if file is not None:
            check_image_file(file.path if hasattr(file, "path") else bytes(file), self.label or "mask")
        return super().convert_and_format_image(file, flatten_on_white=flatten_on_white)


Number, Slider, Dropdown, Radio, Textbox, File, Image = (_named(c) for c in (
    gr.Number, gr.Slider, gr.Dropdown, gr.Radio, gr.Textbox, gr.File, gr.Image))
