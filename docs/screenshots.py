"""Regenerate the app screenshots the README shows, from the real app.

    python -m docs.screenshots [--out docs/app] [--width 1280 --height 800]

Starts `python app.py` on the bundled offline model on a free port, drives Debian's chromium headless
through Playwright in a 1280x800 window as a user would (a handle and its target clicked on the
image, then *Compare all* with the model's presets), and writes into --out:

    drag_points.png    the first screen, with a handle (red) and its target (blue)
    drag_compare.png   after Compare all, scrolled to the drag buttons: status, the results, the table
    drag_results.png   the whole page after Compare all: every engine's result, the status and the table
    photo_drag.png     the shipped astronaut photo (public domain) inverted by `python -m latent invert`,
                       its nose turned by `python -m draggan` and `python -m freedrag --inverted`: the
                       photo, the aligned face, its reconstruction, each method's result and each back in
                       the photo, side by side (`--only photo` makes this one alone, without a browser)

Needs the test requirements (playwright) and chromium (`apt-get install chromium`). Nothing is
written unless every step worked; a failure is one line on stderr and exit code 1.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import limits
from benchmarks.app_process import CHROMIUM, AppProcess

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
MODEL = "faces-64-offline"   # the bundled model, by its registry id (as a new user sees it)
NAMES = ("drag_points.png", "drag_compare.png", "drag_results.png")
# the opening face's nose tip, turned res/10 to the right (the poster's turn): fractions of the picture itself
HANDLE, TARGET = (0.51, 0.69), (0.61, 0.69)


def _click(page, image, where):
    """Click at `where`, fractions of the square picture, which the page fits inside the element's box."""
    image.scroll_into_view_if_needed()   # mouse clicks land only inside the viewport
    box = image.bounding_box()
    side = min(box["width"], box["height"])
    x0, y0 = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    page.mouse.click(x0 + where[0] * side, y0 + where[1] * side)


def capture(url, out, width, height, timeout_s=240):
    """Drive the app at `url` and write NAMES into the folder `out`."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout, sync_playwright
    ms = timeout_s * 1000
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url)
            image = page.locator("#drag-image img").first
            image.wait_for(state="visible", timeout=ms)
            page.wait_for_timeout(1000)
            _click(page, image, HANDLE)
            page.get_by_text("click the target").first.wait_for(timeout=ms)
            # the image is replaced by one with the handle drawn; a click that lands while Gradio swaps
            # it is dropped, so click again only while the app still asks for the target
            for attempt in range(3):
                page.wait_for_timeout(1500)
                _click(page, page.locator("#drag-image img").first, TARGET)
                try:
                    page.get_by_text("→ (").first.wait_for(timeout=30_000)
                    break
                except PlaywrightTimeout:
                    if attempt == 2 or not page.get_by_text("click the target").count():
                        raise
            page.wait_for_timeout(1000)   # the image with both points drawn
            page.mouse.move(0, 0)
            page.screenshot(path=str(out / NAMES[0]))
            page.locator("#btn-compare").click()
            page.get_by_text("done.").first.wait_for(timeout=ms)
            for panel in ("#out-draggan img", "#out-freedrag img", "#out-stabledrag img"):
                page.locator(panel).first.wait_for(state="visible", timeout=ms)
            page.wait_for_timeout(1500)   # the table and the last frames settle
            top = page.locator("#btn-compare").bounding_box()["y"]
            page.evaluate(f"window.scrollTo(0, {max(0, top - 16)} + window.scrollY)")
            page.wait_for_timeout(300)
            page.screenshot(path=str(out / NAMES[1]))
            page.screenshot(path=str(out / NAMES[2]), full_page=True)
        finally:
            browser.close()


PHOTO = ROOT / "ui" / "examples" / "astronaut.jpg"
TURN = (0.49, 0.66, 0.10)   # the nose (fractions of the aligned face, below the layout's eyes) and the turn


def photo_figure(out, scale=4):
    """photo_drag.png in `out`: the astronaut inverted, its nose turned by both methods, back in the photo."""
    from PIL import Image, ImageDraw
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    run = lambda *a: subprocess.run([sys.executable, "-m", *a], cwd=ROOT, env=env, check=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with tempfile.TemporaryDirectory() as tmp:
        inv = Path(tmp) / "inv"
        run("latent", "invert", str(PHOTO), "--model", MODEL, "--out", str(inv))
        res = Image.open(inv / "aligned.png").width
        x, y, turn = TURN[0] * res, TURN[1] * res, TURN[2] * res
        point = f"{x:.1f},{y:.1f},{x + turn:.1f},{y:.1f}"
        for method in ("draggan", "freedrag"):
            run(method, "--inverted", str(inv), "--point", point, "--out", str(Path(tmp) / method))
        big = lambda p: Image.open(p).convert("RGB").resize((res * scale, res * scale), Image.LANCZOS)
        photo = Image.open(inv / "photo.png").convert("RGB")
        side = res * scale
        fit = lambda im: im.resize((round(im.width * side / im.height), side), Image.LANCZOS)
        tiles = [("photo", fit(photo)), ("aligned", big(inv / "aligned.png")),
                 ("reconstruction", big(inv / "reconstruction.png"))]
        fx, fy, fw, fh = json.loads((inv / "alignment.json").read_text())["face"]
        m = 0.8 * max(fw, fh)   # the photo around the face, so the edit shows at this size
        pw, ph = photo.size   # a square around the face, slid inside the photo
        half = min(max(fw, fh) / 2 + m, pw / 2, ph / 2)
        cx, cy = min(max(fx + fw / 2, half), pw - half), min(max(fy + fh / 2, half), ph - half)
        box = tuple(round(v) for v in (cx - half, cy - half, cx + half, cy + half))
        near = lambda p: Image.open(p).convert("RGB").crop(box).resize((side, side), Image.LANCZOS)
        tiles.insert(1, ("photo, around the face", near(inv / "photo.png")))
        for method, name in (("draggan", "DragGAN"), ("freedrag", "FreeDrag")):
            tiles += [(name, big(Path(tmp) / method / "result.png")),
                      (f"{name}, in the photo", near(Path(tmp) / method / "result_in_photo.png"))]
        width = sum(t.width for _, t in tiles) + 8 * (len(tiles) - 1)
        sheet = Image.new("RGB", (width, side + 22), "white")
        draw, left = ImageDraw.Draw(sheet), 0
        for label, t in tiles:
            sheet.paste(t, (left, 22))
            draw.text((left + 4, 5), label, fill=(0, 0, 0))
            left += t.width + 8
        out.mkdir(parents=True, exist_ok=True)
        sheet.save(out / "photo_drag.png")
    return out / "photo_drag.png"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m docs.screenshots", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "app"), help="folder for the PNGs (default docs/app)")
    ap.add_argument("--width", type=int, default=1280, help="browser window width in px (default 1280)")
    ap.add_argument("--height", type=int, default=800, help="browser window height in px (default 800)")
    ap.add_argument("--only", choices=["app", "photo"], default=None,
                    help="only the app's screenshots (browser) or only photo_drag.png (no browser)")
    args = ap.parse_args(argv)
    if not (320 <= args.width <= 7680 and 240 <= args.height <= 4320):   # a browser window, before any work
        ap.error(f"--width must be 320-7680 and --height 240-4320 px, got {args.width} and {args.height}")
    try:
        limits.check_out_dir(args.out)
    except limits.LimitError as e:
        ap.error(str(e))
    if args.only != "app":
        try:
            print(photo_figure(Path(args.out)))
        except subprocess.CalledProcessError as e:
            print(f"error: {' '.join(e.cmd[2:4])} failed: {' '.join(e.stderr.decode(errors='replace').split())[-300:]}",
                  file=sys.stderr)
            return 1
        if args.only == "photo":
            return 0
    if not os.path.exists(CHROMIUM):
        print("error: needs Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 1
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("error: needs playwright (pip install -r requirements-test.txt)", file=sys.stderr)
        return 1
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:   # written only when every step worked
        try:
            app = AppProcess(model=MODEL, threads=None)   # a new user's start: the registry id, all cores
        except RuntimeError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        try:
            capture(app.url, Path(tmp), args.width, args.height)
        except Exception as e:   # Playwright's timeouts and errors: one line, no half-written folder
            print(f"error: the browser run failed: {' '.join(str(e).split())[:300]}", file=sys.stderr)
            return 1
        finally:
            app.close()
        out.mkdir(parents=True, exist_ok=True)
        for name in NAMES:
            shutil.copyfile(Path(tmp) / name, out / name)
            print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
