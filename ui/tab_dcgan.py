"""The DCGAN tab: samples of the bundled DCGAN face model and the loss curves of its training."""
from pathlib import Path

import gradio as gr

import dcgan
import limits
from ui import guard as ug
from ui.panels import captioned

CURVES = Path(__file__).resolve().parent.parent / "docs" / "dcgan" / "loss_curves.png"


@ug.handler
def dcgan_samples(seed, n):
    import torch
    seed, n = limits.check("seed", seed), limits.check("dcgan_samples", n)
    G = dcgan.load_pretrained()
    with torch.no_grad():
        return dcgan.grid(G(torch.randn(n, 100, generator=torch.Generator().manual_seed(seed))), nrow=8)


def build():
    gr.Markdown("The classic DCGAN: the pretrained face model bundled with the lab (from gan-face-generate, "
                "MIT). Train your own with `python -m dcgan train --data DIR --out DIR` (see docs/dcgan.md); "
                "pick `dcgan-faces-64` in the Drag tab to drag it in Z space.")
    with gr.Row():
        seed = ug.Number(0, label="Seed")
        n = ug.ranged("dcgan_samples", 32)
        btn = gr.Button("Sample")
    _, img = captioned(gr.Image, "**Samples**", label="Samples", type="pil")
    if CURVES.is_file():
        captioned(gr.Image, "**G and D losses** of a from-scratch training run", value=str(CURVES),
                  label="G and D losses of a from-scratch training run", interactive=False)
    btn.click(dcgan_samples, [seed, n], [img], api_name="dcgan_samples")
