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


def test_robust_counts_are_reported_beside_the_one_rendering_counts():
    """--robust: a face lost on one rendering but found in at least half of its variants is kept by the robust
    count; the ideal's own robust verdict decides which losses count; both counts are in the summary."""
    rows = [row(1, "turn", "ideal local move", 0.8, robust_lost=False), row(2, "turn", "ideal local move", 0.5, robust_lost=True),
            row(1, "turn", "draggan", None, robust_lost=False),   # lost once, kept in most variants: detector noise
            row(2, "turn", "draggan", None, robust_lost=True),    # lost where the ideal keeps it once, but not robustly
            row(3, "turn", "ideal local move", 0.7, robust_lost=False), row(3, "turn", "draggan", 0.9, robust_lost=True)]
    d = poster_edits.summarise(rows, ("draggan",))["draggan/turn"]
    assert (d["lost"], d["lost_ideal_kept"]) == (2, 2) and (d["robust_lost"], d["robust_lost_ideal_kept"]) == (2, 1)
    assert poster_edits.lost_where_ideal_keeps(rows, ("draggan",)) == {"draggan": ["1 turn", "2 turn"]}
    assert poster_edits.lost_where_ideal_keeps(rows, ("draggan",), "robust_lost") == {"draggan": ["3 turn"]}
    assert poster_edits.summarise([row(1, "turn", "draggan", 0.6)], ("draggan",))["draggan/turn"]["robust_lost"] is None


def test_variants_of_a_generated_face_are_imperceptible_and_fixed():
    """detector_noise.variants: k pictures, the first half within one 8-bit level of the face everywhere, the rest
    the face shifted by a quarter pixel (the same content, a changed rendering); the same every call. kept(): at
    least half."""
    import torch
    import checkpoints
    from benchmarks import detector_noise
    from dragcore.protocol import adapt
    gen = adapt(checkpoints.load(checkpoints.DEFAULT_MODEL), "cpu")
    with torch.no_grad():
        face = gen.image(gen.latent_init(1000, 0.7, "w+")).clamp(-1, 1)
    vs = detector_noise.variants(face, 8)
    assert len(vs) == 8 and all(v.shape == face.shape for v in vs)
    for v in vs[:4]:
        assert 0 < (v - face).abs().max() <= 1 / 127.5 + 1e-6
    for i, v in enumerate(vs[4:]):
        assert 0 < (v - face).abs().mean() < 0.05 and all(not torch.equal(v, w) for w in vs[5 + i:])
    assert all(torch.equal(a, b) for a, b in zip(vs, detector_noise.variants(face, 8)))
    assert detector_noise.kept(4, 8) and not detector_noise.kept(3, 8) and detector_noise.kept(2, 3)
    with pytest.raises(ValueError, match="k >= 2"):
        detector_noise.variants(face, 1)


@pytest.mark.integration   # mediapipe in its own interpreter (~2-10 s)
def test_a_generated_face_is_kept_in_its_variants_and_a_blank_picture_in_none():
    """poster_edits.robust_found by the real detector: the bundled model's face is found in at least half of its 8
    variants (the test above's face, margin >= 0.5), a flat grey picture in none."""
    import torch
    from dragcore.protocol import adapt
    from drag_testing import face_model
    from test_benchmarks import _mp_python
    gen = adapt(face_model(), "cpu")
    with torch.no_grad():
        face = gen.image(gen.latent_init(0, 0.7, "w+"))
    n = poster_edits.robust_found({"face": face, "blank": torch.zeros_like(face)}, 8, _mp_python())
    assert n["blank"] == 0 and 4 <= n["face"] <= 8


def test_summary_carries_the_far_field_after_motion_beside_the_raw_one():
    """The far field after motion (dragcore.fidelity.far_residual): its median and the edits over 6/255, for the
    ideal and each engine; None where no row has one (the 'no edit' reference, results from before it)."""
    rows = [row(1, "turn", "ideal local move", 0.4, far_field=0.8, far_residual=0.3),
            row(1, "turn", "draggan", 0.6, far_field=7.5, far_residual=2.0, seconds=1.0),
            row(2, "turn", "draggan", 0.5, far_field=8.0, far_residual=6.5, seconds=1.0),
            row(3, "turn", "draggan", 0.5, far_field=7.0, far_residual=None, seconds=1.0),
            row(1, "turn", "no edit", 0.0)]
    s = poster_edits.summarise(rows, ("draggan",))
    d = s["draggan/turn"]
    assert d["far_field"] == 7.5 and d["far_residual"] == pytest.approx(4.25) and d["far_residual_over_6"] == 1
    assert s["ideal local move/turn"]["far_residual"] == 0.3 and s["ideal local move/turn"]["far_residual_over_6"] == 0
    assert s["no edit/turn"]["far_residual"] is None and s["no edit/turn"]["far_residual_over_6"] is None
