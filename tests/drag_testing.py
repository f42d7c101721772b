"""Helpers shared by the tests: small real generators (random weights) and the bundled face model."""
import pytest
import torch

import checkpoints
import stylegan


def small_G(res=64, seed=0):
    """A small random-weight StyleGAN2 (real network, real layers), float32 CPU."""
    torch.manual_seed(seed)
    G = stylegan.Generator(z_dim=64, w_dim=64, resolution=res, mapping_layers=2, channel_base=2048, channel_max=64)
    return G.eval()


def tiny_G(res=32, channel_base=512, seed=0):
    """A tiny random-weight StyleGAN2 (z, w 32; channels <= 32) for the latent and benchmark tests."""
    torch.manual_seed(seed)
    G = stylegan.Generator(z_dim=32, w_dim=32, resolution=res, mapping_layers=2, channel_base=channel_base,
                           channel_max=32)
    return G.eval().requires_grad_(False)


def saved_small_G(folder, name="g.safetensors"):
    """small_G() written as our safetensors file in `folder`; its path as a string (for CLIs)."""
    path = folder / name
    stylegan.save(small_G(), path)
    return str(path)


def face_model():
    """The shipped offline 64 px face model, loaded through the registry as the app loads it.

    A missing or unloadable shipped model fails the test that asked for it, with the reason: the
    end-to-end tests speak of *that* model, so they never run on a stand-in."""
    mid = checkpoints.DEFAULT_MODEL
    try:
        return checkpoints.load(mid)
    except (FileNotFoundError, ValueError) as e:   # stylegan.CheckpointError is a ValueError
        pytest.fail(f"the shipped model {mid!r} ({checkpoints.get_info(mid).local_path}) cannot be loaded: "
                    f"{' '.join(str(e).split())}", pytrace=False)


def drag_model():
    """The model the end-to-end drag tests use: the shipped face model (see face_model)."""
    return face_model()


def make_session(cls, G, handles, targets, **kw):
    """cls(G, handles, targets, cls.Config(settings...), latent=, mask=, device=) from one dict of
    keywords: for tests that build a session from a table of cases."""
    placed = {k: kw.pop(k) for k in ("latent", "mask", "device", "start_image") if k in kw}
    return cls(G, handles, targets, cls.Config(**kw), **placed)
