"""The registry as text: the `python -m checkpoints` listing, the README's model table (generated
here, so it always says what the registry says), and the app's labels and model cards.

Engine settings shown here are the model's presets as the app, the CLIs and the benchmarks use them
(`checkpoints.presets`: a calibrated `presets/<id>.json` over the registry's FreeDrag l / d), never
the registry's values alone."""
from .hub import cached_path
from .presets import ROOT, presets, presets_path


def _size(info):
    if info.size_mb is None:
        return "?"
    return f"{info.size_mb:.1f} MB" if info.offline else f"~{info.size_mb:.0f} MB"


def _cached(info):
    if cached_path(info):
        return "cached"
    return "not built" if info.offline else "not downloaded"


def _ld(preset):
    """FreeDrag's l and d as the model uses them (its presets), as text: 'l=0.4 d=4', or 'defaults'
    where the model keeps the engine's (dragcore.config)."""
    own = preset["freedrag"]   # the README's column of the official FreeDrag app's table
    return " ".join(f"{k}={own[k]:g}" for k in ("l", "d") if k in own) or "defaults"


def _calibrated(info):
    return presets_path(info.id).is_file()


def _preset_file(info):
    """presets/<id>.json relative to the repository (absolute when $LATENTLAB_PRESETS_DIR is elsewhere)."""
    path = presets_path(info.id).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def settings_text(values):
    """{'lr': 0.01, 'r1': 24.0} -> 'lr=0.01 r1=24'."""
    return " ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in values.items())


def text_table(models):
    """The `python -m checkpoints list` table, then every setting of each calibrated model's presets."""
    all_presets = {m.id: presets(m.id) for m in models}
    head = ("id", "shape", "kind", "FreeDrag", "presets", "size", "licence", "state", "here")
    rows = [head] + [(m.id, m.shape_text, m.kind, _ld(all_presets[m.id]),
                      "calibrated" if _calibrated(m) else "defaults", _size(m), m.licence, m.state, _cached(m))
                     for m in models]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines += ["", "presets: calibrated = presets/<id>.json (python -m benchmarks.calibrate), every setting below; "
                  "defaults = the engines' defaults (the official hyper-parameters) with FreeDrag's l / d above"]
    for m in models:
        if _calibrated(m):
            lines.append(f"  {m.id} ({_preset_file(m)}):")
            lines += [f"    {e}: {settings_text(all_presets[m.id][e])}" for e in sorted(all_presets[m.id])]
    return lines


def _evidence(src):
    if not src.evidence:
        return "inferred"
    return ("draggan pip package" if "pip package" in src.evidence else "a DragGAN Space" if "Space" in src.evidence
            else "linked at this revision")


def markdown_table(models):
    """The README's model table: every entry, its sources in order and its state."""
    lines = ["| id | model | shape (HxW) | licence (as its source states it) | FreeDrag l / d | download | "
             "sources, in the order they are tried | state |", "|---|---|---|---|---|---|---|---|"]
    for m in models:
        if m.offline:
            where = f"this repo: `{m.local_path}`"
        else:
            where = "<br>".join(f"{i}. `{s}` ({_evidence(s)})" for i, s in enumerate(m.sources, 1))
        lines.append(f"| `{m.id}` | {m.display_name} | {m.shape_text} | {m.licence} | {_ld(presets(m.id))} | {_size(m)} | "
                     f"{where} | {m.state} |")
    return lines


def markdown_notes(models):
    """What the table's short cells stand for: licence statements, rendering notes, preset origin."""
    out, seen = [], set()
    for m in models:
        if m.licence_note and m.licence not in seen:
            seen.add(m.licence)
            out.append(f"- *{m.licence}*: {m.licence_note}.")
    for m in models:
        if m.notes:
            out.append(f"- `{m.id}`: {m.notes}.")
    faces = sorted({m.id for m in models if "not in FreeDrag" in m.preset_from and not _calibrated(m)})
    calibrated = [m for m in models if _calibrated(m)]
    if faces:
        out.append(f"- FreeDrag l / d come from the official FreeDrag app's table; {', '.join(faces)} are not in "
                   f"it and keep the engine's defaults (`dragcore/config.py`, the faces preset).")
    for m in calibrated:
        p = presets(m.id)
        out.append(f"- `{m.id}`: calibrated presets (`{_preset_file(m)}`, "
                   f"`python -m benchmarks.calibrate`): " + "; ".join(f"{e} {settings_text(p[e])}" for e in sorted(p))
                   + ".")
    return out


def choice_label(info):
    """The app's dropdown label: name, shape, licence, cached state."""
    mark = " · ✓ cached" if cached_path(info) else (" · not built" if info.offline else "")
    return f"{info.display_name} · {info.shape_text} · {info.licence}{mark}"


def card(info):
    """A few Markdown lines about one model, shown under the app's model dropdown."""
    if info.offline:
        where = f"bundled with the lab ({_size(info)}), no download"
    else:
        here = "in the local cache" if cached_path(info) else f"downloaded on first use ({_size(info)})"
        where = f"{here}; sources: " + ", ".join(f"`{s}`" for s in info.sources) + f" — {info.state}"
    lines = [f"**{info.display_name}** · {info.shape_text} px (HxW) · {where}",
             f"Licence: {info.licence}" + (f" — {info.licence_note}" if info.licence_note else "")]
    if info.notes:
        lines.append(info.notes[0].upper() + info.notes[1:] + ".")
    return "  \n".join(lines)
