"""A photo drag's own engine settings (drags.in_photo.presets: StableDrag moves the warp code alone, rows 0; the reach
term) reach the session before it is built, through each path that drags an inverted photo: the app's "Drag this
photo" and its drag handler, and benchmarks.real_photos' photo drags (the CLI's `--inverted`:
tests/test_cli_start.py). A generated face keeps the model's presets, and so does a model without a warp pathway.
The bundled model and a seed's W+ latent stand in for an inversion's (what "Drag this photo" carries: a latent and a
generator)."""
import checkpoints
from benchmarks import real_photos
from drag_testing import face_model, small_G
from dragcore.protocol import StyleGANAdapter
from drags import in_photo
from stylegan.imageops import to_uint8
from ui import drag_handlers, drag_image, drag_settings, tab_invert
from ui.state import DragState

MODEL = checkpoints.DEFAULT_MODEL


def test_a_photo_s_presets_set_stabledrag_s_rows_on_a_warp_model_only():
    own = checkpoints.presets(MODEL)
    assert own["stabledrag"]["rows"] == 2
    photo = in_photo.presets(own, face_model())
    # the code alone, guarded, with a twist term a third of DragGAN's (session 15: a profile's turn kept)
    assert photo["stabledrag"] == {**own["stabledrag"], "rows": 0, "warp_guard": 1.0, "warp_twist": 30.0,
                                   "warp_reach": 100.0}
    for m in ("draggan", "freedrag"):   # the twist term (drags.in_photo.prepare sets the angle it lets through)
        assert photo[m] == {**own[m], **in_photo.SETTINGS[m]} and "warp_twist" not in own[m]
    # the reach term (session 13; DragGAN's and StableDrag's with the field picture, sessions 23-24): the far field kept
    # still, at each engine's own weight
    assert photo["freedrag"]["warp_reach"] == 1000.0 and all("warp_reach" not in own[m] for m in own)
    # FreeDrag's stiffer band (session 14: a profile's turn kept); the other engines keep the guard's default band
    assert photo["freedrag"]["warp_floor"] == 0.8 and all("warp_floor" not in photo[m] for m in ("draggan", "stabledrag"))
    # FreeDrag's term weighs three times DragGAN's (session 10: at DragGAN's weight a tuning photo's smile lost its face)
    assert (photo["draggan"]["warp_twist"], photo["freedrag"]["warp_twist"]) == (100.0, 300.0)
    assert own["stabledrag"]["rows"] == 2 and type(photo) is type(own)   # the model's own are untouched
    assert in_photo.presets(own, small_G()) == own   # no warp pathway: rows 0 would not even be valid there


def _sent(G):
    """The Drag tab after "Drag this photo" of an inversion-like start: the bundled model's W+ latent of seed 3."""
    gen = StyleGANAdapter(G)
    ws = gen.latent_init(3, 0.7, "w+")
    image = to_uint8(gen.image(ws))[0]
    inv = dict(model=MODEL, ws=ws, generator=G, image=image, photo=None)
    return tab_invert.send_to_drag(inv, DragState())


def _field(values, name):
    return dict(zip(drag_settings.NAMES, values))[name]


def test_the_apps_photo_path_shows_and_drags_with_a_photo_s_settings():
    G = face_model()
    out = _sent(G)
    state, values = out[0], out[3:3 + len(drag_settings.NAMES)]
    # the note says what each engine's photo drag shows (drags.in_photo.PICTURE)
    assert "DragGAN, FreeDrag and StableDrag show the reconstruction moved by that field." in out[-1]
    assert out[-1].endswith("(The seed and ψ above are New image's: the photo has a latent of its own.)")
    assert _field(values, "stabledrag_rows") == 0 and _field(values, "draggan_rows") == 0
    seed_values = drag_image.new_image(MODEL, 3, 0.7, "w+", None)[3:3 + len(drag_settings.NAMES)]
    assert _field(seed_values, "stabledrag_rows") == 2   # a generated face: the model's presets
    # a field left empty (the API) still gets the photo's setting; a user's own value wins
    given = dict(zip(drag_settings.NAMES, values), stabledrag_rows=None, max_steps=1, precision="fp32")
    cfg = drag_settings.configs(["stabledrag"], state.model, state.seed, state.psi, state.space,
                                list(given.values()), photo=state.generator)["stabledrag"]
    assert cfg.rows == 0
    own = drag_settings.configs(["stabledrag"], state.model, state.seed, state.psi, state.space,
                                list(dict(given, stabledrag_rows=2).values()), photo=state.generator)["stabledrag"]
    assert own.rows == 2
    state.points = [[32.0, 40.0], [36.0, 40.0]]
    for _ in drag_handlers.run_drag(["stabledrag"], state, None, list(given.values())):
        pass
    assert state.chain[-1].results["stabledrag"].result.params["rows"] == 0


def test_the_benchmarks_photo_drags_are_built_with_a_photo_s_settings():
    G = face_model()
    params = checkpoints.presets(MODEL)
    photo_params = in_photo.presets(params, G)
    ws = StyleGANAdapter(G).latent_init(3, 0.7, "w+")
    h, t = [[32.0, 40.0]], [[36.0, 40.0]]
    photo = real_photos.drag_session("stabledrag", G, h, t, ws, 1, "photo", params, photo_params)
    assert photo.gen.rows == 0 and photo.gen.follower is not None
    plain = real_photos.drag_session("stabledrag", G, h, t, ws, 1, "follow-field", params, photo_params)
    assert plain.gen.rows == 2
    free = real_photos.drag_session("freedrag", G, h, t, ws, 1, "photo", params, photo_params)
    assert (free.guard.twist, free.guard.twist_max) == (300.0, in_photo.TWIST_MAX)   # its own weight, the photo's angle
    assert (free.guard.reach, photo.guard.reach) == (1000.0, 100.0) and plain.guard.reach == 0   # a photo's reach


def test_a_photo_drag_s_maps_are_read_as_in_photo_resample_says(monkeypatch):
    """drags.in_photo.follow_noise gives the session's follower the field mode and in_photo.RESAMPLE (what
    `benchmarks.real_photos --photo-resample` sets for one run); the read changes the maps the drag renders with."""
    import torch
    from dragcore.config import DragGANConfig
    from draggan.engine import DragGANSession
    import copy
    G = copy.deepcopy(face_model())
    torch.manual_seed(0)
    for m in G.synthesis.noise_maps():           # detail in the 64 px maps, as PTI's tuning leaves them
        if m.shape[-1] == 64:
            m.copy_(torch.randn_like(m))
    gen = StyleGANAdapter(G)
    latent = gen.latent_init(3, 0.7, "w+")      # W+ and the deformation code row (zero)
    assert latent.shape[1] == G.synthesis.num_ws + 1
    latent[:, -1] = 0.0
    latent[:, -1, 0::2] = 0.3                   # a warp that moves content by fractions of a pixel
    images = {}
    for mode in ("nearest", "bicubic"):
        monkeypatch.setattr(in_photo, "RESAMPLE", mode)
        sess = DragGANSession(gen, [[30.0, 40.0]], [[33.0, 40.0]], DragGANConfig(max_steps=1), latent=latent.clone())
        assert in_photo.follow_noise(sess) == "field" and sess.gen.follower.resample == mode
        images[mode] = sess.gen.follower.maps()[-1]
    assert float((images["nearest"] - images["bicubic"]).abs().max()) > 0.5   # the 64 px maps read differently


def test_real_photos_refuses_an_unknown_read_of_the_maps(capsys):
    import pytest
    with pytest.raises(SystemExit) as e:
        real_photos.main(["--photo-resample", "area"])
    assert e.value.code == 2 and "--photo-resample" in capsys.readouterr().err


def test_the_note_names_what_each_engine_s_photo_drag_shows(monkeypatch):
    """drags.in_photo.describe lists the engines by the picture PICTURE gives them, in the labels' order."""
    labels = {"draggan": "DragGAN", "freedrag": "FreeDrag", "stabledrag": "StableDrag"}
    monkeypatch.setattr(in_photo, "PICTURE", {"draggan": "field", "stabledrag": "field"})
    assert in_photo.describe(face_model(), labels).endswith(
        ": DragGAN and StableDrag show the reconstruction moved by that field; FreeDrag shows the tuned generator's "
        "own drawing, its fine detail moved along.")
    monkeypatch.setattr(in_photo, "PICTURE", {})
    assert "DragGAN, FreeDrag and StableDrag show the tuned generator's own drawing" in in_photo.describe(face_model(),
                                                                                                         labels)
    assert in_photo.describe(small_G(), labels) == ("Its fine detail (the noise maps the inversion tuned) moves "
                                                    "with every drag.")
