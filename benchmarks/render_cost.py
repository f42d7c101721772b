"""What one full render costs, against the floor this host's convolutions allow.

    python -m benchmarks.render_cost                  # 512 px official config, 2 threads
    python -m benchmarks.render_cost --res 512 1024 --threads 2 --repeats 5

A drag's final image is one full synthesis pass (`DragSession.render_and_features`), so the fixed
cost of an edit can be no less than that pass. For each resolution a random-weight generator with the
official network config (`benchmarks.step_time.build_generator`) renders the same latent, and this
reports:
- the multiply-adds of that pass, counted from the network's shapes by forward hooks on its styled
  convolutions and RGB heads (an up-sampling convolution is a stride-2 transposed 3x3 on its input, as
  `stylegan.ops.up_conv3x3` computes it: a quarter of a 3x3 at the output size);
- the render's wall time, median of `--repeats` after one warm-up, as the session runs it
  (`torch.no_grad`), under `torch.inference_mode`, and with the activations in channels_last;
- the same convolutions alone: every convolution the render made, with its shapes, on random tensors
  (`F.conv2d` / `F.conv_transpose2d`, nothing else), summed; and the best rate a single convolution of
  those shapes reached, so `FLOPs / best rate` is the time the render would take if every part of it ran
  as fast as this host's fastest convolution (the floor).
Writes benchmarks/results/render_cost.{json,md}.
"""
import json
import os
import statistics
import sys
import time
from pathlib import Path

from benchmarks import cli

ROOT = Path(__file__).resolve().parents[1]


def _median_time(fn, repeats):
    fn()   # warm-up (oneDNN primitive creation, allocator)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def record_convs(G, ws):
    """[(kind, input shape, weight shape, flops)] of every convolution one render makes, in order."""
    import torch
    from stylegan.layers import ModConv, RGBHead
    calls, hooks = [], []

    def on_modconv(m, args, out):
        x = args[0]
        n, c, h, w = x.shape
        co = m.weight.shape[0]
        calls.append(("up" if m.up else "conv", tuple(x.shape), tuple(m.weight.shape), 2 * 9 * n * c * co * h * w))

    def on_rgb(m, args, out):
        n, c, h, w = args[0].shape
        calls.append(("rgb", tuple(args[0].shape), tuple(m.weight.shape), 2 * n * c * m.weight.shape[0] * h * w))

    for mod in G.synthesis.modules():
        if isinstance(mod, ModConv):
            hooks.append(mod.register_forward_hook(on_modconv))
        elif isinstance(mod, RGBHead):
            hooks.append(mod.register_forward_hook(on_rgb))
    with torch.no_grad():
        G.synthesis(ws)
    for h in hooks:
        h.remove()
    return calls


def plain_convs(calls, repeats):
    """(seconds for every 3x3 convolution of the render alone, best GFLOP/s of one of them)."""
    import torch
    import torch.nn.functional as F
    total, best = 0.0, 0.0
    with torch.no_grad():
        for kind, xs, wsh, flops in calls:
            if kind == "rgb":
                continue
            x, w = torch.randn(xs), torch.randn(wsh)
            if kind == "up":
                wt = w.transpose(0, 1).contiguous()
                fn = lambda: F.conv_transpose2d(x, wt, stride=2)   # noqa: E731
            else:
                fn = lambda: F.conv2d(x, w, padding=1)   # noqa: E731
            t = _median_time(fn, repeats)
            total += t
            best = max(best, flops / t / 1e9)
    return total, best


def measure(res, repeats):
    import numpy as np
    import torch
    from benchmarks.step_time import build_generator
    G = build_generator(res)
    z = torch.from_numpy(np.random.RandomState(0).randn(1, G.z_dim)).float()
    with torch.no_grad():
        ws = G.mapping(z, truncation_psi=0.7)
    calls = record_convs(G, ws)
    flops = sum(c[3] for c in calls)
    conv_flops = sum(c[3] for c in calls if c[0] != "rgb")

    def no_grad():
        with torch.no_grad():
            G.synthesis(ws)

    def inference():
        with torch.inference_mode():
            G.synthesis(ws)

    first = G.synthesis.stages[0]
    to_cl = first.register_forward_pre_hook(
        lambda m, args: (args[0].contiguous(memory_format=torch.channels_last), *args[1:]))
    channels_last = _median_time(no_grad, repeats)
    to_cl.remove()
    render = _median_time(no_grad, repeats)
    inference_mode = _median_time(inference, repeats)
    convs_alone, best = plain_convs(calls, repeats)
    return dict(res=res, threads=torch.get_num_threads(), gflop=round(flops / 1e9, 2), conv_gflop=round(conv_flops / 1e9, 2),
                render_s=round(render, 4), inference_mode_s=round(inference_mode, 4),
                channels_last_s=round(channels_last, 4), convs_alone_s=round(convs_alone, 4),
                best_conv_gflops=round(best, 1), render_gflops=round(flops / render / 1e9, 1),
                floor_s=round(flops / best / 1e9, 4), load=[round(v, 1) for v in os.getloadavg()],
                convs=[dict(kind=k, input=list(x), weight=list(w), gflop=round(f / 1e9, 3)) for k, x, w, f in calls])


def main(argv=None):
    p = cli.parser(__doc__, threads=2, out=str(ROOT / "benchmarks" / "results"))
    p.add_argument("--res", nargs="+", type=int, default=[512], help="image heights (square official configs)")
    p.add_argument("--repeats", type=int, default=5, help="timed renders per variant (median reported)")
    args = p.parse_args(argv)
    cli.setup(args)
    rows = []
    for res in args.res:
        rows.append(measure(res, args.repeats))
        r = rows[-1]
        print(f"{res} px: {r['gflop']} GFLOP, render {r['render_s']} s ({r['render_gflops']} GFLOP/s), convolutions "
              f"alone {r['convs_alone_s']} s, floor {r['floor_s']} s (best conv {r['best_conv_gflops']} GFLOP/s), "
              f"inference_mode {r['inference_mode_s']} s, channels_last {r['channels_last_s']} s, load {r['load']}",
              flush=True)
    command = "python -m benchmarks.render_cost " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = ["| px | GFLOP | render s | render GFLOP/s | convolutions alone s | best conv GFLOP/s | floor s "
             "| inference_mode s | channels_last s | load |", "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['res']} | {r['gflop']} | {r['render_s']} | {r['render_gflops']} | {r['convs_alone_s']} | "
              f"{r['best_conv_gflops']} | {r['floor_s']} | {r['inference_mode_s']} | {r['channels_last_s']} | "
              f"{' '.join(map(str, r['load']))} |" for r in rows]
    text = (f"One full render (random weights, official config, fp32, {args.threads} threads, median of "
            f"{args.repeats}).\nReproduce: `{command}`\n\n" + "\n".join(lines) + "\n")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "render_cost.json").write_text(json.dumps(dict(command=command, rows=rows), indent=1))
    (out / "render_cost.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
