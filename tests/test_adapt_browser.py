"""The Adapt tab in a real browser (Debian's chromium driven by Playwright) on the launched app:
upload three generated pictures, two steps, Start; the losses and the same seeds before / after
appear, Start is enabled again, the adapted file is offered for download, and "Use this model" makes
the adapted file the Drag tab's model and opens the Drag tab on the same seed drawn by it."""
import numpy as np
import pytest
import torch
from PIL import Image

from app_server import AppServer, model_for_tests
from drag_testing import face_model
from stylegan.imageops import to_uint8
from test_browser import ARGS, CHROMIUM, _require_browser

pytestmark = pytest.mark.integration   # a real browser on the launched app: 25 s (84 s at load 13)


def _pictures(folder):
    """Three sepia renderings of the shipped model's own faces (generated, never photos)."""
    G = face_model()
    with torch.no_grad():
        img = G(torch.randn(3, G.z_dim, generator=torch.Generator().manual_seed(5)), truncation_psi=0.7)
    grey = img.mean(1, keepdim=True)
    sepia = torch.cat([grey * 0.9 + 0.25, grey * 0.8 + 0.05, grey * 0.6 - 0.15], 1).clamp(-1, 1)
    folder.mkdir()
    paths = []
    for i, a in enumerate(to_uint8(sepia)):
        paths.append(str(folder / f"{i}.png"))
        Image.fromarray(a).save(paths[-1])
    return paths


def test_adapt_tab_start_shows_losses_and_samples_then_use_this_model(tmp_path):
    _require_browser()
    from playwright.sync_api import sync_playwright
    pictures = _pictures(tmp_path / "pictures")
    server = AppServer(model_for_tests(tmp_path))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.goto(server.url)
            page.locator("#drag-image img").first.wait_for(state="visible", timeout=60_000)
            page.get_by_role("tab", name="Adapt").click()
            use = page.locator("#adapt-use")
            try:
                use.wait_for(state="visible", timeout=30_000)
                assert use.is_disabled()                                  # nothing adapted yet
                page.locator("#adapt-pictures input[type=file]").set_input_files(pictures)
                page.wait_for_function("() => (document.querySelector('#adapt-pictures').innerText.match(/KB/g) "
                                       "|| []).length == 3", timeout=30_000)   # the three are listed
                steps = page.locator("#adapt-steps input[type=number]")
                steps.fill("2")
                steps.press("Enter")
                page.locator("#adapt-start").click()
                page.locator("#adapt-status").get_by_text("Done at step 2/2").wait_for(timeout=120_000)
                page.locator("#adapt-losses img").wait_for(state="visible", timeout=30_000)
                samples = page.locator("#adapt-compare img")
                samples.wait_for(state="visible", timeout=30_000)
                samples.screenshot(path=str(tmp_path / "samples.png"))
                page.wait_for_function("() => !document.querySelector('#adapt-use').disabled", timeout=30_000)
                assert page.locator("#adapt-start").is_enabled()                # enabled again after its run
                page.wait_for_function("() => /adapted\\s*\\.safetensors\\s*[0-9.]+\\s*MB/.test("
                                       "document.querySelector('#adapt-download').innerText)", timeout=30_000)
                before = page.locator("#drag-image img").first.get_attribute("src")
                use.click()   # the Drag tab opens on the same seed drawn by the adapted model
                page.wait_for_function("b => document.querySelector('#drag-image img').src != b", arg=before,
                                       timeout=60_000)
                page.locator("#drag-image img").first.wait_for(state="visible", timeout=30_000)
                model_box = page.get_by_label("Model").first
                assert model_box.input_value().startswith("Adapted:"), model_box.input_value()
                assert "⚠" not in page.locator("#drag-status").inner_text()
                page.get_by_role("tab", name="Adapt").click()
                assert "is now the Drag tab's model" in page.locator("#adapt-status").inner_text()
            except Exception:
                page.screenshot(path=str(tmp_path / "failed.png"), full_page=True)
                print("screenshot:", tmp_path / "failed.png")
                raise
            browser.close()
        shown = np.asarray(Image.open(tmp_path / "samples.png").convert("L"), float)
        assert shown.shape[1] >= 500 and shown.std() > 10         # two rows of faces, not an empty box
    finally:
        server.close()
