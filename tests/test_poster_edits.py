"""benchmarks.poster_edits: the summary a reader compares engines by (error |1 - moved|, faces lost where
the ideal local move keeps the face, steps per edit) and the engine choice's one-line refusal."""
import pytest

from benchmarks import poster_edits


def row(seed, edit, method, motion, **kw):
    return dict(seed=seed, edit=edit, method=method, motion=motion, lost=motion is None, **kw)


def test_summary_counts_only_losses_the_ideal_move_survives():
    rows = [row(1, "turn", "ideal local move", 0.8), row(2, "turn", "ideal local move", None),
            row(3, "turn", "ideal local move", 0.6),
            row(1, "turn", "draggan", None, steps=30, seconds=1.0),    # lost where the ideal kept the face
            row(2, "turn", "draggan", None, steps=10, seconds=1.0),    # lost where the ideal lost it too
            row(3, "turn", "draggan", 1.3, steps=20, seconds=1.0)]
    s = poster_edits.summarise(rows, ("draggan",))
    d, ideal = s["draggan/turn"], s["ideal local move/all"]
    assert d["lost"] == 2 and d["lost_ideal_kept"] == 1
    assert d["error"] == pytest.approx(0.3) and d["steps"] == 20
    assert ideal["error"] == pytest.approx(0.3) and ideal["lost_ideal_kept"] == 0 and ideal["steps"] is None
    assert "freedrag/turn" not in s   # only the engines asked for
    assert poster_edits.lost_where_ideal_keeps(rows, ("draggan",)) == {"draggan": ["1 turn"]}   # traced to its face
    assert poster_edits.lost_where_ideal_keeps(rows[:3] + rows[4:], ("draggan",)) == {}


def test_unknown_engine_is_one_clear_error(capsys):
    with pytest.raises(SystemExit):
        poster_edits.main(["--engines", "draggan,stylegan", "--seeds", "1000-1000"])
    assert "--engines must be out of" in capsys.readouterr().err


def test_set_overrides_one_engine_setting_and_refuses_bad_ones(capsys):
    import argparse
    ap = argparse.ArgumentParser()
    params = {"draggan": {"lr": 0.01}, "freedrag": {"d": 3.0}}
    out = poster_edits.overridden(ap, params, ["draggan.warp_guard=10", "freedrag.d=2"])
    assert out == {"draggan": {"lr": 0.01, "warp_guard": 10.0}, "freedrag": {"d": 2.0}}
    assert params["draggan"] == {"lr": 0.01}   # the presets themselves untouched
    for bad, says in (("draggan.tau=0.4", "one of its settings"), ("warp_guard=1", "ENGINE.SETTING=VALUE"),
                      ("draggan.lr=fast", "is not a float")):
        with pytest.raises(SystemExit):
            poster_edits.overridden(ap, params, [bad])
        assert says in capsys.readouterr().err


def test_summary_reports_how_near_the_kept_faces_came_to_being_lost():
    """--margins: per method the median drop of the detection margin from the start's, and the lowest margin
    (a lost face's margin is below 0.5); absent without margins."""
    rows = [row(1, "turn", "draggan", 0.6, margin=0.55, start_margin=0.75),
            row(2, "turn", "draggan", None, margin=0.40, start_margin=0.52),
            row(3, "turn", "draggan", 0.9, margin=0.70, start_margin=0.72)]
    d = poster_edits.summarise(rows, ("draggan",))["draggan/turn"]
    assert d["margin_drop"] == pytest.approx(0.12) and d["min_margin"] == 0.40
    plain = poster_edits.summarise([row(1, "turn", "draggan", 0.6)], ("draggan",))["draggan/turn"]
    assert plain["margin_drop"] is None and plain["min_margin"] is None
