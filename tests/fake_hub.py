"""A small fake Hugging Face Hub on 127.0.0.1 that answers what `hf_hub_download` asks.

`hf_hub_download` sends HEAD {endpoint}/{repo_id}/resolve/{revision}/{filename} (reading
X-Repo-Commit, ETag and Content-Length) and then GET of the same URL (with a Range header when
it resumes). Each served file has a mode: 'ok', 'missing' (404), 'truncate' (announces the full
length, sends half and closes), 'corrupt' (right length, wrong bytes), 'hang' (accepts the
connection and never answers, HEAD and GET alike), 'hang-body' (answers HEAD and the GET's
headers, then sends nothing), 'trickle' (sends the body at `trickle_rate` bytes/s) or 'error'
(HTTP 500 every time). The server runs in a daemon thread, counts requests, and stops on
`close()` or at the end of a `with` block (which also releases every hanging answer).
"""
import hashlib
import http.server
import re
import threading
import time

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self):
        self.files = {}      # (repo_id, filename) -> bytes
        self.modes = {}      # (repo_id, filename) -> mode
        self.requests = []   # (method, path)
        self.trickle_rate = 64
        self.released = threading.Event()   # set by close(): hanging answers end
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _lookup(self):
                hub.requests.append((self.command, self.path))
                m = re.fullmatch(r"/(.+?/.+?)/resolve/([^/]+)/(.+)", self.path.split("?")[0])
                key = (m.group(1), m.group(3)) if m else None
                mode = hub.modes.get(key)
                if mode == "hang" or (mode == "hang-body" and self.command == "GET"):
                    if mode == "hang-body":
                        self._headers(hub.files[key])
                    hub.released.wait()
                    self.close_connection = True
                    return None, None
                if mode == "error":
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None, None
                if key not in hub.files or mode == "missing":
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None, None
                return key, hub.files[key]

            def _headers(self, data, status=200, start=0):
                self.send_response(status)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Content-Length", str(len(data) - start))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()

            def do_HEAD(self):
                key, data = self._lookup()
                if key is not None:
                    self._headers(data)

            def do_GET(self):
                key, data = self._lookup()
                if key is None:
                    return
                rng = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
                start = int(rng.group(1)) if rng else 0
                self._headers(data, 206 if start else 200, start)
                mode = hub.modes.get(key, "ok")
                body = data[start:]
                if mode == "truncate":
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                    return
                if mode == "corrupt":
                    body = bytes(b ^ 0x5A for b in body)
                if mode == "trickle":
                    self._trickle(body)
                    return
                self.wfile.write(body)

            def _trickle(self, body):
                step = max(1, hub.trickle_rate // 20)
                for i in range(0, len(body), step):
                    if hub.released.is_set():
                        break
                    try:
                        self.wfile.write(body[i:i + step])
                        self.wfile.flush()
                    except OSError:  # the client gave up
                        break
                    time.sleep(0.05)
                self.close_connection = True

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def add(self, repo_id, filename, data, mode="ok"):
        self.files[(repo_id, filename)] = data
        self.modes[(repo_id, filename)] = mode

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
