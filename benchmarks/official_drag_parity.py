"""Our DragGAN and FreeDrag engines against the official code, step by step, on the same generator.

    python -m benchmarks.official_drag_parity --draggan PATH --freedrag PATH [--steps 30] [--threads 2]

PATHs are checkouts of XingangPan/DragGAN and LPengYang/FreeDrag that you provide (their
licences are non-commercial: nothing of them is in this repository). Their modules are imported
from those paths at run time, on the CPU, where their custom CUDA ops fall back to their
reference implementations. A few modules they import but never use on this path (requests,
lpips, torchvision, distutils) are stubbed when missing.

Protocol. Official-format pickles with random weights are written by the official DragGAN code
itself (a 256 px StyleGAN2, channel base 32768 as FreeDrag's loader assumes): "perturbed", with
non-zero noise strengths, biases and w_avg so every term matters (DragGAN, and FreeDrag with its
defaults), and "plain", the official init, where FreeDrag with l 0.1 makes "good" moves whose
sub-motions stop early after 1-5 steps (the step accounting). The official side loads it the official
way: DragGAN's renderer (`get_network`, `init_network`: w0 from the seed, psi 0.7, W+, its
default lr 0.001) and FreeDrag's app loader (its own Generator, handle_size 128, 6 trainable
rows, lr 0.002, l 0.3, d 3, the `free_drag` loop yielding every step). Ours loads the pickle with
our safe unpickler and drags from the same w0 with the same hyper-parameters (FreeDrag in raw
feature units, `feature_scale=1`), in fast and reference mode. Per step: handle (DragGAN: the
tracked point; FreeDrag: the line point supervised in that step) and loss; at the end: final
handle and the final image of each side's own generator, compared by PSNR.

Writes benchmarks/results/official_drag_parity.{json,md}.
"""
import contextlib
import io
import math
import pickle
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

import stylegan
from benchmarks import cli
from benchmarks.report import psnr, write
from dragcore.features import sample_resized
from draggan import DragGANSession
from freedrag import FreeDragSession

RES = 256
CONFIG = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=RES, img_channels=3, mapping_kwargs=dict(num_layers=8),
              synthesis_kwargs=dict(channel_base=32768, channel_max=512, num_fp16_res=4, conv_clamp=256))
HANDLE, TARGET = (102, 115), (141, 102)  # (x, y) image px (integers: the official UI clicks pixels)
OFFICIAL_MODULES = ("training", "torch_utils", "dnnlib", "legacy", "viz", "functions", "gui_utils")


@contextlib.contextmanager
def official_code(path):
    """Import from a checkout; afterwards forget its modules (both checkouts use the same names)."""
    path = str(Path(path).resolve())
    stubs = []
    for name, attrs in (("requests", {}), ("lpips", {}), ("torchvision", {}), ("torchvision.transforms", {}),
                        ("distutils", {}), ("distutils.util", {"strtobool": lambda s: s.lower() in ("1", "true")})):
        try:
            __import__(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
            sys.modules[name].__dict__.update(attrs)
            stubs.append(name)
    sys.path.insert(0, path)
    try:
        yield
    finally:
        sys.path.remove(path)
        for name in [m for m in sys.modules if m.split(".")[0] in OFFICIAL_MODULES] + stubs:
            sys.modules.pop(name, None)


class LossLog:
    """Records the value of every `backward()` called inside the block (the official loops keep
    their loss in a local variable)."""

    def __enter__(self):
        self.values, self._orig = [], torch.Tensor.backward
        log, orig = self.values, self._orig

        def backward(t, *a, **k):
            log.append(float(t.detach()))
            return orig(t, *a, **k)
        torch.Tensor.backward = backward
        return self

    def __exit__(self, *exc):
        torch.Tensor.backward = self._orig


def write_pickle(draggan_path, out, seed=0, perturb=True):
    """The random-weight pickle, built and pickled by the official DragGAN code; `perturb` gives
    the noise strengths, biases and w_avg (zero at init) random values."""
    with official_code(draggan_path):
        from training import networks_stylegan2 as net
        torch.manual_seed(seed)
        G = net.Generator(**CONFIG).eval()
        with torch.no_grad():
            for name, p in (G.named_parameters() if perturb else ()):
                if "noise_strength" in name:
                    p.copy_(torch.randn([]) * 0.3)
                elif name.endswith("bias") and "affine" not in name:
                    p.add_(torch.randn_like(p) * 0.1)
            if perturb:
                G.mapping.w_avg.copy_(torch.randn(G.w_dim) * 0.5)
        D = net.Discriminator(c_dim=0, img_resolution=8, img_channels=3, channel_base=64, channel_max=16)
        with open(out, "wb") as f:
            pickle.dump(dict(G=G, D=D, G_ema=G, training_set_kwargs=None, augment_pipe=None), f)
    return out


def to_yx(p):
    return [int(p[1]), int(p[0])]


def official_draggan(path, pkl, seed, steps, lr=0.001):
    """The official renderer's drag step, called `steps` times as its UI does."""
    with official_code(path):
        import dnnlib
        from viz.renderer import Renderer
        r = Renderer(disable_timing=True)
        with contextlib.redirect_stdout(io.StringIO()):
            r.init_network(dnnlib.EasyDict(), pkl=str(pkl), w0_seed=seed, w_plus=True, trunc_psi=0.7, lr=lr)
        r.G.requires_grad_(False)  # the renderer leaves weight gradients on: same numbers, 2-3x the time
        with torch.no_grad():
            img0 = r.G(r.w0, torch.zeros(1, 0), input_is_w=True, noise_mode="const")
        points, targets = [to_yx(HANDLE)], [to_yx(TARGET)]
        handles, losses, arrived, t0 = [], [], None, time.perf_counter()
        for k in range(steps):
            res = dnnlib.EasyDict()
            with LossLog() as log:
                r._render_drag_impl(res, points=points, targets=targets, mask=None, is_drag=True,
                                    noise_mode="const", trunc_psi=0.7)
            handles.append([float(res.points[0][1]), float(res.points[0][0])])
            losses.append(log.values[0] if log.values else None)
            if res.stop and arrived is None:
                arrived = k  # Adam steps taken before the step that found the point at the target
        seconds = time.perf_counter() - t0
        w0 = r.w0.detach().clone()
        with torch.no_grad():
            ws = torch.cat([r.w[:, :6], r.w0[:, 6:]], dim=1)
            img = r.G(ws, torch.zeros(1, 0), input_is_w=True, noise_mode="const")
    return dict(handles=handles, losses=losses, arrived=arrived, image=img, image0=img0, w0=w0, seconds=seconds)


def official_freedrag(path, pkl, w0, steps, l=0.3, d=3.0, handle_size=128):
    """The official `free_drag` loop with the generator its app builds from a pickle."""
    with official_code(path):
        import legacy
        from training import networks
        from functions import free_drag
        with open(pkl, "rb") as f:
            G_pkl = legacy.load_network_pkl(f)["G_ema"]
        G = networks.Generator(z_dim=G_pkl.z_dim, c_dim=G_pkl.c_dim, w_dim=G_pkl.w_dim,
                               img_resolution=G_pkl.img_resolution, img_channels=G_pkl.img_channels,
                               mapping_kwargs=G_pkl.init_kwargs["mapping_kwargs"])
        G.load_state_dict(G_pkl.state_dict())
        G.requires_grad_(False)
        with torch.no_grad():
            img0 = G.get_features(w0, noise_mode="const")[1]
        points = dict(handle=[to_yx(HANDLE)], target=[to_yx(TARGET)])
        by_step, t0 = {}, time.perf_counter()
        with LossLog() as log:
            for _, cur, n, _, ws in free_drag(G, points, np.zeros((RES, RES)), handle_size, 6, w0.clone(), steps,
                                             torch.tensor(l), torch.tensor(d), 1, "cpu"):
                by_step[n] = ([float(cur[0][1]), float(cur[0][0])], ws)
        seconds = time.perf_counter() - t0
        losses = log.values
        last = max(by_step)
        arrived = last if last < steps else None  # the loop ends early only when every point has arrived
        with torch.no_grad():
            _, img = G.get_features(by_step[last][1], noise_mode="const")
    handles = [by_step[k][0] for k in sorted(by_step) if k > 0]
    return dict(handles=handles, losses=losses, arrived=arrived, image=img, image0=img0, seconds=seconds)


class OfficialDiscDragGAN(DragGANSession):
    """Ours with the official renderer's disc emulated (to measure that one deliberate difference):
    Omega(p, r1) selected by distance on the grid linspace(0, res, res), i.e. pixel i at i res / (res - 1)."""

    def motion_loss(self, feat):
        res, total = self.res, feat.new_zeros(())
        pos = torch.arange(res, dtype=torch.float32, device=feat.device) * res / (res - 1)
        for p, t in zip(self.handles, self.targets):
            if float((t - p).norm()) <= self.stop_distance:
                continue
            d = (t - p) / (t - p).norm()
            rows, cols = torch.where((pos[:, None] - p[1]) ** 2 + (pos[None, :] - p[0]) ** 2 < self.r1_px ** 2)
            q = torch.stack([cols, rows], dim=1).float()
            total = total + (sample_resized(feat, q, res).detach() - sample_resized(feat, q + d, res)).abs().mean()
        return total


def ours(engine, G, w0, steps, mode, shift=0.0, **kw):
    """Our session stepped `steps` times; `shift` moves the points (to emulate another pixel convention)."""
    h, t = [[v + shift for v in HANDLE]], [[v + shift for v in TARGET]]
    s = engine(G, h, t, engine.Config(max_steps=steps, mode=mode, **kw), latent=w0.clone(), device="cpu")
    handles, losses, arrived, t0 = [], [], None, time.perf_counter()
    for k in range(steps):
        was_done = s.done
        r = s.step()
        handles.append([v - shift for v in r.handles[0]])
        losses.append(r.loss)
        if r.loss is None and not was_done and arrived is None:
            arrived = s.steps
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        img = s.gen.image(s.latent)
    return dict(handles=handles, losses=losses, arrived=arrived, image=img, seconds=seconds)


def compare(off, our):
    n = min(len(off["handles"]), len(our["handles"]))
    diff = [math.dist(off["handles"][k], our["handles"][k]) for k in range(n)]
    pairs = [(a, b) for a, b in zip(off["losses"], our["losses"]) if a is not None and b is not None]
    rel = [abs(a - b) / max(abs(a), 1e-12) for a, b in pairs]
    return dict(official_handles=off["handles"], ours_handles=our["handles"], official_losses=off["losses"],
                ours_losses=our["losses"], trajectory_max_px=max(diff), final_handle_px=diff[-1], loss_max_rel=max(rel) if rel else None,
                loss_steps=len(pairs), official_arrived_after=off["arrived"], ours_arrived_after=our["arrived"],
                psnr_db=psnr(off["image"], our["image"]), official_final=off["handles"][-1],
                ours_final=our["handles"][-1], official_s=round(off["seconds"], 2), ours_s=round(our["seconds"], 2))


# FreeDrag's official code maps image pixel x to feature coordinate x fr / res; ours (and DragGAN's
# resize) x -> (x + 0.5) fr / res - 0.5. The same feature point is our pixel x + 0.5 (res / fr - 1).
SHIFT = 0.5 * (RES / 128 - 1)
VARIANTS = {
    "draggan": [("reference", DragGANSession, 0.0), ("fast", DragGANSession, 0.0),
                ("fast + the official off-centre disc (emulated)", OfficialDiscDragGAN, 0.0)],
    "freedrag": [("reference", FreeDragSession, 0.0), ("fast", FreeDragSession, 0.0),
                 ("fast + the official pixel-to-feature mapping (points +0.5 px)", FreeDragSession, SHIFT)],
}
# FreeDrag runs: its defaults on the perturbed generator; and l 0.1 on the plain init (zero noise
# strengths, biases and w_avg), where moves are "good" and sub-motions stop early after 1-5 steps,
# which is what exercises the step accounting.
FREEDRAG_RUNS = (("perturbed", 0.3), ("plain", 0.1))


def run(draggan_path, freedrag_path, steps, seed, workdir):
    pkls = {k: write_pickle(draggan_path, Path(workdir) / f"{k}-stylegan2-256.pkl", perturb=k == "perturbed")
            for k in ("perturbed", "plain")}
    Gs = {k: stylegan.load_pickle(p) for k, p in pkls.items()}
    official = {"draggan": official_draggan(draggan_path, pkls["perturbed"], seed, steps)}
    w0 = official["draggan"]["w0"]
    checks = dict(start_image_psnr=[])
    for k, l in FREEDRAG_RUNS:
        G = Gs[k]
        with torch.no_grad():  # same generator on both sides: the official FreeDrag gets our w0 for it
            w0k = G.mapping(torch.from_numpy(np.random.RandomState(seed).randn(1, 512)).float(), truncation_psi=0.7)
        official[f"freedrag l={l:g} ({k} weights)"] = dict(official_freedrag(freedrag_path, pkls[k], w0k, steps, l=l),
                                                           w0=w0k, G=k)
    checks["w0_max_abs_diff"] = float((official["freedrag l=0.3 (perturbed weights)"]["w0"] - w0).abs().max())
    official["draggan"]["G"] = "perturbed"
    for off in official.values():
        with torch.no_grad():
            checks["start_image_psnr"].append(psnr(Gs[off["G"]].synthesis(off["w0"], noise_mode="const"), off["image0"]))
    print(checks, flush=True)
    rows = []
    for name, off in official.items():
        engine, G, w0 = name.split()[0], Gs[off["G"]], off["w0"]
        kw = dict(lr=0.001, r1=3.0, r2=12.0) if engine == "draggan" else \
            dict(lr=0.002, l=float(name.split("=")[1].split()[0]), d=3.0, feature_scale=1.0)
        for variant, cls, shift in VARIANTS[engine]:
            our = ours(cls, G, w0, steps, variant.split()[0], shift=shift, **kw)
            rows.append(dict(engine=name, ours=variant, **compare(off, our)))
            print({k: v for k, v in rows[-1].items() if not k.endswith(("handles", "losses"))}, flush=True)
    return rows, checks


def main(argv=None):
    ap = cli.parser(__doc__, threads=2)
    ap.add_argument("--draggan", required=True, help="checkout of XingangPan/DragGAN")
    ap.add_argument("--freedrag", required=True, help="checkout of LPengYang/FreeDrag")
    ap.add_argument("--steps", type=int, default=30, help="steps compared (default 30)")
    ap.add_argument("--seed", type=int, default=3, help="the latent's seed (default 3)")
    args = ap.parse_args(argv)
    for p, f in ((args.draggan, "viz/renderer.py"), (args.freedrag, "functions.py")):
        if not (Path(p) / f).is_file():
            ap.error(f"{p} does not look like the checkout it should be ({f} missing)")
    cli.setup(args)
    with tempfile.TemporaryDirectory() as tmp:
        rows, checks = run(args.draggan, args.freedrag, args.steps, args.seed, tmp)
    md = [f"Ours vs the official code: random-weight {RES} px official pickles, seed {args.seed} (psi 0.7, W+), "
          f"handle {HANDLE} -> target {TARGET} (x, y image px), {args.steps} steps, CPU.",
          f"Reproduce: `python -m benchmarks.official_drag_parity --draggan PATH --freedrag PATH --steps {args.steps}`",
          f"Same generator on both sides: start images {min(checks['start_image_psnr']):.0f} dB or more apart. "
          "The emulation rows run ours with the official code's one remaining difference reproduced, to show it "
          "is the only one (see docs/drag.md).",
          "", "| official | ours | arrival: official / ours (Adam steps) | trajectory max diff (px) | "
          "final handle diff (px) | loss max rel. diff | final image PSNR (dB) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        loss = "n/a" if r["loss_max_rel"] is None else f"{r['loss_max_rel']:.1e}"
        arr = " / ".join("not within the steps" if a is None else str(a)
                         for a in (r["official_arrived_after"], r["ours_arrived_after"]))
        md.append(f"| {r['engine']} | {r['ours']} | {arr} | "
                  f"{r['trajectory_max_px']:.2f} | {r['final_handle_px']:.2f} | {loss} | {r['psnr_db']:.1f} |")
    write(args.out, "official_drag_parity", dict(steps=args.steps, seed=args.seed, checks=checks, rows=rows), [], md)
    return rows


if __name__ == "__main__":
    sys.exit(cli.run(main))
