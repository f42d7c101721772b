"""Live previews from the step's own pass (issue 33 item 4): on models whose feature block is at most a
quarter of the image (512 px and up; here a 64 px network with its block at 16 px), a stream's preview
is the image the step accumulated at the feature block, colour-matched, with no render of its own; it
does not change the drag, it is the image of the latent the step saw, and it is close to the full render."""
import numpy as np
import torch
import torch.nn.functional as F

from dragcore.config import DragGANConfig
from draggan import DragGANSession
from drag_testing import face_model, small_G
from test_edit_cost import CountingAdapter
from ui import drag_stream


def session(G, feature_res=16, seed=3, steps=4, **kw):
    cfg = DragGANConfig(seed=seed, max_steps=steps, lr=0.002, feature_res=feature_res, mask_weight=0, tracker="features")
    s = DragGANSession(G, [[20, 32]], [[44, 32]], cfg, **kw)
    s.windows = False   # the whole feature block every step (as with a mask): its pass draws the preview
    return s            # (windowed steps: tests/test_windows.py)


def _full_at(image_uint8, size):
    """A full HxWx3 uint8 image as [1, 3, h, w] in [-1, 1], area-averaged down to `size`."""
    t = torch.from_numpy(np.ascontiguousarray(image_uint8)).permute(2, 0, 1)[None].float() / 127.5 - 1
    return F.adaptive_avg_pool2d(t, size)


def test_the_step_keeps_its_partial_image_and_the_drag_is_unchanged():
    G = small_G()
    with_preview, without = session(G), session(G)
    without.step_previews = False
    assert with_preview.step_previews and not session(G, feature_res=32).step_previews   # 64 px, block at 32: renders
    latents = [with_preview.latent]
    for _ in range(3):
        with_preview.step()
        without.step()
        latents.append(with_preview.latent)
    assert torch.equal(with_preview.latent, without.latent)            # the preview changes nothing of the drag
    steps, kept = with_preview.report._step_image
    assert steps == 2                                                  # the last step saw the latent of 2 updates
    with torch.no_grad():
        partial, _ = G.synthesis.run(with_preview.gen.ws(latents[2]), upto=16, keep=(16,))
    assert torch.allclose(kept, partial, atol=1e-6)
    frame, drawn_at = with_preview.report.live_preview()
    assert frame.shape == (64, 64, 3) and frame.dtype == np.uint8 and drawn_at == 16
    assert not frame.flags.writeable


def test_a_stream_at_high_resolution_renders_only_its_first_and_last_frames():
    s = session(small_G(), steps=6)
    s.gen = CountingAdapter(s.gen)
    frames = list(drag_stream.stream({"draggan": s}, interval=0.0))
    assert len(frames) >= 3 and s.steps == 6
    assert s.gen.calls["image"] + s.gen.calls["image_and_features"] == 2, s.gen.calls   # start and final image
    assert "preview at 16 px" in " ".join(f.status for f in frames[1:-1])
    assert "preview at" not in frames[0].status and "preview at" not in frames[-1].status


def test_the_colour_matched_preview_is_close_to_the_full_render():
    """The bundled face model (real weights), block at 16 px of 64: the partial image alone is washed out;
    matched on the start image, the preview of another face is close to that face's full render and far
    from the start face's."""
    G = face_model()
    s = session(G, seed=1)
    s.report.start_image()
    other = session(G, seed=7)        # a different latent seen through the first session's colour match
    with torch.no_grad():
        _, partial = other.gen.features_and_preview(other.latent)
    s.report.keep_step_image(1, partial)
    frame, _ = s.report.live_preview()
    truth = _full_at(other.report.start_image(), (16, 16))
    start = _full_at(s.report.start_image(), (16, 16))
    preview = _full_at(frame, (16, 16))
    err = lambda a, b: float((a - b).abs().mean() * 127.5)   # /255
    assert err(preview, truth) < 12, err(preview, truth)
    assert err(preview, truth) < 0.5 * err(partial, truth)           # the raw partial image is far off
    assert err(preview, truth) < 0.6 * err(start, truth)             # it shows the new face, not the start


def test_the_steps_own_pass_runs_with_the_noise_maps_that_follow_the_drag():
    """With maps that follow the drag down to the feature block (min_res 8), the pass that keeps the
    preview reads the same features as every other pass of the adapter: the followed maps."""
    cfg = DragGANConfig(seed=3, max_steps=6, lr=0.05, feature_res=16, mask_weight=0, tracker="features")
    G = small_G()
    for layer in G.synthesis._noisy():   # a fresh network adds no noise (scale 0); a trained one does
        layer.noise_scale.data.fill_(0.5)
    s = DragGANSession(G, [[20, 32]], [[44, 32]], cfg).follow_noise(min_res=8, mode="bilinear")
    for _ in range(4):
        s.step()
    with torch.no_grad():
        followed = s.gen.features(s.latent)
        follower, s.gen.follower = s.gen.follower, None
        assert not torch.equal(followed, s.gen.features(s.latent))   # the maps have moved with the handles
        s.gen.follower = follower
        assert torch.equal(s.gen.features_and_preview(s.latent)[0], followed)
