"""A small fake Hugging Face Hub on 127.0.0.1 that answers what huggingface_hub 2.4 asks.

Downloads: `hf_hub_download` sends HEAD {endpoint}/{repo_id}/resolve/{revision}/{filename} (reading
X-Repo-Commit, ETag and Content-Length) and then GET of the same URL (with a Range header when it
resumes). Each served file has a mode: 'ok', 'missing' (404), 'truncate' (announces the full
length, sends half and closes), 'corrupt' (right length, wrong bytes), 'hang' (accepts the
connection and never answers, HEAD and GET alike), 'hang-body' (answers HEAD and the GET's
headers, then sends nothing), 'trickle' (sends the body at `trickle_rate` bytes/s) or 'error'
(HTTP 500 every time).

Repo API (what `HfApi.list_repo_files` / `list_repo_tree`, `get_paths_info` and `model_info` call):
GET /api/models/{repo}/tree/{revision}[/{path}]?recursive=..., POST /api/models/{repo}/paths-info/
{revision} (form field `paths`, repeated), GET /api/models/{repo}[/revision/{revision}].

Each repo has a mode too (`add_repo`): 'ok', 'gated' (HTTP 401 GatedRepo without the right token,
as the Hub answers an anonymous request to a gated repo), 'private' (HTTP 401 RepoNotFound without
the token) or 'hang' (every request, API and files, hangs). An unknown repo is 404 RepoNotFound, an
unknown revision 404 RevisionNotFound; revisions 'main', COMMIT and any in `revisions` name the
same files. The server runs in a daemon thread, counts requests, and stops on `close()` or at the
end of a `with` block (which also releases every hanging answer).

`serve_layouts(hub, data)` serves both public repos' layouts as far as they are known from here
(`LAYOUTS`).
"""
import hashlib
import http.server
import json
import re
import threading
import time
from urllib.parse import parse_qs, unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"

# What is known of the two repos without reaching the Hub. DragGan/DragGan-Models: only the files
# public code names (the DragGAN Space's default human model and its dogs model, the FFHQ 512 file
# linked at a revision, the Inversion Space's FFHQ 1024). aaronb/StyleGAN2-pkl: every path the
# `draggan` pip package (1.1.6) downloads.
LAYOUTS = {
    "DragGan/DragGan-Models": [".gitattributes", "README.md", "stylegan2-ffhq-512x512.pkl",
                               "stylegan2-ffhq1024x1024.pkl", "stylegan2_dogs_1024_pytorch.pkl",
                               "stylegan_human_v2_512.pkl"],
    "aaronb/StyleGAN2-pkl": [".gitattributes"] + [f"stylegan2/stylegan2-{n}-config-f.pkl" for n in
                                                  ("car", "cat", "ffhq", "church", "horse")]
    + [f"ada/{n}.pkl" for n in ("ffhq", "afhqcat", "afhqdog", "afhqwild", "brecahad", "metfaces")]
    + ["human/stylegan_human_v2_512.pkl", "human/stylegan_human_v2_1024.pkl"]
    + [f"self_distill/{n}_pytorch.pkl" for n in ("bicycles_256", "dogs_1024", "elephants_512", "giraffes_512",
                                                 "horses_256", "lions_512", "parrots_512")],
}
DRAGGAN_FFHQ_REVISION = "20dedd0259ff3009fceefa531c3be8ae4f11cd82"
PINNED_ONLY = {"stylegan2-ffhq-512x512.pkl"}   # named at DRAGGAN_FFHQ_REVISION only, not at main


def serve_layouts(hub, data=lambda repo_id, path: path.encode() * 8):
    """Serve LAYOUTS; `data(repo_id, path)` gives each file's bytes."""
    hub.revisions.add(DRAGGAN_FFHQ_REVISION)
    for repo_id, paths in LAYOUTS.items():
        for path in paths:
            hub.add(repo_id, path, data(repo_id, path))


def _oid(data):
    return hashlib.sha1(data).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers for the FakeHub in `self.server.hub`."""

    @property
    def hub(self):
        return self.server.hub

    def log_message(self, *args):
        pass

    def _error(self, status, code, message=""):
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        if message:
            self.send_header("X-Error-Message", message)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _hang(self):
        self.hub.released.wait()
        self.close_connection = True

    def _repo_refused(self, repo_id, revision):
        """Answer a refusal for the repo / revision (True) or let the request through (False)."""
        if repo_id not in self.hub.repos:
            self._error(404, "RepoNotFound", "Repository not found")
            return True
        mode, token = self.hub.repos[repo_id]
        if mode == "hang":
            self._hang()
            return True
        authorised = token is not None and self.headers.get("Authorization") == f"Bearer {token}"
        if mode == "gated" and not authorised:
            self._error(401, "GatedRepo", f"Access to model {repo_id} is restricted. You must have access "
                                          f"to it and be authenticated to access it. Please log in.")
            return True
        if mode == "private" and not authorised:
            self._error(401, "RepoNotFound", "Repository not found")
            return True
        if revision is not None and revision not in self.hub.revisions:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return True
        return False

    def _lookup(self):
        self.hub.requests.append((self.command, self.path))
        m = re.fullmatch(r"/(.+?/.+?)/resolve/([^/]+)/(.+)", self.path.split("?")[0])
        key = (m.group(1), unquote(m.group(3))) if m else None
        if key is None or self._repo_refused(key[0], unquote(m.group(2))):
            if key is None:
                self._error(404, "EntryNotFound")
            return None, None
        mode = self.hub.modes.get(key)
        if mode == "hang" or (mode == "hang-body" and self.command == "GET"):
            if mode == "hang-body":
                self._headers(self.hub.files[key])
            self._hang()
            return None, None
        if mode == "error":
            self._error(500, None)
            return None, None
        if key not in self.hub.files or mode == "missing":
            self._error(404, "EntryNotFound")
            return None, None
        return key, self.hub.files[key]

    def _headers(self, data, status=200, start=0):
        self.send_response(status)
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("Content-Length", str(len(data) - start))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()

    def _json(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _api(self):
        """The repo API; True when the request was one."""
        url = urlsplit(self.path)
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/(tree|paths-info|revision)/([^/]+)(/.*)?)?", url.path)
        if not m:
            return False
        self.hub.requests.append((self.command, self.path))
        repo_id, what, revision, sub = m.group(1), m.group(2), unquote(m.group(3) or "main"), m.group(4)
        if self._repo_refused(repo_id, revision):
            return True
        hub = self.hub
        files = {p: d for (r, p), d in hub.files.items() if r == repo_id and hub.modes.get((r, p)) != "missing"}
        if what == "tree":
            q = parse_qs(url.query)
            self._json(_tree(files, unquote(sub or "/")[1:], q.get("recursive", ["false"])[0].lower() == "true"))
        elif what == "paths-info":
            n = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(n).decode())
            self._json([_entry(p, files) for p in form.get("paths", []) if p in files or _is_dir(p, files)])
        else:
            self._json({"id": repo_id, "modelId": repo_id, "sha": COMMIT, "private": False,
                        "siblings": [{"rfilename": p} for p in sorted(files)]})
        return True

    def do_HEAD(self):
        key, data = self._lookup()
        if key is not None:
            self._headers(data)

    def do_POST(self):
        if not self._api():
            self._error(404, None)

    def do_GET(self):
        if self._api():
            return
        key, data = self._lookup()
        if key is None:
            return
        rng = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        start = int(rng.group(1)) if rng else 0
        self._headers(data, 206 if start else 200, start)
        mode = self.hub.modes.get(key, "ok")
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
        step = max(1, self.hub.trickle_rate // 20)
        for i in range(0, len(body), step):
            if self.hub.released.is_set():
                break
            try:
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
            except OSError:  # the client gave up
                break
            time.sleep(0.05)
        self.close_connection = True



class FakeHub:
    def __init__(self):
        self.files = {}      # (repo_id, filename) -> bytes
        self.modes = {}      # (repo_id, filename) -> mode
        self.repos = {}      # repo_id -> (mode, token)
        self.revisions = {"main", COMMIT}
        self.requests = []   # (method, path)
        self.trickle_rate = 64
        self.released = threading.Event()   # set by close(): hanging answers end
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.hub = self
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def add_repo(self, repo_id, mode="ok", token=None):
        self.repos[repo_id] = (mode, token)

    def add(self, repo_id, filename, data, mode="ok"):
        self.repos.setdefault(repo_id, ("ok", None))
        self.files[(repo_id, filename)] = data
        self.modes[(repo_id, filename)] = mode

    def remove(self, repo_id, filename):
        self.files.pop((repo_id, filename), None)
        self.modes.pop((repo_id, filename), None)

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _is_dir(path, files):
    return any(p.startswith(path.rstrip("/") + "/") for p in files)


def _entry(path, files):
    if path in files:
        data = files[path]
        return {"type": "file", "path": path, "size": len(data), "oid": _oid(data),
                "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}}
    return {"type": "directory", "path": path, "oid": _oid(path.encode())}


def _tree(files, folder, recursive):
    """The tree entries under `folder` (files and the folders on the way), as the Hub lists them."""
    prefix = folder.strip("/") + "/" if folder.strip("/") else ""
    out = {}
    for p in sorted(files):
        if not p.startswith(prefix):
            continue
        parts = p[len(prefix):].split("/")
        for i in range(1, len(parts)):
            d = prefix + "/".join(parts[:i])
            if recursive or i == 1:
                out.setdefault(d, _entry(d, {}))
        if recursive or len(parts) == 1:
            out[p] = _entry(p, files)
    return list(out.values())
