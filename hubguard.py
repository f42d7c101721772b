"""Deadlines for Hugging Face Hub downloads: a dead or hanging Hub is reported in seconds, a
stalled transfer is abandoned, and the number of requests (retries included) is bounded.

`huggingface_hub` retries on its own (a hanging Hub costs it ~6.5 min: HEAD retries with a 60 s
timeout and exponential back-off; a Hub that trickles bytes is never given up). We keep its
cache, resume and token handling and bound it from outside: huggingface_hub's HTTP client gets
two event hooks (installed through compat.set_hub_client_factory). While a `Transfer` is
active in the calling thread (`with guarded(transfer):`), they

- caps each request's timeouts by what is left of the transfer's first-byte deadline,
- refuses to start a request once that deadline has passed or the request budget is spent,
- counts body bytes and abandons the transfer when fewer than `min_rate` bytes/s arrived over
  the last `window` seconds, or when more bytes arrive than the size limit allows.

It refuses by raising `HubTimeout` (not an httpx error, so huggingface_hub neither retries nor
resumes); huggingface_hub then removes its partial `.incomplete` file itself.
"""
import threading
import time
from contextlib import contextmanager

import compat
import limits

_local = threading.local()
_installed = False
_install_lock = threading.Lock()


class HubTimeout(RuntimeError):
    """The Hub did not answer in time, the transfer stalled, or the retry budget ran out."""


class Transfer:
    """Deadline, stall floor, request budget and progress of one download (one thread)."""

    def __init__(self, label="download", timeout=None, window=None, min_rate=None, max_requests=None,
                 max_bytes=None, all_requests=False):
        self.label = label
        self.timeout = timeout or limits.setting("hub_timeout")
        self.window = window or limits.setting("stall_window")
        self.min_rate = min_rate or limits.setting("stall_min_rate")
        self.max_requests = int(max_requests or limits.setting("hub_max_requests"))
        self.max_bytes = max_bytes or limits.SIZES["model_upload_bytes"]
        self.all_requests = all_requests  # budget and deadline also for API calls (verify), not only files
        self.restart()

    def restart(self):
        """A fresh deadline and budget (a new download after a rejected file), same settings."""
        self.t0 = time.monotonic()
        self.requests = 0
        self.received = 0           # body bytes of every response so far
        self.expected = None        # Content-Length of the file, once known
        self.last_status = None     # HTTP status of the last answer
        self._first = None          # time of the first body byte
        self._win_t, self._win_bytes = None, 0

    def remaining(self):
        """Seconds the next read may wait before this transfer is overdue."""
        now = time.monotonic()
        until = self.t0 + self.timeout if self._first is None else self._win_t + self.window
        return max(0.05, until - now)

    def check(self):
        now = time.monotonic()
        if self._first is None:
            if now - self.t0 > self.timeout:
                raise HubTimeout(f"the Hub did not answer within {self.timeout:g} s" if self.last_status is None else
                                 f"the Hub did not send the file within {self.timeout:g} s "
                                 f"(its last answer: HTTP {self.last_status})")
            return
        if now - self._win_t >= self.window:
            rate = self._win_bytes / (now - self._win_t)
            if rate < self.min_rate:
                raise HubTimeout(f"the transfer stalled ({rate:.0f} bytes/s over {now - self._win_t:.1f} s, "
                                 f"below the {self.min_rate:g} bytes/s floor) and was abandoned")
            self._win_t, self._win_bytes = now, 0

    def start_request(self):
        self.check()
        self.requests += 1
        if self.requests > self.max_requests:
            raise HubTimeout(f"the Hub kept failing: gave up after {self.max_requests} requests")

    def add(self, n):
        now = time.monotonic()
        if self._first is None:
            self._first = self._win_t = now
        self.received += n
        self._win_bytes += n
        if self.received > self.max_bytes:
            raise HubTimeout(f"the file is larger than {self.max_bytes:,} bytes and was abandoned")
        self.check()


def current():
    return getattr(_local, "transfer", None)


@contextmanager
def guarded(transfer):
    """Run huggingface_hub calls in this thread under `transfer`'s deadlines."""
    install()
    previous, _local.transfer = current(), transfer
    try:
        yield transfer
    finally:
        _local.transfer = previous


def _is_file_url(url):
    return "/resolve/" in url.path


def _on_request(request):
    """Event hook: refuse or cap every request made while a Transfer is active in this thread."""
    transfer = current()
    if transfer is None:
        return
    if _is_file_url(request.url) or transfer.all_requests:   # not huggingface_hub's side requests
        transfer.start_request()
    cap = transfer.remaining()
    timeout = dict(request.extensions.get("timeout") or {})
    for key in ("connect", "read", "write", "pool"):
        timeout[key] = cap if timeout.get(key) is None else min(timeout[key], cap)
    request.extensions = {**request.extensions, "timeout": timeout}


def _on_response(response):
    """Event hook: count the body bytes of every response (before anyone reads them)."""
    transfer = current()
    if transfer is None or not _is_file_url(response.request.url):
        return
    transfer.last_status = response.status_code
    size = response.headers.get("content-length", "")
    if response.request.method == "GET" and size.isdigit():
        if int(size) > transfer.max_bytes:
            raise HubTimeout(f"the file is {int(size):,} bytes, more than the {transfer.max_bytes:,} allowed")
        transfer.expected = int(size) + transfer.received
    response.stream = _counting_stream(response.stream, transfer)


def _counting_stream(inner, transfer):
    import httpx2

    class CountingStream(httpx2.SyncByteStream):
        def __iter__(self):
            for chunk in inner:
                transfer.add(len(chunk))
                yield chunk

        def close(self):
            inner.close()

    return CountingStream()


def install():
    """Make huggingface_hub's shared HTTP client apply the calling thread's Transfer (once per
    process). Event hooks, not a transport, so proxies configured by the environment are covered."""
    global _installed
    with _install_lock:
        if _installed:
            return
        import httpx2
        hf_request_event_hook = compat.hub_request_hook()

        def factory():
            # huggingface_hub's default client plus our two hooks
            return httpx2.Client(event_hooks={"request": [hf_request_event_hook, _on_request],
                                              "response": [_on_response]},
                                 follow_redirects=True, timeout=None)

        compat.set_hub_client_factory(factory)
        _installed = True
