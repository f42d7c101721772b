"""The Inversion tab: photo -> aligned face -> reconstruction. The face is aligned to the model's layout
(latent.align), projected into W, then W+, then pivotal tuning (PTI), with progress per stage and
Stop between any two steps. "Drag this photo" opens the Drag tab on it (its latent and tuned generator
become the drag's start; the transform rides along), and "Back in the photo" pastes the Drag tab's
current image into the original photo (latent.align.paste_back), as the Drag tab's exports do. A
public-domain example photo is offered (ui/examples/README.md says where it comes from)."""
import uuid
from pathlib import Path

import gradio as gr
import numpy as np
import torch

import checkpoints
import latent
import limits
from drags import engines
from drags import in_photo as photo_drag
from stylegan.imageops import to_uint8
from latent.align import ADVICE_APP, Layout, align, paste_back
from latent.invert import PTI_STEPS, STEPS_W, STEPS_WPLUS, check_steps, load_photo, upscale_note
from ui import draw, mask, run_control
from ui import models as models_ui
from ui import guard as ug
from ui.context import default_model, get_model, gpu, model_choices
from ui.drag_image import shown_outputs
from ui.panels import captioned
from ui.state import DragState

EXAMPLE = Path(__file__).resolve().parent / "examples" / "astronaut.jpg"   # NASA, public domain (via scikit-image)


@ug.handler
@run_control.exclusive("inversion", lambda note: (gr.skip(), gr.skip(), gr.skip(), note))
def invert_photo(photo, model_id, steps_w, steps_wplus, pti_steps, uploads=None, progress=gr.Progress()):
    if photo is None:
        raise gr.Error("Upload a photo first.")
    steps = [limits.check("inv_steps", v, label) for v, label in
             ((steps_w, "W steps"), (steps_wplus, "W+ steps"), (pti_steps, "PTI steps"))]
    check_steps(*steps)
    G = get_model(model_id, uploads)
    latent.util.require_mapping(G)
    photo = load_photo(photo)
    target, alignment, note = align_to(G, layout_model(model_id, uploads), photo)
    run, where = run_control.current(), []

    def step(stage, i, n, loss):   # between two steps: Stop ends the inversion here
        where[:] = [f"{stage} step {i}/{n}"]
        progress(i / n, desc=f"{stage} {i}/{n}")
        run.check()
    try:
        r = latent.invert(G, target, *steps, progress=step)
    except run_control.Stopped:
        return gr.skip(), gr.skip(), gr.skip(), f"Inversion stopped by you at {where[0]}."
    image = to_uint8(r["reconstruction"])[0]
    inv = dict(model=model_id, ws=r["ws"], generator=r["G_tuned"] or r["G_noise"], image=image,
               photo=None if alignment is None else dict(photo=np.asarray(photo), alignment=alignment, reference=image,
                                                         key=uuid.uuid4().hex))   # which inversion (`in_photo`)
    p = r["psnr"]
    md = (f"PSNR: W {p['w']:.1f} dB · W+ {p['w+']:.1f} dB" + (f" · W+ + PTI {p['pti']:.1f} dB" if "pti" in p else "")
          + f" · {r['seconds']:.0f} s · loss: {r['loss']}" + (f"\n\n{note}" if note else ""))
    return inv, draw.render(to_uint8(r["target"])[0]), draw.render(image), md


@ug.handler
def new_photo(payload, status):
    """A new Photo (Gradio's file data, not yet read): what was shown of the last inversion goes (a failed
    inversion would leave it to be dragged and pasted as if it were the new photo's). A file that is not an
    image, or one too large, goes too, at once from the box and a moment later from Gradio's folder
    (disk.discard_later), with one line saying why; before, the box showed a broken picture until Invert said it. -> (photo, inversion, aligned,
    reconstruction, back, status)."""
    path = payload.get("path") if isinstance(payload, dict) else getattr(payload, "path", None)
    if path:
        try:
            ug.check_image_file(path, "Photo")
        except gr.Error as e:
            from ui import disk
            disk.discard_later(path)   # not at once: the page is fetching it to show it (ui.disk)
            return None, None, None, None, None, ug.warn(e)
    kept = payload is None and (status or "").startswith("⚠")   # the box emptied by the refusal above
    return gr.skip(), None, None, None, None, gr.skip() if kept else ""


def layout_model(model_id, uploads=None):
    """What a model choice's face layout is looked up by (checkpoints.layout_file): the choice itself, or for
    this session's upload its file (an upload of a bundled model's bytes has that model's layout)."""
    if str(model_id).startswith(models_ui.UPLOAD):
        return models_ui.upload_path(str(model_id), uploads)
    return model_id


def align_to(G, model_id, photo):
    """(target [1, 3, H, W], Alignment or None, a note): the face aligned to the model's layout; a model
    without a layout (or not a face model) is centre-cropped, and the note says so."""
    layout_file = checkpoints.layout_file(model_id) if isinstance(model_id, str) else None
    shape = tuple(getattr(G, "img_shape", (G.img_resolution, G.img_resolution)))
    if layout_file is None or not layout_file.is_file():
        note = upscale_note(photo.size, shape)
        return (latent.load_image(photo, shape), None, "This model has no face layout: the photo was centre-cropped, "
                "not aligned." + (f" Note: {note}." if note else ""))
    aligned, alignment = align(np.asarray(photo), Layout.read(layout_file), (shape[1], shape[0]), advice=ADVICE_APP)
    target = torch.from_numpy(aligned.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
    return target, alignment, alignment.note


def in_photo(state, inv=None):
    """The Drag tab's current image (the start, or the drag shown) pasted back into the inverted photo: the
    photo of this tab's inversion (`inv`), which the Drag tab must be showing."""
    info = getattr(state, "photo", None)
    shown = ((inv or {}).get("photo") or {}).get("key")
    if not inv:
        raise gr.Error("Invert a photo and press \"Drag this photo\" first (an aligned photo: the transform is kept).")
    if not shown:
        raise gr.Error("This inversion was not aligned (the model has no face layout): there is no photo to paste "
                       "it back into.")
    if not info or state.image is None:
        raise gr.Error("The Drag tab shows a generated image, not this photo: press \"Drag this photo\" (again), "
                       "drag, then come back.")
    if info.get("key") != shown:
        raise gr.Error("The Drag tab holds the photo inverted before this one: press \"Drag this photo\" to drag "
                       "this one, then come back.")
    return paste_back(info["photo"], state.image, info["alignment"], reference=info["reference"])


@ug.handler
def send_to_drag(inv, state):
    """The inverted photo becomes the Drag tab's start image (its latent and tuned generator)."""
    if not inv:
        raise gr.Error("Invert a photo first.")
    frame = inv["image"]
    fresh = DragState(model=inv["model"], seed=0, psi=1.0, space="w+", shape=frame.shape[:2], start=frame,
                      image=frame, generator=inv["generator"], latent=inv["ws"])
    fresh.photo = inv.get("photo")   # the photo and its transform: the result goes back into it
    return shown_outputs(fresh, inv["generator"], "Inverted photo loaded: click a handle, then its target. "
                         + photo_drag.describe(inv["generator"], engines.labels())
                         + " (The seed and ψ above are New image's: the photo has a latent of its own.)")


def invertible_choices():
    """The model box's choices that can be inverted: every one but the Z-only models (a DCGAN has no W)."""
    dcgan = {m.id for m in checkpoints.list_models() if m.kind == "dcgan"}
    return [(label, choice) for label, choice in model_choices() if choice not in dcgan]


def build(uploads, drag_state, drag_outputs, show_chain, tabs=None):
    """The tab; `drag_outputs` are the Drag tab's New image outputs ("Drag this photo" fills them),
    `show_chain` refreshes the Drag tab's view of the (new, empty) chain, and `tabs` (the app's gr.Tabs,
    whose Drag tab has id "drag") is switched to the Drag tab."""
    gr.Markdown("Drag your own photo: the face is found and aligned to where the model draws faces, projected "
                "into W, then W+, then the generator is pivotally tuned (PTI, noise maps included) so the "
                "reconstruction keeps the person. \"Drag this photo\" opens it in the Drag tab; \"Back in the "
                "photo\" puts the Drag tab's result into your photo.")
    inv_state = gr.State(None)
    with gr.Row():   # the settings and buttons first, the status under them: seen at 1280x800 with the pictures
        model = ug.Dropdown(invertible_choices(), value=default_model(), label="Model", scale=2)
        steps_w = ug.ranged("inv_steps", STEPS_W, step=10, label="W steps")
        steps_wp = ug.ranged("inv_steps", STEPS_WPLUS, step=10, label="W+ steps")
        steps_pti = ug.ranged("inv_steps", PTI_STEPS, step=10, label="PTI steps (0 = off)")
    with gr.Row():
        inv_btn = gr.Button("Invert", variant="primary")
        stop_btn = gr.Button("Stop", variant="stop")
        send_btn = gr.Button("Drag this photo")
        back_btn = gr.Button("Back in the photo")
    md = gr.Markdown()
    with gr.Row():
        with gr.Column(min_width=200):   # four across at 1280 px
            _, photo = captioned(ug.Image, "**Photo** (upload one, or take the example below)", label="Photo",
                                 height=300, type="pil", sources=["upload"],
                                 image_mode=None)   # its own mode: imagefile levels
            gr.Examples([[str(EXAMPLE)]], inputs=[photo], label="Example photo: NASA astronaut portrait "
                        "(public domain, via scikit-image's data.astronaut())")
        with gr.Column(min_width=200):
            _, target = captioned(gr.Image, "**Aligned** (what is inverted)", label="Aligned", type="pil", height=300,
                                  interactive=False, format="png")
        with gr.Column(min_width=200):
            _, recon = captioned(gr.Image, "**Reconstruction**", label="Reconstruction", type="pil", height=300,
                                 interactive=False, format="png")
        with gr.Column(min_width=200):
            _, back = captioned(gr.Image, "**Back in the photo** (the Drag tab's image)",
                                label="Back in the photo", type="numpy", height=300, interactive=False, format="png",
                                elem_id="inv-back")
    # a new photo (`new_photo`) or a new inversion: what was shown of the last one goes
    photo.change(new_photo, [photo, md], [photo, inv_state, target, recon, back, md], preprocess=False, queue=False,
                 api_visibility="undocumented")
    forget = dict(fn=lambda: (None, None, None, None, ""), inputs=None, outputs=[inv_state, target, recon, back, md],
                  queue=False, api_visibility="undocumented")
    inv_btn.click(**forget).then(gpu(invert_photo), [photo, model, steps_w, steps_wp, steps_pti, uploads],
                                 [inv_state, target, recon, md], api_name="invert", **run_control.QUEUE)
    stop_btn.click(run_control.stop, [], [md], queue=False, api_visibility="undocumented")   # the API has /stop
    sent = show_chain(mask.sets_editor(send_btn.click, send_to_drag, [inv_state, drag_state], drag_outputs,
                                       api_name="send_to_drag"))   # ui/mask.py
    if tabs is not None:
        sent.success(lambda: gr.Tabs(selected="drag"), None, tabs, queue=False, api_visibility="undocumented")
    back_btn.click(ug.handler(in_photo), [drag_state, inv_state], [back], api_name="in_photo")
