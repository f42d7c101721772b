"""Exports of a finished drag chain, and the edit JSON that replays it.

The edit JSON holds everything needed to redo the same edit on the same model: model id, seed,
psi, latent space and image shape, then `drags`: every drag of the chain that led to the exported
result, in order, each with its points, mask (a base64 PNG), method, hyper-parameters, the steps it
really took and its `outcome` (reached, the engine's own verdict, and the optical-flow measure of
how far the content moved per point; informational). Replaying it re-creates the start latent from
the seed and runs each drag with its engine for its steps, from the previous drag's result: the
drag is deterministic, so the image is the same. A version-1 file (one drag, its fields at the top
level) reads as a chain of one.

An edit JSON comes from a user, so `read_edit` checks all of it before anything runs: file size
and nesting depth before parsing, then the number of drags (`limits.max_chain()`) and
every field against its range in `limits`.
"""
import base64
import io
import json
import os
from pathlib import Path

import clisafe
import limits
from drags.engines import ENGINES
from dragcore import config

import imageio.v2 as imageio
import numpy as np
import torch
from PIL import Image

from .draw import DISPLAY

VERSION = 2   # 1: a single drag, its fields at the top level (still read)


class EditError(ValueError):
    pass


def _upscale(frame, size=DISPLAY):
    """The frame resized so its longer side is `size`, keeping its aspect (a 512x256 human stays 2:1),
    both sides multiples of 16 (what H.264 wants)."""
    h, w = frame.shape[:2]
    k = size / max(h, w)
    out = (max(16, round(w * k / 16) * 16), max(16, round(h * k / 16) * 16))
    return np.asarray(Image.fromarray(frame).resize(out, Image.NEAREST if k >= 4 else Image.BICUBIC))


def write_png(frame, path):
    Image.fromarray(frame).save(path)
    return path


def write_gif(frames, path, fps=10):
    imageio.mimsave(path, [_upscale(f, 256) for f in frames], duration=1000 / fps, loop=0)
    return path


def write_mp4(frames, path, fps=10):
    # H.264 wants even sizes and likes multiples of 16: frames 256 px on their longer side
    with imageio.get_writer(path, fps=fps, codec="libx264", quality=8, macro_block_size=16) as w:
        for f in frames:
            w.append_data(_upscale(f, 256))
    return path


def mask_to_b64(mask):
    if mask is None:
        return None
    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def mask_from_b64(s):
    if s is None:
        return None
    try:
        im = Image.open(io.BytesIO(base64.b64decode(str(s), validate=True)))
        limits.check_size("image_pixels", im.width * im.height, "the edit's mask")
        return np.asarray(im.convert("L")) >= 128
    except limits.LimitError as e:
        raise EditError(str(e)) from None
    except Image.DecompressionBombError:
        raise EditError(f"the edit's mask has too many pixels (at most {limits.SIZES['image_pixels']:,})") from None
    except Exception as e:  # noqa: BLE001 - base64, PNG and PIL errors alike: the mask is unusable
        raise EditError(f"the edit's mask is not a valid PNG ({type(e).__name__})") from None


def drag_entry(*, method, points, mask, params, steps, outcome=None, picture=None):
    """One drag of an edit JSON's `drags`; `picture`: what a photo drag showed (drags.in_photo), informational."""
    entry = dict(method=method, points=[[float(x), float(y)] for x, y in points], mask=mask_to_b64(mask),
                 params=params, steps=int(steps))
    if outcome is not None:
        entry["outcome"] = outcome
    if picture is not None:
        entry["picture"] = picture
    return entry


def edit_record(*, model, seed, psi, space, drags, shape=None):
    """The edit JSON of a chain: `drags` are `drag_entry` dicts, first to last; `method` names the
    engine of the last one (whose result the file goes with)."""
    rec = dict(version=VERSION, model=model, seed=int(seed), psi=float(psi), space=space, method=drags[-1]["method"],
               drags=list(drags))
    if shape is not None:   # (height, width) of the image the points are on
        rec["shape"] = [int(shape[0]), int(shape[1])]
    return rec


def replayable(method):
    """The params of an edit a replay reads: the engine's settings (dragcore.config) but the start
    image's (seed, psi, space) and the step budget, which are fields of the edit itself."""
    return [n for n in config.names(ENGINES[method].config) if n not in config.IMAGE + ("max_steps",)]


def _field(name, value, label):
    spec = config.spec(name) if name in config.names() else {}
    if value is None and spec and spec["default"] is None:
        return None   # the model decides (a DCGAN has no W+ rows)
    try:
        if spec.get("choices") is not None:
            return limits.check_choice(name, value, label=f"the edit's {label}")
        return limits.check(name, value, label=f"the edit's {label}")
    except limits.LimitError as e:
        raise EditError(str(e)) from None


def _json_int(digits):
    """JSON integers as Python ints, except one too long to convert (Python refuses 4300 digits and
    more): kept as its text, so the field it is in reports it with its range."""
    return int(digits) if len(digits) <= 100 else digits


def read_edit(path):
    """Parse and validate an edit JSON file -> dict (mask decoded, every number checked)."""
    try:
        limits.check_size("edit_json_bytes", os.path.getsize(path), "the edit JSON file")
        text = Path(path).read_text(encoding="utf-8")
    except limits.LimitError as e:
        raise EditError(str(e)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise EditError(f"not an edit JSON file ({type(e).__name__})") from None
    if clisafe.json_depth(text) > limits.SIZES["edit_json_depth"]:
        raise EditError(f"the edit JSON is nested more than {limits.SIZES['edit_json_depth']} levels deep")
    try:
        data = json.loads(text, parse_int=_json_int)
    except (json.JSONDecodeError, RecursionError) as e:
        raise EditError(f"not an edit JSON file ({e})") from None
    if not isinstance(data, dict):
        raise EditError("the edit JSON must be an object with the model, seed, psi, space and drags")
    drags = data["drags"] if "drags" in data else [{k: data[k] for k in DRAG_KEYS if k in data}]   # version 1
    need = {"model", "seed", "psi", "space"}
    if not need <= set(data):
        raise EditError(f"the edit JSON must contain {sorted(need | {'drags'})}")
    if not isinstance(data["model"], str) or not data["model"] or len(data["model"]) > 200:
        raise EditError("the edit's model must be a model id (text)")
    if data["space"] not in ("w", "w+", "z"):
        raise EditError(f"the edit's space must be 'w', 'w+' or 'z', got {str(data['space'])[:20]!r}")
    most = limits.max_chain()
    if not isinstance(drags, list) or not 1 <= len(drags) <= most:
        n = len(drags) if isinstance(drags, list) else type(drags).__name__
        raise EditError(f"the edit's drags must be a list of 1 to {most} drags (a chain is at most {most} long), "
                        f"got {n}")
    out = dict(data, seed=_field("seed", data["seed"], "seed"), psi=_field("psi", data["psi"], "psi"),
               drags=[_read_drag(d, f"drag {i + 1} " if len(drags) > 1 else "") for i, d in enumerate(drags)])
    out["method"] = out["drags"][-1]["method"]
    shape = data.get("shape")
    if shape is not None and not (isinstance(shape, list) and len(shape) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and 4 <= v <= 4096 for v in shape)):
        raise EditError(f"the edit's shape must be [height, width] in pixels, got {str(shape)[:40]}")
    return out


DRAG_KEYS = ("method", "points", "mask", "params", "steps")


def _read_drag(d, where):
    """One drag of an edit (`where`: '' for a single drag, 'drag 2 ' in a chain) -> dict of DRAG_KEYS,
    mask decoded, every number checked."""
    need = {"points", "method", "params", "steps"}
    if not isinstance(d, dict) or not need <= set(d):
        raise EditError(f"the edit's {where or 'drag '}must contain {sorted(need)}")
    if not isinstance(d["method"], str) or d["method"] not in ENGINES:   # a list or object too
        raise EditError(f"unknown method {str(d['method'])[:40]!r} in the edit JSON"
                        + (f" ({where.strip()})" if where else ""))
    if not isinstance(d["params"], dict):
        raise EditError(f"the edit's {where}params must be an object, got {type(d['params']).__name__}")
    pts = d["points"]
    if not isinstance(pts, list) or len(pts) < 2 or len(pts) % 2 or not all(
            isinstance(p, list) and len(p) == 2 for p in pts):
        raise EditError(f"the edit JSON's {where}points must be pairs of [x, y] (handle, target, ...)")
    _field("point_pairs", len(pts) // 2, f"{where}number of point pairs")
    for p in pts:
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in p):
            raise EditError(f"the edit's {where}points must be finite numbers, got {str(p)[:40]}")
    known = replayable(d["method"])
    arrived = type(d["steps"]) is int and d["steps"] == 0   # the engine's points were at their targets already
    return dict(method=d["method"], points=[[float(x), float(y)] for x, y in pts],
                steps=0 if arrived else _field("max_steps", d["steps"], f"{where}steps"),
                params={k: _field(k, v, f"{where}params.{k}") for k, v in d["params"].items() if k in known},
                mask=mask_from_b64(d.get("mask")))


OUTCOME_KEYS = ("reached", "reached_points", "held_points", "tracked_reached", "tracked_reached_points",
                "stop_reason", "start_handles", "handles", "targets", "distances", "moved", "moved_px", "moved_fraction",
                "colour_cast", "far_field", "far_after_motion")


def outcome(result):
    """What the run achieved, for the edit JSON (informational: replay does not read it)."""
    return {k: getattr(result, k) for k in OUTCOME_KEYS}


def gif_frame(frame):
    """A frame as the GIF and MP4 show it (at most 256 px on its longer side): what a chain keeps of
    every drag's progress, so a long chain of a large model stays small."""
    return frame if max(frame.shape[:2]) <= 256 else _upscale(frame, 256)


def export_all(out_dir, record, image, frames, latent):
    """Write result PNG, the chain's GIF and MP4, the latent and the edit JSON (`record`) of one
    method's result; returns the paths. The five files are written into a temporary folder and moved
    into `out_dir` together when all are written (clisafe), so a failed or stopped export never leaves
    a result PNG without its edit JSON."""
    out = Path(out_dir)
    m = record["method"]
    with clisafe.atomic_dir(out / f".{m}_export") as tmp:
        write_png(image, tmp / f"{m}_result.png"), write_gif(frames, tmp / f"{m}_drag.gif")
        write_mp4(frames, tmp / f"{m}_drag.mp4")
        torch.save(latent, tmp / f"{m}_latent.pt")
        (tmp / f"{m}_edit.json").write_text(json.dumps(record, indent=1))
    moved = {p.name: p for p in clisafe.publish_files(out / f".{m}_export", out)}
    names = [f"{m}_result.png", f"{m}_drag.gif", f"{m}_drag.mp4", f"{m}_latent.pt", f"{m}_edit.json"]
    return [str(moved[n]) for n in names]


def write_in_photo(photo, image, out_dir, method):
    """An inverted photo's drag back in the photo (`<method>_result_in_photo.png`); photo: DragState.photo
    (the photo, its alignment and the reconstruction), None for a seed's drag (nothing written)."""
    if not photo:
        return []
    from latent.align import paste_back
    path = Path(out_dir) / f"{method}_result_in_photo.png"
    Image.fromarray(paste_back(photo["photo"], image, photo["alignment"], reference=photo["reference"])).save(path)
    return [str(path)]
