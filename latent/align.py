"""Face alignment to a model's layout (the FFHQ recipe: landmarks -> similarity transform -> crop),
and the way back: the edited crop pasted into the original photo.

    photo --detect--> face box (+ eye centres) --similarity--> aligned crop (the model's size)
    edited crop --inverse transform--> photo size --feathered face mask--> result in the photo

The detector is OpenCV's Haar cascades (frontal face, eyes), whose weights ship inside the
`opencv-python-headless` wheel the lab already requires: nothing to download, numpy 2 and the
torch pin are fine. A face's box gives the scale and centre; its two eyes, when found and level
enough to be a pair, give the rotation. The target of the transform is the model's `Layout`:
the mean box and eye positions the same detector finds on the model's own samples
(`measure_layout`), so a photo is framed the way the model draws faces.

`Alignment` is the transform: `matrix` (2x3, photo px -> model px), kept as JSON next to an
inversion (`to_json` / `from_json`) so the drag's result can go back into the photo
(`paste_back`). Bad input is one `LatentError` line: no face, a face too small to use; several
faces are not an error (the largest is used, and `note` says so).
"""
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .util import LatentError

DETECTOR = "opencv haarcascade_frontalface_alt2 + haarcascade_eye"
MIN_FACE_FRACTION = 0.5   # a face box smaller than this part of the layout's box (model px) is too small
WORK_SCALE = 4            # the crop is resampled at this multiple of the model's size, then shrunk (anti-aliasing)


@dataclass
class Face:
    box: tuple                 # x, y, w, h in photo pixels
    eyes: tuple = None         # ((x, y), (x, y)) left then right in the image, or None


@dataclass
class Layout:
    """Where the model draws a face, as fractions of its width / height (measured on its samples)."""
    box: tuple                 # x, y, w, h of the detector's face box
    eyes: tuple                # ((x, y), (x, y))
    samples: int = 0           # how many samples the means are over
    detector: str = DETECTOR
    extra: dict = field(default_factory=dict)   # other measured positions (e.g. a landmark judge's means)

    def to_json(self):
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def read(cls, path):
        d = json.loads(Path(path).read_text())
        return cls(box=tuple(d["box"]), eyes=tuple(tuple(e) for e in d["eyes"]), samples=d.get("samples", 0),
                   detector=d.get("detector", DETECTOR), extra=d.get("extra", {}))


@dataclass
class Alignment:
    """The similarity transform of one photo onto the model's layout."""
    matrix: list               # 2x3, photo px -> model px
    photo_size: tuple          # (width, height) of the photo
    size: tuple                # (width, height) of the model's image
    face: tuple = None         # the face box used (photo px)
    eyes: tuple = None         # its eyes (photo px), or None
    faces_found: int = 1
    note: str = ""
    layout: dict = None        # the Layout it aligns to (box, eyes: fractions of the model's size)

    def to_json(self):
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text):
        """From to_json's text; any malformed content is one LatentError (the file may be untrusted)."""
        try:
            d = json.loads(text)
            a = cls(matrix=[[float(v) for v in row] for row in d["matrix"]],
                    photo_size=tuple(int(v) for v in d["photo_size"]), size=tuple(int(v) for v in d["size"]),
                    face=d.get("face"), eyes=d.get("eyes"), faces_found=int(d.get("faces_found", 1)),
                    note=str(d.get("note", "")), layout=d.get("layout"))
            ok = (np.asarray(a.matrix).shape == (2, 3) and np.isfinite(a.matrix).all() and len(a.size) == 2
                  and len(a.photo_size) == 2 and abs(np.linalg.det(np.asarray(a.matrix)[:, :2])) > 1e-9
                  and 0 < min(a.size) and max(a.size) <= 4096 and 0 < min(a.photo_size))
            if a.layout is not None:
                Layout(box=tuple(float(v) for v in a.layout["box"]), eyes=a.layout["eyes"])
        except (ValueError, KeyError, TypeError, IndexError) as e:
            raise LatentError(f"not an alignment ({type(e).__name__}: {e})"[:200]) from None
        if not ok:
            raise LatentError("not an alignment (the matrix must be a finite, invertible 2x3; sizes positive)")
        return a

    def apply(self, points):
        """[[x, y], ...] photo px -> model px."""
        p = np.asarray(points, np.float64).reshape(-1, 2)
        return p @ np.asarray(self.matrix)[:, :2].T + np.asarray(self.matrix)[:, 2]

    def inverse(self):
        """The 2x3 matrix model px -> photo px."""
        import cv2
        return cv2.invertAffineTransform(np.asarray(self.matrix, np.float64))


def _cascade(name):
    import cv2
    c = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / name))
    if c.empty():
        raise LatentError(f"OpenCV's {name} did not load (is opencv-python-headless installed intact?)")
    return c


def _eye_pair(candidates, box):
    """The two eye detections that look like a pair (one each side of the box's middle, about level,
    a plausible distance apart), or None."""
    x, y, w, h = box
    best, best_score = None, None
    for i, a in enumerate(candidates):
        for b in candidates[i + 1:]:
            left, right = sorted((a, b))
            dx, dy = right[0] - left[0], right[1] - left[1]
            if not (left[0] < x + w / 2 < right[0] and 0.25 * w < dx < 0.7 * w and abs(dy) < 0.35 * dx):
                continue
            score = abs(dy) + abs((left[0] + right[0]) / 2 - (x + w / 2))   # level and centred
            if best_score is None or score < best_score:
                best, best_score = (tuple(left), tuple(right)), score
    return best


REFINE_BOX = 128   # the second look: each face re-detected in a crop where its box is this many px wide


def _faces(gray, min_size, cascade):
    return [tuple(float(v) for v in f) for f in cascade.detectMultiScale(gray, 1.05, 5, minSize=(min_size,) * 2)]


def _refine(gray, box, face_cascade, eye_cascade):
    """A face's box and eye pair, detected again in a crop around it resized so that its box is REFINE_BOX
    px wide: the same face gives the same answer at any size it has in the photo."""
    import cv2
    x, y, w, h = box
    k = REFINE_BOX / w
    cx, cy = x + w / 2, y + h / 2   # the crop (twice the box) is centred here
    M = np.array([[k, 0, REFINE_BOX - k * cx], [0, k, REFINE_BOX - k * cy]])
    side = 2 * REFINE_BOX
    crop = cv2.warpAffine(gray, M, (side, side), flags=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    found = _faces(crop, REFINE_BOX // 2, face_cascade)
    if found:   # the detection nearest the crop's centre
        bx, by, bw, bh = min(found, key=lambda f: abs(f[0] + f[2] / 2 - REFINE_BOX) + abs(f[1] + f[3] / 2 - REFINE_BOX))
        if abs(bx + bw / 2 - REFINE_BOX) < REFINE_BOX / 2 and abs(by + bh / 2 - REFINE_BOX) < REFINE_BOX / 2:
            cx, cy = (bx + bw / 2 - REFINE_BOX) / k + cx, (by + bh / 2 - REFINE_BOX) / k + cy
            w = h = bw / k
            M = np.array([[k, 0, REFINE_BOX - k * cx], [0, k, REFINE_BOX - k * cy]])
            crop = cv2.warpAffine(gray, M, (side, side), flags=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    kw = REFINE_BOX * w * k / REFINE_BOX   # the box's width in the crop
    top = REFINE_BOX - kw / 2
    roi = crop[int(top):int(top + 0.62 * kw), int(top):int(top + kw)]   # eyes sit in the upper part of the box
    cands = [(top + ex + ew / 2, top + ey + eh / 2) for ex, ey, ew, eh in
             eye_cascade.detectMultiScale(roi, 1.05, 3, minSize=(int(kw // 9),) * 2, maxSize=(int(kw // 3),) * 2)]
    pair = _eye_pair(cands, (top, top, kw, kw))
    box = (cx - w / 2, cy - h / 2, w, h)
    if pair is not None:
        pair = tuple(((ex - REFINE_BOX) / k + cx, (ey - REFINE_BOX) / k + cy) for ex, ey in pair)
    return Face(box=box, eyes=pair)


FIRST_LOOK, SECOND_LOOK = 1024, 2048   # px: the longer side of the photo's first look, and of the second
THIRD_LOOK = 4096   # px: the longer side of the third look (a larger photo is shrunk to it), read tile by tile
TILE, OVERLAP = 2048, 256   # the third look's tiles and their overlap (a face under OVERLAP px lies whole in one)


def _same_face(a, b):
    """Two boxes of one face (the third look's tiles overlap): each centre inside the other's middle half."""
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    dx, dy = abs(ax + aw / 2 - bx - bw / 2), abs(ay + ah / 2 - by - bh / 2)
    return dx < min(aw, bw) / 4 and dy < min(ah, bh) / 4


def _tiled(gray, window, cascade):
    """Boxes found tile by tile (TILE px squares overlapping by OVERLAP), one box per face."""
    H, W = gray.shape
    found = []
    for y0 in range(0, max(H - OVERLAP, 1), TILE - OVERLAP):
        for x0 in range(0, max(W - OVERLAP, 1), TILE - OVERLAP):
            for x, y, w, h in _faces(gray[y0:y0 + TILE, x0:x0 + TILE], window, cascade):
                box = (x + x0, y + y0, w, h)
                same = [f for f in found if _same_face(f, box)]
                if not same:
                    found.append(box)
                elif box[2] > same[0][2]:
                    found[found.index(same[0])] = box
    return found


def detect_faces(rgb, min_size=20):
    """Faces in an [H, W, 3] uint8 RGB array, largest first, each with its eye pair when found. The first look:
    the photo's grey levels equalised over the whole photo, shrunk to at most FIRST_LOOK px (the cascades are
    slow on more). When it finds nothing, a second look: equalised locally (CLAHE), at up to SECOND_LOOK px.
    A person not close to the camera has a face that the first look shrinks under the detector's 20 px window,
    or whose contrast a plain background's histogram flattens. A look whose boxes have no eye pair goes on
    to the next when that one sees the photo at a finer scale: a large photo of a textured scene (fabric, foliage)
    gives the first look's shrunk picture large boxes with no eyes, which would hide a small real face that a finer
    look finds (with no face found with eyes, the first look's boxes are the answer). A photo the first look sees
    whole (up to FIRST_LOOK px) keeps the first look's answer, as before. When a photo larger than SECOND_LOOK px still
    shows none, a third look at up to THIRD_LOOK px, tile by tile (a face of 25-60 px in a 6000 px photo: the
    second look shrinks it under the window; its cost: docs/benchmarks.md, "A far face in a large photo")."""
    import cv2
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    face_cascade, eye_cascade = _cascade("haarcascade_frontalface_alt2.xml"), _cascade("haarcascade_eye.xml")
    clahe = cv2.createCLAHE(2.0, (8, 8)).apply
    looks = [(FIRST_LOOK, cv2.equalizeHist, False), (SECOND_LOOK, clahe, False)]
    if max(grey.shape) > SECOND_LOOK:
        looks.append((THIRD_LOOK, clahe, True))
    shrinks = [max(1.0, max(grey.shape) / side) for side, _, _ in looks]
    first = []   # the first look that found boxes, none with eyes: the answer if no finer look finds a face with eyes
    for i, (side, equalise, tiled) in enumerate(looks):
        gray = equalise(grey)
        shrink = shrinks[i]
        window = max(12, int(min_size / shrink))
        if min(gray.shape) / shrink < window:   # a sliver of a photo: no face of the detector's window fits in it
            continue
        small = cv2.resize(gray, None, fx=1 / shrink, fy=1 / shrink, interpolation=cv2.INTER_AREA) if shrink > 1 \
            else gray
        found = [tuple(v * shrink for v in f) for f in (_tiled if tiled else _faces)(small, window, face_cascade)]
        faces = sorted((_refine(gray, f, face_cascade, eye_cascade) for f in found), key=lambda f: -f.box[2] * f.box[3])
        if any(f.eyes is not None for f in faces):
            return faces
        if faces and not any(k < shrink for k in shrinks[i + 1:]):   # eyeless boxes, and no finer look to come
            return first or faces
        first = first or faces
    return first


def _similarity(face, layout, size):
    """2x3 photo -> model px: the face box's centre and size onto the layout's, rotated so the eyes are
    as level as the layout's (when the face's eye pair was found)."""
    W, H = size
    x, y, w, h = face.box
    lx, ly, lw, lh = layout.box
    scale = (lw * W + lh * H) / (w + h)
    angle = 0.0
    if face.eyes is not None:
        (ax, ay), (bx, by) = face.eyes
        (pax, pay), (pbx, pby) = layout.eyes
        angle = np.arctan2(by - ay, bx - ax) - np.arctan2((pby - pay) * H, (pbx - pax) * W)
    c, s = np.cos(-angle) * scale, np.sin(-angle) * scale
    A = np.array([[c, -s], [s, c]])
    src = np.array([x + w / 2, y + h / 2])
    dst = np.array([(lx + lw / 2) * W, (ly + lh / 2) * H])
    return np.concatenate([A, (dst - A @ src)[:, None]], 1)


def warp(rgb, matrix, size, border="reflect"):
    """The [H, W, 3] uint8 image of `rgb` seen through `matrix` (2x3, source px -> destination px) at
    `size` (width, height), resampled at WORK_SCALE x and shrunk (no aliasing when it minifies)."""
    import cv2
    W, H = size
    M = np.asarray(matrix, np.float64)
    k = float(np.sqrt(abs(np.linalg.det(M[:, :2])))) * WORK_SCALE   # source px -> work px
    src = np.ascontiguousarray(rgb)
    if k < 0.5:   # minify the source first, to about twice the work scale
        f = 2 * k
        src = cv2.resize(src, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        M = M @ np.diag([1 / f, 1 / f, 1.0])
    S = np.diag([WORK_SCALE, WORK_SCALE, 1.0])[:2]
    M = S @ np.vstack([M, [0, 0, 1]])
    mode = cv2.BORDER_REFLECT_101 if border == "reflect" else cv2.BORDER_CONSTANT
    big = cv2.warpAffine(src, M, (W * WORK_SCALE, H * WORK_SCALE), flags=cv2.INTER_CUBIC, borderMode=mode)
    return cv2.resize(big, (W, H), interpolation=cv2.INTER_AREA)


# What a user can do about a photo the aligner cannot use as it is: the command line's flags (`python -m latent
# invert`), the app's upload (ui.tab_invert). `align(..., advice=...)` takes one of these.
ADVICE_CLI = dict(none="or pass --crop X0 Y0 X1 Y1 around it, or --no-align to centre-crop",
                  other="pass --crop X0 Y0 X1 Y1 to choose another")
ADVICE_APP = dict(none="or crop the photo around the face and upload it again",
                  other="crop the photo around another face and upload it to use that one")


def align(rgb, layout, size, box=None, advice=ADVICE_CLI):
    """An [H, W, 3] uint8 photo -> (aligned [size] uint8 array, Alignment). `box` (x0, y0, x1, y1): look
    for the face only there. One LatentError line when there is no usable face, ending with `advice`."""
    rgb = np.asarray(rgb)
    region, (ox, oy) = rgb, (0, 0)
    if box is not None:
        x0, y0, x1, y1 = box
        if not (0 <= x0 < x1 <= rgb.shape[1] and 0 <= y0 < y1 <= rgb.shape[0]):
            raise LatentError(f"crop box {tuple(box)} is outside the {rgb.shape[1]}x{rgb.shape[0]} image")
        region, (ox, oy) = rgb[y0:y1, x0:x1], (x0, y0)
    W, H = size
    min_face = max(16, MIN_FACE_FRACTION * (layout.box[2] * W + layout.box[3] * H) / 2)
    faces = detect_faces(region, min_size=12)
    where = " in the crop box" if box is not None else ""
    if not faces:
        raise LatentError(f"no face found{where} (a frontal face, both eyes visible; {advice['none']})")
    # a face whose eyes were found, of a usable size, before a larger one whose eyes were not
    face = next((f for f in faces if f.eyes is not None and f.box[2] >= min_face), faces[0])
    face.box = (face.box[0] + ox, face.box[1] + oy, face.box[2], face.box[3])
    if face.eyes is not None:
        face.eyes = tuple((ex + ox, ey + oy) for ex, ey in face.eyes)
    if face.box[2] < min_face:
        raise LatentError(f"the face is too small to use: {face.box[2]:.0f} px wide, at least {min_face:.0f} px "
                          f"are needed for this {W}x{H} model")
    notes = []
    if len(faces) > 1:
        x, y, w, h = (round(v) for v in face.box)
        which = "the largest" if face is faces[0] else "the largest whose eyes were found"
        notes.append(f"{len(faces)} faces found{where}; using {which} (x {x}, y {y}, {w}x{h} px): {advice['other']}")
    if face.eyes is None:   # the detector's box alone: on a photo with no face it can be anything
        notes.append("no eye pair was found in the face: it is placed by its box alone (look at the aligned picture: "
                     "if it shows no face, the photo has none the model can use)")
    note = "; ".join(notes)
    M = _similarity(face, layout, size)
    a = Alignment(matrix=M.tolist(), photo_size=(rgb.shape[1], rgb.shape[0]), size=(W, H), face=tuple(face.box),
                  eyes=face.eyes, faces_found=len(faces), note=note, layout=dict(box=layout.box, eyes=layout.eyes))
    return warp(rgb, M, size), a


def face_mask(size, layout, feather=0.12):
    """[H, W] float mask in [0, 1] in model px: an ellipse around the layout's face box, feathered by
    `feather` of the image size."""
    import cv2
    W, H = size
    x, y, w, h = layout.box
    ys, xs = np.mgrid[0:H * WORK_SCALE, 0:W * WORK_SCALE] / WORK_SCALE + 0.5 / WORK_SCALE
    cx, cy, rx, ry = (x + w / 2) * W, (y + h * 0.55) * H, 0.62 * w * W, 0.7 * h * H
    d = np.sqrt(((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2)
    m = np.clip((1.0 - d) / feather * min(rx, ry) / max(W, H) * 4, 0, 1)
    m = cv2.GaussianBlur(m.astype(np.float32), (0, 0), feather * W * WORK_SCALE / 3)
    return cv2.resize(m, (W, H), interpolation=cv2.INTER_AREA)


def paste_back(photo, edited, alignment, reference=None, layout=None):
    """The edited model-size crop ([h, w, 3] uint8) back in the photo ([H, W, 3] uint8): warped through
    the inverse transform and blended with a feathered face mask. With `reference` (the crop before the
    edit, e.g. the reconstruction), only what the edit changed replaces the photo: the mask is also
    feathered around the changed pixels, so the photo's own detail stays wherever nothing moved.
    `layout`: the face layout of the mask (default: the one the alignment recorded)."""
    import cv2
    photo = np.asarray(photo)
    if layout is None:
        if alignment.layout is None:
            raise LatentError("the alignment records no layout: pass the model's")
        layout = Layout(box=tuple(alignment.layout["box"]), eyes=tuple(alignment.layout["eyes"]))
    if tuple(photo.shape[1::-1]) != tuple(alignment.photo_size):
        raise LatentError(f"the photo is {photo.shape[1]}x{photo.shape[0]}, the alignment was made on "
                          f"{alignment.photo_size[0]}x{alignment.photo_size[1]}")
    W, H = alignment.size
    if tuple(np.asarray(edited).shape[:2]) != (H, W):
        raise LatentError(f"the edited image is {edited.shape[1]}x{edited.shape[0]}, the alignment's is {W}x{H}")
    mask = face_mask((W, H), layout)
    if reference is not None:
        diff = np.abs(np.asarray(edited, np.float32) - np.asarray(reference, np.float32)).max(-1)
        changed = cv2.GaussianBlur(np.clip(diff / 6.0, 0, 1), (0, 0), W / 64 * 1.5)
        changed = cv2.dilate(changed, np.ones((3, 3), np.uint8))
        changed = cv2.GaussianBlur(np.clip(changed * 3, 0, 1), (0, 0), W / 64 * 2)
        mask = mask * changed
    inv = np.vstack([alignment.inverse(), [0, 0, 1]])
    up = np.diag([1 / WORK_SCALE, 1 / WORK_SCALE, 1.0])   # work px -> model px
    M = (inv @ up)[:2]
    pw, ph = photo.shape[1], photo.shape[0]
    big = cv2.resize(np.asarray(edited), (W * WORK_SCALE, H * WORK_SCALE), interpolation=cv2.INTER_CUBIC)
    back = cv2.warpAffine(big, M, (pw, ph), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    m = cv2.resize(mask, (W * WORK_SCALE, H * WORK_SCALE), interpolation=cv2.INTER_LINEAR)
    m = cv2.warpAffine(m, M, (pw, ph), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
    out = photo.astype(np.float32) * (1 - m) + back.astype(np.float32) * m
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def measure_layout(images):
    """Layout from the model's own samples ([N, H, W, 3] uint8): the mean detected face box and eye pair,
    as fractions of the image, over the samples where one face (and, for the eyes, its pair) was found;
    the samples are upscaled 4x first (the cascades need ~24 px eyes)."""
    import cv2
    boxes, eyes = [], []
    for a in images:
        h, w = a.shape[:2]
        big = cv2.resize(np.asarray(a), (w * 4, h * 4), interpolation=cv2.INTER_CUBIC)
        faces = detect_faces(big)
        if len(faces) != 1:
            continue
        x, y, bw, bh = faces[0].box
        boxes.append((x / (4 * w), y / (4 * h), bw / (4 * w), bh / (4 * h)))
        if faces[0].eyes is not None:
            eyes.append([(ex / (4 * w), ey / (4 * h)) for ex, ey in faces[0].eyes])
    if len(boxes) < 5 or len(eyes) < 5:
        raise LatentError(f"the detector found a face on {len(boxes)} and an eye pair on {len(eyes)} samples: "
                          f"too few to measure the layout (is this a face model?)")
    b, e = np.mean(boxes, 0), np.mean(eyes, 0)
    return Layout(box=tuple(round(float(v), 4) for v in b), eyes=tuple(tuple(round(float(v), 4) for v in p) for p in e),
                  samples=len(boxes), extra=dict(eye_pairs=len(eyes)))
