"""The drag chain's handlers and view: Undo drag, Continue all from one result, and `view`, what
the Drag tab shows of the chain after any change (the image to click on with its points, one
result panel per engine with a caption saying where its drag started, the results tables and the
choice between the results). The chain itself is ui.state's; drags are run by ui.drag_handlers."""
import gradio as gr

from drags.engines import ENGINES, label
from ui import drag_stream, draw, run_control
from ui import guard as ug
from ui.drag_image import points_text
from ui.state import engine_points

CLICK = "**Click** a handle (red), then its target (blue)"


def origin(state, record, method, n):
    """Where `method`'s drag n of the chain started, in words ('from its own result of drag 1')."""
    src = record.sources[method]
    if src is None:
        return "from the inverted photo" if state.generator is not None else "from the start image"
    if src != method:
        return f"from {label(src)}'s result of drag {n - 1}"
    return f"from its own result of drag {n - 1}" if len(state.chain[n - 2].results) > 1 else \
        f"from the result of drag {n - 1}"


def chain_text(state):
    """One line: how many drags the chain holds and where the next one starts."""
    n = len(state.chain)
    if not n:
        return "No drags yet: the next drag starts from the " + (
            "inverted photo." if state.generator is not None else "start image.")
    last = state.chain[-1]
    if len(last.results) > 1 and not last.chosen:
        nxt = "each engine continues from its own result (or continue all from one of them)"
    else:
        nxt = f"the next drag continues from {label(last.shown())}'s result"
    return (f"**{n} drag{'s' if n > 1 else ''} in the chain**; {nxt}. *Undo drag* goes back one, "
            "*Reset image* to the start.")


def _caption(state, method):
    name = f"**{label(method)}**"
    if not state.chain:
        return name
    n, last = len(state.chain), state.chain[-1]
    if method not in last.results:
        return f"{name} · not run in drag {n}"
    chosen = " · **every engine continues from here**" if last.chosen == method else ""
    return f"{name} · drag {n}, {origin(state, last, method, n)}{chosen}"


def view(state):
    """What the tab shows of the chain: (image to click, points text, its caption, a caption per
    engine, a panel per engine, results table, per-point table, the row of 'Continue all from ...'
    buttons)."""
    if state is None or not state.ready:
        return (gr.skip(),) * (5 + 2 * len(ENGINES)) + (gr.update(visible=False),)
    results = state.results
    panels = [draw.render(results[m].image, engine_points(results[m])) if m in results else None for m in ENGINES]
    last = state.chain[-1] if state.chain else None
    shown = f" · showing {label(last.shown())}'s result of drag {len(state.chain)}" if last else ""
    return (draw.render(state.image, state.points), points_text(state), CLICK + shown,
            *[_caption(state, m) for m in ENGINES], *panels,
            drag_stream.summary_rows(results), drag_stream.detail_rows(results),
            gr.update(visible=last is not None and len(last.results) > 1))


def _shown(state, status):
    shown = draw.render(state.image, state.points)
    return state, shown, points_text(state), status


@ug.handler
def undo_drag(state):
    """Back to before the last drag: the exact image it started from, and the points it was given."""
    if state is None or not state.ready:
        raise gr.Error("Generate an image first (New image).")
    if not state.chain:
        raise gr.Error("There is no drag to undo: the image is the start image.")
    run_control.idle()   # the chain changes only between runs (ui.run_control)
    state.undo()
    return _shown(state, "Undid the last drag. " + chain_text(state))


@ug.handler
def continue_from(method, state):
    """Every engine's next drag starts from `method`'s result of the last drag."""
    if state is None or not state.chain:
        raise gr.Error("Run a drag first; then every engine can continue from its result.")
    if method not in state.results:
        have = ", ".join(state.results)
        raise gr.Error(f"method: the last drag has no {str(method)[:20]!r} result (it has: {have})")
    run_control.idle()   # the chain changes only between runs (ui.run_control)
    state.choose(method)
    return _shown(state, f"Every engine continues from {label(method)}'s result of drag "
                         f"{len(state.chain)}. " + chain_text(state))
