"""Exports of a finished drag, and the edit JSON that replays it.

The edit JSON holds everything needed to redo the same edit on the same model: model id,
seed, psi, latent space, points, the mask (as a base64 PNG), method and hyper-parameters, and
the number of steps taken, plus the `outcome` of the run (reached, the engine's own verdict, and
the optical-flow measure of how far the content moved per point). Replaying it re-creates the start latent from the seed and runs the
same engine for the same steps: the drag is deterministic, so the image is the same.
"""
import base64
import io
import json
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import torch
from PIL import Image

from .draw import DISPLAY

VERSION = 1


class EditError(ValueError):
    pass


def _upscale(frame, size=DISPLAY):
    return np.asarray(Image.fromarray(frame).resize((size, size), Image.NEAREST if size // frame.shape[0] >= 4
                                                    else Image.BICUBIC))


def write_png(frame, path):
    Image.fromarray(frame).save(path)
    return path


def write_gif(frames, path, fps=10):
    imageio.mimsave(path, [_upscale(f, 256) for f in frames], duration=1000 / fps, loop=0)
    return path


def write_mp4(frames, path, fps=10):
    # H.264 wants even sizes and likes multiples of 16: 256 px frames
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
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(s))).convert("L")) >= 128
    except Exception as e:
        raise EditError(f"the edit's mask is not a valid PNG ({e})") from None


def edit_record(*, model, seed, psi, space, points, mask, method, params, steps):
    return dict(version=VERSION, model=model, seed=int(seed), psi=float(psi), space=space,
                points=[[float(x), float(y)] for x, y in points], mask=mask_to_b64(mask), method=method,
                params=params, steps=int(steps))


def read_edit(path):
    """Parse and validate an edit JSON file -> dict (mask decoded)."""
    try:
        data = json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EditError(f"not an edit JSON file ({e})") from None
    need = {"model", "seed", "psi", "space", "points", "method", "params", "steps"}
    if not isinstance(data, dict) or not need <= set(data):
        raise EditError(f"the edit JSON must contain {sorted(need)}")
    if data["method"] not in ("draggan", "freedrag"):
        raise EditError(f"unknown method {data['method']!r} in the edit JSON")
    pts = data["points"]
    if not isinstance(pts, list) or len(pts) < 2 or len(pts) % 2 or not all(
            isinstance(p, list) and len(p) == 2 for p in pts):
        raise EditError("the edit JSON's points must be pairs of [x, y] (handle, target, ...)")
    data["mask"] = mask_from_b64(data.get("mask"))
    return data


OUTCOME_KEYS = ("reached", "reached_points", "tracked_reached", "tracked_reached_points", "stop_reason", "start_handles",
                "handles", "targets", "distances", "moved", "moved_px", "moved_fraction")


def outcome(result):
    """What the run achieved, for the edit JSON (informational: replay does not read it)."""
    return {k: result[k] for k in OUTCOME_KEYS if k in result}


def export_all(out_dir, result, record):
    """Write result PNG, GIF, MP4, latent and edit JSON for one method's result; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    m = record["method"]
    paths = [write_png(result["frames"][-1], out / f"{m}_result.png"),
             write_gif(result["frames"], out / f"{m}_drag.gif"),
             write_mp4(result["frames"], out / f"{m}_drag.mp4")]
    torch.save(result["latent"], out / f"{m}_latent.pt")
    paths.append(out / f"{m}_latent.pt")
    (out / f"{m}_edit.json").write_text(json.dumps(dict(record, outcome=outcome(result)), indent=1))
    paths.append(out / f"{m}_edit.json")
    return [str(p) for p in paths]
