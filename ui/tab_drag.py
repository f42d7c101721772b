"""The Drag tab: model and start image, points and mask, the settings of every engine, the drag
buttons (one per engine and Compare all), one result panel per engine, the chain (Undo drag, Reset
image, Continue all from one result), results, exports and replay. Layout and wiring only; the
handlers are in ui.drag_image, ui.drag_handlers and ui.drag_chain. Buttons, panels and fields follow the
declared engines (drags.engines). `build(state, uploads)` returns the components other tabs need."""
import gradio as gr

import limits
from dragcore import config
from drags.engines import ENGINES
from ui import drag_chain, drag_handlers, drag_image, drag_settings, drag_stream, mask, run_control
from ui import guard as ug
from ui import models as models_ui
from ui.context import default_model, gpu, model_choices
from ui.panels import captioned

def drags():
    """(button label, methods, API name, element id, variant): one per engine, then Compare all."""
    one = [(f"Drag with {e.label}", [e.name], f"drag_{e.name}", f"btn-{e.name}", "primary") for e in ENGINES.values()]
    return one + [("Compare all", list(ENGINES), "compare", "btn-compare", "secondary")]


CHOICE_INFO = dict(precision="auto: bf16 where this machine computes it natively and it is faster",
                   tracker="features: the official nearest neighbour; flow: where optical flow sees the content; "
                           "discriminative: a filter learned at the first step, with a confidence")


def _field(f):
    """A settings component, empty until New image (on page load) fills it with the model's values:
    so an API call that leaves a setting out gets the chosen model's preset, not the default model's."""
    spec = config.spec(f.setting)
    if spec["choices"] is not None:   # precision, tracker
        return ug.Radio(list(spec["choices"]), value=None, label=f.label, info=CHOICE_INFO.get(f.setting, spec["help"]))
    info = limits.describe(f.setting) + "; empty: the model's preset"
    if f.bounded:   # refused by the component itself, like the sliders these were
        return ug.Number(None, label=f.label, info=info, minimum=spec["low"], maximum=spec["high"])
    return ug.Number(None, label=f.label, info=info)


def settings_fields():
    """The settings components (drag_settings.FIELDS order), in one accordion per engine and one shared."""
    made = {}
    every = drag_settings.fields()
    for group, title in drag_settings.groups().items():
        with gr.Accordion(title, open=False), gr.Row():
            for f in every:
                if f.engine == group:
                    made[f.name] = _field(f)
    return [made[f.name] for f in every]


def _image_panel(first=None):
    with gr.Row():
        with gr.Column():
            click_md, image = captioned(gr.Image, drag_chain.CLICK, label="Click: handle (red), then target (blue)",
                                        value=first, type="pil", interactive=False, elem_id="drag-image", height=420,
                                        format="png")
            points_md = gr.Markdown(drag_image.PREPARING)
            with gr.Row():
                buttons = [gr.Button(t) for t in ("Undo last point", "Clear points")]
        with gr.Column():
            _, editor = captioned(ug.ImageEditor, "**Editable region** (paint; empty = whole image; it stays for "
                                  "the next drags, *Clear mask* shows the current image)",
                                  label="Editable region (paint; empty = whole image)", type="numpy",
                                  brush=gr.Brush(colors=["#ffffff"], color_mode="fixed"),
                                  sources=(), transforms=(), layers=False, height=420, elem_id="mask-editor")
            clear_mask_btn = gr.Button("Clear mask")
            gr.HTML("", js_on_load=mask.PAGE_JS, container=False, padding=False)   # counts the strokes (ui/mask.py)
    return click_md, image, points_md, buttons, editor, clear_mask_btn


def build(state, uploads):
    """The tab's components; returns (New image outputs, the API components other tabs wire to, and
    `show_chain(event)`, which refreshes the chain's view after an event of another tab)."""
    with gr.Row(equal_height=True):
        model = ug.Dropdown(model_choices(), value=default_model(), label="Model", scale=4)
        seed = ug.Number(drag_image.FIRST_SEED, label="Seed", scale=1, min_width=90)
        psi = ug.ranged("psi", config.DragConfig.psi, step=0.05, scale=2, min_width=160)
        space = ug.Radio(["w+", "w"], value=config.DragConfig.space, label="Latent space", scale=1, min_width=120)
        new_btn = gr.Button("New image", variant="primary", scale=1, min_width=110)
    model_md = gr.Markdown(models_ui.card(default_model()))
    with gr.Accordion("Your own model (an official StyleGAN2 .pkl or a Latent Lab .safetensors)", open=False):
        model_file = ug.File(label="Model file (read safely: nothing in it is executed)", type="filepath",
                             file_types=[".pkl", ".safetensors"])
    first = drag_image.first_view(default_model(), seed.value, psi.value, space.value)   # in the page itself
    click_md, image, points_md, (undo_btn, clear_btn), editor, clear_mask_btn = _image_panel(first)
    with gr.Row():
        drag_btns = [gr.Button(label, variant=v, elem_id=eid) for label, _, _, eid, v in drags()]
        # each drag button's two twins in the page (ui/mask.py): one reads the editor, one uses the mask kept
        twins = [tuple(gr.Button(visible="hidden", elem_id=f"{eid}-{t}") for t in ("carry", "reuse"))
                 for _, _, _, eid, _ in drags()]
        stop_btn = gr.Button("Stop", variant="stop")
    with gr.Row():
        undo_drag_btn = gr.Button("Undo drag", elem_id="btn-undo-drag")
        reset_btn = gr.Button("Reset image", elem_id="btn-reset")
    fields = settings_fields()
    status = gr.Markdown("", elem_id="drag-status")
    caps, outs = [], []
    with gr.Row():
        for e in ENGINES.values():   # one result panel per engine
            with gr.Column(min_width=160):
                cap, out = captioned(gr.Image, f"**{e.label}**", label=e.label, type="pil", interactive=False,
                                     elem_id=f"out-{e.name}", format="png")
                caps.append(cap), outs.append(out)
    with gr.Row(visible=False) as continue_row:
        cont_btns = {m: gr.Button(f"Continue all from {e.label}'s result", elem_id=f"btn-continue-{m}")
                     for m, e in ENGINES.items()}
    table = gr.Dataframe(headers=drag_stream.TABLE_HEADERS, label="Results", interactive=False, elem_id="results-table")
    with gr.Accordion("Per-point details", open=False):
        details = gr.Dataframe(headers=drag_stream.DETAIL_HEADERS, label="Per point", interactive=False)
    with gr.Row():
        export_btn = gr.Button("Export result (PNG, GIF, MP4, latent, edit JSON)")
        files = gr.File(label="Exports", file_count="multiple")
        edit_file = ug.File(label="Load edit JSON (replays the same edit)", file_types=[".json"], type="filepath")
    with gr.Row(visible=False):
        # hidden inputs: the API twins of clicking the image and of the Continue buttons (scripts and tests)
        px, py = ug.Number(visible=False, label="x"), ug.Number(visible=False, label="y")
        add_btn = gr.Button(visible=False)
        cont_method = ug.Radio(list(ENGINES), label="method", visible=False)
        cont_api_btn = gr.Button(visible=False)
        api_drag_btns = [gr.Button(visible=False) for _ in drags()]   # the drags' API (the editor's value as input)
    painted = gr.State(mask.Painted())   # the editor's mask as last read by a drag (ui/mask.py) ...
    read_png = gr.Textbox(visible=False)   # ... sent as a PNG read in the page

    new_outputs = [state, image, editor, *fields, points_md]
    start = [model, seed, psi, space, state, uploads]
    chain_view = [image, points_md, click_md, *caps, *outs, table, details, continue_row]

    def show_chain(event):
        """After anything that changed the state: what the tab shows of the chain, and the Model
        dropdown back on the model of the image shown (a failed New image leaves the old one)."""
        return event.then(drag_chain.view, [state], chain_view, api_visibility="undocumented", queue=False) \
            .then(drag_image.model_shown, [state], [model], api_visibility="undocumented", queue=False)

    # new_image may wait for a download: its own, larger pool keeps other users' new images flowing
    show_chain(mask.sets_editor(new_btn.click, drag_image.new_image, start, new_outputs, api_name="new_image",
                                concurrency_limit=4))
    model_file.upload(drag_image.upload_model, [model_file, uploads], [uploads, model, points_md],
                      api_name="upload_model")
    model.change(models_ui.card, [model], [model_md], queue=False, api_name="model_card")
    pts = [state, image, points_md]
    image.select(drag_image.on_click, [state], pts, api_visibility="undocumented")   # the API twin: add_point
    add_btn.click(drag_image.add_point, [px, py, state], pts, api_name="add_point")
    undo_btn.click(drag_image.undo_point, [state], pts, api_name="undo_point")
    clear_btn.click(drag_image.clear_points, [state], pts, api_name="clear_points")
    show_chain(mask.sets_editor(reset_btn.click, drag_image.reset_image, [state],
                                [state, image, editor, points_md, status], api_name="reset_image"))
    show_chain(undo_drag_btn.click(drag_chain.undo_drag, [state], [state, image, points_md, status],
                                   api_name="undo_drag"))
    for m, btn in cont_btns.items():
        show_chain(btn.click(lambda s, m=m: drag_chain.continue_from(m, s), [state], [state, image, points_md, status],
                             api_visibility="undocumented"))   # the API twin: continue_from
    show_chain(cont_api_btn.click(drag_chain.continue_from, [cont_method, state], [state, image, points_md, status],
                                  api_name="continue_from"))
    mask.sets_editor(clear_mask_btn.click, drag_image.clear_mask, [state], [editor], api_name="clear_mask")
    # a page's drag: its button presses a twin (ui/mask.py); the one that reads the editor keeps its mask first
    drag_outputs = [*outs, status, table, state]
    for api_btn, btn, (carry, reuse), (_, methods, name, eid, _) in zip(api_drag_btns, drag_btns, twins, drags()):
        show_chain(api_btn.click(gpu(drag_handlers.drag_endpoint(methods)), [editor, *fields, state, uploads],
                                 drag_outputs, api_name=name, **run_control.QUEUE))
        btn.click(None, None, None, js=mask.drag_js(eid), queue=False, api_visibility="private")
        page_drag = dict(fn=gpu(drag_handlers.drag_endpoint(methods, page=True)),
                         inputs=[*fields, state, uploads, painted], outputs=drag_outputs,
                         api_visibility="undocumented", **run_control.QUEUE)
        show_chain(reuse.click(**page_drag))
        show_chain(carry.click(None, [editor], [read_png], js=mask.READ_JS, queue=False)   # read in the page
                   .then(mask.keep_png, [read_png, state, painted], None, queue=False, api_visibility="private")
                   .then(**page_drag))
    stop_btn.click(drag_handlers.stop, [state], [status], api_name="stop", queue=False)
    export_btn.click(drag_handlers.export_files, [state], [files], api_name="export")
    show_chain(edit_file.upload(drag_handlers.replay, [edit_file, state, uploads], [state, image, status],
                                api_name="replay", **run_control.QUEUE))
    return new_outputs, start, show_chain
