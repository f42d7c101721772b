"""The Inversion tab: a photo projected into W, then W+, then pivotal tuning (PTI); the result can
be sent to the Drag tab (its latent and tuned generator become the drag's start). A public-domain
example photo is offered (ui/examples/README.md says where it comes from)."""
from pathlib import Path

import gradio as gr

import latent
import limits
from dragcore import to_uint8
from ui import draw, runs
from ui import guard as ug
from ui.context import default_model, get_model, gpu, model_choices
from ui.drag_image import shown_outputs
from ui.panels import captioned
from ui.state import DragState

EXAMPLE = Path(__file__).resolve().parent / "examples" / "astronaut.jpg"   # NASA, public domain (via scikit-image)


@ug.handler
@runs.exclusive("inversion", lambda note: (gr.skip(), gr.skip(), gr.skip(), note))
def invert_photo(photo, model_id, steps_w, steps_wplus, pti_steps, uploads=None, progress=gr.Progress()):
    if photo is None:
        raise gr.Error("Upload a photo first.")
    steps = [limits.check("inv_steps", v, label) for v, label in
             ((steps_w, "W steps"), (steps_wplus, "W+ steps"), (pti_steps, "PTI steps"))]
    G = get_model(model_id, uploads)
    latent.util.require_mapping(G)
    target = latent.load_image(photo, getattr(G, "img_shape", G.img_resolution))
    run, where = runs.current(), []

    def step(stage, i, n, loss):   # between two steps: Stop ends the inversion here
        where[:] = [f"{stage} step {i}/{n}"]
        progress(i / n, desc=f"{stage} {i}/{n}")
        run.check()
    try:
        r = latent.invert(G, target, *steps, progress=step)
    except runs.Stopped:
        return gr.skip(), gr.skip(), gr.skip(), f"Inversion stopped by you at {where[0]}."
    inv = dict(model=model_id, ws=r["ws"], generator=r["G_tuned"] or r["G_noise"], image=to_uint8(r["reconstruction"]))
    p = r["psnr"]
    md = (f"PSNR: W {p['w']:.1f} dB · W+ {p['w+']:.1f} dB" + (f" · W+ + PTI {p['pti']:.1f} dB" if "pti" in p else "")
          + f" · {r['seconds']:.0f} s · loss: {r['loss']}")
    return inv, draw.render(to_uint8(r["target"])), draw.render(inv["image"]), md


@ug.handler
def send_to_drag(inv, state):
    """The inverted photo becomes the Drag tab's start image (its latent and tuned generator)."""
    if not inv:
        raise gr.Error("Invert a photo first.")
    frame = inv["image"]
    fresh = DragState(model=inv["model"], seed=0, psi=1.0, space="w+", shape=frame.shape[:2], start=frame,
                      image=frame, generator=inv["generator"], latent=inv["ws"])
    return shown_outputs(fresh, inv["generator"], "Inverted photo loaded: click a handle, then its target.")


def build(uploads, drag_state, drag_outputs, show_chain):
    """The tab; `drag_outputs` are the Drag tab's New image outputs (Send to the Drag tab fills them)
    and `show_chain` refreshes the Drag tab's view of the (new, empty) chain."""
    gr.Markdown("Drag your own photo: it is centre-cropped and resized to the model, projected into W, then "
                "W+, then the generator is pivotally tuned (PTI) so the reconstruction is faithful. "
                "Offline the image loss is multi-scale L1 + L2 (LPIPS is used when installed with its weights).")
    inv_state = gr.State(None)
    with gr.Row():
        with gr.Column():
            _, photo = captioned(ug.Image, "**Photo** (upload one, or take the example below)", label="Photo",
                                 type="pil", sources=["upload"], image_mode=None)   # its own mode: imagefile levels
            gr.Examples([[str(EXAMPLE)]], inputs=[photo], label="Example photo: NASA astronaut portrait "
                        "(public domain, via scikit-image's data.astronaut())")
        with gr.Column():
            _, target = captioned(gr.Image, "**Target** (cropped)", label="Target (cropped)", type="pil",
                                  interactive=False, format="png")
        with gr.Column():
            _, recon = captioned(gr.Image, "**Reconstruction**", label="Reconstruction", type="pil",
                                 interactive=False, format="png")
    with gr.Row():
        model = ug.Dropdown(model_choices(), value=default_model(), label="Model", scale=2)
        steps_w = ug.ranged("inv_steps", 150, step=10, label="W steps")
        steps_wp = ug.ranged("inv_steps", 150, step=10, label="W+ steps")
        steps_pti = ug.ranged("inv_steps", 150, step=10, label="PTI steps (0 = off)")
    with gr.Row():
        inv_btn = gr.Button("Invert", variant="primary")
        stop_btn = gr.Button("Stop", variant="stop")
        send_btn = gr.Button("Send to the Drag tab")
    md = gr.Markdown()
    inv_btn.click(gpu(invert_photo), [photo, model, steps_w, steps_wp, steps_pti, uploads],
                  [inv_state, target, recon, md], api_name="invert", **runs.QUEUE)
    stop_btn.click(runs.stop, [], [md], queue=False, api_visibility="undocumented")   # the API has /stop
    show_chain(send_btn.click(send_to_drag, [inv_state, drag_state], drag_outputs, api_name="send_to_drag"))
