"""Latent Lab: one Gradio Blocks app. Wiring only: engines live in draggan/, freedrag/,
dragcore/; drawing, masks, streaming and exports in ui/; models in checkpoints.py.

    python app.py [--model ID_OR_PATH] [--share] [--server-name 0.0.0.0] [--server-port 7860]
"""
import argparse
import sys
import tempfile
import time

import gradio as gr
import numpy as np

import checkpoints
import limits
import stylegan
from dragcore import adapt
from stylegan.precision import PRECISIONS
import latent
from ui import draw, export, runner
from ui import guard as ug
from ui.mask import from_editor
from ui import models as models_ui
from ui.models import UPLOAD, ModelStore, register_upload

try:  # ZeroGPU on Hugging Face Spaces; a no-op everywhere else
    import spaces
    gpu = spaces.GPU(duration=120)
except Exception:  # noqa: BLE001 - any import problem means "not on ZeroGPU"
    def gpu(fn):
        return fn

DEFAULT = {"model": checkpoints.DEFAULT_MODEL}
DEVICE = stylegan.pick_device()
STORE = ModelStore(DEVICE)   # read-only generators shared by all sessions (bounded LRU, see ui/models.py)


def get_model(model_id, uploads=None):
    return STORE.get(model_id, uploads)


def model_choices():
    return models_ui.choices(DEFAULT["model"])


def _preset(model_id):
    try:
        info = checkpoints.get_info(model_id)
        return info.freedrag_l, info.freedrag_d
    except checkpoints.UnknownModelError:
        return 0.3, 3.0


# --- drag tab handlers ---------------------------------------------------------------------------
def _start_image(model_id, seed, psi, space, uploads):
    """A fresh drag state for (model, seed, psi, space); raises on any bad value, touches nothing."""
    seed, psi = limits.check("seed", seed), limits.check("psi", psi)
    if space not in ("w+", "w", "z"):
        raise limits.LimitError(f"Latent space must be 'w+' or 'w', got {str(space)[:20]!r}")
    if model_id == UPLOAD:  # record which upload, so an exported edit names it
        model_id = f"{UPLOAD}:{(uploads or {}).get('sha256', '')[:12]}"
    G = get_model(model_id, uploads)
    if not isinstance(G, stylegan.Generator):  # the DCGAN has no mapping network: Z space only
        space = "z"
    elif space == "z":
        raise limits.LimitError("Latent space must be 'w+' or 'w' for a StyleGAN model")
    gen = adapt(G, DEVICE)
    from dragcore import to_uint8
    frame = to_uint8(gen.image(gen.latent_init(seed, psi, space)))
    return dict(model=model_id, seed=seed, psi=psi, space=space, shape=frame.shape[:2], start=frame,
                image=frame, points=[], running=[], results={}, frames={})


def new_image(model_id, seed, psi, space, state, uploads=None):
    try:
        fresh = _start_image(model_id, seed, psi, space, uploads)
    except Exception as e:  # noqa: BLE001 - a warning and the session as it was
        msg = ug.as_gr_error(e).message
        gr.Warning(msg)
        return (state, gr.skip(), gr.skip(), gr.skip(), gr.skip(), f"⚠ {msg}")
    note = "Click a handle, then its target."
    if fresh["space"] == "z":
        note = "This model has no mapping network: it is dragged in Z space. " + note
    shown = draw.render(fresh["image"])
    l, d = _preset(fresh["model"])
    return fresh, shown, dict(background=shown, layers=[], composite=shown), l, d, note


@ug.handler
def add_point(x, y, state):
    if not state:
        raise gr.Error("Generate an image first (New image).")
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError, OverflowError):
        raise gr.Error("a point needs numeric x and y") from None
    if not (np.isfinite(x) and np.isfinite(y)):
        raise gr.Error("a point needs finite x and y")
    if len(state["points"]) >= 2 * limits.RANGES["point_pairs"][3]:
        raise gr.Error(f"at most {limits.RANGES['point_pairs'][3]} point pairs; Undo or Clear points first")
    w, h = draw.display_size(state["shape"])
    if not (0 <= x < w and 0 <= y < h):
        raise gr.Error(f"({x:.0f}, {y:.0f}) is outside the {w}x{h} image (width x height)")
    state["points"].append(draw.to_model_px(x, y, state["shape"]))
    return state, draw.render(state["image"], state["points"]), _points_text(state)


def on_click(state, evt: gr.SelectData):
    x, y = evt.index
    return add_point(x, y, state)


def _points_text(state):
    p = state["points"]
    pairs = [f"{i // 2 + 1}: ({p[i][0]:.0f},{p[i][1]:.0f}) → " + (f"({p[i + 1][0]:.0f},{p[i + 1][1]:.0f})"
             if i + 1 < len(p) else "click the target") for i in range(0, len(p), 2)]
    return " · ".join(pairs) or "Click a handle, then its target."


def undo_point(state):
    if state and state["points"]:
        state["points"].pop()
    return state, (draw.render(state["image"], state["points"]) if state else None), _points_text(state or {"points": []})


def clear_points(state):
    if state:
        state["points"] = []
    return state, (draw.render(state["image"]) if state else None), "Points cleared."


def reset_image(state):
    if state:
        state.update(image=state["start"], points=[], results={}, frames={})
        shown = draw.render(state["start"])
        return state, shown, dict(background=shown, layers=[], composite=shown), "Image reset."
    return state, None, None, "Nothing to reset."


def clear_mask(state):
    shown = draw.render(state["image"]) if state else None
    return dict(background=shown, layers=[], composite=shown) if shown is not None else None


def _drag_params(lr, lam, r1, r2, max_steps, fd_l, fd_d):
    """The drag fields checked against limits.py (each error names its field)."""
    c = limits.check
    return dict(lr=c("lr", lr), mask_weight=c("mask_weight", lam), r1=c("r1", r1), r2=c("r2", r2),
                max_steps=c("max_steps", max_steps), l=c("l", fd_l), d=c("d", fd_d))


def _sessions(methods, state, editor, lr, lam, r1, r2, max_steps, fd_l, fd_d, uploads=None, precision="auto"):
    """Validated engine sessions for a drag; raises before anything in `state` changes."""
    if not state:
        raise gr.Error("Generate an image first (New image).")
    p = state["points"]
    if not p:
        raise gr.Error("Add at least one handle and its target: click the image twice.")
    if len(p) % 2:
        raise gr.Error(f"Handle {len(p) // 2 + 1} has no target: click where it should go, or Undo it.")
    v = _drag_params(lr, lam, r1, r2, max_steps, fd_l, fd_d)
    mask = from_editor(editor, state["shape"])
    G = state.get("generator") or get_model(state["model"], uploads)  # an inverted photo brings its tuned generator
    from dragcore.config import with_presets
    common = dict(seed=state["seed"], psi=state["psi"], space=state["space"], lr=v["lr"], mask_weight=v["mask_weight"],
                  max_steps=v["max_steps"], precision=precision)
    per = dict(draggan=dict(r1=v["r1"], r2=v["r2"]), freedrag=dict(l=v["l"], d=v["d"]))
    sessions = runner.make_sessions({m: with_presets(m, **common, **per[m]) for m in methods}, G, p[0::2], p[1::2],
                                    mask=mask, latent=state.get("latent"), device=DEVICE)
    return sessions, mask, v


def _drive(sessions, state, mask, v):
    """Run the sessions, registered in the session's state so Stop reaches them; yields frames and
    leaves the results (with the steps really taken) in `state`."""
    state["running"] = list(sessions.values())
    state["mask"] = mask
    try:
        for frame in runner.stream(sessions, every=5):
            yield frame
    finally:
        state["running"] = []
    state["results"] = {m: dict(r, params=dict(r["params"], **_method_params(m, v)))
                        for m, r in frame.results.items()}
    state["image"] = frame.results[list(sessions)[-1]]["frames"][-1]


@ug.handler
def run_drag(methods, state, editor, lr, lam, r1, r2, max_steps, fd_l, fd_d, uploads=None, precision="auto"):
    sessions, mask, v = _sessions(methods, state, editor, lr, lam, r1, r2, max_steps, fd_l, fd_d, uploads, precision)
    blank = gr.skip()
    for frame in _drive(sessions, state, mask, v):
        imgs = {m: draw.render(im, _pts(sessions[m])) for m, im in frame.images.items()}
        table = runner.summary_rows(frame.results) if frame.results else gr.skip()
        yield (imgs.get("draggan", blank), imgs.get("freedrag", blank), frame.status, table, state)
    yield (imgs.get("draggan", blank), imgs.get("freedrag", blank), frame.status + " — done.",
           runner.summary_rows(frame.results), state)


def _pts(session):
    st = session.status()
    return [q for pair in zip(st.handles, st.targets) for q in pair]


def _method_params(m, v):
    extra = dict(r1=v["r1"], r2=v["r2"]) if m == "draggan" else dict(l=v["l"], d=v["d"])
    return dict(lr=v["lr"], mask_weight=v["mask_weight"], max_steps=v["max_steps"], **extra)


def stop(state):
    running = (state or {}).get("running") or []
    if not running:
        gr.Warning("Nothing is running.")
        return "Nothing is running."
    for s in running:
        s.stop()
    return "Stopping…"


@ug.handler
def export_files(state):
    if not state or not state.get("results"):
        raise gr.Error("Run a drag first; then its result can be exported.")
    if state.get("generator") is not None:
        gr.Warning("This drag started from an inverted photo: the edit JSON records it, but replaying needs the "
                   "photo's latent and tuned generator (`python -m latent invert` writes both).")
    out = tempfile.mkdtemp(prefix="latentlab_export_")
    files = []
    for m, r in state["results"].items():
        record = export.edit_record(model=("inverted:" if state.get("generator") is not None else "") + state["model"], seed=state["seed"], psi=state["psi"], space=state["space"],
                                    points=state["points"], mask=state.get("mask"), method=m,
                                    params=r["params"], steps=r["steps"], shape=state["shape"])
        files += export.export_all(out, r, record)
    return files


@ug.handler
def replay(file, state, uploads=None):
    """Redo an exported edit. Every field is checked and the model, image and sessions are built
    before the session's state changes: a bad edit leaves the previous image as it was. The drag
    runs like any other (Stop reaches it) and the status reports the steps it really took."""
    if file is None:
        raise gr.Error("Choose an edit JSON file to load.")
    edit = export.read_edit(file)
    if edit["model"].startswith("inverted:"):
        raise gr.Error("this edit started from an inverted photo; it cannot be replayed from the JSON alone")
    fresh = _start_image(edit["model"], edit["seed"], edit["psi"], edit["space"], uploads)
    if edit.get("shape") and tuple(edit["shape"]) != tuple(fresh["shape"]):
        raise gr.Error("the edit was made on a {}x{} image, but {} makes {}x{} images (height x width)".format(
            *edit["shape"], edit["model"], *fresh["shape"]))
    fresh["points"] = edit["points"]
    p, (l, d) = edit["params"], _preset(fresh["model"])
    editor = None if edit["mask"] is None else dict(background=None, composite=None, layers=[
        np.dstack([np.zeros(edit["mask"].shape + (3,), np.uint8), edit["mask"].astype(np.uint8) * 255])])
    sessions, mask, v = _sessions([edit["method"]], fresh, editor, p.get("lr", 0.002), p.get("mask_weight", 10.0),
                                  p.get("r1", 3), p.get("r2", 12), edit["steps"], p.get("l", l), p.get("d", d), uploads)
    if not isinstance(state, dict):
        state = {}
    state.clear()
    state.update(fresh)   # the session's own state object: Stop sees the running replay
    for frame in _drive(sessions, state, mask, v):
        yield state, draw.render(next(iter(frame.images.values())), state["points"]), f"Replaying… {frame.status}"
    r = state["results"][edit["method"]]
    why = {"stopped": "stopped by you", "arrived": "the engine's points arrived", "max_steps": "as recorded"}[r["stop_reason"]]
    yield state, draw.render(state["image"], state["points"]), \
        f"Replayed the {edit['method']} edit: {r['steps']} of {edit['steps']} steps ({why})."


# --- latent and DCGAN tabs ---------------------------------------------------------------------
@ug.handler
def latent_interp(model_id, seed_a, seed_b, steps, psi, uploads=None):
    seed_a, seed_b = limits.check("seed", seed_a, "Seed A"), limits.check("seed", seed_b, "Seed B")
    steps, psi = limits.check("frames", steps), limits.check("psi", psi)
    G = get_model(model_id, uploads)
    rows, lines = [], []
    spaces = ("z", "w") if isinstance(G, stylegan.Generator) else ("z",)
    for space in spaces:
        for method in ("lerp", "slerp"):
            frames, _ = latent.interpolate(G, seed_a, seed_b, steps, space, method, psi)
            rows.append(latent.to_uint8(frames))
            sm = latent.smoothness(frames)
            lines.append(f"| {space.upper()} {method} | {sm['mean']:.2f} | {sm['max']:.2f} | {sm['unevenness']:.2f} |")
    table = ("Rows top to bottom: " + ", ".join(f"{s.upper()} {m}" for s in spaces for m in ("lerp", "slerp")) +
             "\n\n| path | mean step (/255) | max step | max/mean |\n|---|---|---|---|\n" + "\n".join(lines))
    return latent.image_strip(rows, scale=max(1, 128 // G.img_resolution)), table


def _seed_list(text, name="mix_seeds", label="Source seeds"):
    if len(str(text)) > 2000:
        raise limits.LimitError(f"{label}: at most 2000 characters")
    words = str(text).replace(",", " ").split()
    if not words:
        raise latent.LatentError("give at least one source seed")
    limits.check(name, len(words), f"{label}: the number of seeds")
    return [limits.check("seed", w, f"{label}: seed {w[:20]!r}") for w in words]


@ug.handler
def latent_mix(model_id, row_seed, col_seeds, psi, uploads=None):
    row, cols = limits.check("seed", row_seed, "Destination seed"), _seed_list(col_seeds)
    psi = limits.check("psi", psi)
    G = get_model(model_id, uploads)
    rows, labels = latent.style_mix_grid(G, [row], cols, psi)
    return latent.image_strip(rows, scale=max(1, 128 // G.img_resolution)), "Rows: " + "; ".join(labels)


@ug.handler
def latent_sefa(model_id, seed, k, strength, layer_set, psi, uploads=None):
    seed, k = limits.check("seed", seed), limits.check("sefa_k", k)
    strength, psi = limits.check("sefa_strength", strength), limits.check("psi", psi)
    G = get_model(model_id, uploads)
    latent.util.require_mapping(G)
    rows = latent.layer_ranges(G.num_ws)[layer_set] if layer_set != "all" else range(G.num_ws)
    dirs, vals = latent.sefa_directions(G, layers=rows, k=k)
    import torch
    with torch.no_grad():
        ws = G.mapping(latent.seed_z(seed, G.z_dim, next(G.parameters()).device), truncation_psi=psi)
        out = [latent.to_uint8(torch.cat([G.synthesis(latent.apply_direction(ws, d, t * strength, rows))
                                          for t in (-1, -0.5, 0, 0.5, 1)])) for d in dirs]
    return latent.image_strip(out, scale=max(1, 128 // G.img_resolution)), \
        "Eigenvalues: " + ", ".join(f"{float(v):.1f}" for v in vals) + " (one row per direction, strength -s..+s)"


@ug.handler
def invert_photo(photo, model_id, steps_w, steps_wplus, pti_steps, uploads=None, progress=gr.Progress()):
    if photo is None:
        raise gr.Error("Upload a photo first.")
    steps = [limits.check("inv_steps", v, label) for v, label in
             ((steps_w, "W steps"), (steps_wplus, "W+ steps"), (pti_steps, "PTI steps"))]
    G = get_model(model_id, uploads)
    latent.util.require_mapping(G)
    target = latent.load_image(photo, getattr(G, "img_shape", G.img_resolution))
    r = latent.invert(G, target, *steps, progress=lambda stage, i, n, loss: progress(i / n, desc=f"{stage} {i}/{n}"))
    from dragcore import to_uint8
    inv = dict(model=model_id, ws=r["ws"], generator=r["G_tuned"] or r["G_noise"], image=to_uint8(r["reconstruction"]))
    p = r["psnr"]
    md = (f"PSNR: W {p['w']:.1f} dB · W+ {p['w+']:.1f} dB" + (f" · W+ + PTI {p['pti']:.1f} dB" if "pti" in p else "")
          + f" · {r['seconds']:.0f} s · loss: {r['loss']}")
    return inv, draw.render(to_uint8(r["target"])), draw.render(inv["image"]), md


@ug.handler
def send_to_drag(inv, state):
    if not inv:
        raise gr.Error("Invert a photo first.")
    frame = inv["image"]
    state = dict(model=inv["model"], seed=0, psi=1.0, space="w+", shape=frame.shape[:2], start=frame, image=frame,
                 points=[], running=[], results={}, frames={}, generator=inv["generator"], latent=inv["ws"])
    shown = draw.render(frame)
    l, d = _preset(inv["model"])
    return state, shown, dict(background=shown, layers=[], composite=shown), l, d, \
        "Inverted photo loaded: click a handle, then its target."


@ug.handler
def dcgan_samples(seed, n):
    import dcgan
    import torch
    seed, n = limits.check("seed", seed), limits.check("dcgan_samples", n)
    G = dcgan.load_pretrained()
    with torch.no_grad():
        return dcgan.grid(G(torch.randn(n, 100, generator=torch.Generator().manual_seed(seed))), nrow=8)


@ug.handler
def upload_model(file, uploads):
    """Validate and load a model file uploaded in this session; it becomes the 'upload' choice."""
    import gradio.utils
    new = register_upload(file, gradio.utils.get_upload_folder())
    try:
        G = get_model(UPLOAD, new)   # the sanity limits and the safe unpickler run now, not at the first drag
    except Exception as e:  # noqa: BLE001 - said with the file's name, not the server's path to it
        raise gr.Error("Model upload: " + ug.as_gr_error(e).message.replace(new["path"], new["name"])) from None
    h, w = getattr(G, "img_shape", (G.img_resolution, G.img_resolution))
    note = (f"Uploaded {new['name']} ({h} px" + ("" if h == w else f" x {w} px, height x width") + f", sha256 "
            f"{new['sha256'][:12]}): choose "
            f"'Your uploaded model' and press New image.")
    return new, gr.update(value=UPLOAD), note


# --- layout --------------------------------------------------------------------------------------
def build():
    # uploads (photos, edits, models) older than a day are deleted every hour
    with gr.Blocks(title="Latent Lab", delete_cache=(3600, 86400)) as demo:
        gr.Markdown("# Latent Lab\nDrag GAN images with **DragGAN** and **FreeDrag**, side by side. "
                    "Click a handle point, then its target; optionally paint the editable region; drag.")
        state, uploads = gr.State({}), gr.State(None)   # per session: drag state; the uploaded model
        with gr.Tab("Drag"):
            with gr.Row():
                model = ug.Dropdown(model_choices(), value=DEFAULT["model"], label="Model")
                seed = ug.Number(3, label="Seed")
                psi = ug.Slider(0, 1, 0.7, step=0.05, label="Truncation ψ")
                space = ug.Radio(["w+", "w"], value="w+", label="Latent space")
                new_btn = gr.Button("New image", variant="primary")
            model_md = gr.Markdown(models_ui.card(DEFAULT["model"]))
            with gr.Accordion("Your own model (an official StyleGAN2 .pkl or a Latent Lab .safetensors)", open=False):
                model_file = ug.File(label="Model file (read safely: nothing in it is executed)", type="filepath",
                                     file_types=[".pkl", ".safetensors"])
            with gr.Row():
                with gr.Column():
                    image = gr.Image(label="Click: handle (red), then target (blue)", type="pil", interactive=False,
                                     elem_id="drag-image", height=420)
                    points_md = gr.Markdown("Click a handle, then its target.")
                    with gr.Row():
                        undo_btn = gr.Button("Undo last point")
                        clear_btn = gr.Button("Clear points")
                        reset_btn = gr.Button("Reset image")
                with gr.Column():
                    editor = ug.ImageEditor(label="Editable region (paint; empty = whole image)", type="numpy",
                                            brush=gr.Brush(colors=["#ffffff"], color_mode="fixed"),
                                            sources=(), transforms=(), layers=False, height=420)
                    clear_mask_btn = gr.Button("Clear mask")
            with gr.Row():
                dg_btn = gr.Button("Drag with DragGAN", variant="primary", elem_id="btn-draggan")
                fd_btn = gr.Button("Drag with FreeDrag", variant="primary", elem_id="btn-freedrag")
                both_btn = gr.Button("Compare both", elem_id="btn-compare")
                stop_btn = gr.Button("Stop", variant="stop")
            with gr.Accordion("DragGAN / shared parameters", open=False):
                with gr.Row():
                    lr = ug.Number(0.002, label="Learning rate", info=limits.describe("lr"))
                    lam = ug.Number(10.0, label="Mask weight λ", info=limits.describe("mask_weight"))
                    r1 = ug.Number(3, label="r1 (px at 512)", info=limits.describe("r1"))
                    r2 = ug.Number(12, label="r2 (px at 512)", info=limits.describe("r2"))
                    max_steps = ug.Number(200, label="Max steps", info=limits.describe("max_steps"))
                    precision = gr.Radio(list(PRECISIONS), value="auto", label="Precision",
                                         info="auto: bf16 where this machine computes it natively and it is faster")
            with gr.Accordion("FreeDrag parameters", open=False):
                with gr.Row():
                    fd_l = ug.Slider(0.1, 0.5, 0.3, step=0.05, label="l (expected initial loss)")
                    fd_d = ug.Slider(1, 6, 3, step=0.5, label="d (max move per sub-motion, feature px)")
            status = gr.Markdown("")
            with gr.Row():
                out_dg = gr.Image(label="DragGAN", type="pil", interactive=False, elem_id="out-draggan")
                out_fd = gr.Image(label="FreeDrag", type="pil", interactive=False, elem_id="out-freedrag")
            table = gr.Dataframe(headers=runner.TABLE_HEADERS,
                                 label="Results", interactive=False)
            with gr.Row():
                export_btn = gr.Button("Export result (PNG, GIF, MP4, latent, edit JSON)")
                files = gr.File(label="Exports", file_count="multiple")
                edit_file = ug.File(label="Load edit JSON (replays the same edit)", file_types=[".json"],
                                    type="filepath")
        with gr.Tab("Latent space"):
            gr.Markdown("Z vs W: the same two seeds interpolated in Z and in W (linear and spherical), with the "
                        "step sizes along each path; style mixing by coarse / middle / fine rows; SeFa directions.")
            with gr.Row():
                lat_model = ug.Dropdown(model_choices(), value=DEFAULT["model"], label="Model")
                lat_psi = ug.Slider(0, 1, 0.7, step=0.05, label="Truncation ψ")
            with gr.Row():
                seed_a, seed_b = ug.Number(1, label="Seed A"), ug.Number(2, label="Seed B")
                n_steps = ug.Slider(3, 16, 8, step=1, label="Frames")
                interp_btn = gr.Button("Interpolate")
            interp_img, interp_md = gr.Image(label="Interpolation", type="pil"), gr.Markdown()
            with gr.Row():
                mix_row = ug.Number(3, label="Destination seed")
                mix_cols = ug.Textbox("4 5 6", label="Source seeds", max_length=200,
                                      info=f"at most {limits.RANGES['mix_seeds'][3]} seeds")
                mix_btn = gr.Button("Style mixing")
            mix_img, mix_md = gr.Image(label="Style mixing", type="pil"), gr.Markdown()
            with gr.Row():
                sefa_seed = ug.Number(3, label="Seed")
                sefa_k = ug.Slider(1, 8, 3, step=1, label="Directions")
                sefa_strength = ug.Slider(0.5, 20, 5, label="Strength")
                sefa_layers = ug.Radio(["all", "coarse", "middle", "fine"], value="all", label="Layers")
                sefa_btn = gr.Button("SeFa")
            sefa_img, sefa_md = gr.Image(label="SeFa directions", type="pil"), gr.Markdown()
        with gr.Tab("Inversion"):
            gr.Markdown("Drag your own photo: it is centre-cropped and resized to the model, projected into W, then "
                        "W+, then the generator is pivotally tuned (PTI) so the reconstruction is faithful. "
                        "Offline the image loss is multi-scale L1 + L2 (LPIPS is used when installed with its weights).")
            inv_state = gr.State(None)
            with gr.Row():
                photo = ug.Image(label="Photo", type="pil", sources=["upload"])
                inv_target = gr.Image(label="Target (cropped)", type="pil", interactive=False)
                inv_recon = gr.Image(label="Reconstruction", type="pil", interactive=False)
            with gr.Row():
                inv_model = ug.Dropdown(model_choices(), value=DEFAULT["model"], label="Model")
                inv_w = ug.Slider(10, 500, 150, step=10, label="W steps")
                inv_wp = ug.Slider(10, 500, 150, step=10, label="W+ steps")
                inv_pti = ug.Slider(0, 500, 150, step=10, label="PTI steps (0 = off)")
            with gr.Row():
                inv_btn = gr.Button("Invert", variant="primary")
                send_btn = gr.Button("Send to the Drag tab")
            inv_md = gr.Markdown()
        with gr.Tab("DCGAN"):
            gr.Markdown("The classic DCGAN: the pretrained face model bundled with the lab (from gan-face-generate, "
                        "MIT). Train your own with `python -m dcgan train --data DIR --out DIR` (see docs/dcgan.md); "
                        "pick `dcgan-faces-64` in the Drag tab to drag it in Z space.")
            with gr.Row():
                dc_seed = ug.Number(0, label="Seed")
                dc_n = ug.Slider(8, 64, 32, step=8, label="Samples")
                dc_btn = gr.Button("Sample")
            dc_img = gr.Image(label="Samples", type="pil")
            from pathlib import Path
            curves = Path(__file__).parent / "docs" / "dcgan" / "loss_curves.png"
            if curves.is_file():
                gr.Image(str(curves), label="G and D losses of a from-scratch training run", interactive=False)
        with gr.Row(visible=False):
            # hidden numeric inputs: the API twin of clicking the image (used by scripts and tests)
            px, py = ug.Number(visible=False, label="x"), ug.Number(visible=False, label="y")
            add_btn = gr.Button(visible=False)

        new_outputs = [state, image, editor, fd_l, fd_d, points_md]
        # new_image may wait for a download: its own, larger pool keeps other users' new images flowing
        new_btn.click(new_image, [model, seed, psi, space, state, uploads], new_outputs, api_name="new_image",
                      concurrency_limit=4)
        demo.load(new_image, [model, seed, psi, space, state, uploads], new_outputs)
        model_file.upload(upload_model, [model_file, uploads], [uploads, model, points_md], api_name="upload_model")
        model.change(models_ui.card, [model], [model_md], queue=False, api_name="model_card")
        image.select(on_click, [state], [state, image, points_md])
        add_btn.click(add_point, [px, py, state], [state, image, points_md], api_name="add_point")
        undo_btn.click(undo_point, [state], [state, image, points_md], api_name="undo_point")
        clear_btn.click(clear_points, [state], [state, image, points_md], api_name="clear_points")
        reset_btn.click(reset_image, [state], [state, image, editor, points_md], api_name="reset_image")
        clear_mask_btn.click(clear_mask, [state], [editor])
        params = [state, editor, lr, lam, r1, r2, max_steps, fd_l, fd_d, uploads, precision]
        outs = [out_dg, out_fd, status, table, state]
        for btn, methods, name in ((dg_btn, ["draggan"], "drag_draggan"), (fd_btn, ["freedrag"], "drag_freedrag"),
                                   (both_btn, ["draggan", "freedrag"], "compare")):
            btn.click(gpu(lambda *a, _m=methods: (yield from run_drag(_m, *a))), params, outs, api_name=name)
        stop_btn.click(stop, [state], [status], api_name="stop", queue=False)
        export_btn.click(export_files, [state], [files], api_name="export")
        edit_file.upload(replay, [edit_file, state, uploads], [state, image, status], api_name="replay")
        interp_btn.click(latent_interp, [lat_model, seed_a, seed_b, n_steps, lat_psi, uploads], [interp_img, interp_md],
                         api_name="interpolate")
        mix_btn.click(latent_mix, [lat_model, mix_row, mix_cols, lat_psi, uploads], [mix_img, mix_md],
                      api_name="style_mix")
        sefa_btn.click(latent_sefa, [lat_model, sefa_seed, sefa_k, sefa_strength, sefa_layers, lat_psi, uploads],
                       [sefa_img, sefa_md], api_name="sefa")
        inv_btn.click(gpu(invert_photo), [photo, inv_model, inv_w, inv_wp, inv_pti, uploads],
                      [inv_state, inv_target, inv_recon, inv_md], api_name="invert")
        send_btn.click(send_to_drag, [inv_state, state], new_outputs, api_name="send_to_drag")
        dc_btn.click(dcgan_samples, [dc_seed, dc_n], [dc_img], api_name="dcgan_samples")
    demo.queue(default_concurrency_limit=2)
    return demo


def main(argv=None):
    ap = argparse.ArgumentParser(description="Latent Lab: explore GAN latents, drag with DragGAN and FreeDrag.")
    ap.add_argument("--model", default=None, help="registry id or path to a .pkl/.safetensors (default: "
                    "$LATENTLAB_DEFAULT_MODEL, else the bundled offline model)")
    ap.add_argument("--share", action="store_true", help="create a public gradio.live link")
    ap.add_argument("--server-name", default="127.0.0.1")
    ap.add_argument("--server-port", type=int, default=None)
    args = ap.parse_args(argv)
    named = "--model" if args.model else checkpoints.DEFAULT_ENV
    try:
        args.model = args.model or checkpoints.default_model()
    except ValueError as e:
        print(f"error: {ug.message(e)}", file=sys.stderr)
        return 2
    DEFAULT["model"] = args.model
    STORE.trust(args.model)   # the operator's file is a choice; users can only pick or upload
    t0 = time.perf_counter()
    try:
        checkpoints.resolve(args.model)   # a Hub model: downloaded now, bounded by hubguard
        STORE.pin(args.model)  # warm and kept: the first image is one generator pass away, for everyone
    except (ValueError, OSError, RuntimeError) as e:
        print(f"error: {named} {args.model}: {ug.message(e)}", file=sys.stderr)
        return 2
    print(f"model {args.model} ready in {time.perf_counter() - t0:.1f}s")
    build().launch(server_name=args.server_name, server_port=args.server_port, share=args.share,
                   max_file_size=limits.SIZES["model_upload_bytes"])


if __name__ == "__main__":
    sys.exit(main())
