"""The same work on every device this machine has: CPU always, CUDA and MPS where present (the
tests of an absent device are skipped, never faked). On each device: the generator matches the
CPU's image, both drag engines step and preview in fp32, `auto` and the device's reduced precision, and an
inversion improves its reconstruction."""
import pytest
import torch

import stylegan
from draggan import DragGANSession
from drag_testing import small_G
from freedrag import FreeDragSession
from latent import project, psnr
from stylegan.precision import choose, native_dtypes

pytestmark = pytest.mark.integration   # a projection and drags per device and precision, 1-13 s each


def _available(name):
    if name == "cuda":
        return torch.cuda.is_available()
    if name == "mps":
        return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    return True


DEVICES = [pytest.param(d, marks=pytest.mark.skipif(not _available(d), reason=f"no {d} device on this machine"))
           for d in ("cpu", "cuda", "mps")]


@pytest.mark.parametrize("device", DEVICES)
def test_generator_matches_cpu(device):
    G = small_G()
    ws = G.mapping(torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(0)))
    with torch.no_grad():
        ref = G.synthesis(ws)
        out = G.to(device).synthesis(ws.to(device)).cpu()
    assert stylegan.pick_device(device).type == device
    assert (out - ref).abs().max() < 2e-3


@pytest.mark.parametrize("precision", ["fp32", "auto", "reduced"])
@pytest.mark.parametrize("engine", [DragGANSession, FreeDragSession])
@pytest.mark.parametrize("device", DEVICES)
def test_drag_steps_and_previews(device, engine, precision):
    if precision == "reduced":  # the device's fastest reduced precision, forced even on a small model
        if not native_dtypes(device):
            pytest.skip(f"{device} has no native reduced precision")
        precision = native_dtypes(device)[0]
    s = engine(small_G(), [[20.0, 32.0]], [[30.0, 32.0]], engine.Config(seed=2, precision=precision, max_steps=4),
               device=device)
    assert s.precision.name in ["fp32"] + native_dtypes(device)
    start = s.report.preview()
    result = s.run()
    assert result.steps >= 1 and result.device.startswith(device)
    assert start.shape == (64, 64, 3) and s.report.preview().dtype == start.dtype
    assert abs(s.report.preview().astype(float) - start.astype(float)).mean() > 0  # the image changed
    assert result.params["precision"] == s.precision.name


@pytest.mark.parametrize("device", DEVICES)
def test_projection_improves(device):
    G = small_G().to(device).requires_grad_(False)
    with torch.no_grad():
        target = G.synthesis(G.mapping(torch.randn(1, G.z_dim, device=device)))
        start = psnr(G.synthesis(G.mapping.w_avg.expand(1, G.num_ws, -1)), target)
    ws, Gp = project(G, target, "w+", steps=25, precision=choose("auto", device, 64))
    with torch.no_grad():
        assert psnr(Gp.synthesis(ws), target) > start + 1.0
