"""The Gradio side of input safety (the one module of ui/ that imports gradio).

- `handler(fn)`: every exception a handler raises reaches the user as one sentence in a
  `gr.Error` (never Gradio's bare "Error"); unexpected ones are also logged with their traceback.
- Input components (`Number`, `Slider`, `Dropdown`, ...) that name themselves when Gradio's own
  preprocessing refuses a value (out of a slider's range, not a number, not a choice, not an
  image), and image inputs that check the pixel count from the file header before decoding.
  They are drawn exactly like Gradio's components (`is_template`).
"""
import functools
import html
import inspect
import logging

import gradio as gr
import PIL.Image

import limits

log = logging.getLogger("latentlab")


def message(e, limit=300):
    """One line, at most `limit` characters, with < > & escaped (Gradio renders messages as HTML
    and they may quote what a user typed)."""
    text = " ".join(str(e).split()) or type(e).__name__
    text = text if len(text) <= limit else text[:limit - 1] + "…"
    return html.escape(text, quote=False) if "<" in text or ">" in text else text


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
    except (PIL.UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise _user_error(f"{label}: not an image file (or a corrupt one)") from None
    try:
        limits.check_size("image_pixels", w * h, f"{label}: the image ({w}x{h} pixels)")
    except limits.LimitError as e:
        raise _user_error(str(e)) from None


def _named(base):
    class Named(base):
        is_template = True  # the browser draws Gradio's own `base` component

        def preprocess(self, payload):
            path = getattr(payload, "path", None)
            if path and isinstance(self, gr.Image):
                check_image_file(path, self.label or "image")
            try:
                return super().preprocess(payload)
            except Exception as e:  # noqa: BLE001 - Gradio's own refusal, given the field's name
                raise _user_error(f"{self.label or 'input'}: {message(as_gr_error(e).message)}") from None

    Named.__name__ = Named.__qualname__ = base.__name__
    return Named


class ImageEditor(_named(gr.ImageEditor)):
    is_template = True
    __qualname__ = "ImageEditor"

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
