"""Drag tab handlers that run engines: the three drag endpoints, Stop, Export and the replay of an
edit JSON. Settings arrive as the fields of ui.drag_settings (named API parameters)."""
import inspect

import gradio as gr
import numpy as np

import checkpoints
from dragcore import config
from ui import draw, drag_settings, export, runner, runs, scratch
from ui import guard as ug
from ui.context import DEVICE, get_model
from ui.drag_image import start_image
from ui.mask import from_editor

_NEED_IMAGE = "Generate an image first (New image)."


def check_points(state):
    if state is None or not state.ready:
        raise gr.Error(_NEED_IMAGE)
    p = state.points
    if not p:
        raise gr.Error("Add at least one handle and its target: click the image twice.")
    if len(p) % 2:
        raise gr.Error(f"Handle {len(p) // 2 + 1} has no target: click where it should go, or Undo it.")


def make_sessions(configs, state, editor, uploads=None):
    """Engine sessions for a drag, every input validated; raises before anything in `state` changes."""
    mask = from_editor(editor, state.shape)
    G = state.generator or get_model(state.model, uploads)  # an inverted photo brings its tuned generator
    handles, targets = state.pairs()
    sessions = runner.make_sessions(configs, G, handles, targets, mask=mask, latent=state.latent, device=DEVICE)
    return sessions, mask


def drive(sessions, configs, state, mask):
    """Run the sessions, attached to the session's run so Stop reaches them (ui.runs); yields frames
    and leaves the results (with the steps really taken and the settings used) in `state`."""
    runs.current().attach([s.stop for s in sessions.values()])   # issue 25: Stop by session, not by state
    state.mask = mask
    for frame in runner.stream(sessions, every=5):
        yield frame
    state.results = {m: dict(r, params=export.record_params(r["params"], configs[m])) for m, r in frame.results.items()}
    state.image = frame.results[list(sessions)[-1]]["frames"][-1]


def _handle_pts(session):
    st = session.status()
    return [q for pair in zip(st.handles, st.targets) for q in pair]


def run_drag(methods, state, editor, values, uploads=None):
    """Drag with `methods` (one or both engines, the same start), streaming both panels."""
    check_points(state)
    configs = drag_settings.configs(methods, state.model, state.seed, state.psi, state.space, values)
    sessions, mask = make_sessions(configs, state, editor, uploads)
    blank = gr.skip()
    for frame in drive(sessions, configs, state, mask):
        imgs = {m: draw.render(im, _handle_pts(sessions[m])) for m, im in frame.images.items()}
        table = runner.summary_rows(frame.results) if frame.results else gr.skip()
        yield (imgs.get("draggan", blank), imgs.get("freedrag", blank), frame.status, table, state)
    yield (imgs.get("draggan", blank), imgs.get("freedrag", blank), frame.status + " — done.",
           runner.summary_rows(frame.results), state)


def drag_endpoint(methods):
    """A drag handler whose API parameters are `editor`, then the settings fields by name
    (`draggan_lr`, `mask_weight`, ...), so gradio_client users see what each one is."""
    def endpoint(*args):
        editor, values, (state, uploads) = args[0], args[1:-2], args[-2:]
        yield from run_drag(methods, state, editor, list(values), uploads)
    P = inspect.Parameter   # every setting defaults to None: the model's preset, else the engine's default
    endpoint.__signature__ = inspect.Signature(
        [P(n, P.POSITIONAL_OR_KEYWORD, default=None) for n in ("editor", *drag_settings.NAMES, "state", "uploads")])
    endpoint.__name__ = endpoint.__qualname__ = "drag_" + "_".join(methods)
    kind = "compare" if len(methods) > 1 else "drag"   # one run at a time per session (ui.runs)
    return ug.handler(runs.exclusive(kind, lambda note: (gr.skip(), gr.skip(), note, gr.skip(), gr.skip()))(endpoint))


def stop(state=None):
    """The session's run (drag, compare, replay, inversion), running or waiting in the queue (ui.runs)."""
    return runs.stop()


@ug.handler
def export_files(state):
    if state is None or not state.results:
        raise gr.Error("Run a drag first; then its result can be exported.")
    inverted = state.generator is not None
    if inverted:
        gr.Warning("This drag started from an inverted photo: the edit JSON records it, but replaying needs the "
                   "photo's latent and tuned generator (`python -m latent invert` writes both).")
    out = scratch.new_folder("export_")   # under the app's own temporary folder, pruned (ui.scratch)
    files = []
    for m, r in state.results.items():
        record = export.edit_record(model=("inverted:" if inverted else "") + state.model, seed=state.seed,
                                    psi=state.psi, space=state.space, points=state.points, mask=state.mask, method=m,
                                    params=r["params"], steps=r["steps"], shape=state.shape)
        files += export.export_all(out, r, record)
    return files


def _replay_setup(edit, uploads):
    """The fresh state, configs, sessions and mask of an edit, all checked; nothing changed yet."""
    if edit["model"].startswith("inverted:"):
        raise gr.Error("this edit started from an inverted photo; it cannot be replayed from the JSON alone")
    fresh, _ = start_image(edit["model"], edit["seed"], edit["psi"], edit["space"], uploads)
    if edit.get("shape") and tuple(edit["shape"]) != tuple(fresh.shape):
        raise gr.Error("the edit was made on a {}x{} image, but {} makes {}x{} images (height x width)".format(
            *edit["shape"], edit["model"], *fresh.shape))
    fresh.points = edit["points"]
    m = edit["method"]
    # the edit's own settings; what it does not record: the model's presets, then the defaults
    cfg = config.with_presets(m, checkpoints.presets(fresh.model)[m], seed=fresh.seed, psi=fresh.psi,
                              space=fresh.space, max_steps=edit["steps"], **edit["params"])
    editor = None if edit["mask"] is None else dict(background=None, composite=None, layers=[
        np.dstack([np.zeros(edit["mask"].shape + (3,), np.uint8), edit["mask"].astype(np.uint8) * 255])])
    sessions, mask = make_sessions({m: cfg}, fresh, editor, uploads)
    return fresh, {m: cfg}, sessions, mask


@ug.handler
@runs.exclusive("replay", lambda note: (gr.skip(), gr.skip(), note))
def replay(file, state, uploads=None):
    """Redo an exported edit. Every field is checked and the model, image and sessions are built
    before the session's state changes: a bad edit leaves the previous image as it was. The drag
    runs like any other (Stop reaches it) and the status reports the steps it really took."""
    if file is None:
        raise gr.Error("Choose an edit JSON file to load.")
    edit = export.read_edit(file)
    fresh, configs, sessions, mask = _replay_setup(edit, uploads)
    state = state.adopt(fresh) if state is not None else fresh   # this object: Stop sees the running replay
    for frame in drive(sessions, configs, state, mask):
        yield state, draw.render(next(iter(frame.images.values())), state.points), f"Replaying… {frame.status}"
    r = state.results[edit["method"]]
    why = {"stopped": "stopped by you", "arrived": "the engine's points arrived", "max_steps": "as recorded"}[r["stop_reason"]]
    yield state, draw.render(state.image, state.points), \
        f"Replayed the {edit['method']} edit: {r['steps']} of {edit['steps']} steps ({why})."
