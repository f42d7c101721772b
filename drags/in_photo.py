"""A drag of an inverted photo, back in the photo: `result_in_photo.png`.

`python -m latent invert PHOTO --out DIR` keeps, beside the latent, the photo (photo.png), the
transform that aligned its face to the model (alignment.json, latent.align.Alignment) and the
reconstruction the drag starts from (reconstruction.png). A drag started from `--inverted DIR` warps
its result back through the inverse transform and blends it into the photo with a feathered face
mask (latent.align.paste_back: only what the drag changed replaces the photo's pixels). The drag's
output folder gets copies of the three files, so a drag continued from it (`--inverted OUT`) is
pasted into the same photo. A folder inverted with --no-align has no transform: no picture, and
the CLI says so.

How an inverted photo's tuned noise maps follow its drags (the CLI's `--inverted` and the app's photo path):
`follow_noise(session)`. On a generator with a warp pathway (the bundled model) the 64 px maps move by the
pathway's own displacement for the latent (dragcore.noise_follow's mode 'field'): they are then a function of
the latent, so a drag's output keeps the inversion's maps and a continued drag derives them again. Elsewhere
they move with the handles (bounded by the request, mode 'nearest') and travel as moved (the CLI's generator
delta, the app's chain). Chosen on tuning photos (docs/benchmarks.md, "Your own photo, session 5"). The field
reads the maps at the nearest pixel (RESAMPLE): bicubic and bilinear reads take away the grain a nearest read
leaves and move the smiles further, but on the tuning photos they lost a face at the detector's edge that the
nearest read and the ideal local move keep (docs/benchmarks.md, "Your own photo, session 22").

The picture (PICTURE, per engine): every engine's photo drag shows the reconstruction moved by the warp pathway's
field for the drag's code (DragSession.field_picture, dragcore.field_picture) instead of the tuned generator's
render. The tuned stages after the pathway then do not draw the photo's detail again on the moved content: no
blotches, grain or ghost contours, and the face nearer the ideal local move's on the tuning photos. With it
DragGAN's and StableDrag's reach terms weigh 100 (below; with the field picture DragGAN's at 30 sent four turns over a
far field of 6/255, and DragGAN's at 30 or 300 and StableDrag's at 300 lost a turn's face that the render keeps)
(docs/benchmarks.md, "Your own photo, session 23: the picture as the field's move" and "session 24"). FreeDrag's
followed in session 25, its settings unchanged: its landmarks then move about as far as asked (smiles 1.02 of the
request, where the render's 0.94 and the ideal's 0.87), and the one tuning face it loses that its render keeps is
one the ideal local move loses too (docs/benchmarks.md, "Your own photo, session 25"). The render stays one
setting away (`--picture render`, a per-engine PICTURE entry). A drag continued
from a photo drag's result shows what that drag showed (the CLI: the latent's metadata, dragcore.sources; the app: the
chain's head), so it starts from the image shown, whichever engine continues; a drag from the reconstruction shows
its engine's own. `--picture` (the CLI) sets it for one drag.
`benchmarks.real_photos --photo-picture render|field` sets one picture for every engine (one run).

`presets(model_presets, G)` is what every drag of an inverted photo is built from (the CLI's `--inverted`, the app's
photo path, benchmarks.real_photos), applied BEFORE the session is built: a photo drag's engine settings over the
model's presets (`SETTINGS`), a user's own setting still over both. They hold:
- for DragGAN and FreeDrag the warp guard's twist term (`warp_twist`, dragcore.warpguard): the field a drag finds
  around a turned nose swirls, and on a sharp photo the swirl twists the lips and breaks the glasses where the
  ideal local move shifts them. Chosen on tuning photos (docs/benchmarks.md, "Your own photo, session 6"); a
  generated face drags without it (its presets alone). FreeDrag's term weighs three times DragGAN's: at DragGAN's
  weight its smile lost a face on a tuning photo that the ideal local move keeps (docs/benchmarks.md, "Your own
  photo, session 10").
- StableDrag moves the warp code alone on a photo (rows 0, as DragGAN and FreeDrag do everywhere; the presets'
  rows 2 also move two style rows, which shift the far field and lost a face): chosen on tuning photos
  (docs/benchmarks.md, "Your own photo, session 7"). With the code alone it gets the warp guard and its twist term
  as DragGAN does (its presets have no guard: its field folded around a turned nose and its smiles fell short of
  the ideal's; docs/benchmarks.md, "Your own photo, session 8"). Its twist term weighs a third of DragGAN's: at
  DragGAN's weight it lost a profile's turn pushed back across the face that the ideal local move keeps, and the
  lighter term kept it and kept the tuning photos' faces, motion and far field (docs/benchmarks.md, "Your own photo,
  session 15").
- for every engine the warp guard's reach term (`warp_reach`, dragcore.warpreach): a turned nose carried the whole head
  along (the outline, the hair and the far eye each shifted by about a pixel), a far-field change the ideal local move
  does not make. Its weight per engine is the largest that kept the engine's landmark motion at the ideal's on the
  tuning photos (docs/benchmarks.md, "Your own photo, session 13"); DragGAN's and StableDrag's (100, with their field
  picture) kept their turns' far field and every face the render keeps (sessions 23-24).
- for FreeDrag a stiffer warp guard band (`warp_floor`, dragcore.warpguard): a profile's turn pushed back across the
  face left a second line where the nose's edge had been and lost the face where the ideal local move keeps it; the
  stiffer band kept it, and kept the tuning photos' faces, motion and far field (docs/benchmarks.md, "Your own photo,
  session 14").

`prepare(session)` is the rest, on the built session: the maps following as above, the picture as PICTURE says, and
for the engines whose photo settings carry a twist term the rotation that term lets through, TWIST_MAX (half the
ideal turn's largest local rotation, warpguard.TWIST_MAX, which the `warp_twist` setting alone uses): at that the
tuning photos' turns looked cleanest. The term's weight is the session's own (the setting), so a user's `warp_twist`
still wins.
"""
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from dragcore.errors import DragInputError
from dragcore.field_picture import PICTURES
from dragcore.protocol import warp_of
from latent import LatentError
from latent.align import Alignment, paste_back

FOLLOW = "field"   # the maps follow the warp pathway's field where there is one (else the handles, 'nearest')
RESAMPLE = "nearest"   # ... read along that field by grid_sample's mode (dragcore.noise_follow.RESAMPLES)
# per engine, else "render"; 'field': the reconstruction moved by the pathway's field
PICTURE = {"draggan": "field", "freedrag": "field", "stabledrag": "field"}
# a photo drag's engine settings over the model's presets (`presets`)
SETTINGS = {"draggan": {"warp_twist": 100.0, "warp_reach": 100.0},
            "freedrag": {"warp_twist": 300.0, "warp_reach": 1000.0, "warp_floor": 0.8},
            "stabledrag": {"rows": 0, "warp_guard": 1.0, "warp_twist": 30.0, "warp_reach": 100.0}}
PICTURE_MODE = "bilinear"   # how the field picture reads the reconstruction (dragcore.field_picture.MODES; bicubic
                            # is sharper and lost a face on the tuning photos, docs/benchmarks.md, session 24)
TWIST_MAX = 0.12   # rad: the local rotation a photo drag's twist term lets through (`prepare`; dragcore.warpguard)


def has_warp(G):
    """Whether G draws through a warp pathway (the bundled model's family): what FOLLOW and SETTINGS assume."""
    return warp_of(G) is not None


def presets(model_presets, G):
    """A photo drag's presets on G: the model's ({engine: {setting: value}}, e.g. checkpoints.presets(id)) with
    SETTINGS over them where G has a warp pathway (they were chosen there; rows 0 needs one), as a new mapping of
    the same kind (the model's is not changed)."""
    out = type(model_presets)() if isinstance(model_presets, dict) else {}
    out.update({m: dict(p) for m, p in (model_presets or {}).items()})
    if has_warp(G):
        for m, own in SETTINGS.items():
            out[m] = {**out.get(m, {}), **own}
    return out


def picture(method):
    """What a photo drag by `method` shows: 'field' (the reconstruction moved by the warp pathway's field) or
    'render' (the tuned generator's)."""
    return PICTURE.get(method, "render")


def describe(G, labels):
    """What a user is told a photo drag on G shows, one sentence; labels: {engine: its label} (drags.engines)."""
    if not has_warp(G):
        return "Its fine detail (the noise maps the inversion tuned) moves with every drag."
    field = [label for m, label in labels.items() if picture(m) == "field"]
    render = [label for m, label in labels.items() if picture(m) != "field"]
    verb = lambda names: (", ".join(names[:-1]) + " and " if len(names) > 1 else "") + names[-1] + \
        (" show" if len(names) > 1 else " shows")
    said = [f"{verb(field)} the reconstruction moved by that field"] if field else []
    said += [f"{verb(render)} the tuned generator's own drawing, its fine detail moved along"] if render else []
    return "Each drag moves the face through the model's warp field: " + "; ".join(said) + "."


def follow_mode(G):
    """The noise-follow mode for a drag of an inverted photo on G."""
    return FOLLOW if FOLLOW != "field" or has_warp(G) else "nearest"


def follow_noise(session, start=None):
    """Let an inverted photo's tuned noise maps follow the session's drag; `start`: the maps an earlier drag of
    a chain left (used by the handle-following mode; the field mode derives them from the latent). -> the mode."""
    mode = follow_mode(session.gen.G)
    session.follow_noise(mode=mode, start=None if mode == "field" else start, resample=RESAMPLE)
    return mode


def prepare(session, start=None, follow=True, shows=None):
    """Set a session built from `presets` up as a drag of an inverted photo: its twist term (at the weight the
    session has, an engine whose SETTINGS carry one) lets through TWIST_MAX, with `follow` its tuned noise maps
    follow (`follow_noise`), and it shows `shows` ('render' or 'field'; None: the engine's, `picture`). The engine's
    own field picture needs a warp pathway (else the render); one asked for on a generator without it is a
    DragInputError. -> the follow mode or None."""
    if "warp_twist" in SETTINGS.get(session.method, {}) and session.guard.twist > 0:
        session.guard.limit_twist(session.guard.twist, TWIST_MAX)
    mode = follow_noise(session, start) if follow else None
    if shows not in (None, *PICTURES):
        raise DragInputError(f"picture {shows!r}: choose from {', '.join(PICTURES)}")
    if (shows or _picture(session)) == "field":
        session.field_picture(PICTURE_MODE)
    return mode


def _picture(session):
    """The engine's own picture for this session: PICTURE's, where its generator has the field it needs."""
    return picture(session.method) if has_warp(session.gen.G) else "render"


def shown(session):
    """What `session` shows: 'field' or 'render' (after `prepare`)."""
    return "field" if getattr(session.gen, "picture", None) is not None else "render"


ALIGNMENT, PHOTO, RECONSTRUCTION, RESULT = "alignment.json", "photo.png", "reconstruction.png", "result_in_photo.png"
MAX_BYTES = 64 * 2**20


def read(folder, size):
    """(Alignment, photo array, reconstruction array or None) of an inverted folder, or None when it was not
    aligned (no alignment.json). A malformed file is a DragInputError naming it. size: the model's (w, h)."""
    d = Path(folder)
    if not (d / ALIGNMENT).is_file():
        return None
    where = f"--inverted {folder}"
    try:
        if (d / ALIGNMENT).stat().st_size > 1 << 20:
            raise LatentError("too large")
        alignment = Alignment.from_json((d / ALIGNMENT).read_text())
    except (LatentError, OSError, UnicodeDecodeError) as e:
        raise DragInputError(f"{where}: {ALIGNMENT} is unreadable ({e})") from None
    if tuple(alignment.size) != tuple(size):
        raise DragInputError(f"{where}: {ALIGNMENT} aligns to {alignment.size[0]}x{alignment.size[1]}, the model draws "
                             f"{size[0]}x{size[1]}")
    if not (d / PHOTO).is_file():
        raise DragInputError(f"{where}: {ALIGNMENT} without its {PHOTO} (the photo to paste the result into)")
    try:
        if (d / PHOTO).stat().st_size > MAX_BYTES:
            raise OSError("too large")
        photo = np.asarray(Image.open(d / PHOTO).convert("RGB"))
        ref = np.asarray(Image.open(d / RECONSTRUCTION).convert("RGB")) if (d / RECONSTRUCTION).is_file() else None
    except (OSError, Image.DecompressionBombError, SyntaxError, ValueError) as e:
        raise DragInputError(f"{where}: {PHOTO} or {RECONSTRUCTION} is not a readable image ({type(e).__name__})") from None
    if tuple(photo.shape[1::-1]) != tuple(alignment.photo_size):
        raise DragInputError(f"{where}: {PHOTO} is {photo.shape[1]}x{photo.shape[0]}, {ALIGNMENT} was made on "
                             f"{alignment.photo_size[0]}x{alignment.photo_size[1]}")
    if ref is not None and tuple(ref.shape[1::-1]) != tuple(size):
        ref = None
    return alignment, photo, ref


def write(context, result, folder, out):
    """Paste the dragged image ([h, w, 3] uint8) into the photo -> out/result_in_photo.png; copy the three
    files into out (a continued drag finds them). Returns the names written."""
    alignment, photo, ref = context
    Image.fromarray(paste_back(photo, result, alignment, reference=ref)).save(Path(out) / RESULT)
    names = [RESULT]
    for name in (ALIGNMENT, PHOTO, RECONSTRUCTION):
        src, dst = Path(folder) / name, Path(out) / name
        if src.is_file() and not (dst.exists() and dst.samefile(src)):
            shutil.copyfile(src, dst)
        names.append(name)
    return names
