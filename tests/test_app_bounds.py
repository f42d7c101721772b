"""Issue 31, the app side, against one launched app in its own GRADIO_TEMP_DIR (so nothing else on
the machine changes the counts) with a short idle limit and a small cap on Gradio's folder: sessions
without a heartbeat are given back, refused uploads leave Gradio's folder file for file and byte for
byte as it was, an upload past the cap is refused, every probe gets one clear line, and SIGTERM
leaves Gradio's folder as it was before the launch. The probes are benchmarks/hostile.py's."""
import signal

import pytest

from app_server import AppServer, model_for_tests
from benchmarks import hostile

pytestmark = pytest.mark.integration   # the launched app

IDLE = 2.0     # s: LATENTLAB_SESSION_IDLE of the launched app
CAP_MB = 40    # LATENTLAB_GRADIO_CAP_MB


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bounds")
    gradio_dir = tmp / "gradio"
    gradio_dir.mkdir()
    srv = AppServer(model_for_tests(tmp), extra_env=dict(GRADIO_TEMP_DIR=str(gradio_dir), LATENTLAB_SESSION_IDLE=str(IDLE),
                                                         LATENTLAB_GRADIO_CAP_MB=str(CAP_MB)))
    srv.tmp, srv.gradio_dir = tmp, gradio_dir
    yield srv
    srv.close()


def test_session_without_heartbeat_is_given_back_once_idle(app):
    r = hostile.session_kept(app, IDLE)
    assert r["raw_given_back"] and r["unread_given_back"], r   # also one that never read its results
    assert r["client_kept"], r   # gradio_client holds a heartbeat: idle past the limit, its image stays


def test_refused_uploads_leave_gradio_folder_as_it_was(app):
    r = hostile.refused_uploads(app, app.gradio_dir, app.tmp, n=4)   # junk model, NaN model, edit JSON, image
    assert not r["wrong_messages"], r
    assert r["bytes_peak"] >= r["bytes_before"] + 5_000_000   # the uploads really reached the folder ...
    assert (r["files_after"], r["bytes_after"]) == (r["files_before"], r["bytes_before"]), r   # ... and went


def test_upload_past_the_cap_is_refused(app):
    r = hostile.upload_cap(app, app.gradio_dir, app.tmp, CAP_MB)
    assert r["status"] == 413 and "upload folder is full" in r["message"], r
    assert r["bytes_after"] == r["bytes_before"], r


def test_every_probe_gets_one_clear_line(app):
    """A1 malformed clicks, A2 huge coordinates, A3 points during a drag, A4 unknown fn_index, A5 example index."""
    before = sum("Traceback" in line for line in app.output)
    rows = hostile.app_messages(app, app.tmp)
    assert {r["probe"] for r in rows} == {"A1", "A2", "A3", "A4", "A5"}
    bad = [r for r in rows if not r["ok"]]
    assert not bad, bad
    assert sum("Traceback" in line for line in app.output) == before, "".join(app.output)[-3000:]


def test_sigterm_leaves_gradio_folder_as_before_launch(app):
    """Last in this module: SIGTERM ends the app as Ctrl-C does, and Gradio's copies go with it."""
    assert hostile.folder_usage(app.gradio_dir)[0] > 0   # the app has written there (examples, images)
    app.proc.send_signal(signal.SIGTERM)
    assert app.proc.wait(timeout=60) == 0
    assert hostile.folder_usage(app.gradio_dir) == (0, 0)   # the folder was empty before the launch


@pytest.mark.slow   # ~3 min: the target, also reported by `python -m benchmarks.hostile`
def test_rss_after_50_vanished_sessions(tmp_path):
    srv = AppServer(model_for_tests(tmp_path), extra_env=dict(GRADIO_TEMP_DIR=str(tmp_path), LATENTLAB_SESSION_IDLE="10"))
    try:
        r = hostile.vanished_sessions(srv, tmp_path, 50, idle=10)
    finally:
        srv.close()
    print(r)
    assert r["failures"] == 0 and r["growth_mb"] <= 100, r
