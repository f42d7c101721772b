"""Parity and speed of our StyleGAN2 against the official stylegan2-ada-pytorch code.

The official code is NOT part of this repository (its licence is non-commercial): clone it
yourself and pass its folder. Nothing of it is copied here; it is imported and run side by
side with ours on the same random weights.

    git clone https://github.com/NVlabs/stylegan2-ada-pytorch /tmp/sg2ada
    python -m benchmarks.official_parity --official /tmp/sg2ada [--threads 2]

Writes benchmarks/results/official_parity.json and prints a markdown table: max abs
difference of `mapping` and of the image (noise_mode='const', float32, the official code with
force_fp32=True) at 64/256/512/1024 px with and without truncation, and the time of one
training-style forward+backward of both implementations measured in the same run.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

import stylegan

CONFIGS = {  # official network configs (random weights); 64 px also checks the other architectures
    64: dict(mapping_kwargs=dict(num_layers=2), synthesis_kwargs=dict(channel_base=16384, channel_max=512)),
    256: dict(mapping_kwargs=dict(num_layers=8), synthesis_kwargs=dict(channel_base=16384, channel_max=512)),
    512: dict(mapping_kwargs=dict(num_layers=8), synthesis_kwargs=dict(channel_base=32768, channel_max=512)),
    1024: dict(mapping_kwargs=dict(num_layers=8), synthesis_kwargs=dict(channel_base=32768, channel_max=512)),
}


def make_pair(off, res, arch, seed):
    torch.manual_seed(seed)
    kw = CONFIGS[res]
    kw = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=res, img_channels=3, mapping_kwargs=kw["mapping_kwargs"],
              synthesis_kwargs={**kw["synthesis_kwargs"], "num_fp16_res": 4, "conv_clamp": 256, "architecture": arch})
    G_off = off.Generator(**kw).eval()
    with torch.no_grad():  # non-zero noise strengths and biases so every term is exercised
        for name, p in G_off.named_parameters():
            if "noise_strength" in name:
                p.copy_(torch.randn([]) * 0.3)
            elif name.endswith("bias") and "affine" not in name:
                p.add_(torch.randn_like(p) * 0.1)
        G_off.mapping.w_avg.copy_(torch.randn(512) * 0.5)
    G = stylegan.Generator(**kw).eval()
    G.load_state_dict(G_off.state_dict(), strict=True)
    return G_off, G


def timed(fn, repeat=2):
    fn()
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--official", required=True, help="path to a clone of NVlabs/stylegan2-ada-pytorch")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="benchmarks/results/official_parity.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(Path(args.official).resolve()))
    from training import networks as off  # noqa: E402  (the user's clone, run as-is)

    rows = []
    for res in CONFIGS:
        for arch in (["skip", "resnet", "orig"] if res == 64 else ["skip"]):
            G_off, G = make_pair(off, res, arch, seed=res)
            z = torch.randn(2, 512)
            for psi, cutoff in [(1.0, None), (0.7, None), (0.5, 8)]:
                with torch.no_grad():
                    w_off = G_off.mapping(z, None, truncation_psi=psi, truncation_cutoff=cutoff)
                    img_off = G_off.synthesis(w_off, noise_mode="const", force_fp32=True)
                    w = G.mapping(z, truncation_psi=psi, truncation_cutoff=cutoff)
                    img = G.synthesis(w, noise_mode="const")
                rows.append(dict(res=res, arch=arch, psi=psi, cutoff=cutoff,
                                 mapping_max_abs=(w_off - w).abs().max().item(),
                                 image_max_abs=(img_off - img).abs().max().item(),
                                 image_abs_max=img_off.abs().max().item()))
                print(rows[-1], flush=True)

    # Training-style step cost (forward + backward, batch 16) at 64 px: where distillation time goes.
    G_off, G = make_pair(off, 64, "skip", seed=1)
    G_off.train(), G.train()
    ws = torch.randn(16, G.num_ws, 512)

    def step(net, **kw):
        def run():
            net.zero_grad(set_to_none=True)
            net.synthesis(ws, noise_mode="const", **kw).square().mean().backward()
        return run

    t_off = timed(step(G_off, force_fp32=True))
    t_ours = timed(step(G))
    speed = dict(batch=16, res=64, official_s=t_off, ours_s=t_ours, speedup=t_off / t_ours)
    print(speed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(dict(parity=rows, train_step=speed, threads=args.threads), indent=1))
    print("\n| res | arch | max abs diff mapping | max abs diff image |\n|---|---|---|---|")
    for r in rows:
        if r["psi"] == 1.0:
            worst = max(x["image_max_abs"] for x in rows if x["res"] == r["res"] and x["arch"] == r["arch"])
            print(f"| {r['res']} | {r['arch']} | {r['mapping_max_abs']:.1e} | {worst:.1e} |")
    print(f"\nforward+backward, batch 16, 64 px: official {t_off:.2f} s, ours {t_ours:.2f} s ({t_off / t_ours:.2f}x)")


if __name__ == "__main__":
    main()
