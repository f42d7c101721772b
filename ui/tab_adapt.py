"""The Adapt tab: few-shot adaptation in the app (training.adapt). Upload a few pictures, choose the
steps, Start (a run of this session: Stop reaches it at its next step), watch the losses and the
same seeds rendered by the source and by the model being adapted, side by side, then "Use this
model": the adapted file becomes a choice of the Drag tab's model box, with its source's presets.

The source is the model chosen in the Drag tab. The pictures and the adapted file live in a folder
of the app's scratch space (ui.scratch); the model is trusted by the store by its path (the path is
made here, never typed by a user).
"""
import json
import os
import shutil
from pathlib import Path

import gradio as gr

import limits
from dragcore import generator_kind
from training import adapt as ta

from ui import guard as ug
from ui import run_control, scratch
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


@ug.handler
@run_control.exclusive("adaptation", lambda note: _outputs(note))
def start(files, steps, model, uploads, ema=ta.recipe("ema"), fine_d=ta.recipe("fine_d"), swd=ta.recipe("swd"),
          grey=False, coarse=ta.recipe("coarse")):
    """Adapt the Drag tab's model to the uploaded pictures; yields (status, loss curves, before/after,
    the adapted file for 'Use this model', the button's state). `ema`, `fine_d`, `swd`, `grey`,
    `coarse`: the Advanced fields (training.adapt's --ema, --fine-d, --swd, --grey, --coarse)."""
    from training.shots import EXTENSIONS
    steps = limits.check("adapt_steps", steps, "Steps")
    settings = _settings(steps, ema, fine_d, swd, grey, coarse)
    paths = [f if isinstance(f, str) else getattr(f, "name", None) for f in (files or [])]
    if not paths:
        raise gr.Error("Pictures: upload 3 to 50 pictures of your kind of image", print_exception=False)
    folder = Path(scratch.new_folder("adapt_"))
    shots_dir = folder / "pictures"
    shots_dir.mkdir()
    for i, p in enumerate(paths):
        ext = os.path.splitext(str(p))[1].lower()
        if ext not in EXTENSIONS:
            raise gr.Error(f"Pictures: {os.path.basename(str(p))} is not an image ({', '.join(EXTENSIONS)})",
                           print_exception=False)
        shutil.copyfile(p, shots_dir / f"{i:02d}{ext}")
    G = get_model(model, uploads)
    if generator_kind(G) != "stylegan":
        raise gr.Error("Adapt: choose a StyleGAN2 model in the Drag tab (this one is a DCGAN)", print_exception=False)
    shots, names, notes = ta.read_shots(shots_dir, G.img_resolution)
    if G.img_shape[0] != G.img_shape[1]:
        raise gr.Error("Adapt: the model must be square", print_exception=False)
    adapter = ta.Adapter(G, shots, settings)
    out = folder / "adapted.safetensors"
    run = run_control.current()
    spec = model if model in {m for _, m in model_choices()} and not str(model).startswith("upload") else \
        (uploads or {}).get("name", str(model))
    meta = lambda: ta.model_card(adapter, spec, len(names), "uploaded in the app", adapter.wall_s, "the app's Adapt tab")
    note = (" " + " ".join(notes)) if notes else ""
    yield _outputs(f"Adapting to {len(names)} pictures…{note}", None, _compare(adapter))
    rows = []
    while adapter.step_n < steps and not run.stopped:
        until = min(steps, adapter.step_n + PREVIEW_EVERY)
        ta.train(adapter, until, out, meta, stop=lambda: run.stopped, progress=False, save_every=steps,
                 on_row=rows.append)
        last = rows[-1] if rows else {}
        yield _outputs(f"Step {adapter.step_n}/{steps}: D {last.get('loss_D', float('nan')):.3f}, "
                       f"G {last.get('loss_G', float('nan')):.3f}, distance consistency "
                       f"{last.get('dcl', float('nan')):.4f}.{note}",
                       str(ta.run_dir(out) / "loss_curves.png"), _compare(adapter))
    # every train() call above ended with a checkpoint: the file holds the last completed step
    done = "Stopped" if adapter.step_n < steps else "Done"
    yield _outputs(f"{done} at step {adapter.step_n}/{steps} ({adapter.wall_s / 60:.1f} min). Press 'Use this "
                   f"model' to drag it.", str(ta.run_dir(out) / "loss_curves.png"), _compare(adapter),
                   str(out), use=adapter.step_n > 0)


@ug.handler
def use_model(path):
    """The adapted file becomes a choice of the Drag tab's model box (and is loaded now)."""
    if not path or not Path(path).is_file():
        raise gr.Error("Use this model: adapt a model first", print_exception=False)
    STORE.trust(path)
    get_model(path)
    from stylegan import read_metadata
    card = json.loads(read_metadata(path).get("adapted", "{}"))
    label = f"Adapted: {card.get('from_model', 'model')} + {card.get('shots', '?')} pictures, {card.get('steps', '?')} steps"
    return gr.update(choices=model_choices() + [(label, path)], value=path), \
        f"'{label}' is now the Drag tab's model: press New image there."


def build(model, uploads):
    """The tab; `model` is the Drag tab's model box (the source, and where 'Use this model' puts the result). The
    Advanced fields start at the recipe's values (training.adapt.RECOMMENDED)."""
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
    status = gr.Markdown("", elem_id="adapt-status")
    with gr.Row():
        curves = gr.Image(label="Losses", type="filepath", interactive=False, elem_id="adapt-losses")
        compare = gr.Image(label="Same seeds: source (top) vs adapted (bottom)", type="pil", interactive=False,
                           elem_id="adapt-compare")
    result = gr.State(None)
    start_btn.click(start, [files, steps, model, uploads, ema, fine_d, swd, grey, coarse],
                    [status, curves, compare, result, use_btn],
                    api_name="adapt", **run_control.QUEUE)
    stop_btn.click(lambda: run_control.stop(), None, [status], api_name="adapt_stop", queue=False)
    use_btn.click(use_model, [result], [model, status], api_name="adapt_use")
