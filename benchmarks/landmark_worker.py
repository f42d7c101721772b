"""mediapipe face-mesh worker: landmarks of every PNG in a folder, as JSON on stdout or a file.

Runs in the mediapipe venv (mediapipe 0.10.14 needs numpy<2, so it is not a dependency of the
lab); `benchmarks/landmarks.py` calls it through a subprocess. Output: {file name: [[x, y], ...]
(478 points incl. irises, normalised to [0, 1]) or null when no face was found}.
`--margins`: instead {file name: margin}, the highest face-detection threshold (a grid of 1/40) at which the
same face mesh still finds the face, 0 when it never does: a face is kept at the benchmarks' 0.5 exactly when
its margin is >= 0.5, so the margin says how near a kept face is to being lost.

    /path/to/mp-venv/bin/python benchmarks/landmark_worker.py DIR [--json OUT] [--margins]
"""
import argparse
import json
import sys
from pathlib import Path


def detect(folder):
    import mediapipe as mp
    import numpy as np
    from PIL import Image
    files = sorted(Path(folder).glob("*.png"))
    out = {}
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True,
                                         min_detection_confidence=0.5) as fm:
        for f in files:
            res = fm.process(np.asarray(Image.open(f).convert("RGB")))
            lms = res.multi_face_landmarks
            out[f.name] = None if not lms else [[p.x, p.y] for p in lms[0].landmark]
    return out


GRID = 40   # margins: detection thresholds k / GRID


def margins(folder):
    """{file name: margin} (see the module's docstring), by bisection over the threshold grid (the answer taken as
    monotone in the threshold, as a detector's score is)."""
    import mediapipe as mp
    import numpy as np
    from PIL import Image
    meshes = {}

    def found(img, k):
        if k not in meshes:
            meshes[k] = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True,
                                                        min_detection_confidence=k / GRID)
        return bool(meshes[k].process(img).multi_face_landmarks)

    out = {}
    try:
        for f in sorted(Path(folder).glob("*.png")):
            img = np.asarray(Image.open(f).convert("RGB"))
            lo, hi = 0, GRID   # found at lo / GRID (0: none asked yet), not found at hi / GRID
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if found(img, mid) else (lo, mid)
            out[f.name] = lo / GRID
    finally:
        for m in meshes.values():
            m.close()
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", help="a folder of PNGs")
    p.add_argument("--json", help="write the result here (default: print it)")
    p.add_argument("--margins", action="store_true", help="each face's detection margin instead of its landmarks")
    a = p.parse_args(argv)
    if not Path(a.folder).is_dir():
        raise SystemExit(f"{a.folder}: not a folder")
    result = json.dumps(margins(a.folder) if a.margins else detect(a.folder))
    if a.json:
        Path(a.json).write_text(result)
    else:
        sys.stdout.write(result)


if __name__ == "__main__":
    main()
