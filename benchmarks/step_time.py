"""DragGAN and FreeDrag step time and peak memory: fast mode vs reference mode, measured in one run.

    python -m benchmarks.step_time                        # 256, 512, 1024 px, official configs, CPU
    python -m benchmarks.step_time --res 512 --steps 5 --threads 2
    python -m benchmarks.step_time --res 512x256 1024x512   # StyleGAN-Human shapes (height x width)

For every resolution and engine (DragGAN and FreeDrag, each in fast and reference mode) a fresh subprocess
builds a random-weight generator with the official network config (stylegan2-ada-pytorch:
channel_base 16384 at 256 px (paper256), 32768 at 512 and 1024 px, channel_max 512, 8 mapping
layers, conv_clamp 256), starts a drag (one handle 30% of the image away, half the image
editable so the mask term runs too, as in the official UI), runs warm-up steps, then times
`--steps` steps. Peak memory is the child's ru_maxrss (torch allocations are invisible to
tracemalloc), so every configuration is measured in its own process. Writes
benchmarks/results/step_time.json and step_time.md (a markdown table with the ratios).
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

OFFICIAL = {  # resolution -> synthesis channel_base of the official configs
    256: 16384, 512: 32768, 1024: 32768,
}
ENGINES = ("draggan-fast", "draggan-reference", "freedrag-fast", "freedrag-reference")
ROOT = Path(__file__).resolve().parents[1]


def _rss_mb():
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 / 1024 if sys.platform == "darwin" else r / 1024  # bytes on macOS, KiB on Linux


def parse_res(text):
    """'512' -> (512, 512); '512x256' -> (512, 256): height x width."""
    h, _, w = str(text).partition("x")
    return int(h), int(w or h)


def label(res):
    h, w = parse_res(res)
    return h if h == w else f"{h}x{w}"


def build_generator(res, tiny=False):
    import torch
    import stylegan
    torch.manual_seed(0)
    h, w = parse_res(res)
    if tiny:  # smoke-test size: same code paths, tiny channels
        return stylegan.Generator(z_dim=32, w_dim=32, resolution=h, width=w, mapping_layers=2, channel_base=512,
                                  channel_max=32, conv_clamp=256).eval()
    cbase = OFFICIAL.get(h, 32768)
    return stylegan.Generator(z_dim=512, w_dim=512, resolution=h, width=w, mapping_layers=8, channel_base=cbase,
                              channel_max=512, conv_clamp=256).eval()


def measure(res, engine, steps, warmup, tiny=False):
    """Runs in the child process: seconds per step and peak RSS for one configuration."""
    import numpy as np
    import torch
    from draggan import DragGANSession
    from freedrag import FreeDragSession
    G = build_generator(res, tiny)
    model_mb = _rss_mb()
    H, W = parse_res(res)
    mask = np.zeros((H, W), bool)
    mask[:, : W // 2 + W // 4] = True
    h, t = [0.25 * W, 0.5 * H], [0.55 * W, 0.5 * H]
    common = dict(seed=0, mask=mask, max_steps=10 ** 6, device="cpu")
    method, mode = engine.split("-")
    s = (FreeDragSession if method == "freedrag" else DragGANSession)(G, [h], [t], mode=mode, **common)
    for _ in range(warmup):
        s.step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        r = s.step()
        times.append(time.perf_counter() - t0)
        if r.done:
            raise RuntimeError("the drag finished during timing; the benchmark needs a longer drag")
    return dict(res=label(res), engine=engine, seconds_per_step=float(np.median(times)), step_times=times,
                peak_rss_mb=round(_rss_mb(), 1), rss_after_model_mb=round(model_mb, 1),
                feature_res=s.feature_res, threads=torch.get_num_threads())


def run_child(res, engine, args):
    cmd = [sys.executable, "-m", "benchmarks.step_time", "--child", engine, "--res", str(res), "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--threads", str(args.threads)] + (["--tiny"] if args.tiny else [])
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONPATH=str(ROOT))
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{engine} at {res} px failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def table(rows, resolutions):
    by = {(r["res"], r["engine"]): r for r in rows}
    lines = ["| res | method | fast s/step | reference s/step | speed-up | fast peak MB | reference peak MB | memory ratio |",
             "|---|---|---|---|---|---|---|---|"]
    summary = {}
    for res in resolutions:
        res = label(res)
        for method in ("draggan", "freedrag"):
            f, ref = by[(res, f"{method}-fast")], by[(res, f"{method}-reference")]
            speed = ref["seconds_per_step"] / f["seconds_per_step"]
            mem = ref["peak_rss_mb"] / f["peak_rss_mb"]
            summary[f"{method}/{res}"] = dict(speedup=round(speed, 2), memory_ratio=round(mem, 2))
            lines.append(f"| {res} | {method} | {f['seconds_per_step']:.3f} | {ref['seconds_per_step']:.3f} | "
                         f"{speed:.1f}x | {f['peak_rss_mb']:.0f} | {ref['peak_rss_mb']:.0f} | {mem:.1f}x |")
    return "\n".join(lines), summary


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--res", nargs="+", default=["256", "512", "1024"], help="heights, or HxW (512x256)")
    p.add_argument("--steps", type=int, default=3, help="timed steps per configuration (median reported)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tiny", action="store_true", help="tiny networks (smoke test of the script itself)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    p.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        import torch
        torch.set_num_threads(args.threads)
        print(json.dumps(measure(args.res[0], args.child, args.steps, args.warmup, args.tiny)))
        return 0
    rows = []
    for res in args.res:
        for engine in ENGINES:
            rows.append(run_child(res, engine, args))
            print(f"{res:>8s} px {engine:18s} {rows[-1]['seconds_per_step']:.3f} s/step  peak {rows[-1]['peak_rss_mb']:.0f} MB",
                  flush=True)
    md, summary = table(rows, args.res)
    import torch
    meta = dict(command="python -m benchmarks.step_time " + " ".join(argv if argv is not None else sys.argv[1:]),
                threads=args.threads, steps=args.steps, warmup=args.warmup, tiny=args.tiny, torch=torch.__version__,
                machine=platform.machine(), cpus=os.cpu_count(), date=time.strftime("%Y-%m-%d %H:%M"))
    targets = {}
    if "draggan/512" in summary:
        targets["DragGAN fast >= 4x faster at 512 px"] = summary["draggan/512"]["speedup"] >= 4
    if "draggan/1024" in summary:
        targets["DragGAN fast >= 8x faster at 1024 px"] = summary["draggan/1024"]["speedup"] >= 8
        targets["DragGAN fast: >= 4x less peak memory at 1024 px"] = summary["draggan/1024"]["memory_ratio"] >= 4
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "step_time_tiny" if args.tiny else "step_time"
    (out / f"{name}.json").write_text(json.dumps(dict(meta=meta, rows=rows, summary=summary, targets=targets), indent=1))
    text = (f"DragGAN and FreeDrag step time, fast vs reference mode (CPU, {args.threads} threads, random weights, "
            f"official configs; median of {args.steps} steps after {args.warmup} warm-up; peak = process max RSS).\n"
            f"Reproduce: `{meta['command']}`\n\n{md}\n")
    if targets:
        text += "\n" + "\n".join(f"- {k}: {'met' if v else 'NOT met'}" for k, v in targets.items()) + "\n"
    (out / f"{name}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
