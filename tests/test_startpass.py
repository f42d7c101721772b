"""A drag starting from the image on screen reads the start pass its render kept (dragcore.startpass):
the same F0 as a pass of its own, and never another latent's, another noise's or other weights'."""
import torch

from dragcore import startpass
from draggan import DragGANSession
from drag_testing import tiny_G


def _passes(G):
    """A counter of synthesis passes (the first stage runs once per pass, windows or strips aside)."""
    n = [0]
    G.synthesis.stages[0].register_forward_hook(lambda *a: n.__setitem__(0, n[0] + 1))
    return n


def _session(G, latent):
    """fp32, as the render that keeps the pass (at 256 px and up 'auto' is bf16 on a CPU that has it, and a pass
    kept under another autocast is not read: test_another_latent_noise_or_weight_never_reads_what_was_kept)."""
    return DragGANSession(G, [[10, 20]], [[16, 20]], DragGANSession.Config(max_steps=2, precision="fp32"),
                          latent=latent)


def _fresh_F0(G, latent):
    startpass.forget(G.synthesis)
    return _session(G, latent).F0


def _shown(G, latent):
    """What the app does on New image, and the stream on a drag's final image: one render of `latent`."""
    from dragcore import adapt
    with torch.no_grad():
        return adapt(G).image(latent)


def test_a_drag_from_the_rendered_image_makes_no_start_pass_and_reads_the_same_F0():
    G = tiny_G(64)
    latent = _session(G, None).latent0
    fresh = _fresh_F0(G, latent)
    _shown(G, latent)
    passes = _passes(G)
    s = _session(G, latent)
    assert passes[0] == 0   # no pass of its own
    assert torch.equal(s.F0, fresh)
    s.step()
    s.sync()
    s.report.preview()   # the final render keeps the next start: the chain's next drag reads it
    nxt = s.latent
    passes[0] = 0
    t = _session(G, nxt)
    assert passes[0] == 0
    assert torch.equal(t.F0, _fresh_F0(G, nxt))


def test_another_latent_noise_or_weight_never_reads_what_was_kept():
    G = tiny_G(64)
    latent = _session(G, None).latent0
    other = latent.clone()
    other[0, 0, 0] += 1e-3
    _shown(G, latent)
    assert not torch.equal(_session(G, other).F0, _fresh_F0(G, latent))   # the other latent's own F0
    noise = G.synthesis.stages[3].conv
    for change in (lambda: noise.noise.mul_(-1),                                  # a map changed in place
                   lambda: setattr(noise, "noise", torch.randn_like(noise.noise)),  # a map swapped (a photo's)
                   lambda: noise.weight.add_(0.5)):                               # weights tuned in place
        _shown(G, latent)
        change()
        passes = _passes(G)
        kept = startpass.lookup(G.synthesis, latent, 32, "const")
        assert kept is None
        s = _session(G, latent)
        assert passes[0] == 1   # its own start pass
        startpass.forget(G.synthesis)
        assert torch.equal(s.F0, _session(G, latent).F0)
    with torch.no_grad():   # random noise is never kept
        from dragcore import adapt
        gen = adapt(G)
        gen.noise_mode = "random"
        gen.image(latent)
    assert startpass.lookup(G.synthesis, latent, gen.feature_res, "random") is None


def test_a_512px_render_in_strips_keeps_F0_and_the_live_previews_partial_image():
    G = tiny_G(512, channel_base=1024)   # strips from 256 px, live previews from the step's pass at 512 px
    s0 = _session(G, None)
    assert s0.step_previews
    latent = s0.latent0
    startpass.forget(G.synthesis)
    fresh = _session(G, latent)
    _shown(G, latent)
    passes = _passes(G)
    s = _session(G, latent)
    assert passes[0] == 0
    scale = fresh.F0.abs().max()
    assert (s.F0 - fresh.F0).abs().max() <= 2e-6 * scale   # the strips' values, up to the order of float sums
    assert (s._coarse0 - fresh._coarse0).abs().max() <= 2e-6 * fresh._coarse0.abs().max()


def test_the_apps_new_image_and_each_drag_leave_the_next_drag_its_start_pass():
    """Through the app's handlers on the bundled model: the first drag after New image and the chain's next drag
    make no start pass, and their F0 is the one a pass of their own gives."""
    import checkpoints
    from ui import drag_handlers, drag_settings
    from ui.drag_image import start_image
    state, G = start_image(checkpoints.DEFAULT_MODEL, 3, 0.7, "w+", None)   # New image: the face on screen
    state.points = [[20.0, 30.0], [26.0, 30.0]]
    values = drag_settings.field_values(state.model, G)

    def session():
        record = drag_handlers.plan(state, ["draggan"], None)
        configs = drag_settings.configs(["draggan"], state.model, state.seed, state.psi, state.space, values)
        return drag_handlers.make_sessions(configs, state, record)["draggan"]

    n = [0]
    hook = G.synthesis.stages[0].register_forward_hook(lambda *a: n.__setitem__(0, n[0] + 1))
    try:
        for drag in range(2):
            n[0] = 0
            s = session()
            assert n[0] == 0, f"drag {drag + 1} ran a start pass of its own"
            startpass.forget(G.synthesis)
            assert torch.equal(s.F0, session().F0) and n[0] == 1
            run = dict(zip(drag_settings.NAMES, values), max_steps=2)
            for _ in drag_handlers.run_drag(["draggan"], state, None, list(run.values())):
                pass
    finally:
        hook.remove()


def test_a_few_small_renders_are_kept_so_a_drag_after_undo_makes_no_start_pass(monkeypatch):
    """Undo shows an image rendered before the last one (so does "Continue all from" another engine's result): its
    start is still kept while the kept maps are small (KEEP_MB); above that only the last render's is."""
    G = tiny_G(64)
    first = _session(G, None).latent0
    second = first.clone()
    second[0, :6] += 0.05   # the next drag's latent
    _shown(G, first)
    _shown(G, second)   # the chain's head after a drag; Undo then shows `first` again
    passes = _passes(G)
    s = _session(G, first)
    assert passes[0] == 0 and torch.equal(s.F0, _fresh_F0(G, first))
    _shown(G, second)
    _shown(G, first)
    _shown(G, first)   # the same start rendered again: one entry, not two
    assert len(startpass._KEPT[G.synthesis]) == 2
    monkeypatch.setattr(startpass, "KEEP_MB", 0)   # maps as large as a 256 px model's and up: the last render only
    _shown(G, second)
    passes[0] = 0
    _session(G, first)
    assert passes[0] == 1 and len(startpass._KEPT[G.synthesis]) == 1
    G.synthesis.stages[1].conv.weight.add_(0.1)   # weights tuned in place: what was kept before is stale
    monkeypatch.setattr(startpass, "KEEP_MB", 4)
    _shown(G, first)
    assert len(startpass._KEPT[G.synthesis]) == 1
