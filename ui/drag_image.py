"""Drag tab handlers for the image and its points: New image, clicks, undo / clear points, Reset
image, the mask editor's reset, and the model upload. Each takes the session's `DragState` and
returns it."""
import sys

import gradio as gr
import numpy as np

import limits
from dragcore import adapt, generator_kind, startpass
from stylegan.imageops import to_uint8
from ui import disk, drag_settings, draw, run_control, splash
from ui import guard as ug
from ui.context import DEVICE, get_model
from ui.models import UPLOAD, register_upload
from ui.state import DragState

HINT = "Click a handle, then its target."
PREPARING = "Preparing this page's image…"   # until the page's first New image has run (then HINT)
FIRST_SEED = 4   # the seed the Drag tab opens with: a clear frontal face on the bundled model (the engines' default is
                 # dragcore.config's)



def empty_editor(shown):
    """The mask editor's value for `shown` (a PIL image) with nothing painted: one transparent layer of its size (an
    empty list of layers would leave the page's editor holding, and later sending again, the old stroke)."""
    return dict(background=shown, layers=[np.zeros((shown.size[1], shown.size[0], 4), np.uint8)], composite=shown)

def start_image(model_id, seed, psi, space, uploads):
    """A fresh DragState for (model, seed, psi, space) and the generator; raises on any bad value, touches nothing."""
    seed, psi = limits.check("seed", seed), limits.check("psi", psi)
    if space not in ("w+", "w", "z"):
        raise limits.LimitError(f"Latent space must be 'w+' or 'w', got {str(space)[:20]!r}")
    if model_id == UPLOAD:  # record which upload, so an exported edit names it
        model_id = f"{UPLOAD}:{(uploads or {}).get('sha256', '')[:12]}"
    G = get_model(model_id, uploads)
    if generator_kind(G) == "dcgan":  # the DCGAN has no mapping network: Z space only
        space = "z"
    elif space == "z":
        raise limits.LimitError("Latent space must be 'w+' or 'w' for a StyleGAN model")
    gen = adapt(G, DEVICE)
    frame = to_uint8(startpass.shown(gen, gen.latent_init(seed, psi, space)))[0]   # a drag from it reads its pass
    return DragState(model=model_id, seed=seed, psi=psi, space=space, shape=frame.shape[:2], start=frame,
                     image=frame), G


def first_view(model_id, seed, psi, space):
    """The image the page opens with (model, seed, psi, space as the tab's fields start), drawn for
    display: in the page itself, so the face is on screen before the page's first New image (which
    sets the session's state and fields) has run. None when it cannot be made: that New image then
    says why."""
    try:
        state, _ = start_image(model_id, seed, psi, space, None)
    except Exception:  # noqa: BLE001 - the page's own New image reports it
        return None
    try:   # the next start's splash page shows it (ui.splash)
        splash.remember(model_id, dict(seed=state.seed, psi=state.psi, space=state.space), state.image)
    except OSError as e:
        print(f"note: the first image is not kept for the next start's page: {e}", file=sys.stderr)
    return draw.render(state.image)


def shown_outputs(state, G, note):
    """What New image (and Send to the Drag tab) set: the state, the image, the mask editor, every
    settings field (the model's presets) and the note."""
    shown = draw.render(state.image)
    values = drag_settings.field_values(state.model, G, DEVICE, photo=G is not None and G is state.generator)
    return (state, shown, empty_editor(shown), *values, note)


def new_image(model, seed, psi, space, state, uploads=None):
    """A new start image; a bad value or an unavailable model is a warning and the session stays as it was."""
    try:
        fresh, G = start_image(model, seed, psi, space, uploads)
        outputs = shown_outputs(fresh, G, HINT if fresh.space != "z" else
                                "This model has no mapping network: it is dragged in Z space. " + HINT)
    except Exception as e:  # noqa: BLE001 - a warning and the session as it was
        return (state, gr.skip(), gr.skip(), *[gr.skip()] * len(drag_settings.FIELDS), ug.warn(e))
    return outputs   # a new state object: a run still going finishes into the old one (ui.drag_handlers.IN_PLACE)


def points_text(state):
    p = state.points if state is not None else []
    pairs = [f"{i // 2 + 1}: ({p[i][0]:.0f},{p[i][1]:.0f}) → " + (f"({p[i + 1][0]:.0f},{p[i + 1][1]:.0f})"
             if i + 1 < len(p) else "click the target") for i in range(0, len(p), 2)]
    return " · ".join(pairs) or HINT


def _points_free():
    """Points change only between drags: a drag reads them when it starts and leaves its own at the end,
    so a point added meanwhile would be shown and then dropped. Refused with one sentence instead."""
    run = run_control.busy()
    if run is not None and run.kind != "inversion":
        raise gr.Error(f"{run_control.article(run.kind)} is running: points can be changed when it ends (or press Stop).",
                       print_exception=False)


@ug.handler
def add_point(x, y, state):
    if state is None or not state.ready:
        raise gr.Error("Generate an image first (New image).")
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError, OverflowError):
        raise gr.Error("a point needs numeric x and y") from None
    if not (np.isfinite(x) and np.isfinite(y)):
        raise gr.Error("a point needs finite x and y")
    _points_free()
    most = limits.RANGES["point_pairs"][3]
    if len(state.points) >= 2 * most:
        raise gr.Error(f"at most {most} point pairs; Undo or Clear points first")
    w, h = draw.display_size(state.shape)
    if not (0 <= x < w and 0 <= y < h):
        raise gr.Error(f"({ug.number(x)}, {ug.number(y)}) is outside the {w}x{h} image (width x height)")
    state.points.append(draw.to_model_px(x, y, state.shape))
    return state, draw.render(state.image, state.points), points_text(state)


def on_click(state, evt: ug.Click):
    """A click on the image: a point (add_point). A refused click is a warning and the points line says why;
    the image stays as it is (an error would blank it until the next New image)."""
    try:
        if evt.index is None:
            raise gr.Error("The click did not give a pixel of the image (expected an index [x, y]); click the image "
                           "again.")
        if state is None or not state.ready:   # the page shows its first image before its New image has run
            raise gr.Error("The image is still being prepared for this page: click again in a moment.")
        x, y = evt.index
        return add_point(x, y, state)
    except gr.Error as e:
        return gr.skip(), gr.skip(), ug.warn(e)


def undo_point(state):
    if state is None or not state.ready:
        return state, None, HINT
    _points_free()
    if state.points:
        state.points.pop()
    return state, draw.render(state.image, state.points), points_text(state)


def clear_points(state):
    if state is None or not state.ready:
        return state, None, "Points cleared."
    _points_free()
    state.points = []
    return state, draw.render(state.image), "Points cleared."


@ug.handler
def reset_image(state):
    """Back to the start image (the seed's, or the inverted photo): the chain, points and mask are cleared."""
    if state is None or not state.ready:
        return state, None, None, HINT, "Nothing to reset: generate an image first (New image)."
    run_control.idle()   # the chain changes only between runs (ui.run_control)
    undone = len(state.chain)
    state.reset()
    shown = draw.render(state.start)
    return (state, shown, empty_editor(shown), HINT,
            f"Image reset to the start ({undone} drag{'' if undone == 1 else 's'} undone); the chain is empty.")


def model_shown(state):
    """The Model dropdown's value for the model of the image shown (after a failed New image it goes
    back to it)."""
    if state is None or state.model is None:
        return gr.skip()
    return gr.update(value=UPLOAD if state.model.startswith(UPLOAD + ":") else state.model)


def clear_mask(state):
    if state is None or not state.ready:
        return None
    state.new_mask_epoch()   # what was painted before is not used (ui.mask.Painted)
    shown = draw.render(state.image)
    return empty_editor(shown)


@ug.handler
def upload_model(file, uploads):
    """Validate and load a model file uploaded in this session; it becomes the 'upload' choice."""
    try:
        new = register_upload(file, str(disk.folder()))
    except Exception:
        disk.discard(file)   # a refused upload leaves nothing in Gradio's folder (ui.disk)
        raise
    try:
        G = get_model(UPLOAD, new)   # the sanity limits and the safe unpickler run now, not at the first drag
    except Exception as e:  # noqa: BLE001 - said with the file's name, not the server's path to it
        disk.discard(new["path"])
        raise gr.Error("Model upload: " + ug.as_gr_error(e).message.replace(new["path"], new["name"])) from None
    h, w = getattr(G, "img_shape", (G.img_resolution, G.img_resolution))
    note = (f"Uploaded {new['name']} ({h} px" + ("" if h == w else f" x {w} px, height x width") + f", sha256 "
            f"{new['sha256'][:12]}): choose 'Your uploaded model' and press New image.")
    return new, gr.update(value=UPLOAD), note
