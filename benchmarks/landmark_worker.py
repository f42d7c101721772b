"""mediapipe face-mesh worker: landmarks of every PNG in a folder, as JSON on stdout or a file.

Runs in the mediapipe venv (mediapipe 0.10.14 needs numpy<2, so it is not a dependency of the
lab); `benchmarks/landmarks.py` calls it through a subprocess. Output: {file name: [[x, y], ...]
(478 points incl. irises, normalised to [0, 1]) or null when no face was found}.

    /path/to/mp-venv/bin/python benchmarks/landmark_worker.py DIR [--json OUT]
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("--json")
    a = p.parse_args(argv)
    if not Path(a.folder).is_dir():
        raise SystemExit(f"{a.folder}: not a folder")
    result = json.dumps(detect(a.folder))
    if a.json:
        Path(a.json).write_text(result)
    else:
        sys.stdout.write(result)


if __name__ == "__main__":
    main()
