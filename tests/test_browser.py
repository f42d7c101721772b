"""A real browser (Debian's chromium driven by Playwright) on a 1280x800 screen: click a handle and a
target on the image, press "Drag with FreeDrag" and see the result appear and differ, then a second
drag that starts from the first's result, a results table whose key columns are visible without
scrolling sideways, Reset image, and the Model dropdown going back to the model shown after a model
fails to load; the three engines side by side; a one-point edit timed; and the photo flow (Inversion
tab, Drag this photo, a drag, Back in the photo); the Latent space tab drawing its panels when first opened."""
import contextlib
import io
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.integration   # a real browser on the launched app

from benchmarks.app_process import CHROMIUM  # noqa: E402
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _require_browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("LATENTLAB_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is required (LATENTLAB_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if os.environ.get("LATENTLAB_REQUIRE_BROWSER") == "1":
            pytest.fail("playwright is required but not installed")
        pytest.skip("playwright is not installed")


def _wait_ready(page):
    """The page shows its first image at once; it can be clicked once its first New image has run."""
    from ui.drag_image import HINT
    page.get_by_text(HINT, exact=True).first.wait_for(timeout=60_000)


@pytest.fixture(scope="module")
def server(shared_app):
    """One app for the module's tests (conftest's shared_app): each test is a browser session of its own
    (its own drag chain)."""
    _require_browser()
    return shared_app


@contextlib.contextmanager
def browser_page(server, width, height):
    """A headless chromium page of width x height on the app, until its drag image is shown and ready."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(server.url)
            page.locator("#drag-image img").first.wait_for(state="visible", timeout=60_000)
            _wait_ready(page)
            yield page
        finally:
            browser.close()


def _click_pair(page, handle, target):
    """Click a handle and its target (fractions of the displayed image), as benchmarks.profile_edit does."""
    from benchmarks.profile_edit import click_pair
    pairs = page.get_by_text("→ (").count()
    click_pair(page, handle, target)
    assert page.get_by_text("→ (").count() >= min(pairs, 1)


def _drag(page, button, max_steps, n):
    """Set Max steps, press a drag button and wait until drag n of the chain is done and shown."""
    page.get_by_label("Max steps").fill(str(max_steps))
    page.locator(button).click()
    status = page.locator("#drag-status")
    status.get_by_text(f"Drag {n} of the chain").wait_for(timeout=120_000)
    status.get_by_text("done.").wait_for(timeout=120_000)
    page.get_by_text(f"result of drag {n}").first.wait_for(timeout=60_000)   # the image to click is the result
    page.wait_for_timeout(1500)
    return status.inner_text()


def _shot(page, selector, path):
    """The element as the user sees it once it has settled: no longer marked pending by Gradio (a pending
    block flashes between half and full opacity every 0.5 s), its picture loaded, then two screenshots 0.3 s
    apart that agree."""
    block = selector.split()[0]
    page.wait_for_function(f"() => !document.querySelector('{block}.pending, {block} .pending')", timeout=60_000)
    # and the picture itself loaded (a new src shows the empty block until its file arrives)
    page.wait_for_function("(s) => { const i = document.querySelector(s); return !i || i.tagName !== 'IMG' || "
                           "(i.complete && i.naturalWidth > 0); }", arg=selector, timeout=60_000)
    before = None
    for _ in range(40):
        page.locator(selector).first.screenshot(path=str(path))
        now = Path(path).read_bytes()
        if now == before:
            break
        before = now
        page.wait_for_timeout(300)
    return np.asarray(Image.open(path).convert("L").resize((64, 64), Image.BOX), float)


def test_successive_drags_and_a_table_that_fits_1280x800(server, tmp_path):
    with browser_page(server, 1280, 800) as page:
        page.wait_for_timeout(1000)
        page.screenshot(path=str(tmp_path / "first_screen.png"))
        seed = _shot(page, "#drag-image img", tmp_path / "seed.png")
        page.get_by_text("Shared settings").click()
        _click_pair(page, (0.40, 0.5), (0.60, 0.5))
        status1 = _drag(page, "#btn-freedrag", 15, 1)
        first = _shot(page, "#drag-image img", tmp_path / "drag1.png")
        # the results table: its key columns on screen, nothing to scroll sideways
        table = page.locator("#results-table")
        table.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "results_table.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        right = table.bounding_box()["x"] + table.bounding_box()["width"]
        for name in ("method", "reached", "content moved", "colour cast", "far-field change", "steps", "seconds"):
            box = table.locator("th").filter(has_text=name).first.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= min(right, 1280) + 1, name
        assert page.evaluate("""() => [...document.querySelectorAll('#results-table *')].every(
            e => e.scrollWidth <= e.clientWidth + 1 || getComputedStyle(e).overflowX === 'visible')""")
        # drag 2: new points on drag 1's result, a few steps
        page.get_by_text("Clear points").click()
        page.get_by_text("Points cleared.").wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        _click_pair(page, (0.5, 0.30), (0.5, 0.42))
        status2 = _drag(page, "#btn-freedrag", 3, 2)
        second = _shot(page, "#drag-image img", tmp_path / "drag2.png")
        page.screenshot(path=str(tmp_path / "after_two_drags.png"), full_page=True)
        # Reset image: the seed's image again
        page.locator("#btn-reset").click()
        page.get_by_text("the chain is empty").wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        reset = _shot(page, "#drag-image img", tmp_path / "reset.png")
        # a model that cannot be loaded (no Hub): a warning, and the dropdown goes back to the model shown
        model = page.get_by_label("Model").first
        shown_model = model.input_value()
        model.click()
        page.get_by_role("option", name="Horses (self-distilled 256)").first.click()
        page.get_by_text("New image").first.click()
        page.get_by_text("horses-256").first.wait_for(timeout=90_000)
        t = time.monotonic()   # the dropdown goes back in an event of its own after the warning: a busy machine
        while (back := model.input_value()) != shown_model and time.monotonic() - t < 30:   # takes seconds
            page.wait_for_timeout(250)
    d1, d21, d2s = (np.abs(a - b).mean() for a, b in ((first, seed), (second, first), (second, seed)))
    print(f"mean |gray| change: drag 1 vs seed {d1:.2f}, drag 2 vs drag 1 {d21:.2f}, drag 2 vs seed {d2s:.2f}")
    assert "FreeDrag from the start image" in status1
    assert "FreeDrag from the result of drag 1" in status2
    assert np.abs(first - seed).mean() > 1.0      # drag 1 changed the image
    # a 3-step drag 2 stays close to its start: drag 1's result, not the seed's image
    assert np.abs(second - first).mean() < 0.5 * np.abs(second - seed).mean()
    assert np.abs(reset - seed).mean() < 0.2
    assert back == shown_model and "faces64.safetensors" in back and "/" not in back
    keep = os.environ.get("LATENTLAB_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in ("first_screen.png", "results_table.png", "after_two_drags.png"):
            shutil.copy(tmp_path / name, Path(keep) / name)


def test_three_engines_fit_a_1280x800_screen_and_a_one_point_edit_is_timed(server, record_property):
    """One result panel and one drag button per engine (and Compare all, Stop) side by side on a 1280x800
    screen: the panels share a row, nothing needs sideways scrolling. Then a 1-point DragGAN edit timed as a
    user sees it: the seconds from the click on "Drag with DragGAN" to the final image on screen (measured in
    the page, as benchmarks.profile_edit does) are printed and recorded (the test's `edit_seconds` property,
    and LATENTLAB_TIMING_DIR/browser_edit.json when set), not asserted: a shared machine's wall time is no
    verdict. Asserted: the edit ran to "done." and its result is shown."""
    import json
    from benchmarks.profile_edit import WATCH, click_pair, process_cpu, timed_edit
    from drags.engines import ENGINES
    with browser_page(server, 1280, 800) as page:
        panels = [page.locator(f"#out-{m}").bounding_box() for m in ENGINES]
        buttons = [page.locator(f"#btn-{m}").bounding_box() for m in (*ENGINES, "compare")]
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert len(panels) == 3 and wide <= 1280
        assert max(b["y"] for b in panels) - min(b["y"] for b in panels) < 4          # one row
        assert all(b["x"] >= 0 and b["x"] + b["width"] <= 1280 and b["width"] > 200 for b in panels)
        assert max(b["y"] for b in buttons) - min(b["y"] for b in buttons) < 4        # the buttons too
        assert all(b["x"] + b["width"] <= 1280 for b in buttons)
        page.evaluate(WATCH)   # the page's own timestamps of the click, "done." and the final image
        click_pair(page, (0.45, 0.55), (0.58, 0.55))
        cpu0, load = process_cpu(server.proc.pid), os.getloadavg()[0]
        seconds, marks = timed_edit(page, "draggan")
        cpu = process_cpu(server.proc.pid) - cpu0
        status = page.locator("#drag-status").inner_text()
        shown = page.locator("#out-draggan img").count()
    verdict = (marks["verdict"] - marks["click"]) / 1000   # the table follows the final image (the report after it)
    figure = dict(edit_seconds=round(seconds, 3), verdict_seconds=round(verdict, 3), app_cpu_seconds=round(cpu, 3),
                  load_1min=round(load, 1),
                  status=status, marks=marks)
    print(f"\n1-point DragGAN edit in the browser: {seconds:.2f} s from the click to the final image, "
          f"{verdict:.2f} s to the verdict, {cpu:.2f} s CPU of the app (load {load:.1f} on {os.cpu_count()} cores)")
    record_property("edit_seconds", round(seconds, 3))
    out = os.environ.get("LATENTLAB_TIMING_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "browser_edit.json").write_text(json.dumps(figure, indent=1))
    assert "done." in status and "step " in status and "Measuring" not in status   # the verdict followed
    assert shown == 1                            # the result panel shows the result
    assert 0 < seconds < 300 and 0 < verdict < 300 and marks["click"] is not None


def test_a_photo_inverted_dragged_and_back_in_the_photo(server, tmp_path):
    """The photo flow as a user clicks it: the Inversion tab, the example photo, Invert (short stages), "Drag this
    photo" (the Drag tab opens on the reconstruction), a handle and its target, "Drag with DragGAN", then "Back in
    the photo": the result is pasted into the photo, the face changed and the rest of the photo kept."""
    from benchmarks.profile_edit import click_pair
    with browser_page(server, 1400, 1500) as page:
        page.get_by_role("tab", name="Inversion").click()
        for label, steps in (("W steps", 5), ("W+ steps", 5), ("PTI steps (0 = off)", 15)):
            page.get_by_role("spinbutton", name=f"number input for {label}", exact=True).fill(str(steps))
        page.get_by_text("Example photo").first.wait_for(timeout=30_000)
        page.locator(".gallery-item, button.gallery-item, tr.tr-body, .example").first.click()
        page.locator("img[alt='Photo'], [data-testid='image'] img").first.wait_for(state="visible", timeout=30_000)
        page.get_by_role("button", name="Invert", exact=True).click()
        page.get_by_text("PSNR: W ").first.wait_for(timeout=180_000)
        md = page.get_by_text("PSNR: W ").first.inner_text()
        page.get_by_role("button", name="Drag this photo").click()
        page.locator("#drag-image img").first.wait_for(state="visible", timeout=60_000)
        page.wait_for_timeout(1500)
        start = _shot(page, "#drag-image img", tmp_path / "start.png")
        page.get_by_text("Shared settings").click()
        click_pair(page, (0.50, 0.58), (0.60, 0.58))
        status = _drag(page, "#btn-draggan", 10, 1)
        result = _shot(page, "#out-draggan img", tmp_path / "result.png")
        page.get_by_role("tab", name="Inversion").click()
        page.get_by_role("button", name="Back in the photo").click()
        page.locator("#inv-back img").first.wait_for(state="visible", timeout=60_000)
        _shot(page, "#inv-back img", tmp_path / "back_shown.png")   # settled as shown; the file it shows:
        src = page.locator("#inv-back img").first.get_attribute("src")
        (tmp_path / "back.png").write_bytes(page.request.get(src).body())
    assert "W+ + PTI" in md and "done." in status
    assert np.abs(result - start).mean() > 1.0   # the drag changed the reconstruction
    from ui.tab_invert import EXAMPLE
    photo = Image.open(EXAMPLE).convert("RGB")
    back = Image.open(tmp_path / "back.png").convert("RGB")
    assert back.size == photo.size   # the whole photo, at its own size
    diff = np.abs(np.asarray(back, float) - np.asarray(photo, float)).mean(-1)
    h, w = diff.shape
    face = diff[: h // 2, w // 4: 3 * w // 4]   # the astronaut's face is in the upper middle of the photo
    assert face.mean() > 2 and np.percentile(diff[int(h * 0.6):], 99) < 6   # the face changed; the suit is the photo's


def test_the_latent_space_tab_opens_on_its_three_panels_drawn_with_the_settings_shown(server):
    """A user who opens the Latent space tab sees the interpolation, the style mixing and the SeFa panels at once,
    each the picture its button draws with the settings shown (the API's answer for the same settings, pixel for
    pixel). That a second opening draws nothing again: tests/test_latent.py."""
    from gradio_client import Client
    shown = {}
    with browser_page(server, 1280, 800) as page:
        page.get_by_role("tab", name="Latent space").click()
        for name in ("interp", "mix", "sefa"):
            sel = f"#latent-{name} img"
            page.locator(sel).first.wait_for(state="visible", timeout=60_000)
            page.wait_for_function("(s) => { const i = document.querySelector(s); return i.complete && "
                                   "i.naturalWidth > 0; }", arg=sel, timeout=60_000)
            src = page.locator(sel).first.get_attribute("src")
            shown[name] = np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB"))
    c = Client(server.url, verbose=False)
    strip, _ = c.predict(model_id=server.model, seed_a=1, seed_b=2, steps=8, psi=0.7, api_name="/interpolate")
    grid, _ = c.predict(model_id=server.model, row_seed=3, col_seeds="4 5 6", psi=0.7, api_name="/style_mix")
    sefa, _ = c.predict(model_id=server.model, seed=3, directions=3, strength=5, layers="all", psi=0.7,
                        api_name="/sefa")
    for name, path in (("interp", strip), ("mix", grid), ("sefa", sefa)):
        want = np.asarray(Image.open(path).convert("RGB"))
        assert shown[name].shape == want.shape and np.array_equal(shown[name], want), name
    assert shown["interp"].shape[:2] == (4 * 128, 8 * 128)   # Z / W x lerp / slerp, 8 frames, 64 px at 2x
