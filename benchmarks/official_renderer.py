"""The official DragGAN drag, run from a checkout you provide, for `benchmarks.step_time --official`.

Nothing of the official code is in this repository (its licence is non-commercial): its modules are
imported from PATH at run time, on the CPU, where its custom ops fall back to their reference
implementations and its networks run in float32 (it forces fp32 off CUDA). What one edit costs
there is what its Gradio app (`visualizer_drag_gradio.py`) does per step, with its default draw
interval of 1: `Renderer._render_drag_impl(..., is_drag=True, to_pil=True)` (a full generator pass
with gradients, point tracking, motion supervision, one Adam step, the image as PIL), then the
preview: points drawn (`gradio_utils.draw_points_on_image`), the mask overlay and the watermark.

The generator is built by the official code with the official config of the resolution (random
weights, `num_fp16_res=4` as the released pickles) and handed to the renderer the way a loaded
pickle is (`get_network` rebuilds it from its init arguments and copies the weights). Only G_ema
is kept, where a real pickle also holds G and D: the official peak memory here is a lower bound.
`ours_from_official` converts those same weights into our Generator, so both sides drag one network from
one start latent (seed 0, psi 0.7, W+). Warm-up steps are taken on the same drag, which then starts again
from its start image (a fresh `init_network`) before the timed edit: both sides time `steps` steps from the start.
The official step tracks the handle before its update, so after the edit one more (untimed) call tracks it on
the final latent: `final_handle` is then where ours reports its handle (after its last tracking, `sync`).

Shims, all for the environment rather than the algorithm: `requests` (imported by dnnlib for
downloads only) is stubbed when missing; Pillow >= 10 dropped `FreeTypeFont.getsize`, which the
watermark calls, so it is supplied from `getbbox`; the watermark's font is opened relative to the
working directory, so the child changes to PATH.
"""
import os
import sys
import time
import types
from pathlib import Path


def _import_official(path):
    sys.modules.setdefault("requests", types.ModuleType("requests"))
    sys.path.insert(0, str(path))
    os.chdir(path)  # arial.ttf for the watermark
    from PIL import ImageFont
    if not hasattr(ImageFont.FreeTypeFont, "getsize"):
        ImageFont.FreeTypeFont.getsize = lambda self, text: tuple(self.getbbox(text)[2:])
    import dnnlib
    from gradio_utils import draw_mask_on_image, draw_points_on_image
    from training.networks_stylegan2 import Generator
    from viz.renderer import Renderer, add_watermark_np
    return types.SimpleNamespace(EasyDict=dnnlib.EasyDict, Generator=Generator, Renderer=Renderer,
                                 draw_points=draw_points_on_image, draw_mask=draw_mask_on_image,
                                 watermark=add_watermark_np)


def _official_generator(off, res, channel_base, channel_max=512):
    import torch
    torch.manual_seed(0)
    return off.Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=res, img_channels=3,  # its z is 512 wide
                         mapping_kwargs=dict(num_layers=8),
                         synthesis_kwargs=dict(channel_base=channel_base, channel_max=channel_max, num_fp16_res=4,
                                               conv_clamp=256)).eval()


def ours_from_official(path, res, channel_base, channel_max=512):
    """Our Generator holding the very weights `official_edit` builds (the same random network, converted
    by `stylegan.convert.from_official`), so both sides drag the same image the same way."""
    from stylegan.convert import from_official
    cwd = os.getcwd()
    try:
        G = _official_generator(_import_official(Path(path).resolve()), res, channel_base, channel_max)
    finally:
        os.chdir(cwd)
    return from_official(G.state_dict(), dict(G.init_kwargs), source="the official benchmark network")


def _preview(off, image, points, mask):
    """What the official app does with each step's image before showing it."""
    import numpy as np
    from PIL import Image
    drawn = off.draw_points(image, points)
    drawn = off.draw_mask(drawn, mask)
    return Image.fromarray(off.watermark(np.array(drawn)))


def official_edit(path, res, channel_base, handle, target, editable, steps, warmup, channel_max=512):
    """Run `warmup` + `steps` official drag steps with a preview each; seconds per step (the render
    call), seconds for the `steps`-step edit (steps and previews) and the final handle.

    handle, target: (x, y) image px; editable: HxW bool array (True = may change)."""
    import numpy as np
    import torch
    off = _import_official(Path(path).resolve())
    renderer = off.Renderer(disable_timing=True)
    pkl = f"stylegan2_benchmark_{res}"  # the name tells get_network which network module to use
    renderer._pkl_data[pkl] = {"G_ema": _official_generator(off, res, channel_base, channel_max)}
    state = off.EasyDict()

    def start():   # the drag from its start: w0 of seed 0, a fresh Adam, no reference features yet
        renderer.init_network(state, pkl, 0, None, True, "const", 0.7, None, None, 0.001)
        renderer._render_drag_impl(state, is_drag=False, to_pil=True)
    start()
    fixed = torch.from_numpy(~editable).float()  # the renderer's mask: 1 = keep
    ui_mask = editable.astype(np.uint8)
    handles = [[int(handle[1]), int(handle[0])]]  # the renderer works in (row, column)
    targets = [[int(target[1]), int(target[0])]]
    drawn_points = {0: {"start": list(handle), "target": list(target)}}
    step_seconds = []
    edit_start = None
    for i in range(warmup + steps):
        if i == warmup:
            if warmup:   # the warm-up steps moved the drag: the timed edit starts again from the start image
                start()
                handles = [[int(handle[1]), int(handle[0])]]
            edit_start = time.perf_counter()
        t0 = time.perf_counter()
        renderer._render_drag_impl(state, handles, targets, fixed, 20, reg=0, feature_idx=5, r1=3, r2=12,
                                   trunc_psi=0.7, is_drag=True, to_pil=True)
        if i >= warmup:
            step_seconds.append(time.perf_counter() - t0)
        drawn_points[0]["start_temp"] = [handles[0][1], handles[0][0]]
        _preview(off, state.image, drawn_points, ui_mask)
        if "error" in state:
            raise RuntimeError(state.error)
    edit_seconds = time.perf_counter() - edit_start
    tracked_in_last_step = [handles[0][1], handles[0][0]]   # a step tracks before its update: one update behind
    # untimed: one more call, whose tracking sees the latent after the `steps` updates (where ours reports the
    # handle: its session tracks once more on the final latent); its own update is not counted
    renderer._render_drag_impl(state, handles, targets, fixed, 20, reg=0, feature_idx=5, r1=3, r2=12,
                               trunc_psi=0.7, is_drag=True, to_pil=True)
    return dict(seconds_per_step=float(np.mean(step_seconds)), step_times=step_seconds, edit_seconds=edit_seconds,
                previews=steps, final_handle=[handles[0][1], handles[0][0]], tracked_in_last_step=tracked_in_last_step)
