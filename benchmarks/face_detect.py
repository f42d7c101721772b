"""Face detection rate of a 64 px face generator, measured with a third-party detector (mediapipe).

mediapipe needs numpy<2, so it lives in its own venv and is not a runtime dependency. The script
therefore has two halves:

* `render` (run by the dev interpreter, which has torch): writes N samples, upscaled to 256 px,
  as PNGs. `--model teacher` is the gan-face-generate DCGAN; anything else is a path for
  `stylegan.load`. Sample i uses row i of torch.randn(N, 100) seeded with --seed, so the
  teacher and a distilled student see the same z.
* the default command (run by the mediapipe interpreter): calls `render` through
  --torch-python for each model, then counts images in which mediapipe face detection
  (short-range model, confidence >= 0.5) and face mesh (static image mode) find a face.

    /work/mpvenv/bin/python benchmarks/face_detect.py --model stylegan/pretrained/faces64.safetensors \
        --model teacher --torch-python /work/venv/bin/python
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def render(model, n, seed, out, size=256):
    import torch
    from PIL import Image
    sys.path.insert(0, str(ROOT))
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    z = torch.randn(n, 100, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        if model == "teacher":
            from training.student import load_teacher
            T = load_teacher()
            img = torch.cat([T.main(z[i:i + 50].reshape(-1, 100, 1, 1)) for i in range(0, n, 50)])
        else:
            import stylegan
            G = stylegan.load(model)
            if G.z_dim != 100:
                raise SystemExit(f"{model}: z_dim is {G.z_dim}, the face benchmark samples z_dim 100")
            img = torch.cat([G(z[i:i + 50], noise_mode="const") for i in range(0, n, 50)])
    from stylegan.imageops import to_uint8
    img = to_uint8(img)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(img):
        Image.fromarray(a).resize((size, size), Image.BICUBIC).save(out / f"{i:04d}.png")


def detect(folder):
    """(#images, #with a face by face detection, #with a face mesh)."""
    import mediapipe as mp
    import numpy as np
    from PIL import Image
    files = sorted(Path(folder).glob("*.png"))
    if not files:
        raise SystemExit(f"{folder}: no PNG images")
    n_det = n_mesh = 0
    with mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as fd, \
            mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as fm:
        for f in files:
            rgb = np.asarray(Image.open(f).convert("RGB"))
            n_det += bool(fd.process(rgb).detections)
            n_mesh += bool(fm.process(rgb).multi_face_landmarks)
    return len(files), n_det, n_mesh


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd")
    r = sub.add_parser("render", help="write samples as PNGs (needs torch)")
    r.add_argument("--model", required=True, help="'teacher' or a generator file")
    r.add_argument("--n", type=int, default=100, help="samples (default 100)")
    r.add_argument("--seed", type=int, default=0, help="seed of the samples' latents (default 0)")
    r.add_argument("--out", required=True, help="the folder the PNGs go to")
    p.add_argument("--model", action="append", default=[], help="'teacher' or a generator file; repeatable")
    p.add_argument("--images", action="append", default=[], help="a folder of PNGs to score as is; repeatable")
    p.add_argument("--n", type=int, default=100, help="samples per --model (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples' latents (default 0)")
    p.add_argument("--torch-python", default=os.environ.get("LATENTLAB_PYTHON", sys.executable),
                   help="interpreter with torch for rendering (default: $LATENTLAB_PYTHON or this one)")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--md", help="also write a markdown table here")
    a = p.parse_args(argv)
    if not 1 <= a.n <= 100_000 or not 0 <= a.seed < 2 ** 32:   # the command's own usage line (render's or this)
        (r if a.cmd == "render" else p).error(f"--n must be 1-100000 and --seed 0-{2 ** 32 - 1}, "
                                              f"got {a.n} and {a.seed}")
    if a.cmd == "render":
        return render(a.model, a.n, a.seed, a.out)
    if not a.model and not a.images:
        p.error("give --model and/or --images")
    for m in a.model:
        if m != "teacher" and not Path(m).is_file():
            p.error(f"--model {m}: no such file")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, m in enumerate(a.model):
            d = Path(tmp) / str(i)
            subprocess.run([a.torch_python, str(Path(__file__).resolve()), "render", "--model", m, "--n", str(a.n),
                            "--seed", str(a.seed), "--out", str(d)], check=True, cwd=ROOT)
            results[m] = detect(d)
        for folder in a.images:
            results[folder] = detect(folder)
    print(f"{'model':60s} {'images':>6s} {'face detection':>15s} {'face mesh':>10s}")
    for m, (n, det, mesh) in results.items():
        print(f"{m[-60:]:60s} {n:6d} {det / n:15.0%} {mesh / n:10.0%}")
    if a.json:
        Path(a.json).write_text(json.dumps({m: dict(images=n, face_detection=det, face_mesh=mesh)
                                            for m, (n, det, mesh) in results.items()}, indent=1))
    if a.md:
        names = " ".join(f"--model {m}" for m in a.model)
        lines = [f"Faces found by mediapipe 0.10.14 in {a.n} random samples (seed {a.seed}, upscaled to 256 px).",
                 f"Reproduce: `MP_VENV/bin/python benchmarks/face_detect.py {names} --torch-python .venv/bin/python`",
                 "", "| model | face detection (short range, conf >= 0.5) | face mesh |", "|---|---|---|"]
        lines += [f"| {'DCGAN teacher (gan-face-generate)' if m == 'teacher' else '`' + m + '`'} | {det / n:.0%} | "
                  f"{mesh / n:.0%} |" for m, (n, det, mesh) in results.items()]
        Path(a.md).write_text("\n".join(lines) + "\n")
    return results


if __name__ == "__main__":
    main()
