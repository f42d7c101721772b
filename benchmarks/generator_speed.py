"""Speed of our StyleGAN2 generator: training forward+backward against the official layers, and
the 512 px drag feature pass in float32 vs bfloat16 autocast.

The official code is NOT part of this repository (non-commercial licence): clone
NVlabs/stylegan2-ada-pytorch yourself and pass its folder; it is imported and run as-is (its
custom ops fall back to their reference PyTorch implementations on CPU).

    python -m benchmarks.generator_speed --official /tmp/sg2ada [--threads 2] [--repeat 5]

1. Training step: batch 16 at 64 px (channel_base 16384, conv_clamp 256), synthesis forward +
   backward to every parameter, official with force_fp32=True (its fp16 stages are CUDA-only).
   Runs alternate official / ours / ours under bf16 autocast and the medians are compared, so all
   see the same machine load. (channels-last layouts were tried and measured no faster, so the
   generator does not offer them.)
   Then the same again after raising glibc's mmap threshold (mallopt): by default every tensor over
   32 MB is a fresh mmap whose pages fault in on first touch, which costs the official layers (with
   their per-sample [N, out, in, 3, 3] weight temporaries) far more than ours; with the threshold
   raised both reuse heap memory and the comparison is down to arithmetic.
2. Feature pass: a 512 px generator (official 512 px config), synthesis up to the 128 px stage
   (what a DragGAN step runs), forward + backward to the latent, float32 vs
   torch.autocast(bfloat16); time and the mean relative difference of the 128 px features.
Writes benchmarks/results/generator_speed.{json,md}.
"""
import json
import statistics
import sys
import time
import types
from pathlib import Path

import torch

import stylegan
from benchmarks import cli
from benchmarks.official_parity import randomise
from stylegan.official_config import official_kwargs


def import_official(path):
    """training.networks of an official checkout (its dnnlib imports `requests` only for downloads)."""
    sys.path.insert(0, str(Path(path).resolve()))
    sys.modules.setdefault("requests", types.ModuleType("requests"))
    from training import networks
    return networks


def random_official(off, cfg, seed):
    """An official generator with our config's shape and random weights (non-zero noise and biases)."""
    torch.manual_seed(seed)
    kw = official_kwargs(cfg)
    kw["synthesis_kwargs"]["num_fp16_res"] = 4
    return randomise(off.Generator(**kw)), kw


def interleaved(fns, repeat):
    """Each fn run in turn `repeat` times after one warm-up: (median wall s, median CPU s, all runs).

    CPU time (process_time) is what the comparison should rest on when the machine is shared:
    wall time also counts the other jobs' share of the cores."""
    wall, cpu = {k: [] for k in fns}, {k: [] for k in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeat):
        for k, fn in fns.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)
    med = lambda d: {k: statistics.median(v) for k, v in d.items()}
    return med(wall), med(cpu), dict(wall=wall, cpu=cpu)


def raise_mmap_threshold():
    """glibc only: serve large blocks from the heap (reused, no page faults) instead of fresh mmaps."""
    import ctypes
    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 1 << 30) and libc.mallopt(m_trim_threshold, (1 << 31) - 1))


def training_step(off, repeat):
    cfg = stylegan.GeneratorConfig(resolution=64, mapping_layers=2, channel_base=16384, conv_clamp=256)
    G_off, kw = random_official(off, cfg, seed=1)
    G = stylegan.convert.from_official(G_off.state_dict(), kw).train().requires_grad_(True)
    G_off.train()
    ws = torch.randn(16, G.num_ws, 512)

    def step(net, **kw):
        def run():
            net.zero_grad(set_to_none=True)
            net.synthesis(ws, noise_mode="const", **kw).square().mean().backward()
        return run

    def ours_bf16():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            step(G)()

    wall, cpu, raw = interleaved({"official": step(G_off, force_fp32=True), "ours": step(G), "ours_bf16": ours_bf16},
                                 repeat)
    ratio = lambda d, k: d["official"] / d[k]
    return dict(batch=16, res=64, median_wall_s=wall, median_cpu_s=cpu, runs_s=raw,
                speedup_cpu=ratio(cpu, "ours"), speedup_wall=ratio(wall, "ours"),
                speedup_bf16_cpu=ratio(cpu, "ours_bf16"), speedup_bf16_wall=ratio(wall, "ours_bf16"))


def feature_pass(repeat, res=512, feature_res=128, **config):
    torch.manual_seed(0)
    G = stylegan.Generator(resolution=res, conv_clamp=256, **config).eval().requires_grad_(False)
    ws0 = G.mapping(torch.randn(1, G.z_dim), truncation_psi=0.7)

    def run(bf16):
        ws = ws0.clone().requires_grad_(True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            feat = G.synthesis.features(ws, feature_res)
        feat.float().square().mean().backward()
        return feat.detach().float()

    wall, cpu, raw = interleaved({"fp32": lambda: run(False), "bf16": lambda: run(True)}, repeat)
    f32, f16 = run(False), run(True)
    rel = float((f16 - f32).abs().mean() / f32.abs().mean())
    return dict(res=res, feature_res=feature_res, median_wall_s=wall, median_cpu_s=cpu, runs_s=raw,
                speedup_cpu=cpu["fp32"] / cpu["bf16"], speedup_wall=wall["fp32"] / wall["bf16"],
                mean_rel_feature_diff=rel)


def markdown(args, train, tuned, feat):
    cell = lambda d, k: f"{d['median_cpu_s'][k]:.2f} s ({d['median_wall_s'][k]:.2f} s)"
    md = [f"Generator speed, {args.threads} thread(s), medians of {args.repeat} interleaved runs, CPU time "
          f"(wall time in brackets; CPU time is what to compare on a shared machine). "
          f"`python -m benchmarks.generator_speed --official PATH --threads {args.threads} --repeat {args.repeat}`", "",
          "| training fwd+bwd, batch 16, 64 px | official (fp32) | ours fp32 | ours bf16 autocast | "
          "ours fp32 vs official | ours bf16 vs official |", "|---|---|---|---|---|---|"]
    for label, t in (("glibc malloc defaults", train), ("mmap threshold raised to 1 GB", tuned)):
        if t:
            md.append(f"| {label} | " + " | ".join(cell(t, k) for k in ("official", "ours", "ours_bf16"))
                      + f" | **{t['speedup_cpu']:.2f}x** ({t['speedup_wall']:.2f}x) | **{t['speedup_bf16_cpu']:.2f}x** "
                        f"({t['speedup_bf16_wall']:.2f}x) |")
    md += ["", f"| {feat['res']} px feature pass to the {feat['feature_res']} px stage, fwd+bwd to the latent, "
           "batch 1 | fp32 | bf16 autocast | "
           "speed-up | mean rel. feature difference |", "|---|---|---|---|---|",
           f"| ours | {cell(feat, 'fp32')} | {cell(feat, 'bf16')} | {feat['speedup_cpu']:.2f}x "
           f"({feat['speedup_wall']:.2f}x) | {100 * feat['mean_rel_feature_diff']:.2f} % |"]
    return md


def main(argv=None):
    ap = cli.parser(__doc__, threads_help="1: CPU time then measures work, not OpenMP spinning")
    ap.add_argument("--official", required=True, help="path to a clone of NVlabs/stylegan2-ada-pytorch")
    ap.add_argument("--repeat", type=int, default=5, help="timed repeats, median reported (default 5)")
    args = ap.parse_args(argv)
    cli.setup(args)
    off = import_official(args.official)
    brief = lambda d: print(json.dumps({k: v for k, v in (d or {}).items() if k != "runs_s"}), flush=True)
    train = training_step(off, args.repeat)
    brief(train)
    feat = feature_pass(args.repeat)
    brief(feat)
    tuned = training_step(off, args.repeat) if raise_mmap_threshold() else None
    brief(tuned)
    md = markdown(args, train, tuned, feat)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "generator_speed.json").write_text(json.dumps(dict(training=train, training_mmap_threshold_1gb=tuned,
                                                              feature_pass=feat, threads=args.threads), indent=1))
    (out / "generator_speed.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    sys.exit(cli.run(main))
