"""The tests' names for the one app launcher (benchmarks.app_process): `AppServer` starts `python app.py`
on 127.0.0.1 and returns once it serves; `model_for_tests` is the bundled model. The fixture factory
that tests use is `launch_app` in conftest.py."""
import time

from benchmarks.app_process import BUNDLED, ROOT, AppProcess as AppServer, bundled_model, free_port  # noqa: F401


# The one setting of conftest's shared app (the app most modules share): a chain bound of 5 drags
# (LATENTLAB_CHAIN_DRAGS; 20 by default), so test_app_chain reaches it in a few 1-step drags. Every
# other test's chain on that app is shorter.
SHARED_APP_ENV = dict(LATENTLAB_CHAIN_DRAGS=5)


def model_for_tests(tmp_dir=None):
    """The bundled face model; its absence is a failure, never a silent swap for another model."""
    return bundled_model()


def wait_running(job, timeout=60):
    """Until a gradio_client job streams its first output (it computes: it no longer waits in the queue)."""
    t = time.perf_counter()
    while time.perf_counter() - t < timeout:
        if job.outputs():
            return job
        if job.done():
            raise AssertionError(f"the run ended before streaming anything: {job.result()!r}")
        time.sleep(0.05)
    raise AssertionError(f"the run streamed nothing in {timeout} s")


def wait_processing(job, timeout=60):
    """Until a gradio_client job (streaming or not) has left the queue and is being processed."""
    from gradio_client.utils import Status
    t = time.perf_counter()
    while time.perf_counter() - t < timeout:
        if job.done() or job.status().code in (Status.PROCESSING, Status.ITERATING):
            return job
        time.sleep(0.05)
    raise AssertionError(f"the run was not processed in {timeout} s")
