"""A real browser paints the editable region and drags at once: the drag uses the stroke, the next
drags reuse it and the page uploads nothing for them (ui/mask.py), a stroke drawn right after Clear mask
on a slow network reaches the drag (it did not: the editor's own events sent empty echoes), and Clear
mask takes it away. Read back from the edit JSON the page exports (the mask the engine was given)."""
import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.integration   # a real browser on the launched app

from test_browser import _click_pair, _require_browser, browser_page  # noqa: E402


@pytest.fixture(scope="module")
def server(shared_app):
    """The run's shared app (conftest): the test's page is a session of its own on it."""
    _require_browser()
    return shared_app


def _stroke(page, y_frac):
    """One horizontal brush stroke across the middle of the editor's image, at `y_frac` of its height; -> whether
    the editor shows it: the stroke's band changed and the picture away from it did not (a picture that was still
    loading when the stroke was drawn changes everywhere: one CI run took that for a stroke, and the editor had
    dropped the stroke)."""
    canvas = page.locator("#mask-editor canvas").first
    canvas.scroll_into_view_if_needed()
    box = None
    for _ in range(50):   # where the canvas is once scrolling and layout have settled (a box read mid-scroll
        page.wait_for_timeout(100)   # put one CI run's stroke beside the image: no stroke reached the drag)
        now = canvas.bounding_box()
        if now and box == now and now["width"] > 0:
            break
        box = now
    side = min(box["width"], box["height"])   # the square image, centred in the canvas
    x0, y0 = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    y = y0 + y_frac * side
    before = _settled(page, box)
    page.mouse.move(x0 + 0.35 * side, y)
    page.mouse.down()
    for f in (0.45, 0.55, 0.65):
        page.mouse.move(x0 + f * side, y)
    page.mouse.up()
    change = np.abs(_pixels(page, box) - before).max(-1)
    band = (int(y - box["y"]) - 2, int(y - box["y"]) + 3)
    cols = (int(x0 - box["x"] + 0.45 * side), int(x0 - box["x"] + 0.55 * side))
    far = change[:max(1, int(y0 - box["y"] + 0.25 * side))]   # the top quarter of the picture: no stroke there
    return bool((change[band[0]:band[1], cols[0]:cols[1]] > 40).mean() > 0.5 and (far > 40).mean() < 0.01)


def _settled(page, box, timeout_s=30):
    """The editor's canvas once it shows its picture: two screenshots 0.3 s apart alike and not a blank canvas."""
    last = _pixels(page, box)
    for _ in range(int(timeout_s / 0.3)):
        page.wait_for_timeout(300)
        now = _pixels(page, box)
        if np.abs(now - last).max() < 8 and now.std() > 10:
            return now
        last = now
    return last


def _pixels(page, box):
    """The editor's canvas as shown (float RGB)."""
    clip = {k: box[k] for k in ("x", "y", "width", "height")}
    return np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB"), float)


def server_url(page):
    return re.match(r"https?://[^/]+/", page.url).group(0)


def _drag_and_export(page, n):
    """Press Drag with FreeDrag now, wait for drag n's verdict, export; -> (the last drag's mask (bool 64x64 or None),
    the status the page showed)."""
    page.locator("#btn-freedrag").click()
    status = page.locator("#drag-status")
    status.get_by_text(f"Drag {n} of the chain").wait_for(timeout=120_000)
    page.wait_for_function("() => { const t = document.querySelector('#drag-status').innerText;"
                           " return t.includes('done.') && !t.includes('Measuring'); }", timeout=120_000)
    links = page.locator("a[href*='freedrag_edit.json']")
    before = [a.get_attribute("href") for a in links.all()]
    page.get_by_text("Export result").click()
    page.wait_for_function("(before) => [...document.querySelectorAll(\"a[href*='freedrag_edit.json']\")]"
                           ".some(a => !before.includes(a.getAttribute('href')))", arg=before, timeout=60_000)
    href = next(h for h in (a.get_attribute("href") for a in links.all()) if h not in before)
    edit = json.loads(page.request.get(href if href.startswith("http") else server_url(page) + href.lstrip("/")).body())
    mask = edit["drags"][-1]["mask"]
    text = status.inner_text()
    return (None if mask is None else np.asarray(Image.open(io.BytesIO(base64.b64decode(mask)))) > 0), text


def _painted_and_dragged(page, n):
    """Paint a stroke the editor shows (again if it does not show it), drag at once; -> (mask, status) of drag n."""
    for _ in range(3):   # and the button at once. A stroke the editor does not show (drawn while it still loads
        if _stroke(page, 0.5):   # its picture, on a slow machine: one CI run) is drawn again, as a user would
            break
        page.wait_for_timeout(1000)
    else:
        pytest.fail("the editor never showed the stroke")
    return _drag_and_export(page, n)


def _mask_used(mask, status):
    """The stroke across the middle (rows 30-34 of 64), nothing at the top or bottom, and the status says so."""
    assert mask is not None, status
    assert mask[30:34, 28:36].all() and not mask[:10].any() and not mask[-10:].any() and mask.mean() < 0.5
    assert f"Editable region: the painted {100 * mask.mean():.0f} % of the image." in status, status


def _new_pair(page):
    page.get_by_text("Clear points").click()
    page.get_by_text("Points cleared.").wait_for(timeout=30_000)
    _click_pair(page, (0.45, 0.55), (0.55, 0.55))


def test_a_painted_stroke_reaches_a_drag_clicked_at_once_and_stays(server):
    with browser_page(server, 1280, 1400) as page:
        page.get_by_text("Shared settings").click()
        page.get_by_label("Max steps").fill("2")
        _click_pair(page, (0.45, 0.55), (0.55, 0.55))
        sent, uploads = [], []   # the events that sent the mask read in the page (a base64 PNG); uploads
        page.on("request", lambda r: sent.append(r.url) if "/gradio_api/" in r.url and r.method == "POST"
                and b'"iVBORw0KGgo' in (r.post_data_buffer or b"") else None)
        page.on("request", lambda r: uploads.append(r.url) if r.url.endswith("/gradio_api/upload") else None)
        first, status = _painted_and_dragged(page, 1)
        _mask_used(first, status)
        assert sent, "the drag after a stroke did not read the editor"
        # no stroke since: the next drag is given the same mask, without reading the editor again
        _new_pair(page)
        sent.clear()
        uploads.clear()
        mask, status = _drag_and_export(page, 2)
        _mask_used(mask, status)
        assert (mask == first).all() and not sent, sent
        # nor does the page upload anything during it (the editor re-uploaded its three files at each progress
        # update of any event once an event had taken it as input or output: ~50-90 uploads per drag; ui.mask)
        assert not uploads, f"{len(uploads)} uploads during a drag with no stroke"
        # Clear mask: the next drag is given no mask, and says so
        page.get_by_role("button", name="Clear mask").click()
        page.wait_for_timeout(1000)
        _new_pair(page)
        mask, status = _drag_and_export(page, 3)
        assert mask is None and "Editable region: the whole image (no painted mask)." in status, status


def test_a_stroke_right_after_clear_mask_on_a_slow_network_reaches_the_drag(server):
    with browser_page(server, 1280, 1400) as page:
        page.get_by_text("Shared settings").click()
        page.get_by_label("Max steps").fill("2")
        _click_pair(page, (0.45, 0.55), (0.55, 0.55))
        cdp = page.context.new_cdp_session(page)   # 0.5 s more per request, as a Space far away (before the fix:
        cdp.send("Network.enable")                   # no mask, 3 of 3 runs; the editor's events sent empty echoes)
        cdp.send("Network.emulateNetworkConditions",
                 dict(offline=False, latency=500, downloadThroughput=-1, uploadThroughput=-1))
        page.get_by_role("button", name="Clear mask").click()
        page.wait_for_timeout(300)
        mask, status = _painted_and_dragged(page, 1)
        _mask_used(mask, status)
