"""Learn the warp pathway's layout with a reachability objective (stylegan.warp).

    python -m training.reach --from stylegan/pretrained/faces64.safetensors --out runs/reach/faces64.safetensors \\
        [--steps 600] [--batch 4]      # resumable: run it again with the same --out to continue

Reachability: for a face I = G(w) and a local move T of it (the content around a random point of
the face's central half carried by 3-12 % of the image, Gaussian falloff res/8:
dragcore.localmove), some deformation code c should give G(w, c) = T(I). Each step draws a batch
of faces and moves, finds each face's code by `--inner` Adam steps toward T(I) (L1, the pathway
frozen), and then moves the pathway's bump centres down the gradient of the same loss at those
codes. At a code that is optimal for its face, the code's own change does not alter that gradient
(the envelope theorem), so the outer step needs no unrolling; with a few inner steps it is the
usual first-order approximation of alternating minimisation.

Only the centres are learned. They are the one part of the pathway that decides which moves a
code can express; the map from code to bump coefficients stays the identity, because the engines
optimise the code with Adam, whose step size does not care about the map's scale, so a learned
map would change what a drag does per step rather than what it can reach. Every other weight is
copied unchanged, and an unedited latent has no code, so no sampled image changes.

The run saves its state (centres, optimiser, step, random state) to `<out>.state.pt` every
`--save-every` steps, and writes `<out>` with the learned centres and the run's provenance in the
file's metadata when it ends. Only `torch.load(weights_only=True)` ever reads the state file.
"""
import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

from dragcore.localmove import ideal_move
import clisafe
from stylegan import load, read_metadata, save

AMPLITUDE = (0.03, 0.12)   # move length / image size, drawn log-uniformly
PSI = 0.7


def draw_moves(n, res, gen):
    """n local moves [(point [x, y], target [x, y])]: points in the central half, random directions."""
    out = []
    for _ in range(n):
        p = (torch.rand(2, generator=gen) * 0.5 + 0.25) * res
        a = math.exp(math.log(AMPLITUDE[0]) + torch.rand(1, generator=gen).item() * math.log(AMPLITUDE[1] / AMPLITUDE[0]))
        ang = torch.rand(1, generator=gen).item() * 2 * math.pi
        t = p + a * res * torch.tensor([math.cos(ang), math.sin(ang)])
        out.append((p.tolist(), t.tolist()))
    return out


def reach_loss(G, ws, code, target):
    """Mean L1 between G(ws, code) and the moved faces, per face [N]."""
    img = G.synthesis(torch.cat([ws, code[:, None]], 1), noise_mode="const")
    return (img - target).abs().flatten(1).mean(1)


def fit_codes(G, ws, target, steps, lr):
    """Each face's code toward its moved face (Adam, the pathway held fixed); detached."""
    code = torch.zeros(ws.shape[0], ws.shape[2], requires_grad=True)
    opt = torch.optim.Adam([code], lr=lr)
    for _ in range(steps):
        loss = reach_loss(G, ws, code, target).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return code.detach()


def train(G, steps, batch=4, inner=20, inner_lr=0.01, lr=2e-3, seed=0, state=None, save_state=None,
          save_every=50, log=print):
    """Learn G's warp centres in place; returns the state dict of the run (for resuming)."""
    warp = G.synthesis.warp
    G.requires_grad_(False)
    warp.centres.requires_grad_(True)
    opt = torch.optim.Adam([warp.centres], lr=lr)
    gen = torch.Generator().manual_seed(seed)
    start, history = 0, []
    if state is not None:
        warp.centres.data.copy_(state["centres"])
        opt.load_state_dict(state["opt"])
        gen.set_state(state["rng"])
        start, history = state["step"], state["history"]
    res = G.img_resolution
    for it in range(start, steps):
        t0 = time.perf_counter()
        with torch.no_grad():
            ws = G.mapping(torch.randn(batch, G.z_dim, generator=gen), truncation_psi=PSI)
            faces = G.synthesis(ws, noise_mode="const")
            target = torch.cat([ideal_move(faces[i:i + 1], [p], [t], res / 8)
                                for i, (p, t) in enumerate(draw_moves(batch, res, gen))])
            gap = (faces - target).abs().flatten(1).mean(1)
        warp.centres.requires_grad_(False)
        code = fit_codes(G, ws, target, inner, inner_lr)
        warp.centres.requires_grad_(True)
        loss = reach_loss(G, ws, code, target)
        opt.zero_grad(set_to_none=True)
        loss.mean().backward()
        opt.step()
        with torch.no_grad():
            warp.centres.clamp_(-1.2, 1.2)
        reached = float((1 - loss.detach() / gap).mean())
        history.append(dict(step=it + 1, loss=round(float(loss.detach().mean()), 5), reached=round(reached, 4),
                            seconds=round(time.perf_counter() - t0, 2)))
        if (it + 1) % 10 == 0:
            last = history[-10:]
            log(f"step {it + 1}/{steps}: reached {sum(h['reached'] for h in last) / len(last):.3f} "
                f"(mean of the last 10 batches), {last[-1]['seconds']:.1f} s/step")
        state = dict(centres=warp.centres.detach().clone(), opt=opt.state_dict(), rng=gen.get_state(),
                     step=it + 1, history=history)
        if save_state and ((it + 1) % save_every == 0 or it + 1 == steps):
            save_state(state)
    warp.centres.requires_grad_(False)
    return state or dict(centres=warp.centres.detach().clone(), step=start, history=history)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m training.reach", description=__doc__.split("\n\n")[0])
    p.add_argument("--from", dest="source", required=True, help="a generator with a warp pathway (.safetensors)")
    p.add_argument("--out", required=True, help="the .safetensors file to write")
    p.add_argument("--steps", type=int, default=600, help="outer steps (default 600, about 15 min on 2 CPU cores)")
    p.add_argument("--batch", type=int, default=4, help="faces per step (default 4)")
    p.add_argument("--inner", type=int, default=20, help="Adam steps (lr 0.01) that fit each face's code (default 20)")
    p.add_argument("--lr", type=float, default=2e-3, help="the centres' learning rate, image units (default 0.002)")
    p.add_argument("--seed", type=int, default=0, help="the run's random stream (faces and moves)")
    p.add_argument("--save-every", type=int, default=50, help="checkpoint every N steps (default 50)")
    a = p.parse_args(argv)
    if a.steps < 1 or a.batch < 1 or a.inner < 1 or not a.lr > 0 or a.save_every < 1:
        p.error("--steps, --batch, --inner and --save-every must be >= 1 and --lr > 0")
    return clisafe.run(lambda _: _main(a, argv), None, "training.reach", (ValueError, OSError, RuntimeError))


def _main(a, argv):
    out, state_path = Path(a.out), Path(str(a.out) + ".state.pt")
    clisafe.regular_file(a.source, "--from")
    clisafe.check_out_file(a.out, suffixes=(".safetensors",))
    if not (a.steps <= 100_000 and a.batch <= 64 and a.inner <= 1000 and math.isfinite(a.lr) and a.lr < 1):
        raise ValueError("--steps at most 100000, --batch at most 64, --inner at most 1000 and --lr below 1")
    G = load(a.source)
    if G.synthesis.warp is None:
        raise ValueError(f"{a.source} has no warp pathway (add one with python -m training.warp)")
    state = torch.load(clisafe.regular_file(state_path, "the run's state"), weights_only=True) \
        if state_path.exists() else None
    if state is not None:
        print(f"resuming from {state_path} at step {state['step']}")
    out.parent.mkdir(parents=True, exist_ok=True)

    def save_state(s):   # replaced whole: an interrupted save never leaves half a state to resume from
        with clisafe.atomic_file(state_path) as tmp:
            torch.save(s, tmp)
    state = train(G, a.steps, a.batch, a.inner, lr=a.lr, seed=a.seed, state=state, save_state=save_state,
                  save_every=a.save_every)
    meta = {k: v for k, v in read_metadata(a.source).items() if k not in ("format", "version", "config")}
    warp = json.loads(meta.get("warp", "{}"))
    last = state["history"][-50:]
    warp.update(trained=True, reach=dict(steps=state["step"], batch=a.batch, inner=a.inner, lr=a.lr, seed=a.seed,
                                         reached_last_50=round(sum(h["reached"] for h in last) / max(1, len(last)), 4),
                                         command="python -m training.reach " + " ".join(argv)))
    meta["warp"] = json.dumps(warp)
    save(G, out, **meta)
    print(f"{out}: warp centres learned for reachability ({state['step']} steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
