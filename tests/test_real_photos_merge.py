"""benchmarks.real_photos' report from merged runs (`--merge`, no photo read, no model run): the far field after
motion is a column beside the raw far field for every method, the ideal local move's included; results written
before it was measured show n/a, and a merge of old and new runs reads the rows that have it. Also the sets and
what `--ids` takes, and the name a run's results get."""
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import real_photos


def run_json(path, photos, residual):
    """A run's JSON with what a merge reads: one PTI row per photo, each photo's turn by the ideal and DragGAN."""
    rows = [dict(recipe="after", photo=p, stage="PTI", psnr=35.0, face_psnr=35.5, landmarks_px=0.3, photo_face=True,
                 face_kept=True, seconds=19.0, cpu_seconds=18.0) for p in photos]
    drag_rows = []
    for p in photos:
        for m, far in (("ideal local move", 0.8), ("draggan", 7.5)):
            r = dict(recipe="after, photo path", inverted="after", photo=p, edit="turn", method=m, lost=False,
                     motion=0.5, colour_cast=1.5, far_field=far, seconds=None if m != "draggan" else 2.0,
                     to_ideal=None if m != "draggan" else 17.0)
            if residual:
                r["far_residual"] = far / 3 if m == "draggan" else 0.3 + p    # photo 7's DragGAN turn: 2.5
                if p == 8 and m == "draggan":
                    r["far_residual"] = 6.5
            drag_rows.append(r)
    path.write_text(json.dumps(dict(rows=rows, drag_rows=drag_rows, photos=photos, load=[1.0, 2.0], model_samples=62,
                                    recipes={"after": {}})))
    return str(path)


def table(out, name):
    md = (out / f"{name}.md").read_text().splitlines()
    head = next(i for i, line in enumerate(md) if "far field after motion (/255)" in line)
    cols = [c.strip() for c in md[head].strip("|").split("|")]
    rows = {}
    for line in md[head + 2:]:
        if not line.startswith("|"):
            break
        cells = dict(zip(cols, (c.strip() for c in line.strip("|").split("|"))))
        rows[(cells["method"], cells["edit"])] = cells
    return cols, rows


def test_merged_runs_carry_the_far_field_after_motion_and_old_runs_show_na(tmp_path):
    old = run_json(tmp_path / "old.json", [1, 2], residual=False)
    new = run_json(tmp_path / "new.json", [7, 8], residual=True)
    out = tmp_path / "results"
    real_photos.main(["--set", "report", "--tag", "t_old", "--merge", old, "--out", str(out)])
    cols, rows = table(out, "real_photos_t_old")
    assert cols.index("far field after motion (/255)") == cols.index("edits with far field > 6") + 1
    assert cols[cols.index("far field after motion (/255)") + 1] == "edits with it > 6"
    for m in ("ideal local move", "draggan"):
        assert rows[(m, "turn")]["far field after motion (/255)"] == "n/a"
        assert rows[(m, "turn")]["edits with it > 6"] == "n/a"
        assert rows[(m, "turn")]["far field (/255)"] != "n/a"

    real_photos.main(["--set", "report", "--tag", "t_mix", "--merge", old, new, "--out", str(out)])
    _, rows = table(out, "real_photos_t_mix")
    assert rows[("draggan", "turn")]["far field after motion (/255)"] == "4.5"    # median of 2.5 and 6.5
    assert rows[("draggan", "turn")]["edits with it > 6"] == "1"
    assert rows[("ideal local move", "turn")]["far field after motion (/255)"] == "7.8"   # 7.3 and 8.3
    assert rows[("ideal local move", "turn")]["edits with it > 6"] == "2"
    assert rows[("draggan", "turn")]["edits with far field > 6"] == "4"             # the raw column reads every run
    data = json.loads((out / "real_photos_t_mix.json").read_text())
    assert data["drags"]["after, photo path/draggan/all"]["far_residual_over_6"] == 1


def test_the_sets_and_the_ids_a_run_takes():
    """The search set is every allowed image neither reported nor tuned on; `--ids` takes a range or a list, and a run
    of a long list is named by its first and last id and its count."""
    sets = real_photos.SETS
    assert sets["search"] == list(range(31, 451)) and sets["report"] == list(range(1, 31))
    assert sorted(sum(sets.values(), [])) == list(real_photos.ALLOWED)   # the three sets split 1-500, none shared
    assert real_photos.parse_ids("31-33") == {31, 32, 33} and real_photos.parse_ids("265, 251,40-41") == {265, 251, 40, 41}
    many = list(range(101, 151))
    assert real_photos.results_name("search", ",".join(map(str, many)), many, "x") == "real_photos_search_101-150_50ids_x"
    assert real_photos.results_name("tune", "451-475", None, None) == "real_photos_tune_451-475"
    assert real_photos.results_name("report", None, [1], "s13") == "real_photos_s13"
    for bad in ("abc", "5-3", ","):   # a bad list is one line naming --ids
        with pytest.raises(ValueError, match="--ids"):
            real_photos.parse_ids(bad)


@pytest.mark.parametrize("ids", ["abc", ",", "600", "3 --set tune"])
def test_bad_ids_are_one_line_and_exit_2_before_any_photo_is_read(ids, capsys):
    with pytest.raises(SystemExit) as e:
        real_photos.main(["--ids", *ids.split()])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and ": error: --ids" in err[-1], err


def test_mirrored_photos_and_their_runs_stay_apart(tmp_path):
    """`--mirror` turns each face the other way (a left-right flip, pixel for pixel); a merge of mirrored runs is
    named and headed as mirrored, and runs of both kinds are not merged into one table."""
    photo = (np.arange(4 * 6 * 3) % 251).astype(np.uint8).reshape(4, 6, 3)
    m = real_photos.mirrored(photo)
    assert m.flags["C_CONTIGUOUS"] and m.shape == photo.shape
    assert (m[:, 0] == photo[:, -1]).all() and (m[:, -1] == photo[:, 0]).all()
    assert (real_photos.mirrored(m) == photo).all()
    flipped = json.loads(Path(run_json(tmp_path / "m.json", [41, 59], residual=True)).read_text())
    flipped["mirrored"] = True
    (tmp_path / "m.json").write_text(json.dumps(flipped))
    plain = run_json(tmp_path / "p.json", [73], residual=True)
    out = tmp_path / "results"
    real_photos.main(["--set", "search", "--tag", "t", "--merge", str(tmp_path / "m.json"), "--out", str(out)])
    md = (out / "real_photos_search_t_mirrored.md").read_text()
    assert "search set (images 000041-000059, mirrored)" in md
    assert json.loads((out / "real_photos_search_t_mirrored.json").read_text())["mirrored"] is True
    with pytest.raises(SystemExit) as e:
        real_photos.main(["--set", "search", "--tag", "u", "--merge", str(tmp_path / "m.json"), plain, "--out", str(out)])
    assert e.value.code == 2
    assert not (out / "real_photos_search_u.md").exists() and not (out / "real_photos_search_u_mirrored.md").exists()
    with pytest.raises(SystemExit) as e:   # --mirror cannot make plain runs mirrored
        real_photos.main(["--set", "search", "--tag", "v", "--mirror", "--merge", plain, "--out", str(out)])
    assert e.value.code == 2 and not (out / "real_photos_search_v_mirrored.md").exists()
    assert real_photos.results_name("search", "41,59", [41, 59], "t", mirrored=True) == "real_photos_search_41,59_t_mirrored"


def test_robust_counts_sit_beside_the_one_rendering_counts(tmp_path):
    """`--robust K` runs carry each drag's count over K variants: a face counts as lost by it when found in fewer
    than half, and "where the ideal kept one" judges the ideal by the same rule. Here photo 1's ideal is kept on
    its one rendering but not robustly (3 of 8), and DragGAN's is lost on both; photo 2's ideal is kept robustly
    (4 of 8, exactly half) and DragGAN's is kept on its rendering but found in 2 of 8."""
    path = Path(run_json(tmp_path / "r.json", [1, 2], residual=True))
    data = json.loads(path.read_text())
    found = {(1, "ideal local move"): 3, (1, "draggan"): 0, (2, "ideal local move"): 4, (2, "draggan"): 2}
    for r in data["drag_rows"]:
        r.update(robust_found=found[(r["photo"], r["method"])], robust_of=8,
                 robust_lost=found[(r["photo"], r["method"])] < 4, lost=(r["photo"], r["method"]) == (1, "draggan"))
    path.write_text(json.dumps(data))
    out = tmp_path / "results"
    real_photos.main(["--set", "report", "--tag", "rob", "--merge", str(path), "--out", str(out)])
    drags = json.loads((out / "real_photos_rob.json").read_text())["drags"]
    dg, ideal = drags["after, photo path/draggan/turn"], drags["after, photo path/ideal local move/turn"]
    assert (dg["lost"], dg["robust_lost"], dg["robust_lost_where_ideal_kept"]) == (1, 2, 1)   # photo 2's only
    assert ideal["robust_lost"] == 1 and "robust_lost_where_ideal_kept" not in ideal
    assert drags["after, photo path/draggan/all"]["lost_where_ideal_kept"] == 1   # photo 1, by one rendering
    _, rows = table(out, "real_photos_rob")
    assert rows[("draggan", "turn")]["faces lost (lost where the ideal kept one; robust: over K variants)"] == \
        "1/2; robust 2 (1)"
    # a run without --robust has no robust counts at all (not zeros)
    plain = run_json(tmp_path / "p.json", [1, 2], residual=True)
    real_photos.main(["--set", "report", "--tag", "plain", "--merge", plain, "--out", str(out)])
    assert "robust_lost" not in json.loads((out / "real_photos_plain.json").read_text())["drags"][
        "after, photo path/draggan/turn"]


def test_robust_takes_2_to_32_variants(capsys):
    with pytest.raises(SystemExit) as e:
        real_photos.main(["--robust", "40"])
    assert e.value.code == 2 and "--robust takes a number of variants from 2 to 32" in capsys.readouterr().err
