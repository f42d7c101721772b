"""The registry as text: the `python -m checkpoints` listing, the README's model table (generated
here, so it always says what the registry says), and the app's labels and model cards."""
from .hub import cached_path


def _size(info):
    if info.size_mb is None:
        return "?"
    return f"{info.size_mb:.1f} MB" if info.offline else f"~{info.size_mb:.0f} MB"


def _cached(info):
    if cached_path(info):
        return "cached"
    return "not built" if info.offline else "not downloaded"


def text_table(models):
    head = ("id", "shape", "kind", "FreeDrag", "size", "licence", "state", "here")
    rows = [head] + [(m.id, m.shape_text, m.kind, f"l={m.freedrag_l:g} d={m.freedrag_d:g}", _size(m), m.licence,
                      m.state, _cached(m)) for m in models]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


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
        lines.append(f"| `{m.id}` | {m.display_name} | {m.shape_text} | {m.licence} | {m.freedrag_l:g} / "
                     f"{m.freedrag_d:g} | {_size(m)} | {where} | {m.state} |")
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
    presets = sorted({m.id for m in models if "not in FreeDrag" in m.preset_from})
    if presets:
        out.append(f"- FreeDrag l / d come from the official FreeDrag app's table; {', '.join(presets)} are not in "
                   f"it and use its faces preset.")
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
