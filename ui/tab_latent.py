"""The Latent space tab: Z vs W interpolation (with the step sizes along each path), style mixing
by coarse / middle / fine rows, SeFa directions. The first time a session opens the tab, its three
panels are drawn with the settings shown (on models up to FILL_MAX_RES px; a larger one on this
device says which button draws each panel), so the tab never opens on empty panels."""
import gradio as gr

import latent
import limits
from dragcore import generator_kind
from ui import guard as ug
from ui.context import default_model, get_model, model_choices
from ui.panels import captioned


@ug.handler
def latent_interp(model_id, seed_a, seed_b, steps, psi, uploads=None):
    seed_a, seed_b = limits.check("seed", seed_a, "Seed A"), limits.check("seed", seed_b, "Seed B")
    steps, psi = limits.check("frames", steps), limits.check("psi", psi)
    G = get_model(model_id, uploads)
    rows, lines = [], []
    spaces = ("z", "w") if generator_kind(G) == "stylegan" else ("z",)
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
def latent_sefa(model_id, seed, directions, strength, layers, psi, uploads=None):
    seed, k = limits.check("seed", seed), limits.check("sefa_k", directions)
    strength, psi = limits.check("sefa_strength", strength), limits.check("psi", psi)
    G = get_model(model_id, uploads)
    latent.util.require_mapping(G)
    rows = latent.layer_ranges(G.num_ws)[layers] if layers != "all" else range(G.num_ws)
    dirs, vals = latent.sefa_directions(G, layers=rows, k=k)
    import torch
    with torch.no_grad():
        ws = G.mapping(latent.seed_z(seed, G.z_dim, next(G.parameters()).device), truncation_psi=psi)
        out = [latent.to_uint8(torch.cat([G.synthesis(latent.apply_direction(ws, d, t * strength, rows))
                                          for t in (-1, -0.5, 0, 0.5, 1)])) for d in dirs]
    return latent.image_strip(out, scale=max(1, 128 // G.img_resolution)), \
        "Eigenvalues: " + ", ".join(f"{float(v):.1f}" for v in vals) + " (one row per direction, strength -s..+s)"


FILL_MAX_RES = 256   # the panels drawn on opening the tab: ~0.4 s on 2 CPU cores at 64 px; a 1024 px model on CPU
                     # would take about a minute, so there the buttons draw them


@ug.handler
def latent_fill(filled, model_id, psi, seed_a, seed_b, steps, mix_row, mix_cols, sefa_seed, sefa_k, sefa_strength,
                sefa_layers, uploads=None):
    """The tab opened: the first time in a session, the three panels with the settings shown (each panel's own
    handler, so a bad setting is its one clear line); later, nothing changes."""
    if filled:
        return (True,) + (gr.skip(),) * 6
    G = get_model(model_id, uploads)
    if G.img_resolution > FILL_MAX_RES and next(G.parameters()).device.type == "cpu":
        hint = f"A {G.img_resolution} px model on the CPU: press **{{}}** to draw this panel (it takes a while)."
        return (True, gr.skip(), hint.format("Interpolate"), gr.skip(), hint.format("Style mixing"), gr.skip(),
                hint.format("SeFa"))
    return ((True,) + latent_interp(model_id, seed_a, seed_b, steps, psi, uploads)
            + latent_mix(model_id, mix_row, mix_cols, psi, uploads)
            + latent_sefa(model_id, sefa_seed, sefa_k, sefa_strength, sefa_layers, psi, uploads))


def build(uploads, tab=None):
    """The tab (`tab`: its gr.Tab, whose first opening draws the panels); returns its model box (the Adapt tab
    adds its adapted models there)."""
    gr.Markdown("Z vs W: the same two seeds interpolated in Z and in W (linear and spherical), with the "
                "step sizes along each path; style mixing by coarse / middle / fine rows; SeFa directions.")
    with gr.Row():
        model = ug.Dropdown(model_choices(), value=default_model(), label="Model")
        psi = ug.ranged("psi", 0.7, step=0.05)
    with gr.Row():
        seed_a, seed_b = ug.Number(1, label="Seed A"), ug.Number(2, label="Seed B")
        n_steps = ug.ranged("frames", 8)
        interp_btn = gr.Button("Interpolate")
    _, interp_img = captioned(gr.Image, "**Interpolation**", label="Interpolation", type="pil",
                              elem_id="latent-interp")
    interp_md = gr.Markdown()
    with gr.Row():
        mix_row = ug.Number(3, label="Destination seed")
        mix_cols = ug.Textbox("4 5 6", label="Source seeds", max_length=200,
                              info=f"at most {limits.RANGES['mix_seeds'][3]} seeds")
        mix_btn = gr.Button("Style mixing")
    _, mix_img = captioned(gr.Image, "**Style mixing**", label="Style mixing", type="pil", elem_id="latent-mix")
    mix_md = gr.Markdown()
    with gr.Row():
        sefa_seed = ug.Number(3, label="Seed")
        sefa_k = ug.ranged("sefa_k", 3)
        sefa_strength = ug.ranged("sefa_strength", 5, step=0.5)
        sefa_layers = ug.Radio(["all", "coarse", "middle", "fine"], value="all", label="Layers")
        sefa_btn = gr.Button("SeFa")
    _, sefa_img = captioned(gr.Image, "**SeFa directions**", label="SeFa directions", type="pil",
                           elem_id="latent-sefa")
    sefa_md = gr.Markdown()
    interp_btn.click(latent_interp, [model, seed_a, seed_b, n_steps, psi, uploads], [interp_img, interp_md],
                     api_name="interpolate")
    mix_btn.click(latent_mix, [model, mix_row, mix_cols, psi, uploads], [mix_img, mix_md], api_name="style_mix")
    sefa_btn.click(latent_sefa, [model, sefa_seed, sefa_k, sefa_strength, sefa_layers, psi, uploads],
                   [sefa_img, sefa_md], api_name="sefa")
    if tab is not None:
        filled = gr.State(False)
        tab.select(latent_fill, [filled, model, psi, seed_a, seed_b, n_steps, mix_row, mix_cols, sefa_seed, sefa_k,
                                 sefa_strength, sefa_layers, uploads],
                   [filled, interp_img, interp_md, mix_img, mix_md, sefa_img, sefa_md], api_visibility="undocumented")
    return model
