"""What a drag session holds for its final image: a drag that ends on arrival renders it from its last step's pass
(dragcore.session: the pass to the feature block at the final latent, and the image accumulated there), so only the
stages above the feature block run, and the image is the one a whole render of that latent gives."""
import numpy as np
import pytest
import torch

from dragcore import adapt, startpass
from draggan import DragGANSession
from drag_testing import tiny_G
from stylegan.precision import cpu_has_bf16


def _counter(module):
    n = [0]
    module.register_forward_hook(lambda *a: n.__setitem__(0, n[0] + 1))
    return n


def test_the_final_image_on_arrival_runs_only_the_stages_above_the_feature_block_and_is_the_whole_render():
    G = tiny_G(256, channel_base=512)   # strips from 256 px; live previews from the step's pass (block 64 px)
    mask = np.zeros((256, 256), bool)
    mask[:, :192] = True   # a mask term: the step's pass is the whole feature block (no windows)
    cfg = DragGANSession.Config(max_steps=50, seed=3, feature_res=64, precision="fp32")   # 'auto' is bf16 at 256 px
    # on a CPU with bfloat16 arithmetic (the test below); fp32 here, where the image is the whole render's exactly
    s = DragGANSession(G, [[100, 128]], [[130, 128]], cfg, mask=mask)
    assert s.step_previews
    synthesis = s.gen.G.synthesis
    block, above = _counter(synthesis.stage(64).conv), _counter(synthesis.stages[-1].conv)
    s.step(), s.step()
    assert s.steps == 2 and s._arrival is None   # a step that updated the latent keeps nothing of its pass
    s.stop_distance = 1e9   # the next step tracks, finds the point at its target, and takes no update
    s.step()
    assert s.stop_reason == "arrived" and s.steps == 2 and s._arrival is not None
    kept = s._arrival[2]
    block[0] = above[0] = 0
    s.sync()
    final = s.report.preview()
    assert block[0] == 0 and above[0] >= 1   # the feature block did not run again; the stages above it did
    assert s._arrival is None and s.report.features() is kept   # the final tracking reads the step's F
    with torch.no_grad():
        img, feats = synthesis.run(s.latent, keep=(64,))   # the whole synthesis, no strips
        startpass.forget(synthesis)
        rendered = adapt(G).image(s.latent)   # a render of its own (strips)
        arrived = synthesis.render_above(s.latent, 64, kept, s.report._step_image[1])
    assert torch.equal(kept, feats[64])   # the step's own whole pass: the very values of the whole synthesis
    near = lambda a: (a - img).abs().max() <= 2e-6 * img.abs().max()   # strips: float sums in another order
    assert near(arrived) and near(rendered)
    from stylegan import imageops
    assert np.abs(final.astype(int) - imageops.to_uint8(rendered)[0].astype(int)).max() <= 1
    assert np.array_equal(final, imageops.to_uint8(arrived)[0])



@pytest.mark.skipif(not cpu_has_bf16(), reason="needs a CPU with bfloat16 arithmetic")
def test_in_bf16_a_drag_reads_the_shown_images_pass_and_renders_only_above_it_on_arrival():
    """At 256 px and up 'auto' is bf16 on such a CPU: the image the app shows (startpass.shown) is rendered in it, so the
    drag's start pass is that render's; a drag that arrives renders only the stages above the block, in bf16, and
    its final image is a whole bf16 render's."""
    G = tiny_G(256, channel_base=512)   # a 64 px block: live previews from the step's pass
    synthesis = G.synthesis
    startpass.forget(synthesis)
    gen = adapt(G, feature_res=64)
    latent = gen.latent_init(3, 0.7, "w+")
    startpass.shown(gen, latent)
    block, above = _counter(synthesis.stage(gen.feature_res).conv), _counter(synthesis.stages[-1].conv)
    mask = np.zeros((256, 256), bool)
    mask[:, :192] = True   # whole-map steps
    s = DragGANSession(G, [[100, 128]], [[130, 128]], DragGANSession.Config(max_steps=50, feature_res=64), mask=mask,
                       latent=latent)
    assert s.precision.name == "bf16" and s.step_previews
    assert block[0] == 0   # no start pass of its own: the shown image's, kept
    s.step(), s.step()
    s.stop_distance = 1e9
    s.step()
    assert s.stop_reason == "arrived" and s._arrival is not None and s._arrival[2].dtype == torch.bfloat16
    block[0] = above[0] = 0
    s.sync()
    final = s.report.preview()
    assert block[0] == 0 and above[0] >= 1 and s.report.features().dtype == torch.float32
    startpass.forget(synthesis)
    from stylegan import imageops
    whole = imageops.to_uint8(startpass.shown(gen, s.latent))[0].astype(int)   # a bf16 render of its own (strips)
    gap = np.abs(final.astype(int) - whole)
    assert gap.max() <= 2 and gap.mean() < 0.05, (gap.max(), gap.mean())
