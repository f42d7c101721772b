"""The registry's entries, their ordered sources and `verify`, against the fake Hub (a real HTTP
server speaking the Hub's download and repo API) serving both public repos' layouts, with small
real generators in the official pickle format."""
import re

import pytest
import torch

import checkpoints
from checkpoints import describe, registry
from checkpoints.__main__ import main
from fake_hub import LAYOUTS, PINNED_ONLY
from hub_testing import ROOT, checkpoints_cli, pickle_bytes, start_hub, tiny_G

DGM, MIRROR = checkpoints.DRAGGAN_HUB, checkpoints.MIRROR


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """The fake Hub serving both public repos' layouts; the registry as shipped."""
    server = start_hub(tmp_path, monkeypatch, layouts=True)
    yield server
    server.close()


# --- the entries ---------------------------------------------------------------------------------
def test_every_kind_the_issue_lists_is_there_with_its_facts():
    models = {m.id: m for m in checkpoints.list_models()}
    for mid in ("faces-ffhq-512 faces-ffhq-1024 faces-metfaces-1024 cats-afhq-512 dogs-afhq-512 wild-afhq-512 "
                "cats-256 dogs-1024 horses-256 horses-lsun-256 cars-512 churches-256 lions-512 elephants-512 "
                "giraffes-512 parrots-512 bicycles-256 humans-512 humans-1024").split():
        m = models[mid]
        assert m.sources and m.licence and m.size_mb and m.preset_from, mid
        # FreeDrag's (l, d) from its app's table; a category it does not list keeps the engine's defaults
        listed = m.category in registry.FREEDRAG_APP
        assert bool(m.presets) == listed and ("FreeDrag app" in m.preset_from) == listed, mid
        assert checkpoints.presets(mid)["freedrag"] == m.presets.get("freedrag", {}), mid
        assert all(s.repo_id in (DGM, MIRROR) for s in m.sources)
    assert models["humans-512"].shape == (512, 256) and models["humans-1024"].shape == (1024, 512)
    assert models["cars-512"].shape == (512, 512) and "384x512" in models["cars-512"].notes
    lic = models["lions-512"].licence + models["lions-512"].licence_note
    assert "Apache-2.0" in lic and "CC BY-NC 4.0" in lic and "contradictory" in lic
    assert models["elephants-512"].presets == {"freedrag": {"l": 0.4, "d": 4.0}}
    assert "not in FreeDrag" in models["humans-512"].preset_from


def test_evidenced_sources_are_the_ones_the_layouts_hold():
    """A source marked as named by public code is in the repo layout that code implies; the
    inferred ones are exactly those that are not."""
    for m in checkpoints.list_models():
        for s in m.sources:
            named = s.filename in LAYOUTS[s.repo_id] and not (s.revision is None and s.filename in PINNED_ONLY)
            assert s.evidenced == named, (m.id, str(s))
    assert not any(m.verified_on for m in checkpoints.list_models())   # nothing was checked on the live Hub


def test_readme_model_table_is_the_registry():
    readme = (ROOT / "README.md").read_text()
    models = checkpoints.list_models()
    for line in describe.markdown_table(models) + describe.markdown_notes(models):
        assert line in readme, line


def test_list_shows_the_presets_each_model_uses(tmp_path, monkeypatch, capsys):
    """`python -m checkpoints list` prints the values the engines get (checkpoints.presets), not the
    registry's FreeDrag l / d: the bundled model's calibrated l=0.1 d=4, not the official 0.3 / 3."""

    def listing():
        assert main(["list"]) == 0
        out = capsys.readouterr().out
        return out, {line.split()[0]: line for line in out.splitlines() if line and not line.startswith(" ")}
    out, rows = listing()
    bundled, info = checkpoints.presets("faces-64-offline"), checkpoints.get_info("faces-64-offline")
    row = rows["faces-64-offline"]
    assert f"l={bundled['freedrag']['l']:g} d={bundled['freedrag']['d']:g}" in row and "calibrated" in row
    assert (bundled["freedrag"]["l"], bundled["freedrag"]["d"]) != (info.presets["freedrag"]["l"], info.presets["freedrag"]["d"])
    assert f"l={info.presets['freedrag']['l']:g} d={info.presets['freedrag']['d']:g}" not in row
    for engine in ("draggan", "freedrag"):    # every calibrated setting, under the table
        assert f"{engine}: {describe.settings_text(bundled[engine])}" in out
    assert "l=0.4 d=4" in rows["lions-512"] and "defaults" in rows["lions-512"]   # the FreeDrag app's table
    # an operator's own presets folder: the listing follows it
    monkeypatch.setenv("LATENTLAB_PRESETS_DIR", str(tmp_path))
    (tmp_path / "lions-512.json").write_text('{"freedrag": {"l": 0.2, "d": 2}, "draggan": {"r1": 5}}')
    out, rows = listing()
    assert "l=0.2 d=2" in rows["lions-512"] and "calibrated" in rows["lions-512"] and "draggan: r1=5" in out
    assert "l=0.3 d=3" in rows["faces-64-offline"] and "defaults" in rows["faces-64-offline"]
    (tmp_path / "lions-512.json").write_text("{not json")
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "lions-512.json" in err and err.count("\n") == 1


def test_overrides_put_a_mirror_first_or_replace_the_sources(tmp_path, monkeypatch):
    import json
    f = tmp_path / "m.json"
    f.write_text(json.dumps({"lions-512": {"repo_id": "me/mirror"},
                             "cats-256": {"sources": [{"repo_id": "me/a", "filename": "c.pkl", "revision": "v1"}]}}))
    monkeypatch.setenv("LATENTLAB_MODELS", str(f))
    lions = checkpoints.get_info("lions-512")
    assert [str(s) for s in lions.sources] == ["me/mirror:self_distill/lions_512_pytorch.pkl",
                                               "aaronb/StyleGAN2-pkl:self_distill/lions_512_pytorch.pkl",
                                               "DragGan/DragGan-Models:stylegan2_lions_512_pytorch.pkl"]
    assert [str(s) for s in checkpoints.get_info("cats-256").sources] == ["me/a@v1:c.pkl"]
    f.write_text(json.dumps({"cats-256": {"sources": [{"repo": "x"}]}}))
    with pytest.raises(ValueError, match="each of 'sources' must be an object"):
        checkpoints.list_models()
    for size in (-5, 0, 100000):   # before: listed as '-5x-5'
        f.write_text(json.dumps({"mine": {"display_name": "Mine", "resolution": size, "category": "faces",
                                          "local_path": "m.pkl"}}))
        with pytest.raises(ValueError, match=f"field 'resolution' must be a whole number of px from 4 to 4096, got {size}"):
            checkpoints.list_models()


def test_default_model_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("LATENTLAB_DEFAULT_MODEL", raising=False)
    assert checkpoints.default_model() == "faces-64-offline"
    monkeypatch.setenv("LATENTLAB_DEFAULT_MODEL", "humans-512")
    assert checkpoints.default_model() == "humans-512"
    monkeypatch.setenv("LATENTLAB_DEFAULT_MODEL", "nope")
    with pytest.raises(ValueError, match="LATENTLAB_DEFAULT_MODEL='nope' is neither a registry id"):
        checkpoints.default_model()


# --- sources tried in order ----------------------------------------------------------------------
def test_renamed_file_moves_to_the_next_source_with_a_one_line_note(hub, tmp_path):
    G = tiny_G()
    hub.remove(MIRROR, "self_distill/lions_512_pytorch.pkl")           # renamed on the mirror
    hub.add(MIRROR, "self_distill/lions_512.pkl", b"x" * 10)
    hub.add(DGM, "stylegan2_lions_512_pytorch.pkl", pickle_bytes(tmp_path, G))
    notes = []
    G2 = checkpoints.load("lions-512", report=notes.append)
    z = torch.randn(2, 16)
    assert torch.equal(G(z), G2(z))
    assert notes[0] == ("lions-512: aaronb/StyleGAN2-pkl:self_distill/lions_512_pytorch.pkl: "
                        "self_distill/lions_512_pytorch.pkl was not found in aaronb/StyleGAN2-pkl (renamed or "
                        "removed?); trying DragGan/DragGan-Models:stylegan2_lions_512_pytorch.pkl next")
    assert "registry says 512x512" in notes[1]   # the tiny stand-in is 16x16: said, not hidden
    assert checkpoints.is_cached("lions-512")
    hub.close()   # cached: loads with no Hub at all
    assert torch.equal(checkpoints.load("lions-512")(z), G(z))


def test_gated_repo_needs_a_token_then_the_mirror_is_used(hub, tmp_path, monkeypatch):
    G_dgm, G_mirror = tiny_G(1, width=8), tiny_G(2, width=8)
    hub.add_repo(DGM, mode="gated", token="hf_secret")
    hub.add(DGM, "stylegan_human_v2_512.pkl", pickle_bytes(tmp_path, G_dgm, "a.pkl"))
    hub.add(MIRROR, "human/stylegan_human_v2_512.pkl", pickle_bytes(tmp_path, G_mirror, "b.pkl"))
    notes = []
    G = checkpoints.load("humans-512", report=notes.append)
    z = torch.randn(1, 16)
    assert G.img_shape == (16, 8) and torch.equal(G(z), G_mirror(z))
    assert "humans-512: DragGan/DragGan-Models:stylegan_human_v2_512.pkl: DragGan/DragGan-Models is gated: it " \
           "needs a token" in notes[0] and notes[0].endswith("trying aaronb/StyleGAN2-pkl:human/stylegan_human_v2_512"
                                                             ".pkl next")


def test_gated_repo_with_the_token_is_used(hub, tmp_path, monkeypatch):
    G_dgm = tiny_G(1, width=8)
    hub.add_repo(DGM, mode="gated", token="hf_secret")
    hub.add(DGM, "stylegan_human_v2_512.pkl", pickle_bytes(tmp_path, G_dgm))
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    z = torch.randn(1, 16)
    assert torch.equal(checkpoints.load("humans-512", report=lambda t: None)(z), G_dgm(z))


def test_pinned_revision_is_requested(hub, tmp_path):
    hub.add(DGM, "stylegan2-ffhq-512x512.pkl", pickle_bytes(tmp_path, tiny_G()))
    checkpoints.load("faces-ffhq-512", report=lambda t: None)
    assert any("/resolve/20dedd0259ff3009fceefa531c3be8ae4f11cd82/stylegan2-ffhq-512x512.pkl" in p
               for _, p in hub.requests)


# --- the command line ----------------------------------------------------------------------------
@pytest.mark.integration   # the CLI against the fake Hub
def test_cli_fetch_notes_on_stdout_error_one_line(hub, tmp_path):
    hub.remove(MIRROR, "self_distill/parrots_512_pytorch.pkl")
    p, _ = checkpoints_cli("fetch", "parrots-512")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert "parrots_512_pytorch.pkl was not found in aaronb/StyleGAN2-pkl" in p.stderr
    hub.remove(MIRROR, "self_distill/horses_256_pytorch.pkl")
    hub.add(DGM, "stylegan2_horses_256_pytorch.pkl", pickle_bytes(tmp_path, tiny_G()))
    p, _ = checkpoints_cli("fetch", "horses-256")
    assert p.returncode == 0 and p.stdout.splitlines()[-1] == "horses-256: ready (16x16 px, HxW)"
    assert p.stdout.startswith("note: horses-256: aaronb/StyleGAN2-pkl:self_distill/horses_256_pytorch.pkl: ")


@pytest.mark.integration   # the fake Hub, ~4 s
def test_verify_reports_sources_sizes_and_renames(hub, capsys):
    """`python -m checkpoints verify` as its main() in this process (the command as a real process, its
    exit code and one stderr line, is test_cli_fetch_notes_on_stdout_error_one_line's and
    tests/test_hub_failures.py's)."""
    hub.remove(MIRROR, "self_distill/lions_512_pytorch.pkl")
    hub.add(MIRROR, "self_distill/lions_512.pkl", b"x" * 1234)
    capsys.readouterr()
    code = main(["verify"])
    out, err = capsys.readouterr()
    assert code == 1, err          # lions-512 has no source left
    assert "DragGan/DragGan-Models: 6 files listed" in out and "aaronb/StyleGAN2-pkl: 21 files listed" in out
    size = len(b"human/stylegan_human_v2_1024.pkl" * 8)
    assert f"  1. aaronb/StyleGAN2-pkl:human/stylegan_human_v2_1024.pkl  found, {size} bytes" in out
    assert "  1. aaronb/StyleGAN2-pkl:self_distill/lions_512_pytorch.pkl  missing (did you mean " \
           "self_distill/lions_512.pkl?)" in out
    assert "  2. DragGan/DragGan-Models:stylegan2_lions_512_pytorch.pkl  missing" in out
    assert re.search(r"lions-512 .*\n.*\n.*\n  => MISSING: no source exists on the Hub", out)
    assert "  => verified: source 1 of 2" in out and "aaronb/StyleGAN2-pkl: .pkl files no registry entry uses: " \
                                                    "ada/brecahad.pkl, self_distill/lions_512.pkl" in out
    assert main(["verify", "humans-512", "faces-ffhq-512"]) == 0
    assert "DragGan/DragGan-Models@20dedd02: 6 files listed" in capsys.readouterr().out


@pytest.mark.integration   # the fake Hub, ~2 s
def test_verify_gated_repo_and_bad_id(hub, capsys):
    """main() in this process, as test_verify_reports_sources_sizes_and_renames."""
    hub.add_repo(DGM, mode="gated", token="t")
    capsys.readouterr()
    assert main(["verify", "dogs-1024"]) == 0
    out = capsys.readouterr().out
    assert "DragGan/DragGan-Models: DragGan/DragGan-Models is gated: it needs a token" in out
    assert "  1. DragGan/DragGan-Models:stylegan2_dogs_1024_pytorch.pkl  not listed (DragGan/DragGan-Models is gated" \
           in out and "=> verified: source 2 of 2" in out
    assert main(["verify", "nope"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown model 'nope'")

