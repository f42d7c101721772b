"""Drag tab handlers that run engines: the drag endpoints (one per engine, and Compare all), Stop,
Export and the replay of an edit JSON. Outputs follow the declared engines (drags.engines): one
result panel per engine, then the status, the table and the state. Every drag continues the
session's chain (ui.state): each engine starts from its head, and the finished drag is pushed onto
the chain. Settings arrive as the fields of ui.drag_settings (named API parameters)."""
import inspect
from dataclasses import replace

import gradio as gr
import numpy as np

import limits
from dragcore.report import STOP_REASONS
from drags import engines, in_photo
from drags.engines import ENGINES, label
from dragcore import config
from dragcore.protocol import generator_kind
from ui import disk, drag_settings, drag_stream, draw, export, models, run_control, scratch
from ui import guard as ug
from ui.context import DEVICE, get_model
from ui.drag_chain import origin
from ui.drag_image import start_image
from ui.mask import from_editor
from ui.state import DragRecord

_NEED_IMAGE = "Generate an image first (New image)."
MEASURING = "Measuring what moved…"   # the status while the report measures the final images
# A run changes the state object it started with in place and never sends it back as an output: a New
# image (or Send to the Drag tab) while it runs replaces the session's state, and the run, which ends
# in the state it started from, must not write the older one back over it.
IN_PLACE = gr.skip()


def check_points(state):
    if state is None or not state.ready:
        raise gr.Error(_NEED_IMAGE)
    p = state.points
    if not p:
        raise gr.Error("Add at least one handle and its target: click the image twice.")
    if len(p) % 2:
        raise gr.Error(f"Handle {len(p) // 2 + 1} has no target: click where it should go, or Undo it.")


def check_chain(state):
    most = limits.max_chain()
    if len(state.chain) >= most:
        raise gr.Error(f"This image already has {most} drags in its chain, the most a chain keeps: Undo drag or "
                       f"Reset image (export the result first to keep it).")


def plan(state, methods, mask):
    """The record of the next drag of `state` with `methods`: each engine's points and head."""
    return DragRecord(points={m: state.points_for(m) for m in methods}, mask=mask,
                      sources={m: state.source(m) for m in methods})


def make_sessions(configs, state, record, uploads=None):
    """Engine sessions for the drag `record` plans, each from its engine's head in `state`; every
    input validated, nothing in `state` changed."""
    G = state.generator or get_model(state.model, uploads)  # an inverted photo brings its tuned generator
    sessions = {}
    for m, cfg in configs.items():
        pts = record.points[m]
        sessions.update(engines.make_sessions({m: cfg}, G, pts[0::2], pts[1::2], mask=record.mask, device=DEVICE,
                                              latent=state.head_latent(record.sources[m]),
                                              start_image=state.head_image(record.sources[m])))
        if follows(state, G):   # its tuned maps hold detail at fixed pixels: they move with the drag
            in_photo.prepare(sessions[m], start=state.head_noise(record.sources[m]),
                             shows=state.head_picture(record.sources[m]))   # as the image it starts from
    return sessions


def follows(state, G):
    """An inverted photo's tuned noise maps follow its drags (dragcore.noise_follow, bounded by the request), as
    `python -m draggan|freedrag|stabledrag --inverted DIR` does by default."""
    return state.generator is not None and G is state.generator and generator_kind(G) == "stylegan"


def _finished(record, runs, sessions):
    """The record with each engine's run, its frames as the GIF shows them (and an inverted photo's noise maps as
    the drag moved them)."""
    for m, run in runs.items():
        follower = getattr(sessions[m].gen, "follower", None)
        noise = None if follower is None else tuple(follower.maps())
        picture = None if follower is None else in_photo.shown(sessions[m])
        record.results[m] = replace(run, frames=[export.gif_frame(f) for f in run.frames], noise=noise,
                                    picture=picture)
    return record


def drive(sessions, state, record):
    """Run the sessions, attached to the session's run so Stop reaches them (ui.run_control); yields frames
    and pushes the finished drag (the steps really taken, the settings used, each result) onto the
    state's chain."""
    run_control.current().attach([s.stop for s in sessions.values()])   # Stop by browser session, not by state object
    for frame in drag_stream.stream(sessions):
        yield frame
    state.push(_finished(record, frame.results, sessions))


def _handle_pts(session):
    st = session.status()
    return [q for pair in zip(st.handles, st.targets) for q in pair]


def panels(imgs):
    """One value per engine's result panel: its image, or gr.skip() for an engine not in `imgs`."""
    return tuple(imgs.get(m, gr.skip()) for m in ENGINES)


def run_drag(methods, state, editor, values, uploads=None, painted=None):
    """Drag with `methods` (one engine, or several each from its own head), streaming their panels;
    the drag continues the session's chain. The mask: the `editor` value given (the API), or, with
    `painted` (the page's buttons), what the session's editor showed at the click."""
    check_points(state)
    check_chain(state)
    configs = drag_settings.configs(methods, state.model, state.seed, state.psi, state.space, values,
                                    photo=state.generator)   # an inverted photo: a photo drag's presets
    mask = from_editor(editor, state.shape) if painted is None else painted.mask(state.shape, state.mask_epoch)
    record = plan(state, methods, mask)
    sessions = make_sessions(configs, state, record, uploads)
    n = len(state.chain) + 1
    head = f"**Drag {n} of the chain** · "
    page, sent = painted is not None, {}   # the page keeps what it was sent: a panel that did not change is skipped
    for frame in drive(sessions, state, record):
        if not frame.results:   # the final images are sent as soon as the steps end, then again with the verdict
            new = {m: (im, _handle_pts(sessions[m])) for m, im in frame.images.items()}
            changed = {m: (im, pts) for m, (im, pts) in new.items()
                       if not page or m not in sent or sent[m][0] is not im or sent[m][1] != pts}
            sent.update({m: (im, pts, draw.render(im, pts)) for m, (im, pts) in changed.items()})
            imgs = {m: sent[m][2] for m in changed}
            yield (*panels(imgs), head + frame.status + (f" — done. {MEASURING}" if frame.final else ""), gr.skip(),
                   IN_PLACE)
    starts = "; ".join(f"{label(m)} {origin(state, record, m, n)}" for m in methods)
    notes = "".join(f" {label(m)}: {run.result.tracker_note}." for m, run in frame.results.items()
                    if run.result.tracker_note)
    final = {} if page else {m: v[2] for m, v in sent.items()}   # an API call's last outputs: every panel
    yield (*panels(final), f"{head}{frame.status} — done. ({starts}.){notes} {region_note(mask)}",
           drag_stream.summary_rows(frame.results), IN_PLACE)


def region_note(mask):
    """The drag's editable region in words, so a user sees whether what they painted was used (a stroke the editor
    never sent, or painted before the editor was set, is not)."""
    if mask is None:
        return "Editable region: the whole image (no painted mask)."
    return f"Editable region: the painted {100 * float(np.mean(mask)):.0f} % of the image."


def drag_endpoint(methods, page=False):
    """A drag handler whose API parameters are `editor`, then the settings fields by name
    (`draggan_lr`, `mask_weight`, ...), so gradio_client users see what each one is. `page`: the
    page's own button instead, with the settings fields, then the state, the uploads and the session's
    `ui.mask.Painted` (the mask comes from there: no upload of the editor per click)."""
    def endpoint(*args):
        if page:
            values, (state, uploads, painted) = args[:-3], args[-3:]
            yield from run_drag(methods, state, None, list(values), uploads, painted=painted)
        else:
            editor, values, (state, uploads) = args[0], args[1:-2], args[-2:]
            yield from run_drag(methods, state, editor, list(values), uploads)
    P = inspect.Parameter   # every setting defaults to None: the model's preset, else the engine's default
    names = (*drag_settings.NAMES, "state", "uploads", "painted") if page else \
        ("editor", *drag_settings.NAMES, "state", "uploads")
    endpoint.__signature__ = inspect.Signature([P(n, P.POSITIONAL_OR_KEYWORD, default=None) for n in names])
    endpoint.__name__ = endpoint.__qualname__ = ("page_" if page else "") + "drag_" + "_".join(methods)
    kind = "compare" if len(methods) > 1 else "drag"   # one run at a time per session (ui.run_control)
    refused = lambda note: (*panels({}), note, gr.skip(), gr.skip())   # noqa: E731
    return ug.handler(run_control.exclusive(kind, refused)(endpoint))


def stop(state=None):
    """The session's run (drag, compare, replay, inversion), running or waiting in the queue (ui.run_control)."""
    return run_control.stop()


@ug.handler
def export_files(state):
    """Per engine of the last drag: its result, the GIF / MP4 of the whole chain that led to it, its
    latent and the edit JSON of that chain."""
    if state is None or not state.chain:
        raise gr.Error("Run a drag first; then its result can be exported.")
    inverted = state.generator is not None
    if inverted:
        gr.Warning("This drag started from an inverted photo: the edit JSON records it, but replaying needs the "
                   "photo's latent and tuned generator (`python -m latent invert` writes both).")
    out = scratch.new_folder("export_")   # under the app's own temporary folder, pruned (ui.scratch)
    files = []
    for m, r in state.results.items():
        lineage = state.lineage(m)
        drags = [export.drag_entry(method=e, points=rec.points[e], mask=rec.mask, params=rec.results[e].result.params,
                                   steps=rec.results[e].result.steps, outcome=export.outcome(rec.results[e].result),
                                   picture=rec.results[e].picture)
                 for rec, e in lineage]
        record = export.edit_record(model=("inverted:" if inverted else "") + state.model, seed=state.seed,
                                    psi=state.psi, space=state.space, drags=drags, shape=state.shape)
        frames = [f for rec, e in lineage for f in rec.results[e].frames]
        files += export.export_all(out, record, r.image, frames, r.latent)
        files += export.write_in_photo(state.photo, r.image, out, m)
    return files


def _config(fresh, drag):
    """A replayed drag's config: the edit's own settings; what it does not record: the model's
    presets, then the defaults."""
    m = drag["method"]
    return {m: config.with_presets(m, models.presets(fresh.model)[m], seed=fresh.seed, psi=fresh.psi,
                                   space=fresh.space, max_steps=drag["steps"], **drag["params"])}


def _record(drag, state):
    mask = drag["mask"] if drag["mask"] is not None and drag["mask"].any() else None
    return DragRecord(points={drag["method"]: drag["points"]}, mask=mask,
                      sources={drag["method"]: state.source(drag["method"])})


def _replay_setup(edit, uploads):
    """The fresh state and every drag's config, all checked (each drag's sessions are built once on
    the start latent, which checks its points, mask and settings on the model); nothing changed yet."""
    if edit["model"].startswith("inverted:"):
        raise gr.Error("this edit started from an inverted photo; it cannot be replayed from the JSON alone")
    fresh, _ = start_image(edit["model"], edit["seed"], edit["psi"], edit["space"], uploads)
    if edit.get("shape") and tuple(edit["shape"]) != tuple(fresh.shape):
        raise gr.Error("the edit was made on a {}x{} image, but {} makes {}x{} images (height x width)".format(
            *edit["shape"], edit["model"], *fresh.shape))
    configs, first = [_config(fresh, d) for d in edit["drags"]], None
    for k, (drag, cfg) in enumerate(zip(edit["drags"], configs)):
        try:
            sessions = make_sessions(cfg, fresh, _record(drag, fresh), uploads)
        except Exception as e:  # noqa: BLE001 - said with the drag it belongs to
            if len(configs) == 1:
                raise
            raise gr.Error(f"drag {k + 1} of the edit: {ug.as_gr_error(e).message}") from None
        first = first or sessions   # the first drag starts there: its sessions are the ones it runs
    return fresh, configs, first


@ug.handler
@run_control.exclusive("replay", lambda note: (gr.skip(), gr.skip(), note))
def replay(file, state, uploads=None):
    """Redo an exported edit: its drags in order, each from the previous one's result. Every field
    of every drag is checked and the model, image and sessions are built before the session's state
    changes: a bad edit leaves the previous image as it was. Each drag runs like any other (Stop
    reaches it and ends the replay there) and the status reports the steps each really took."""
    if file is None:
        raise gr.Error("Choose an edit JSON file to load.")
    try:
        edit = export.read_edit(file)
        fresh, configs, first = _replay_setup(edit, uploads)
    except Exception:
        disk.discard(file)   # a refused edit leaves nothing in Gradio's folder (ui.disk)
        raise
    out = IN_PLACE if state is not None else fresh
    state = state.adopt(fresh) if state is not None else fresh   # this object: the session's gr.State holds it
    n = len(edit["drags"])
    for k, (drag, cfg) in enumerate(zip(edit["drags"], configs)):
        record = _record(drag, state)
        state.points = drag["points"]
        sessions = first if k == 0 else make_sessions(cfg, state, record, uploads)
        for frame in drive(sessions, state, record):
            yield out, draw.render(next(iter(frame.images.values())), state.points), \
                f"Replaying{f' drag {k + 1} of {n}' if n > 1 else ''}… {frame.status}"
        if state.results[drag["method"]].result.stop_reason == "stopped":
            break
    done = [(d, rec.results[d["method"]].result) for d, rec in zip(edit["drags"], state.chain)]
    if n == 1:
        (d, r), = done
        text = f"Replayed the {d['method']} edit: {r.steps} of {d['steps']} steps ({STOP_REASONS[r.stop_reason]})."
    else:
        text = f"Replayed {len(done)} of the {n} drags of the {edit['method']} edit: " + "; ".join(
            f"drag {i + 1} ({label(d['method'])}) {r.steps} of {d['steps']} steps ({STOP_REASONS[r.stop_reason]})"
            for i, (d, r) in enumerate(done)) + "."
    yield out, draw.render(state.image, state.points), text
