"""Latent Lab: one Gradio Blocks app. Wiring only: engines live in draggan/, freedrag/,
dragcore/; drawing, masks, streaming and exports in ui/; models in checkpoints.py.

    python app.py [--model ID_OR_PATH] [--share] [--server-name 0.0.0.0] [--server-port 7860]
"""
import argparse
import tempfile
import threading
import time

import gradio as gr
import numpy as np

import checkpoints
import stylegan
from dragcore import DragInputError, adapt
import latent
from ui import draw, export, runner
from ui.mask import MaskError, from_editor

try:  # ZeroGPU on Hugging Face Spaces; a no-op everywhere else
    import spaces
    gpu = spaces.GPU(duration=120)
except Exception:  # noqa: BLE001 - any import problem means "not on ZeroGPU"
    def gpu(fn):
        return fn

_MODELS, _MODELS_LOCK = {}, threading.Lock()   # read-only generators shared by all sessions
DEFAULT = {"model": checkpoints.DEFAULT_MODEL}
DEVICE = stylegan.pick_device()


def get_model(model_id):
    with _MODELS_LOCK:
        if model_id not in _MODELS:
            _MODELS[model_id] = checkpoints.load(model_id, device=DEVICE)
        return _MODELS[model_id]


def model_choices():
    choices = []
    if DEFAULT["model"] not in [m.id for m in checkpoints.list_models()]:
        choices.append((f"{DEFAULT['model']} (file)", DEFAULT["model"]))
    for m in checkpoints.list_models():
        mark = " ✓ cached" if checkpoints.cached_path(m) else ("" if not m.offline else " (not built)")
        choices.append((m.display_name + mark, m.id))
    return choices


def _preset(model_id):
    try:
        info = checkpoints.get_info(model_id)
        return info.freedrag_l, info.freedrag_d
    except checkpoints.UnknownModelError:
        return 0.3, 3.0


# --- drag tab handlers ---------------------------------------------------------------------------
def new_image(model_id, seed, psi, space, state):
    try:
        G = get_model(model_id)
        seed = int(seed)
        note = "Click a handle, then its target."
        if not isinstance(G, stylegan.Generator):  # the DCGAN has no mapping network: Z space only
            space, note = "z", "This model has no mapping network: it is dragged in Z space. " + note
        gen = adapt(G, DEVICE)
        img = gen.image(gen.latent_init(seed, float(psi), space))
    except (checkpoints.HubUnavailableError, checkpoints.UnknownModelError, FileNotFoundError, ValueError) as e:
        gr.Warning(str(e))
        return (state, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip())
    from dragcore import to_uint8
    frame = to_uint8(img)
    state = dict(model=model_id, seed=seed, psi=float(psi), space=space, res=frame.shape[0], start=frame,
                 image=frame, points=[], running=[], results={}, frames={})
    shown = draw.render(frame)
    l, d = _preset(model_id)
    return state, shown, dict(background=shown, layers=[], composite=shown), l, d, note


def add_point(x, y, state):
    if not state:
        raise gr.Error("Generate an image first (New image).")
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError):
        raise gr.Error("a point needs numeric x and y") from None
    if not (np.isfinite(x) and np.isfinite(y)):
        raise gr.Error("a point needs finite x and y")
    s = draw.display_scale(state["res"])
    if not (0 <= x < state["res"] * s and 0 <= y < state["res"] * s):
        raise gr.Error(f"({x:.0f}, {y:.0f}) is outside the {state['res'] * s}px image")
    state["points"].append(draw.to_model_px(x, y, state["res"]))
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


def _sessions(methods, state, editor, lr, lam, r1, r2, max_steps, fd_l, fd_d):
    if not state:
        raise gr.Error("Generate an image first (New image).")
    p = state["points"]
    if not p:
        raise gr.Error("Add at least one handle and its target: click the image twice.")
    if len(p) % 2:
        raise gr.Error(f"Handle {len(p) // 2 + 1} has no target: click where it should go, or Undo it.")
    try:
        mask = from_editor(editor, state["res"])
        G = state.get("generator") or get_model(state["model"])  # an inverted photo brings its tuned generator
        return runner.make_sessions(
            methods, G, p[0::2], p[1::2], seed=state["seed"], psi=state["psi"], space=state["space"], mask=mask,
            latent=state.get("latent"),
            common=dict(lr=float(lr), mask_weight=float(lam), max_steps=int(max_steps), device=DEVICE),
            per_method=dict(draggan=dict(r1=float(r1), r2=float(r2)), freedrag=dict(l=float(fd_l), d=float(fd_d)))), mask
    except (DragInputError, MaskError, ValueError) as e:
        raise gr.Error(str(e)) from None


def run_drag(methods, state, editor, lr, lam, r1, r2, max_steps, fd_l, fd_d):
    sessions, mask = _sessions(methods, state, editor, lr, lam, r1, r2, max_steps, fd_l, fd_d)
    state["running"] = list(sessions.values())
    state["mask"] = mask
    blank = gr.skip()
    for frame in runner.stream(sessions, every=5):
        imgs = {m: draw.render(im, _pts(sessions[m])) for m, im in frame.images.items()}
        table = runner.summary_rows(frame.results) if frame.results else gr.skip()
        yield (imgs.get("draggan", blank), imgs.get("freedrag", blank), frame.status, table, state)
    state["running"] = []
    state["results"] = {m: dict(r, params=dict(r["params"], **_method_params(m, lr, lam, r1, r2, max_steps, fd_l, fd_d)))
                        for m, r in frame.results.items()}
    state["image"] = frame.results[methods[-1]]["frames"][-1]
    yield (imgs.get("draggan", blank), imgs.get("freedrag", blank), frame.status + " — done.",
           runner.summary_rows(frame.results), state)


def _pts(session):
    st = session.status()
    return [q for pair in zip(st.handles, st.targets) for q in pair]


def _method_params(m, lr, lam, r1, r2, max_steps, fd_l, fd_d):
    extra = dict(r1=float(r1), r2=float(r2)) if m == "draggan" else dict(l=float(fd_l), d=float(fd_d))
    return dict(lr=float(lr), mask_weight=float(lam), max_steps=int(max_steps), **extra)


def stop(state):
    running = (state or {}).get("running") or []
    if not running:
        gr.Warning("Nothing is running.")
        return "Nothing is running."
    for s in running:
        s.stop()
    return "Stopping…"


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
                                    params=r["params"], steps=r["steps"])
        files += export.export_all(out, r, record)
    return files


def replay(file, state):
    if file is None:
        raise gr.Error("Choose an edit JSON file to load.")
    try:
        edit = export.read_edit(file)
    except export.EditError as e:
        raise gr.Error(str(e)) from None
    if str(edit["model"]).startswith("inverted:"):
        raise gr.Error("this edit started from an inverted photo; it cannot be replayed from the JSON alone")
    st, shown, editor, l, d, _ = new_image(edit["model"], edit["seed"], edit["psi"], edit["space"], state)
    if not st or st.get("model") != edit["model"]:
        raise gr.Error(f"could not load the edit's model {edit['model']!r}")
    st["points"] = edit["points"]
    p = edit["params"]
    params = (p.get("lr", 0.002), p.get("mask_weight", 10.0), p.get("r1", 3), p.get("r2", 12), edit["steps"],
              p.get("l", l), p.get("d", d))
    editor = None if edit["mask"] is None else dict(background=None, composite=None, layers=[
        np.dstack([np.zeros(edit["mask"].shape + (3,), np.uint8), edit["mask"].astype(np.uint8) * 255])])
    last = None
    for last in run_drag([edit["method"]], st, editor, *params):
        pass
    img = last[0] if edit["method"] == "draggan" else last[1]
    img = draw.render(st["image"], st["points"])
    return st, img, f"Replayed the {edit['method']} edit ({edit['steps']} steps)."


# --- latent and DCGAN tabs ---------------------------------------------------------------------
def latent_interp(model_id, seed_a, seed_b, steps, psi):
    try:
        G = get_model(model_id)
        rows, lines = [], []
        spaces = ("z", "w") if isinstance(G, stylegan.Generator) else ("z",)
        for space in spaces:
            for method in ("lerp", "slerp"):
                frames, _ = latent.interpolate(G, int(seed_a), int(seed_b), int(steps), space, method, float(psi))
                rows.append(latent.to_uint8(frames))
                sm = latent.smoothness(frames)
                lines.append(f"| {space.upper()} {method} | {sm['mean']:.2f} | {sm['max']:.2f} | {sm['unevenness']:.2f} |")
    except (latent.LatentError, ValueError, FileNotFoundError, checkpoints.HubUnavailableError) as e:
        raise gr.Error(str(e)) from None
    table = ("Rows top to bottom: " + ", ".join(f"{s.upper()} {m}" for s in spaces for m in ("lerp", "slerp")) +
             "\n\n| path | mean step (/255) | max step | max/mean |\n|---|---|---|---|\n" + "\n".join(lines))
    return latent.image_strip(rows, scale=max(1, 128 // G.img_resolution)), table


def latent_mix(model_id, row_seed, col_seeds, psi):
    try:
        G = get_model(model_id)
        cols = [int(c) for c in str(col_seeds).replace(",", " ").split()]
        if not cols:
            raise latent.LatentError("give at least one source seed")
        rows, labels = latent.style_mix_grid(G, [int(row_seed)], cols, float(psi))
    except (latent.LatentError, ValueError) as e:
        raise gr.Error(str(e)) from None
    return latent.image_strip(rows, scale=max(1, 128 // G.img_resolution)), "Rows: " + "; ".join(labels)


def latent_sefa(model_id, seed, k, strength, layer_set, psi):
    try:
        G = get_model(model_id)
        latent.util.require_mapping(G)
        rows = latent.layer_ranges(G.num_ws)[layer_set] if layer_set != "all" else range(G.num_ws)
        dirs, vals = latent.sefa_directions(G, layers=rows, k=int(k))
        import torch
        with torch.no_grad():
            ws = G.mapping(latent.seed_z(int(seed), G.z_dim, next(G.parameters()).device), truncation_psi=float(psi))
            out = [latent.to_uint8(torch.cat([G.synthesis(latent.apply_direction(ws, d, t * float(strength), rows))
                                              for t in (-1, -0.5, 0, 0.5, 1)])) for d in dirs]
    except (latent.LatentError, ValueError) as e:
        raise gr.Error(str(e)) from None
    return latent.image_strip(out, scale=max(1, 128 // G.img_resolution)), \
        "Eigenvalues: " + ", ".join(f"{float(v):.1f}" for v in vals) + " (one row per direction, strength -s..+s)"


def invert_photo(photo, model_id, steps_w, steps_wplus, pti_steps, progress=gr.Progress()):
    if photo is None:
        raise gr.Error("Upload a photo first.")
    try:
        G = get_model(model_id)
        latent.util.require_mapping(G)
        target = latent.load_image(photo, G.img_resolution)
        r = latent.invert(G, target, int(steps_w), int(steps_wplus), int(pti_steps),
                          progress=lambda stage, i, n, loss: progress(i / n, desc=f"{stage} {i}/{n}"))
    except (latent.LatentError, ValueError) as e:
        raise gr.Error(str(e)) from None
    from dragcore import to_uint8
    inv = dict(model=model_id, ws=r["ws"], generator=r["G_tuned"] or r["G_noise"], image=to_uint8(r["reconstruction"]))
    p = r["psnr"]
    md = (f"PSNR: W {p['w']:.1f} dB · W+ {p['w+']:.1f} dB" + (f" · W+ + PTI {p['pti']:.1f} dB" if "pti" in p else "")
          + f" · {r['seconds']:.0f} s · loss: {r['loss']}")
    return inv, draw.render(to_uint8(r["target"])), draw.render(inv["image"]), md


def send_to_drag(inv, state):
    if not inv:
        raise gr.Error("Invert a photo first.")
    frame = inv["image"]
    state = dict(model=inv["model"], seed=0, psi=1.0, space="w+", res=frame.shape[0], start=frame, image=frame,
                 points=[], running=[], results={}, frames={}, generator=inv["generator"], latent=inv["ws"])
    shown = draw.render(frame)
    l, d = _preset(inv["model"])
    return state, shown, dict(background=shown, layers=[], composite=shown), l, d, \
        "Inverted photo loaded: click a handle, then its target."


def dcgan_samples(seed, n):
    import dcgan
    import torch
    n = int(n)
    if not 1 <= n <= 64:
        raise gr.Error("number of samples must be 1..64")
    G = dcgan.load_pretrained()
    with torch.no_grad():
        return dcgan.grid(G(torch.randn(n, 100, generator=torch.Generator().manual_seed(int(seed)))), nrow=8)


# --- layout --------------------------------------------------------------------------------------
def build():
    with gr.Blocks(title="Latent Lab") as demo:
        gr.Markdown("# Latent Lab\nDrag GAN images with **DragGAN** and **FreeDrag**, side by side. "
                    "Click a handle point, then its target; optionally paint the editable region; drag.")
        state = gr.State(None)
        with gr.Tab("Drag"):
            with gr.Row():
                model = gr.Dropdown(model_choices(), value=DEFAULT["model"], label="Model")
                seed = gr.Number(3, precision=0, label="Seed")
                psi = gr.Slider(0, 1, 0.7, step=0.05, label="Truncation ψ")
                space = gr.Radio(["w+", "w"], value="w+", label="Latent space")
                new_btn = gr.Button("New image", variant="primary")
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
                    editor = gr.ImageEditor(label="Editable region (paint; empty = whole image)", type="numpy",
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
                    lr = gr.Number(0.002, label="Learning rate")
                    lam = gr.Number(10.0, label="Mask weight λ")
                    r1 = gr.Number(3, label="r1 (px at 512)")
                    r2 = gr.Number(12, label="r2 (px at 512)")
                    max_steps = gr.Number(200, precision=0, label="Max steps")
            with gr.Accordion("FreeDrag parameters", open=False):
                with gr.Row():
                    fd_l = gr.Slider(0.1, 0.5, 0.3, step=0.05, label="l (expected initial loss)")
                    fd_d = gr.Slider(1, 6, 3, step=0.5, label="d (max move per sub-motion, feature px)")
            status = gr.Markdown("")
            with gr.Row():
                out_dg = gr.Image(label="DragGAN", type="pil", interactive=False, elem_id="out-draggan")
                out_fd = gr.Image(label="FreeDrag", type="pil", interactive=False, elem_id="out-freedrag")
            table = gr.Dataframe(headers=runner.TABLE_HEADERS,
                                 label="Results", interactive=False)
            with gr.Row():
                export_btn = gr.Button("Export result (PNG, GIF, MP4, latent, edit JSON)")
                files = gr.File(label="Exports", file_count="multiple")
                edit_file = gr.File(label="Load edit JSON (replays the same edit)", file_types=[".json"],
                                    type="filepath")
        with gr.Tab("Latent space"):
            gr.Markdown("Z vs W: the same two seeds interpolated in Z and in W (linear and spherical), with the "
                        "step sizes along each path; style mixing by coarse / middle / fine rows; SeFa directions.")
            with gr.Row():
                lat_model = gr.Dropdown(model_choices(), value=DEFAULT["model"], label="Model")
                lat_psi = gr.Slider(0, 1, 0.7, step=0.05, label="Truncation ψ")
            with gr.Row():
                seed_a, seed_b = gr.Number(1, precision=0, label="Seed A"), gr.Number(2, precision=0, label="Seed B")
                n_steps = gr.Slider(3, 16, 8, step=1, label="Frames")
                interp_btn = gr.Button("Interpolate")
            interp_img, interp_md = gr.Image(label="Interpolation", type="pil"), gr.Markdown()
            with gr.Row():
                mix_row = gr.Number(3, precision=0, label="Destination seed")
                mix_cols = gr.Textbox("4 5 6", label="Source seeds")
                mix_btn = gr.Button("Style mixing")
            mix_img, mix_md = gr.Image(label="Style mixing", type="pil"), gr.Markdown()
            with gr.Row():
                sefa_seed = gr.Number(3, precision=0, label="Seed")
                sefa_k = gr.Slider(1, 8, 3, step=1, label="Directions")
                sefa_strength = gr.Slider(0.5, 20, 5, label="Strength")
                sefa_layers = gr.Radio(["all", "coarse", "middle", "fine"], value="all", label="Layers")
                sefa_btn = gr.Button("SeFa")
            sefa_img, sefa_md = gr.Image(label="SeFa directions", type="pil"), gr.Markdown()
        with gr.Tab("Inversion"):
            gr.Markdown("Drag your own photo: it is centre-cropped and resized to the model, projected into W, then "
                        "W+, then the generator is pivotally tuned (PTI) so the reconstruction is faithful. "
                        "Offline the image loss is multi-scale L1 + L2 (LPIPS is used when installed with its weights).")
            inv_state = gr.State(None)
            with gr.Row():
                photo = gr.Image(label="Photo", type="pil", sources=["upload"])
                inv_target = gr.Image(label="Target (cropped)", type="pil", interactive=False)
                inv_recon = gr.Image(label="Reconstruction", type="pil", interactive=False)
            with gr.Row():
                inv_model = gr.Dropdown(model_choices(), value=DEFAULT["model"], label="Model")
                inv_w = gr.Slider(10, 500, 150, step=10, label="W steps")
                inv_wp = gr.Slider(10, 500, 150, step=10, label="W+ steps")
                inv_pti = gr.Slider(0, 500, 150, step=10, label="PTI steps (0 = off)")
            with gr.Row():
                inv_btn = gr.Button("Invert", variant="primary")
                send_btn = gr.Button("Send to the Drag tab")
            inv_md = gr.Markdown()
        with gr.Tab("DCGAN"):
            gr.Markdown("The classic DCGAN: the pretrained face model bundled with the lab (from gan-face-generate, "
                        "MIT). Train your own with `python -m dcgan train --data DIR --out DIR` (see docs/dcgan.md); "
                        "pick `dcgan-faces-64` in the Drag tab to drag it in Z space.")
            with gr.Row():
                dc_seed = gr.Number(0, precision=0, label="Seed")
                dc_n = gr.Slider(8, 64, 32, step=8, label="Samples")
                dc_btn = gr.Button("Sample")
            dc_img = gr.Image(label="Samples", type="pil")
            from pathlib import Path
            curves = Path(__file__).parent / "docs" / "dcgan" / "loss_curves.png"
            if curves.is_file():
                gr.Image(str(curves), label="G and D losses of a from-scratch training run", interactive=False)
        with gr.Row(visible=False):
            # hidden numeric inputs: the API twin of clicking the image (used by scripts and tests)
            px, py = gr.Number(visible=False), gr.Number(visible=False)
            add_btn = gr.Button(visible=False)

        new_outputs = [state, image, editor, fd_l, fd_d, points_md]
        new_btn.click(new_image, [model, seed, psi, space, state], new_outputs, api_name="new_image")
        demo.load(new_image, [model, seed, psi, space, state], new_outputs)
        image.select(on_click, [state], [state, image, points_md])
        add_btn.click(add_point, [px, py, state], [state, image, points_md], api_name="add_point")
        undo_btn.click(undo_point, [state], [state, image, points_md], api_name="undo_point")
        clear_btn.click(clear_points, [state], [state, image, points_md], api_name="clear_points")
        reset_btn.click(reset_image, [state], [state, image, editor, points_md], api_name="reset_image")
        clear_mask_btn.click(clear_mask, [state], [editor])
        params = [state, editor, lr, lam, r1, r2, max_steps, fd_l, fd_d]
        outs = [out_dg, out_fd, status, table, state]
        for btn, methods, name in ((dg_btn, ["draggan"], "drag_draggan"), (fd_btn, ["freedrag"], "drag_freedrag"),
                                   (both_btn, ["draggan", "freedrag"], "compare")):
            btn.click(gpu(lambda *a, _m=methods: (yield from run_drag(_m, *a))), params, outs, api_name=name)
        stop_btn.click(stop, [state], [status], api_name="stop", queue=False)
        export_btn.click(export_files, [state], [files], api_name="export")
        edit_file.upload(replay, [edit_file, state], [state, image, status], api_name="replay")
        interp_btn.click(latent_interp, [lat_model, seed_a, seed_b, n_steps, lat_psi], [interp_img, interp_md],
                         api_name="interpolate")
        mix_btn.click(latent_mix, [lat_model, mix_row, mix_cols, lat_psi], [mix_img, mix_md], api_name="style_mix")
        sefa_btn.click(latent_sefa, [lat_model, sefa_seed, sefa_k, sefa_strength, sefa_layers, lat_psi],
                       [sefa_img, sefa_md], api_name="sefa")
        inv_btn.click(gpu(invert_photo), [photo, inv_model, inv_w, inv_wp, inv_pti],
                      [inv_state, inv_target, inv_recon, inv_md], api_name="invert")
        send_btn.click(send_to_drag, [inv_state, state], new_outputs, api_name="send_to_drag")
        dc_btn.click(dcgan_samples, [dc_seed, dc_n], [dc_img], api_name="dcgan_samples")
    demo.queue(default_concurrency_limit=2)
    return demo


def main(argv=None):
    ap = argparse.ArgumentParser(description="Latent Lab: explore GAN latents, drag with DragGAN and FreeDrag.")
    ap.add_argument("--model", default=checkpoints.DEFAULT_MODEL, help="registry id or path to a .pkl/.safetensors")
    ap.add_argument("--share", action="store_true", help="create a public gradio.live link")
    ap.add_argument("--server-name", default="127.0.0.1")
    ap.add_argument("--server-port", type=int, default=None)
    args = ap.parse_args(argv)
    DEFAULT["model"] = args.model
    t0 = time.perf_counter()
    get_model(args.model)  # warm: the first image is then one generator pass away
    print(f"model {args.model} ready in {time.perf_counter() - t0:.1f}s")
    build().launch(server_name=args.server_name, server_port=args.server_port, share=args.share)


if __name__ == "__main__":
    main()
