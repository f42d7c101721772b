"""Numerical parity of our StyleGAN2 with the official code, through our checkpoint converter.

The official code is NOT part of this repository (its licence is non-commercial): clone it
yourself and pass its folder. Nothing of it is copied here; it is imported and run side by
side with ours. Each official generator gets random weights (non-zero noise strengths, biases
and w_avg so every term counts); its state dict and constructor arguments go through
`stylegan.convert.from_official`, exactly the path a downloaded pickle takes, so this checks the
name-mapping table as well as the arithmetic.

    git clone https://github.com/NVlabs/stylegan2-ada-pytorch /tmp/sg2ada
    git clone https://github.com/XingangPan/DragGAN /tmp/draggan      # for StyleGAN-Human (512x256)
    python -m benchmarks.official_parity --official /tmp/sg2ada --human /tmp/draggan/stylegan_human

Max abs difference of `mapping` and of the image (noise_mode 'const', float32; the official code
with force_fp32=True) at 64/256/512/1024 px (64 px also for the resnet and orig architectures
and a conditional model) and for the rectangular StyleGAN-Human network at 512x256 and
1024x512, with and without truncation. Writes benchmarks/results/official_parity.{json,md}.
"""
import importlib.util
import json
import sys
import types
from pathlib import Path

import torch

from benchmarks import cli
from stylegan.convert import from_official

SQUARE = {  # resolution -> official config (channel_base, mapping layers)
    64: (16384, 2), 256: (16384, 8), 512: (32768, 8), 1024: (32768, 8)}
TRUNCATIONS = [(1.0, None), (0.7, None), (0.5, 8)]


def official_networks(root, networks_file="training/networks.py"):
    """The networks module of an official checkout (`root` provides torch_utils and dnnlib), after
    clearing the package names a previous checkout left in sys.modules."""
    for name in [m for m in sys.modules if m.split(".")[0] in ("training", "torch_utils", "dnnlib")]:
        del sys.modules[name]
    sys.modules.setdefault("requests", types.ModuleType("requests"))  # dnnlib imports it for downloads only
    root = str(Path(root).resolve())
    sys.path.insert(0, root)
    try:
        spec = importlib.util.spec_from_file_location("official_networks", Path(root) / networks_file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its persistence decorator looks itself up there
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(root)
    return module


def randomise(G_off, seed=None):
    """Non-zero noise strengths, biases and w_avg on an official generator, so every term counts
    (seed None: from the current torch RNG state). Also used by benchmarks.generator_speed."""
    if seed is not None:
        torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in G_off.named_parameters():
            if "noise_strength" in name:
                p.copy_(torch.randn([]) * 0.3)
            elif name.endswith("bias") and "affine" not in name:
                p.add_(torch.randn_like(p) * 0.1)
        G_off.mapping.w_avg.copy_(torch.randn_like(G_off.mapping.w_avg) * 0.5)
    return G_off.eval()


def compare(name, G_off, kwargs, c_dim=0):
    G = from_official(G_off.state_dict(), kwargs, source=name)
    rows = []
    torch.manual_seed(0)
    z = torch.randn(2, G.z_dim)
    c = torch.eye(c_dim)[:2] if c_dim else None
    for psi, cutoff in TRUNCATIONS:
        with torch.no_grad():
            w_off = G_off.mapping(z, c, truncation_psi=psi, truncation_cutoff=cutoff)
            img_off = G_off.synthesis(w_off, noise_mode="const", force_fp32=True)
            w = G.mapping(z, c, truncation_psi=psi, truncation_cutoff=cutoff)
            img = G.synthesis(w, noise_mode="const")
        rows.append(dict(config=name, shape=list(img.shape[2:]), psi=psi, cutoff=cutoff,
                         mapping_max_abs=(w_off - w).abs().max().item(),
                         image_max_abs=(img_off - img).abs().max().item(), image_abs_max=img_off.abs().max().item()))
        print(rows[-1], flush=True)
    return rows


def square_configs(off):
    rows = []
    for res, (base, layers) in SQUARE.items():
        variants = [("skip", 0), ("resnet", 0), ("orig", 0), ("skip", 10)] if res == 64 else [("skip", 0)]
        for arch, c_dim in variants:
            kw = dict(z_dim=512, c_dim=c_dim, w_dim=512, img_resolution=res, img_channels=3,
                      mapping_kwargs=dict(num_layers=layers),
                      synthesis_kwargs=dict(channel_base=base, channel_max=512, num_fp16_res=4, conv_clamp=256,
                                            architecture=arch))
            torch.manual_seed(res)
            G_off = randomise(off.Generator(**kw), res)
            rows += compare(f"{res}px {arch}" + (f" c_dim={c_dim}" if c_dim else ""), G_off, kw, c_dim)
    return rows


def human_configs(human):
    """StyleGAN-Human: built as DragGAN's renderer builds it (square=False), height = 2 x width."""
    rows = []
    for res in (512, 1024):
        kw = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=res, img_channels=3, square=False,
                  mapping_kwargs=dict(num_layers=8),
                  synthesis_kwargs=dict(channel_base=32768, channel_max=512, num_fp16_res=4, conv_clamp=256))
        torch.manual_seed(res + 1)
        G_off = randomise(human.Generator(**kw), res + 1)
        rows += compare(f"human {res}x{res // 2}", G_off, kw)
    return rows


def main(argv=None):
    ap = cli.parser(__doc__, threads=2)
    ap.add_argument("--official", required=True, help="path to a clone of NVlabs/stylegan2-ada-pytorch")
    ap.add_argument("--human", help="path to stylegan_human/ of a DragGAN clone (the rectangular generator)")
    args = ap.parse_args(argv)
    cli.setup(args)
    rows = square_configs(official_networks(args.official))
    if args.human:
        rows += human_configs(official_networks(args.human, "training_scripts/sg2/training/networks.py"))
    worst = max(r["image_max_abs"] for r in rows)
    md = ["Parity with the official code through our converter (random weights, noise 'const', fp32; worst of "
          "psi 1 / 0.7 / 0.5 with cutoff 8). `python -m benchmarks.official_parity --official PATH --human PATH`",
          "", "| configuration | image | max abs diff, mapping | max abs diff, image | largest image value |",
          "|---|---|---|---|---|"]
    for name in dict.fromkeys(r["config"] for r in rows):
        rs = [r for r in rows if r["config"] == name]
        md.append(f"| {name} | {rs[0]['shape'][0]}x{rs[0]['shape'][1]} | {max(r['mapping_max_abs'] for r in rs):.1e} | "
                  f"{max(r['image_max_abs'] for r in rs):.1e} | {max(r['image_abs_max'] for r in rs):.1f} |")
    md.append(f"\nWorst image difference: {worst:.1e} ({'within' if worst <= 1e-4 else 'ABOVE'} the 1e-4 target).")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "official_parity.json").write_text(json.dumps(dict(rows=rows, threads=args.threads,
                                                              worst_image_max_abs=worst), indent=1))
    (out / "official_parity.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return worst


if __name__ == "__main__":
    sys.exit(cli.run(main))
