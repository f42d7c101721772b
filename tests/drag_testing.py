"""Helpers shared by the drag-engine tests: a small real generator and the bundled face model."""
import pytest
import torch

import stylegan


def small_G(res=64, seed=0):
    """A small random-weight StyleGAN2 (real network, real layers), float32 CPU."""
    torch.manual_seed(seed)
    G = stylegan.Generator(z_dim=64, w_dim=64, resolution=res, mapping_layers=2, channel_base=2048, channel_max=64)
    return G.eval()


def face_model():
    """The shipped offline 64 px face model, loaded through the registry as the app loads it.

    A missing or unloadable shipped model fails the test that asked for it, with the reason: the
    end-to-end tests speak of *that* model, so they never run on a stand-in."""
    import checkpoints
    mid = checkpoints.DEFAULT_MODEL
    try:
        return checkpoints.load(mid)
    except (FileNotFoundError, ValueError) as e:   # stylegan.CheckpointError is a ValueError
        pytest.fail(f"the shipped model {mid!r} ({checkpoints.get_info(mid).local_path}) cannot be loaded: "
                    f"{' '.join(str(e).split())}", pytrace=False)


def drag_model():
    """The model the end-to-end drag tests use: the shipped face model (see face_model)."""
    return face_model()
