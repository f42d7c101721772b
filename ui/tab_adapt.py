"""The Adapt tab: few-shot adaptation in the app (training.adapt). Upload a few pictures, choose the
steps, Start (a run of this session: Stop reaches it at its next step), watch the losses and the
same seeds rendered by the source and by the model being adapted, side by side, download the file,
then "Use this model": the adapted file becomes the Drag tab's model (with its source's presets; the
session's adapted models stay choices there and in the Latent space tab) and the Drag tab opens on
the same seed drawn by it. A run that ends within the discriminator's warm-up has not changed the
generator: nothing is offered.

The source is the model chosen in the Drag tab. The pictures and the adapted file live in a folder
of the app's scratch space (ui.scratch); the model is trusted by the store by its path (the path is
made here, never typed by a user).
"""
import json
import os
import re
import shutil
from pathlib import Path

import gradio as gr

import checkpoints
import limits
from dragcore import generator_kind
from training import adapt as ta

from ui import guard as ug
from ui import mask
from ui import models as models_ui
from ui import run_control, scratch
from ui.drag_image import new_image
from ui.panels import captioned
from ui.context import STORE, get_model, model_choices

PREVIEW_EVERY = 10      # steps between two frames of the live view
SEEDS = range(8)        # the same seeds before and after
OPTIONS = {             # the Advanced fields: Settings name -> (the field's label, the command line's flag)
    "ema": ("EMA decay", "--ema"),
    "fine_d": ("Fine patch level", "--fine-d"),
    "swd": ("Patch loss", "--swd"),
    "coarse": ("Coarse layout", "--coarse"),
}


def _settings(steps, ema, fine_d, swd, grey, coarse):
    """training.adapt's Settings from the tab's fields; a bad value is one line naming its field."""
    values = dict(ema=ema, fine_d=fine_d, swd=swd, coarse=coarse)
    for name, v in values.items():
        if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
            raise gr.Error(f"{OPTIONS[name][0]}: give a number ({OPTIONS[name][1]} of python -m training.adapt)",
                           print_exception=False)
    s = ta.recommended(steps, bool(grey), **{k: float(v) for k, v in values.items()})   # the measured recipe
    try:
        ta.check_settings(s)
    except ta.AdaptError as e:
        msg = str(e)
        for label, flag in OPTIONS.values():
            msg = msg.replace(flag, label)
        raise gr.Error(msg, print_exception=False) from None
    return s


def _compare(adapter):
    """Source (top row) and adapted (bottom row) images of the same seeds, as a PIL image."""
    import torch
    from PIL import Image
    from stylegan.imageops import to_uint8
    import numpy as np
    z = torch.stack([torch.randn(adapter.src.z_dim, generator=torch.Generator().manual_seed(s)) for s in SEEDS])
    src, ad = adapter.samples(z, 0.7)
    rows = [np.concatenate(list(to_uint8(x)), 1) for x in (src, ad)]
    img = np.concatenate(rows, 0)
    k = max(1, 512 // img.shape[1])
    return Image.fromarray(img).resize((img.shape[1] * k, img.shape[0] * k), Image.NEAREST)


def _outputs(status, curves=None, compare=None, result=None, use=False):
    return status, curves, compare, result, gr.update(interactive=use)


def _shown_names(text, folder, names):
    """A message of training.shots about the copies in `folder` in the user's words: 'Pictures' for the
    folder, each copy by the name it was uploaded with (`names`: copy's name -> upload's name)."""
    text = text.replace(f"--images {folder}", "Pictures").replace("--images: ", "Pictures: ")
    for copy, name in names.items():
        text = text.replace(str(Path(folder) / copy), name).replace(f"{copy} ", f"{name} ")
    return text


def _warming(adapter):
    """Whether the generator is still the source's: every step so far was the discriminator's warm-up."""
    return adapter.step_n <= adapter.s.d_warmup


def _progress(adapter, steps, last):
    if _warming(adapter):
        return (f"Step {adapter.step_n}/{steps}: the discriminator's warm-up (steps 1-{adapter.s.d_warmup}: only "
                f"it learns, the generator is still the source's), D {last.get('loss_D', float('nan')):.3f}.")
    return (f"Step {adapter.step_n}/{steps}: D {last.get('loss_D', float('nan')):.3f}, G "
            f"{last.get('loss_G', float('nan')):.3f}, distance consistency {last.get('dcl', float('nan')):.4f}.")


def _curves(out):
    path = ta.run_dir(out) / "loss_curves.png"
    return str(path) if path.is_file() else None


def _ended(adapter, steps, out):
    """The last frame: the model offered for use only when its generator has trained."""
    if adapter.step_n == 0:
        return _outputs("Stopped before the first step: nothing was trained.")
    done = "Stopped" if adapter.step_n < steps else "Done"
    head = f"{done} at step {adapter.step_n}/{steps} ({adapter.wall_s / 60:.1f} min)."
    if _warming(adapter):
        return _outputs(f"{head} That was the discriminator's warm-up (steps 1-{adapter.s.d_warmup}): the generator "
                        "is still the source model, so there is nothing to use yet. Start again with more steps.",
                        _curves(out), _compare(adapter))
    return _outputs(f"{head} Press 'Use this model' to drag it.", _curves(out), _compare(adapter), str(out), use=True)


@ug.handler
@run_control.exclusive("adaptation", lambda note: _outputs(note))
def start(files, steps, model, uploads, ema=ta.recipe("ema"), fine_d=ta.recipe("fine_d"), swd=ta.recipe("swd"),
          grey=False, coarse=ta.recipe("coarse")):
    """Adapt the Drag tab's model to the uploaded pictures; yields (status, loss curves, before/after,
    the adapted file for 'Use this model', the button's state). `ema`, `fine_d`, `swd`, `grey`,
    `coarse`: the Advanced fields (training.adapt's --ema, --fine-d, --swd, --grey, --coarse). A run
    refused before it starts (`_prepare`) is a warning and a status line saying why; nothing else
    changes (an error would mark every output, over the last run's pictures)."""
    try:
        adapter, out, meta, steps, status, note = _prepare(files, steps, model, uploads, ema, fine_d, swd, grey,
                                                           coarse)
    except Exception as e:  # noqa: BLE001 - said once, the session as it was
        yield ug.warn(e), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return
    run = run_control.current()
    yield _outputs(status, None, _compare(adapter))
    rows = []
    while adapter.step_n < steps and not run.stopped:
        until = min(steps, adapter.step_n + PREVIEW_EVERY)
        ta.train(adapter, until, out, meta, stop=lambda: run.stopped, progress=False, save_every=steps,
                 on_row=rows.append)
        yield _outputs(_progress(adapter, steps, rows[-1] if rows else {}) + note, _curves(out), _compare(adapter))
    # every train() call above ended with a checkpoint: the file holds the last completed step
    yield _ended(adapter, steps, out)


def _prepare(files, steps, model, uploads, ema, fine_d, swd, grey, coarse):
    """Everything before the first step, checked: -> (Adapter, the output path, its model card (a function),
    the steps, the first status line, the pictures' notes for every later one). Every refusal raises (one
    line naming its field)."""
    from training.shots import EXTENSIONS
    steps = limits.check("adapt_steps", steps, "Steps")
    settings = _settings(steps, ema, fine_d, swd, grey, coarse)
    paths = [f if isinstance(f, str) else getattr(f, "name", None) for f in (files or [])]
    if not paths:
        raise gr.Error("Pictures: upload 3 to 50 pictures of your kind of image", print_exception=False)
    folder = Path(scratch.new_folder("adapt_"))
    shots_dir = folder / "pictures"
    shots_dir.mkdir()
    uploaded = {}   # the copy's name -> the name it was uploaded with (what every message says)
    for i, p in enumerate(paths):
        ext = os.path.splitext(str(p))[1].lower()
        if ext not in EXTENSIONS:
            raise gr.Error(f"Pictures: {os.path.basename(str(p))} is not an image ({', '.join(EXTENSIONS)})",
                           print_exception=False)
        shutil.copyfile(p, shots_dir / f"{i:02d}{ext}")
        uploaded[f"{i:02d}{ext}"] = os.path.basename(str(p))
    G = get_model(model, uploads)
    if generator_kind(G) != "stylegan":
        raise gr.Error("Adapt: choose a StyleGAN2 model in the Drag tab (this one is a DCGAN)", print_exception=False)
    try:
        shots, names, notes = ta.read_shots(shots_dir, G.img_resolution)
    except ta.ShotError as e:
        raise gr.Error(_shown_names(str(e), shots_dir, uploaded), print_exception=False) from None
    notes = [_shown_names(n, shots_dir, uploaded) for n in notes]
    if G.img_shape[0] != G.img_shape[1]:
        raise gr.Error("Adapt: the model must be square", print_exception=False)
    adapter = ta.Adapter(G, shots, settings)
    out = folder / "adapted.safetensors"
    choices = {m for _, m in model_choices()}
    spec = model if model in choices and not str(model).startswith("upload") else \
        (uploads or {}).get("name", str(model))
    meta = lambda: ta.model_card(adapter, spec, len(names), "uploaded in the app", adapter.wall_s, "the app's Adapt tab")
    note = (" " + " ".join(notes)) if notes else ""
    status = f"Adapting {_source_name(model, uploads, choices)} to {len(names)} pictures…{note}"
    return adapter, out, meta, steps, status, note


def _adapted_label(path):
    """'Adapted: <source> + N pictures, S steps' from an adapted file's card (its source named as the card
    names it; a model adapted from an adapted one says so)."""
    from stylegan import read_metadata
    try:
        meta = read_metadata(path)
        card = json.loads(meta.get("adapted", "{}"))
    except Exception:  # noqa: BLE001 - a file without a readable card is named by its file
        return os.path.basename(str(path))
    lineage = re.findall(r"adapted from ([^\s()]+)", meta.get("source", ""))   # 'adapted from A (adapted from B ...)'
    times = len(lineage)
    root = lineage[-1] if times > 1 else card.get("from_model", "model")
    again = f", adapted {times} times" if times > 1 else ""
    return f"Adapted: {root} + {card.get('shots', '?')} pictures, {card.get('steps', '?')} steps{again}"


def _source_name(model, uploads, choices):
    """How the status names the model being adapted (never a server path)."""
    m = str(model)
    if m.startswith(models_ui.UPLOAD):
        return (uploads or {}).get("name", "your uploaded model")
    if m not in choices:   # a model of this session's 'Use this model'
        return _adapted_label(m)
    return checkpoints.registry_id(m) or (os.path.basename(m) if checkpoints.looks_like_path(m) else m)


@ug.handler
def use_model(path, adapted=None):
    """The adapted file becomes the Drag tab's model (its value, a choice beside the session's earlier adapted
    models, `adapted`: [(label, path)]), loaded now. -> (the Drag tab's box, the session's adapted models, the
    status). `latent_choices` gives the Latent space tab's box the same choices."""
    if not path or not Path(path).is_file():
        raise gr.Error("Use this model: adapt a model first", print_exception=False)
    STORE.trust(path)
    get_model(path)
    label = _adapted_label(path)
    mine = [(lab, p) for lab, p in (adapted or []) if p != path and Path(p).is_file()] + [(label, path)]
    return gr.update(choices=model_choices() + mine, value=path), mine, \
        f"'{label}' is now the Drag tab's model: its New image is drawn by it."


def latent_choices(adapted):
    """The Latent space tab's model box: the app's choices and the session's adapted models."""
    return gr.update(choices=model_choices() + list(adapted or []))


def build(uploads, drag, latent_model=None, tabs=None):
    """The tab; `drag` is the Drag tab's (New image inputs, New image outputs, show_chain): its model box
    (the first input) is the source, and 'Use this model' puts the result there (and among `latent_model`'s
    choices, the Latent space tab's box), draws the New image with it and opens the Drag tab (`tabs`, the
    app's gr.Tabs). The Advanced fields start at the recipe's values (training.adapt.RECOMMENDED)."""
    start_inputs, new_outputs, show_chain = drag
    model = start_inputs[0]
    gr.Markdown("Few-shot adaptation: a model of your own kind of image from a few pictures (5-50 work best), "
                "fine-tuned from the model chosen in the Drag tab while its latent space stays aligned, so "
                "drags and style mixing keep working (`python -m training.adapt` does the same headless). "
                "Pictures of another size are centre-cropped to a square and resized. It trains with the measured "
                f"recipe (`{ta.recipe_flags()}`; grey pictures add tone augmentation).")
    with gr.Row():
        files = gr.File(label="Pictures (3-50)", file_count="multiple", file_types=["image"], type="filepath",
                        elem_id="adapt-pictures")
        with gr.Column():
            steps = ug.ranged("adapt_steps", 500, step=10, label="Steps", elem_id="adapt-steps")
            with gr.Row():
                start_btn = gr.Button("Start", variant="primary", elem_id="adapt-start")
                stop_btn = gr.Button("Stop", variant="stop")
            use_btn = gr.Button("Use this model", interactive=False, elem_id="adapt-use")
            status = gr.Markdown("", elem_id="adapt-status")   # beside the buttons: seen at 1280x800
            download = gr.File(label="The adapted model (.safetensors; --model FILE everywhere)", interactive=False,
                               visible=False, elem_id="adapt-download")   # shown once there is one
    with gr.Accordion("Advanced", open=False):
        with gr.Row():
            ema = gr.Number(ta.recipe("ema"), elem_id="adapt-ema",
                            label="EMA decay (0 = off; 0.995: the written model averages the last ~200 steps)")
            fine_d = gr.Number(ta.recipe("fine_d"), label="Fine patch level (0 = off; 1: texture judged per ~18 px)",
                               elem_id="adapt-fine-d")
            swd = gr.Number(ta.recipe("swd"), label="Patch loss (0 = off): pull the pictures' fine patches",
                            elem_id="adapt-swd")
            coarse = gr.Number(ta.recipe("coarse"), label="Coarse layout (0 = off): pull the pictures' average "
                                        "colour layout",
                               elem_id="adapt-coarse")
            grey = gr.Checkbox(False, label="Grey pictures (pencil, charcoal)", elem_id="adapt-grey")
    with gr.Row():
        with gr.Column():   # captions above the pictures: a label drawn over them hid the top row
            _, curves = captioned(gr.Image, "**Losses**", label="Losses", type="filepath", interactive=False,
                                  elem_id="adapt-losses")
        with gr.Column():
            _, compare = captioned(gr.Image, "**Same seeds**: source (top) vs adapted (bottom)",
                                   label="Same seeds: source (top) vs adapted (bottom)", type="pil",
                                   interactive=False, elem_id="adapt-compare")
    result, adapted = gr.State(None), gr.State([])   # the run's file; the session's adapted models
    # Start is disabled while its run goes (a second click would otherwise be dropped by the page, unanswered)
    started = start_btn.click(lambda: gr.update(interactive=False), None, start_btn, queue=False,
                              api_visibility="undocumented")
    started.then(start, [files, steps, model, uploads, ema, fine_d, swd, grey, coarse],
                 [status, curves, compare, result, use_btn], api_name="adapt", **run_control.QUEUE) \
        .then(lambda: gr.update(interactive=True), None, start_btn, queue=False, api_visibility="undocumented") \
        .then(lambda path: gr.update(value=path, visible=path is not None), [result], [download], queue=False,
              api_visibility="undocumented")
    stop_btn.click(lambda: run_control.stop(), None, [status], api_name="adapt_stop", queue=False)
    used = use_btn.click(use_model, [result, adapted], [model, adapted, status], api_name="adapt_use")
    if latent_model is not None:
        used.success(latent_choices, [adapted], [latent_model], queue=False, api_visibility="undocumented")
    drawn = show_chain(mask.sets_editor(used.success, new_image, start_inputs, new_outputs,
                                        api_visibility="undocumented"))   # ui/mask.py
    if tabs is not None:
        drawn.success(lambda: gr.Tabs(selected="drag"), None, tabs, queue=False, api_visibility="undocumented")
