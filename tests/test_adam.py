"""adam.Adam: the drag's, projection's and PTI's optimiser steps parameters exactly as torch.optim.Adam does
(groups of their own settings, parameters without a gradient at some steps, the GradScaler's unscaling), and
neither making it nor a whole inversion imports torch._dynamo, which any torch optimiser would."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from adam import Adam

ROOT = Path(__file__).resolve().parents[1]


def _params(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g).requires_grad_(True) for s in [(3, 4), (7,), (2, 3, 5, 5), (1, 16)]]


def _loss(params, i):
    # parameter 1 has no gradient on every fifth step: its step count falls behind the others'
    return sum((p.sin() * (i + 1)).square().sum() for j, p in enumerate(params) if not (j == 1 and i % 5 == 0))


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.0, 0.99)])
def test_steps_equal_torch_adam_to_the_bit(betas):
    ours, theirs = _params(), [p.detach().clone().requires_grad_(True) for p in _params()]
    groups = lambda ps: [dict(params=ps[:2], lr=0.01), dict(params=ps[2:], lr=3e-3, eps=1e-6)]
    a, b = Adam(groups(ours), betas=betas), torch.optim.Adam(groups(theirs), betas=betas, foreach=False)
    for i in range(25):
        for ps, opt in ((ours, a), (theirs, b)):
            opt.zero_grad(set_to_none=True)
            _loss(ps, i).backward()
            opt.step()
        if i == 12:   # a schedule changes the rate in the groups, as the projector's ramp does
            for opt in (a, b):
                opt.param_groups[0]["lr"] = 0.002
    assert all(torch.equal(p, q) for p, q in zip(ours, theirs))
    assert not torch.equal(ours[0], _params()[0])   # they moved
    assert a.state[ours[1]]["step"] == 20 and a.state[ours[0]]["step"] == 25


def test_grad_scaler_unscales_and_skips_an_overflowed_step_as_with_torch_adam():
    ours, theirs = _params(1), [p.detach().clone().requires_grad_(True) for p in _params(1)]
    a, b = Adam(ours, lr=0.01), torch.optim.Adam(theirs, lr=0.01, foreach=False)
    scalers = [torch.amp.GradScaler("cpu", init_scale=2.0 ** 8) for _ in range(2)]
    for i in range(6):
        for ps, opt, sc in zip((ours, theirs), (a, b), scalers):
            opt.zero_grad(set_to_none=True)
            loss = _loss(ps, i) * (float("inf") if i == 3 else 1.0)   # step 4 overflows: skipped, scale halved
            sc.scale(loss).backward()
            sc.step(opt)
            sc.update()
    assert all(torch.equal(p, q) for p, q in zip(ours, theirs))
    assert scalers[0].get_scale() == scalers[1].get_scale() < 2.0 ** 8
    assert a.state[ours[0]]["step"] == 5   # the overflowed step did not count


def test_zero_grad_and_bad_options():
    p = torch.ones(3, requires_grad=True)
    opt = Adam([p])
    (p * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert torch.equal(p.grad, torch.zeros(3))
    opt.zero_grad()
    assert p.grad is None
    opt.step()   # no gradient: nothing moves, no state
    assert torch.equal(p, torch.ones(3)) and not opt.state
    with pytest.raises(TypeError, match="weight_decay"):
        Adam([p], weight_decay=0.1)


@pytest.mark.integration
def test_an_inversion_and_a_drag_import_no_dynamo():
    """The reason the module exists: a fresh process that inverts the astronaut (every stage) and drags the
    result never imports torch._dynamo; one torch optimiser in the same kind of process does."""
    code = (
        "import sys, numpy as np, torch\n"
        "from PIL import Image\n"
        "import checkpoints\n"
        "from latent import invert\n"
        "from draggan import DragGANSession\n"
        "G = checkpoints.load(checkpoints.DEFAULT_MODEL)\n"
        "t = torch.from_numpy(np.asarray(Image.open('tests/data/astronaut_64.png').convert('RGB').resize((64, 64))).copy())\n"
        "r = invert(G, t.permute(2, 0, 1)[None].float() / 127.5 - 1, 3, 3, 3)\n"
        "s = DragGANSession(r['G_tuned'], [[30, 40]], [[34, 40]], latent=r['ws'])\n"
        "s.step(); s.step()\n"
        "assert s.steps >= 1, s.steps\n"
        "print('dynamo' if 'torch._dynamo' in sys.modules else 'none')\n"
        "torch.optim.Adam([torch.zeros(1, requires_grad=True)])\n"   # the control: torch's own optimiser imports it
        "print('dynamo' if 'torch._dynamo' in sys.modules else 'none')\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["none", "dynamo"]
