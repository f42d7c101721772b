"""`python -m checkpoints verify [ID ...]`: which registry sources exist on the Hub, and their sizes.

For each (repo, revision) the registry names, one listing of the repo's files (`HfApi.list_repo_tree`,
recursive: what `list_repo_files` returns, with sizes) and one `get_paths_info` for the exact paths.
A missing path is reported with the repo's closest file names (a renamed file shows up there); a
gated or private repo is reported as needing a token. All requests run under one hubguard deadline
($LATENTLAB_HUB_TIMEOUT, 15 s, retries included), so a Hub that cannot be reached or hangs is one
clear error within that time. Nothing is downloaded.
"""
import posixpath
import re
import time
from dataclasses import dataclass, field

from .hub import HubUnavailableError, _endpoint, classify, probe_hub
from .registry import Source, list_models


@dataclass
class Listing:
    repo_id: str
    revision: str | None
    files: dict = field(default_factory=dict)   # path -> size (bytes), every file of the repo
    found: dict = field(default_factory=dict)   # path -> size, from get_paths_info
    error: str = ""                             # the repo could not be listed (gated, missing, ...)


@dataclass
class SourceCheck:
    source: Source
    found: bool | None          # None: the repo could not be listed
    size: int | None = None
    note: str = ""


def _list_repo(api, repo_id, revision, paths):
    from huggingface_hub.hf_api import RepoFile
    files = {f.path: f.size for f in api.list_repo_tree(repo_id, recursive=True, revision=revision)
             if isinstance(f, RepoFile)}
    found = {f.path: f.size for f in api.get_paths_info(repo_id, sorted(paths), revision=revision)
             if isinstance(f, RepoFile)}
    return Listing(repo_id, revision, files, found)


def list_sources(infos, timeout=None):
    """{(repo_id, revision): Listing} for every source of `infos` (Hub entries), one deadline for all."""
    import hubguard
    from huggingface_hub import HfApi
    groups = {}
    for info in infos:
        for src in info.sources:
            groups.setdefault((src.repo_id, src.revision), set()).add(src.filename)
    if not groups:
        return {}
    probe_hub("cannot verify the registry", hint=False)
    api = HfApi(endpoint=_endpoint())
    transfer = hubguard.Transfer("verify", timeout=timeout, all_requests=True)
    out = {}
    with hubguard.guarded(transfer):
        for (repo_id, revision), paths in groups.items():
            try:
                out[repo_id, revision] = _list_repo(api, repo_id, revision, paths)
            except Exception as e:  # noqa: BLE001 - mapped to one line (Hub-level) or a per-repo state
                hub_level, why = classify(e, Source(repo_id, "", revision))
                if hub_level:
                    raise HubUnavailableError(f"cannot verify the registry: {why}") from e
                out[repo_id, revision] = Listing(repo_id, revision, error=why)
    return out


_COMMON = {"stylegan", "stylegan2", "pytorch", "pkl", "config", "f", "v2"}


def _words(name):
    return {w for w in re.split(r"[^a-z]+", name.lower()) if w and w not in _COMMON}


def _suggest(filename, files):
    """Files of the repo that look like `filename` moved or renamed: the same name in another folder,
    or a name with the same distinctive words ('lions' for stylegan2_lions_512_pytorch.pkl)."""
    base, words = posixpath.basename(filename), _words(posixpath.basename(filename))
    same = [p for p in files if posixpath.basename(p) == base]
    like = [p for p in files if p not in same and words and words <= _words(posixpath.basename(p))]
    return (same + like)[:3]


def check_model(info, listings):
    out = []
    for src in info.sources:
        lst = listings[src.repo_id, src.revision]
        if lst.error:
            out.append(SourceCheck(src, None, note=lst.error))
        elif src.filename in lst.found or src.filename in lst.files:
            out.append(SourceCheck(src, True, lst.found.get(src.filename, lst.files.get(src.filename))))
        else:
            like = _suggest(src.filename, lst.files)
            out.append(SourceCheck(src, False, note=f"did you mean {' or '.join(like)}?" if like else ""))
    return out


def _mb(size):
    if size is None:
        return "size unknown"
    return f"{size / 1e6:,.1f} MB" if size >= 1e5 else f"{size:,} bytes"


def verdict(checks):
    ok = [i for i, c in enumerate(checks, 1) if c.found]
    if ok:
        return f"verified: source {ok[0]} of {len(checks)} ({_mb(checks[ok[0] - 1].size)}) is what fetch uses"
    if any(c.found is None for c in checks):
        return "not verified: " + "; ".join(c.note for c in checks if c.found is None)
    return "MISSING: no source exists on the Hub"


def report_lines(infos, listings):
    """The text `verify` prints, and whether every checked Hub model has a source."""
    lines, all_ok = [], True
    for (repo_id, rev), lst in listings.items():
        at = f"@{rev[:8]}" if rev else ""
        lines.append(f"{repo_id}{at}: " + (lst.error if lst.error else f"{len(lst.files)} files listed"))
    for info in infos:
        lines.append("")
        lines.append(f"{info.id}  {info.display_name}  {info.shape_text} (HxW)  {info.licence}")
        if info.offline:
            lines.append(f"  bundled: {info.local_path} ({_mb(info.size_mb * 1e6 if info.size_mb else None)}), "
                         f"nothing to verify")
            continue
        checks = check_model(info, listings)
        for i, c in enumerate(checks, 1):
            state = {True: f"found, {_mb(c.size)}", False: "missing", None: "not listed"}[c.found]
            extra = f" ({c.note})" if c.note else ""
            lines.append(f"  {i}. {c.source}  {state}{extra}")
        lines.append(f"  => {verdict(checks)}")
        all_ok &= any(c.found for c in checks)
    used = {(s.repo_id, s.filename) for i in list_models() for s in i.sources}   # the whole registry
    unused = {}
    for (repo_id, _), lst in listings.items():
        unused.setdefault(repo_id, set()).update(p for p in lst.files if p.endswith(".pkl") and (repo_id, p) not in used)
    for repo_id, extra in unused.items():
        if extra:
            lines += ["", f"{repo_id}: .pkl files no registry entry uses: {', '.join(sorted(extra))}"]
    return lines, all_ok


def run(infos, timeout=None, out=print):
    """Check `infos` against the Hub, print the report; True when every Hub model has a source."""
    t = time.perf_counter()
    listings = list_sources([i for i in infos if not i.offline], timeout)
    lines, ok = report_lines(infos, listings)
    for line in lines:
        out(line)
    if listings:
        out(f"\nchecked {len(listings)} repo listings in {time.perf_counter() - t:.1f} s")
    return ok
