"""DragGAN and FreeDrag step time and peak memory: fast mode vs reference mode, and (with
--official) our DragGAN against the official DragGAN renderer, measured in one run.

    python -m benchmarks.step_time                        # 256, 512, 1024 px, official configs, CPU
    python -m benchmarks.step_time --res 512 --steps 5 --threads 2
    python -m benchmarks.step_time --res 512x256 1024x512   # StyleGAN-Human shapes (height x width)
    python -m benchmarks.step_time --official PATH        # + ours vs the official renderer (a DragGAN checkout)

For every resolution and engine (DragGAN and FreeDrag, each in fast and reference mode) a fresh subprocess
builds a random-weight generator with the official network config (stylegan2-ada-pytorch:
channel_base 16384 at 256 px (paper256), 32768 at 512 and 1024 px, channel_max 512, 8 mapping
layers, conv_clamp 256), starts a drag (one handle 30% of the image away, half the image
editable so the mask term runs too, as in the official UI), runs warm-up steps, then times
`--steps` steps. Peak memory is the child's ru_maxrss (torch allocations are invisible to
tracemalloc), so every configuration is measured in its own process. Writes
benchmarks/results/step_time.json and step_time.md (a markdown table with the ratios).

With --official, two more processes per resolution run the same drag as one whole edit of
`--edit-steps` steps as each app shows it: ours through `ui.drag_stream.stream` (the app's loop, its
time-based previews drawn by `ui.draw.render`, plus the first and last image; from 512 px the previews
are the step's own image at the feature block, `dragcore.report.Reporter.live_preview`), the official
renderer with its app's preview after every step (`benchmarks.official_renderer`). Reported: seconds
per step (the step alone), seconds per edit (steps and previews) and peak memory, and their ratios.
Both edits start from an image already on screen: the official renderer's first render is outside its
timed edit, and ours is given the start image (`DragSession(start_image=...)`, as the app passes the image it
shows). Both drag the same network (ours holds the official code's random weights, converted:
`official_renderer.ours_from_official`, written to a safetensors file by a process of its own and loaded by
our edit's process as the app loads a converted checkpoint, so the official code is not in our process) from the same w0 with the official app's lr 0.001, for the same number
of updates, and report the handle tracked on the final latent: `final_handle` should agree. Ours also
reports its fixed cost per edit: from the click, the session (its start pass read from the render that drew
the image on screen, dragcore.startpass: the start image is rendered before the click as the app's New image
renders it) and the start frame, plus the time from the last frame before the final image to the final image
drawn, less the steps in it (sync, the final render, drawing); the report's measures (optical flow,
fidelity) follow the final image as their own frame and are timed apart (`report_seconds`); `full_renders`
counts the whole-image passes of the edit (calls of the synthesis's `render_kept`, and of the synthesis
module itself); what one render, the motion measure, the fidelity measure, a drawn preview, its PNG
encoding, a feature pass and a session with a start pass of its own cost on their own (`fixed_parts`:
`start_pass` is the before of `session`); and the process's RSS and peak RSS after each phase (`rss_mb`,
Linux). `--edits-only` skips fast vs reference; without --official it runs our edit alone
(`step_time_edit.md`).

`--arrive`: our edit ends on arrival instead of at its step limit: after `--edit-steps` updates its next step
tracks, finds the point at its target (the engine's rule, with the stop distance opened once those updates are
taken) and takes no update, as the app's drags usually end; the final image is then rendered from that step's pass
(only the stages above the feature block, `DragSession.render_on_arrival`) where its pass was whole (a mask term:
`--mask half`). The same edit again with that off gives `fixed_parts.final_frame_whole` (the before, same process).

`--mask none`: the same drag without a mask (the official app's default; both sides then skip the mask
term, and ours computes the feature block only near the handle, stylegan.windows). `--whole`: one more
edit of ours with those windows off (`DragSession.windows = False`), the before of the same run.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import cli
from ui.drag_stream import PREVIEW_SECONDS

OFFICIAL = {  # resolution -> synthesis channel_base of the official configs
    256: 16384, 512: 32768, 1024: 32768,
}
ENGINES = ("draggan-fast", "draggan-reference", "freedrag-fast", "freedrag-reference")
EDITS = ("ours-edit", "official-edit", "ours-whole-edit")
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


def drag_setup(res, mask="half"):
    """The drag every configuration runs: one handle 30% of the image to the right, the right quarter fixed
    (mask 'half': half the image editable, the handle's half) or no mask ('none')."""
    import numpy as np
    H, W = parse_res(res)
    editable = None
    if mask != "none":
        editable = np.zeros((H, W), bool)
        editable[:, : W // 2 + W // 4] = True
    return [round(0.25 * W), H // 2], [round(0.55 * W), H // 2], editable


def measure(res, engine, steps, warmup, tiny=False, mask="half"):
    """Runs in the child process: seconds per step and peak RSS for one configuration."""
    import numpy as np
    import torch
    from draggan import DragGANSession
    from freedrag import FreeDragSession
    G = build_generator(res, tiny)
    model_mb = _rss_mb()
    h, t, mask = drag_setup(res, mask)
    method, mode = engine.split("-")
    cls = FreeDragSession if method == "freedrag" else DragGANSession
    s = cls(G, [h], [t], cls.Config(seed=0, max_steps=10 ** 6, mode=mode), mask=mask, device="cpu")
    for _ in range(warmup):
        s.step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        r = s.step()
        times.append(time.perf_counter() - t0)
        if r.done:
            raise RuntimeError("the drag finished during timing; the benchmark needs a longer drag")
    return dict(res=label(res), engine=engine, precision=s.precision.name, seconds_per_step=float(np.median(times)),
                step_times=times, windowed_steps=s.windowed_steps,
                peak_rss_mb=round(_rss_mb(), 1), rss_after_model_mb=round(model_mb, 1),
                feature_res=s.feature_res, threads=torch.get_num_threads())


def measure_edit(res, kind, steps, warmup, official=None, tiny=False, mask="half", weights=None, arrive=False):
    """Runs in the child process: one whole edit of `steps` steps as the app shows it (see the module doc)."""
    import numpy as np
    h, t, mask = drag_setup(res, mask)
    if kind == "official-edit":
        from benchmarks.official_renderer import official_edit
        side, width = parse_res(res)
        if side != width:
            raise ValueError(f"--official runs square official configs only, not {res}")
        size = dict(channel_base=512, channel_max=32) if tiny else dict(channel_base=OFFICIAL.get(side, 32768))
        editable = np.ones((side, side), bool) if mask is None else mask   # all editable: its mask term is off
        r = official_edit(official, side, handle=h, target=t, editable=editable, steps=steps, warmup=warmup, **size)
    else:
        r = _our_edit(res, h, t, mask, steps, warmup, tiny, windows=kind == "ours-edit", official=official,
                      weights=weights, arrive=arrive)
    return dict(r, res=label(res), engine=kind, peak_rss_mb=round(_rss_mb(), 1), edit_steps=steps)


def _arrives_after(session, updates):
    """The engine's own arrival rule, its stop distance opened once `updates` updates are taken (`--arrive`)."""
    rule = session.point_reached

    def reached():
        if session.steps >= updates:
            session.stop_distance = float("inf")
        return rule()
    session.point_reached = reached


def _our_edit(res, h, t, mask, steps, warmup, tiny, windows=True, official=None, weights=None, arrive=False):
    import io
    import torch
    from PIL import Image
    from dragcore import adapt, fidelity, motion, startpass
    from stylegan import imageops
    from dragcore.config import with_presets
    from drags.engines import ENGINES
    from ui import drag_stream, draw
    if weights:   # the official side's network, converted by a process of its own (see `converted`)
        import stylegan
        G = stylegan.load(weights)
    elif official and not tiny:   # the very network the official side drags (benchmarks.official_renderer)
        from benchmarks.official_renderer import ours_from_official
        G = ours_from_official(official, parse_res(res)[0], OFFICIAL.get(parse_res(res)[0], 32768))
    else:
        G = build_generator(res, tiny)
    phases = {"model": _vm()}
    lr = 0.001 if official else None   # the official app's lr (ours defaults to the paper's 0.002): the same drag
    renders = [0]   # full synthesis passes: calls of the strips' render, and of the whole synthesis (with gradients)
    G.synthesis.register_forward_hook(lambda *a: renders.__setitem__(0, renders[0] + 1))
    render_kept = G.synthesis.render_kept

    def counted(*a, **k):
        renders[0] += 1
        return render_kept(*a, **k)
    G.synthesis.render_kept = counted

    def make(n, start_image=None, on_arrival=True):
        cfg = with_presets("draggan", seed=0, psi=0.7, space="w+", max_steps=n + 1 if arrive else n, lr=lr)
        s = ENGINES["draggan"].session(G, [h], [t], cfg, mask=mask, device="cpu", start_image=start_image)
        s.windows, s.render_on_arrival = windows, on_arrival
        if arrive:
            _arrives_after(s, n)
        return {"draggan": s}

    warm = make(warmup)
    for _ in drag_stream.stream(warm):  # warm-up: the same work, untimed
        pass
    latent0 = warm["draggan"].latent0
    del warm, _
    phases["warm-up"] = _vm()
    startpass.forget()   # the session's own start pass, timed apart (the before of the kept one)
    start_pass = _timed(lambda: make(steps))
    with torch.no_grad():   # the image on screen before the drag, rendered as the app's New image renders it
        start = imageops.to_uint8(adapt(G).image(latent0))[0]
    phases["start image"] = _vm()
    renders[0] = 0
    previews, live, first, marks, shown = 0, 0, None, [], {}
    t0 = time.perf_counter()   # the click: the session (its start pass kept from that render), then the stream
    sessions = make(steps, start)
    s = sessions["draggan"]
    session_seconds = time.perf_counter() - t0
    phases["session"] = _vm()
    for frame in drag_stream.stream(sessions):
        if first is None:
            first = time.perf_counter() - t0   # the start frame
        for m, image in frame.images.items():
            if shown.get(m) is not image:   # as the app: a panel is drawn and sent only when its image changed
                shown[m] = image
                draw.render(image, [h, t], mask)
                previews += 1
        live += "preview at" in frame.status    # a live preview (the step's own pass), not a render
        marks.append((time.perf_counter(), s.seconds, frame.final, bool(frame.results)))
        if frame.final:
            phases.setdefault("final image", _vm())
    phases["report"] = _vm()
    edit_seconds = time.perf_counter() - t0
    # the fixed cost: from the last frame before the final image to the final image drawn (steps excluded);
    # the report (motion, fidelity: its own frame) follows the image and is timed apart
    t_prev, s_prev = next((m[:2] for m in reversed(marks) if not m[2]), (t0, 0.0))
    t_img, s_img = next(m[:2] for m in marks if m[2])
    last = t_img - t_prev - (s_img - s_prev)   # sync, final render, drawn
    report = marks[-1][0] - t_img
    if s.steps != steps or (arrive and s.stop_reason != "arrived"):
        raise RuntimeError(f"the drag stopped after {s.steps} of {steps} steps ({s.stop_reason}); it must run them all"
                           + (" and arrive" if arrive else ""))
    edit_renders = renders[0]
    whole = {}
    if arrive:   # the same edit, its final image rendered whole (the before): the last step to the final image
        again = make(steps, start, on_arrival=False)
        marks2 = [(time.perf_counter(), 0.0, False)]
        for frame in drag_stream.stream(again):
            for m, image in frame.images.items():
                draw.render(image, [h, t], mask)
            marks2.append((time.perf_counter(), again["draggan"].seconds, frame.final))
        t_prev2, s_prev2 = next(m[:2] for m in reversed(marks2) if not m[2])
        t_img2, s_img2 = next(m[:2] for m in marks2 if m[2])
        whole = dict(final_frame_whole=round(t_img2 - t_prev2 - (s_img2 - s_prev2), 4),
                     arrived_whole=again["draggan"].stop_reason == "arrived")
        del again
    startpass.forget()   # the parts below are passes of their own
    final = s.report.preview()
    drawn = draw.render(final, [h, t], mask)
    parts = dict(render=_timed(s.render), motion=_timed(lambda: motion.measure(start, final, [h], [t])),
                 fidelity=_timed(lambda: fidelity.measure(start, final, [h, t])),
                 draw=_timed(lambda: draw.render(final, [h, t], mask)),
                 encode=_timed(lambda: (drawn if isinstance(drawn, Image.Image) else Image.fromarray(drawn)).save(
                     io.BytesIO(), "PNG")),   # as Gradio sends an image: a PNG with PIL's defaults
                 features=_timed(lambda: (startpass.forget(), torch.no_grad()(s.features)(s.latent))))   # its own pass
    return dict(seconds_per_step=s.seconds / s.steps, edit_seconds=edit_seconds, previews=previews, live_previews=live,
                fixed_seconds=first + last,   # the session and the start frame, and the last step to the final image
                report_seconds=round(report, 4), full_renders=edit_renders, rss_mb=phases,
                edit_peak_mb=phases["report"].get("peak"),   # the edit's own peak (the parts below come after it)
                fixed_parts=dict(parts, first_frame=round(first, 4), final_frame=round(last, 4),
                                 session=round(session_seconds, 4), start_pass=start_pass, **whole),
                stop_reason=s.stop_reason,
                final_handle=s.status().handles[0], threads=torch.get_num_threads(), precision=s.precision.name,
                windowed_steps=s.windowed_steps, lr=s.lr)


def _vm():
    """{rss, peak} MB of this process now (Linux: /proc/self/status VmRSS, VmHWM), or {} elsewhere."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return {}
    got = dict(line.split(":", 1) for line in text.splitlines() if line.startswith(("VmRSS", "VmHWM")))
    return {"rss": int(got["VmRSS"].split()[0]) // 1024, "peak": int(got["VmHWM"].split()[0]) // 1024}


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return round(time.perf_counter() - t0, 4)


def converted(res, args, folder):
    """The official side's network for our edits at `res`, converted to our safetensors file by a process of
    its own: our edit's process then loads it as the app loads a converted checkpoint, and never imports the
    official code nor builds its network (at 512 px those added ~140 MB to our side's peak)."""
    path = Path(folder) / f"official_{label(res)}.safetensors"
    side = parse_res(res)[0]
    code = ("import sys, stylegan; from benchmarks.official_renderer import ours_from_official; "
            f"stylegan.save(ours_from_official(sys.argv[1], {side}, {OFFICIAL.get(side, 32768)}), sys.argv[2])")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-c", code, args.official, str(path)], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"converting the official network at {res} px failed:\n{p.stderr[-2000:]}")
    return path


def run_child(res, engine, args, weights=None):
    cmd = [sys.executable, "-m", "benchmarks.step_time", "--child", engine, "--res", str(res), "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--threads", str(args.threads), "--edit-steps", str(args.edit_steps),
           "--mask", args.mask] + (["--arrive"] if args.arrive else [])
    cmd += (["--tiny"] if args.tiny else []) + (["--official", args.official] if args.official else [])
    cmd += ["--weights", str(weights)] if weights and engine in EDITS and engine != "official-edit" else []
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


def official_table(rows, resolutions):
    by = {(r["res"], r["engine"]): r for r in rows}
    whole = any(r["engine"] == "ours-whole-edit" for r in rows)
    lines = ["| res | ours s/step | official s/step | step speed-up | ours s/edit | official s/edit | edit speed-up "
             "| ours fixed s/edit | ours peak MB | official peak MB | memory ratio | final handle: ours, official |"
             + (" ours whole map: s/step | s/edit | peak MB |" if whole else ""),
             "|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|---|---|" if whole else "")]
    summary = {}
    for res in map(label, resolutions):
        o, off = by[(res, "ours-edit")], by[(res, "official-edit")]
        w = by.get((res, "ours-whole-edit"))
        ours_peak = o.get("edit_peak_mb") or o["peak_rss_mb"]   # the edit's own (the timed parts after it excluded)
        ratios = dict(step=off["seconds_per_step"] / o["seconds_per_step"], edit=off["edit_seconds"] / o["edit_seconds"],
                      memory=off["peak_rss_mb"] / ours_peak)
        summary[f"draggan/{res}"] = dict({k: round(v, 2) for k, v in ratios.items()},
                                         **({"fixed_s": round(o["fixed_seconds"], 3)} if "fixed_seconds" in o else {}))
        lines.append(f"| {res} | {o['seconds_per_step']:.3f} | {off['seconds_per_step']:.3f} | {ratios['step']:.1f}x | "
                     f"{o['edit_seconds']:.1f} | {off['edit_seconds']:.1f} | {ratios['edit']:.1f}x | "
                     f"{o.get('fixed_seconds', float('nan')):.2f} | {ours_peak:.0f} | {off['peak_rss_mb']:.0f} | {ratios['memory']:.1f}x | "
                     f"{tuple(o['final_handle'])}, {tuple(off['final_handle'])} |"
                     + (f" {w['seconds_per_step']:.3f} | {w['edit_seconds']:.1f} | {w['peak_rss_mb']:.0f} |" if w else ""))
        if w:
            summary[f"draggan/{res}"]["whole_map"] = dict(step=round(off["seconds_per_step"] / w["seconds_per_step"], 2),
                                                          edit=round(off["edit_seconds"] / w["edit_seconds"], 2),
                                                          memory=round(off["peak_rss_mb"] / w["peak_rss_mb"], 2))
    return "\n".join(lines), summary


def ours_table(rows):
    lines = ["| res | s/step | s/edit | fixed s | session s | own start pass s | one render s | full renders | peak MB "
             "| edit's peak MB | RSS by phase | ends | final frame s (rendered whole) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["engine"] not in ("ours-edit", "ours-whole-edit"):
            continue
        p = r["fixed_parts"]
        phases = ", ".join(f"{k} {v['rss']} ({v['peak']})" for k, v in r.get("rss_mb", {}).items() if v)
        lines.append(f"| {r['res']}{'' if r['engine'] == 'ours-edit' else ' (whole map)'} | {r['seconds_per_step']:.3f} | "
                     f"{r['edit_seconds']:.2f} | {r['fixed_seconds']:.2f} | {p['session']:.3f} | {p['start_pass']:.3f} | "
                     f"{p['render']:.2f} | {r['full_renders']} | {r['peak_rss_mb']:.0f} | {r.get('edit_peak_mb')} | {phases} | "
                     f"{r.get('stop_reason')} | {p['final_frame']:.2f} ({p.get('final_frame_whole', float('nan')):.2f}) |")
    return "\n".join(lines)


# (summary key, field, threshold, what is claimed): fast vs reference mode, then ours vs the official renderer
TARGETS = (
    ("draggan/512", "speedup", 4, "DragGAN fast >= 4x faster at 512 px"),
    ("draggan/1024", "speedup", 8, "DragGAN fast >= 8x faster at 1024 px"),
    ("draggan/1024", "memory_ratio", 4, "DragGAN fast: >= 4x less peak memory at 1024 px"),
)
OFFICIAL_TARGETS = (   # issue 33, item 4
    ("draggan/512", "step", 8, "DragGAN step >= 8x the official renderer at 512 px"),
    ("draggan/1024", "step", 15, "DragGAN step >= 15x the official renderer at 1024 px"),
    ("draggan/512", "edit", 10, "a whole edit >= 10x the official app's at 512 px"),
    ("draggan/1024", "edit", 10, "a whole edit >= 10x the official app's at 1024 px"),
    ("draggan/512", "memory", 4, "peak memory <= 1/4 of the official at 512 px"),
    ("draggan/1024", "memory", 4, "peak memory <= 1/4 of the official at 1024 px"),
    ("draggan/512", "fixed_s", -0.5, "fixed cost per edit (start frame; last step to the final image) <= 0.5 s at 512 px"),
)


def _met(summary, targets):
    """{claim: met} for the targets whose configuration was measured (a negative bound: at most -bound)."""
    return {claim: summary[key][field] >= bound if bound >= 0 else summary[key][field] <= -bound
            for key, field, bound, claim in targets if key in summary and field in summary[key]}


def _targets(summary, official_summary):
    return _met(summary, TARGETS), _met(official_summary, OFFICIAL_TARGETS)


def _precisions(rows):
    used = sorted({f"{r['res']} px: {r['precision']}" for r in rows if r.get("precision")})
    return ", ".join(used) or "unrecorded"


def _write(out, name, payload, text):
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(payload, indent=1))
    (out / f"{name}.md").write_text(text)
    print(text)


def _targets_text(targets):
    return ("\n" + "\n".join(f"- {k}: {'met' if v else 'NOT met'}" for k, v in targets.items()) + "\n") if targets else ""


def parse_args(argv):
    p = cli.parser(__doc__, threads=2, out=str(ROOT / "benchmarks" / "results"))
    p.add_argument("--res", nargs="+", default=["256", "512", "1024"], help="heights, or HxW (512x256)")
    p.add_argument("--steps", type=int, default=3, help="timed steps per configuration (median reported)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    p.add_argument("--official", metavar="PATH", help="a checkout of XingangPan/DragGAN: also run ours vs its renderer")
    p.add_argument("--edit-steps", type=int, default=20, help="steps of the whole edit timed against the official app")
    p.add_argument("--edits-only", action="store_true",
                   help="only the whole edits (no fast vs reference); without --official, our edit alone")
    p.add_argument("--tiny", action="store_true", help="tiny networks (smoke test of the script itself)")
    p.add_argument("--mask", choices=("half", "none"), default="half",
                   help="half the image editable (the mask term runs) or no mask (ours: windows near the handle)")
    p.add_argument("--whole", action="store_true", help="with --official: also our edit with the windows off")
    p.add_argument("--arrive", action="store_true",
                   help="our edit ends on arrival after --edit-steps updates (with --edits-only, without --official)")
    p.add_argument("--child", choices=ENGINES + EDITS, help=argparse.SUPPRESS)
    p.add_argument("--weights", help=argparse.SUPPRESS)   # our edit's network file (`converted`)
    args = p.parse_args(argv)
    if args.official and not (Path(args.official) / "viz" / "renderer.py").is_file():
        p.error(f"--official {args.official}: not a DragGAN checkout (no viz/renderer.py)")
    if args.arrive and not args.child and (args.official or not args.edits_only):
        p.error("--arrive times our edit alone: give --edits-only, without --official")
    low = [r for r in args.res if parse_res(r)[0] < 128]
    if args.official and low:
        p.error(f"--official: the official renderer supervises the 6th synthesis block (128 px), which a "
                f"{label(low[0])} px network does not have: give --res 128 or more")
    return args


def run_child_main(args):
    cli.setup(args)
    if args.child in EDITS:
        r = measure_edit(args.res[0], args.child, args.edit_steps, args.warmup, args.official, args.tiny, args.mask,
                         args.weights, args.arrive)
    else:
        r = measure(args.res[0], args.child, args.steps, args.warmup, args.tiny, args.mask)
    print(json.dumps(r))
    return 0


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return run_child_main(args)
    rows = []
    scratch = tempfile.TemporaryDirectory(prefix="step_time_")
    for res in args.res:
        edits = tuple(e for e in (EDITS if args.whole else EDITS[:2]) if args.official or e != "official-edit")
        weights = converted(res, args, scratch.name) if args.official and not args.tiny else None
        for engine in (() if args.edits_only else ENGINES) + (edits if args.official or args.edits_only else ()):
            rows.append(run_child(res, engine, args, weights))
            r = rows[-1]
            edit = f"  edit {r['edit_seconds']:.1f} s" if "edit_seconds" in r else ""
            print(f"{res:>8s} px {engine:18s} {r['seconds_per_step']:.3f} s/step{edit}  peak {r['peak_rss_mb']:.0f} MB",
                  flush=True)
    import torch
    command = "python -m benchmarks.step_time " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = dict(command=command, threads=args.threads, steps=args.steps, warmup=args.warmup, tiny=args.tiny, mask=args.mask,
                load=[round(v, 1) for v in os.getloadavg()],
                torch=torch.__version__, machine=platform.machine(), cpus=os.cpu_count(),
                date=time.strftime("%Y-%m-%d %H:%M"))
    engines_run = any(r["engine"] in ENGINES for r in rows)
    md, summary = table(rows, args.res) if engines_run else ("", {})
    off_md, off_summary = official_table(rows, args.res) if args.official else ("", {})
    targets, off_targets = _targets(summary, off_summary)
    out, suffix = Path(args.out), "_tiny" if args.tiny else ""
    if engines_run:
        _write(out, f"step_time{suffix}", dict(meta=meta, rows=[r for r in rows if r["engine"] in ENGINES],
                                              summary=summary, targets=targets),
               f"DragGAN and FreeDrag step time, fast vs reference mode (CPU, {args.threads} threads, random weights, "
               f"official configs; median of {args.steps} steps after {args.warmup} warm-up; peak = process max RSS; "
               f"both modes at the sessions' default precision 'auto': {_precisions(rows)}).\n"
               f"Reproduce: `{command}`\n\n{md}\n" + _targets_text(targets))
    if args.official:
        _write(out, f"step_time_official{suffix}",
               dict(meta=dict(meta, edit_steps=args.edit_steps, preview_seconds=PREVIEW_SECONDS),
                    rows=[r for r in rows if r["engine"] in EDITS], summary=off_summary, targets=off_targets),
               f"Our DragGAN (fast mode) against the official DragGAN renderer, same drag, same official network config "
               f"(CPU, {args.threads} threads, random weights; ours at the app's default precision 'auto' "
               f"({_precisions(rows)}), the official renderer in fp32, its only CPU path). "
               f"An edit is {args.edit_steps} steps as each app "
               f"shows it: ours previews as the app does (at most one every {PREVIEW_SECONDS} s, plus the first and last image; "
               f"from 512 px each preview is the image the step's own pass drew at the feature block), the official app "
               f"after every step. Mask: {'none (both sides skip the mask term; ours runs windows near the handle)' if args.mask == 'none' else 'half the image editable'}. "
               f"s/step: the step alone (mean over the edit); peak: max RSS, each side in its own process, from its "
               f"start to the end of its edit (ours: VmHWM when the edit ends, before the parts timed apart). The official checkout is yours (`--official PATH`); nothing of it is in this repository.\n"
               f"Reproduce: `{command}`\n\n{off_md}\n" + _targets_text(off_targets))
    elif args.edits_only:
        _write(out, f"step_time_edit{suffix}", dict(meta=dict(meta, edit_steps=args.edit_steps),
                                                    rows=[r for r in rows if r["engine"] in EDITS]),
               f"Our DragGAN edit alone (fast mode, {args.edit_steps} steps as the app shows them, CPU, {args.threads} "
               f"threads, random weights, official network config; mask: {args.mask}). fixed: the session (its start "
               f"pass kept from the render of the image on screen), the start frame, and the last step to the final image "
               f"drawn; own start pass: the session with a pass of its own (the before); peak: process max RSS; RSS "
               f"after each phase (MB, peak so far in brackets).\nReproduce: `{command}`\n\n{ours_table(rows)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
