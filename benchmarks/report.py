"""What the benchmark scripts share: the engines under comparison, metrics (PSNR; the optical-flow
motion of a drag's result, summarised; the far field after motion, summarised), and writing one result set as JSON + CSV + a Markdown
table (+ an optional matplotlib figure)."""
import csv
import json
from pathlib import Path


from drags.engines import make_sessions, session_classes
from dragcore import config
from stylegan import imageops

ENGINES = session_classes()   # {name: session class}, from the one table in drags.engines


def make_session(engine, G, handles, targets, preset=None, *, latent=None, mask=None, device="cpu", **settings):
    """A session of `engine` on G: its dragcore.config with `preset` (a model's settings for this
    engine, e.g. checkpoints.presets(id)[engine]), then `settings` (None values skipped)."""
    configs = {engine: config.with_presets(engine, preset, **settings)}
    return make_sessions(configs, G, handles, targets, latent=latent, mask=mask, device=device)[engine]


def psnr(a, b):
    """PSNR in dB of two images in [-1, 1] on the 0-255 scale, of the float images (not rounded to 8
    bits first): stylegan.imageops.psnr, the one implementation, as every benchmark has measured it."""
    return imageops.psnr(a, b, quantize_first=False)


def far_residual_summary(rows):
    """The far field after motion (dragcore.fidelity.far_residual) of some result rows: its median and the edits over
    6/255, both None when no row has one (results written before it was measured)."""
    vals = [r.get("far_residual") for r in rows if r.get("far_residual") is not None]
    return dict(far_residual=median(vals), far_residual_over_6=sum(v > 6 for v in vals) if vals else None)


def moved_mean(result):
    """Mean optical-flow moved_fraction over a result's points (None entries, zero-length requests, skipped)."""
    vals = [f for f in result.moved_fraction if f is not None]
    return sum(vals) / len(vals) if vals else None


def median(values):
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def write(out, name, data, rows, md_lines):
    """out/name.json (data, which should include the rows), out/name.csv (rows), out/name.md: written
    beside, then moved in together (clisafe), so an interrupted run leaves the previous set whole."""
    import clisafe
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with clisafe.atomic_dir(out / f".{name}") as tmp:
        (tmp / f"{name}.json").write_text(json.dumps(data, indent=1))
        if rows:
            fields = list(dict.fromkeys(k for r in rows for k in r))
            with open(tmp / f"{name}.csv", "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=fields)
                w.writeheader()
                w.writerows(rows)
        text = "\n".join(md_lines) + "\n"
        (tmp / f"{name}.md").write_text(text)
    clisafe.publish_files(out / f".{name}", out)
    print(text, flush=True)
    return out / f"{name}.md"


def bar_plot(path, groups, series, ylabel, title):
    """Grouped bars: groups = x labels, series = {label: [value per group]}."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    width = 0.8 / max(1, len(series))
    for i, (label, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, [float("nan") if v is None else v for v in values], width, label=label)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
