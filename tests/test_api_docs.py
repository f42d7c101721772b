"""docs/api.md against the real app: every endpoint `gradio_client.Client.view_api()` shows is
documented with its parameters in order (and nothing else is), no endpoint returns two outputs of
the same name, and the settings table is /new_image's outputs and the drag endpoints' parameters."""
import re
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.utils import sanitize_parameter_names


pytestmark = pytest.mark.integration   # the launched app's API (and its ui import)

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api.md"
ROW = re.compile(r"^\|(.+?)\|(.+?)\|(.*)\|\s*$")


def _names(cell):
    """The backticked names of a table cell, outside parentheses."""
    return re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", cell))


def documented():
    """({endpoint: [parameters]}, [(setting parameter, /new_image output)]) from docs/api.md's tables."""
    endpoints, settings = {}, []
    for line in API.read_text().splitlines():
        m = ROW.match(line)
        if not m or set(m.group(1).strip()) <= set("-"):
            continue
        first = _names(m.group(1))
        if first and all(n.startswith("/") for n in first):
            params = _names(m.group(2)) if m.group(2).strip() != "none" else []
            for name in first:
                assert name not in endpoints, f"docs/api.md documents {name} twice"
                endpoints[name] = params + (["<settings>"] if "settings below" in m.group(2) else [])
        elif len(first) == 1 and line.count("|") == 5 and _names(m.group(2)):
            settings.append((first[0], _names(m.group(2))[0]))
    settings_params = [p for p, _ in settings]
    endpoints = {k: [q for p in v for q in (settings_params if p == "<settings>" else [p])]
                 for k, v in endpoints.items()}
    return endpoints, settings


def test_the_doc_parser_reads_rows_parameters_and_settings():
    eps, settings = documented()
    assert eps["/new_image"] == ["model", "seed", "psi", "space"]          # `w+` in parentheses is a value
    assert eps["/undo_point"] == eps["/clear_points"] == []
    assert eps["/compare"][0] == "editor" and eps["/compare"][1:] == [p for p, _ in settings]
    from ui.drag_settings import FIELDS
    assert [p for p, _ in settings] == [f.name for f in FIELDS]   # every settings field, in the app's order


@pytest.fixture(scope="module")
def api(shared_app):
    server = shared_app
    return Client(server.url, verbose=False).view_api(return_format="dict", print_info=False)


def test_docs_list_exactly_the_endpoints_and_parameters_the_app_shows(api):
    shown = api["named_endpoints"]
    assert not api["unnamed_endpoints"], f"endpoints without a name: {list(api['unnamed_endpoints'])}"
    eps, _ = documented()
    assert sorted(eps) == sorted(shown), (f"missing from docs/api.md: {sorted(set(shown) - set(eps))}; "
                                          f"documented but not in the app: {sorted(set(eps) - set(shown))}")
    for name, info in shown.items():
        params = [p.get("parameter_name") or p["label"] for p in info["parameters"]]
        assert params == eps[name], f"{name}: the app takes {params}, docs/api.md says {eps[name]}"


def test_no_endpoint_returns_two_outputs_of_one_name(api):
    for name, info in api["named_endpoints"].items():
        outputs = [sanitize_parameter_names(r["label"]) for r in info["returns"]]
        twice = sorted({o for o in outputs if outputs.count(o) > 1})
        assert not twice, f"{name} returns {twice} more than once: give those components unique labels"


def test_settings_table_is_new_images_outputs(api):
    _, settings = documented()
    outputs = [sanitize_parameter_names(r["label"]) for r in api["named_endpoints"]["/new_image"]["returns"]]
    assert outputs[2:2 + len(settings)] == [o for _, o in settings], outputs
