"""Give a generator the warp pathway (stylegan.warp): the bundled model's room to move.

    python -m training.warp --from stylegan/pretrained/faces64.safetensors --out runs/faces64w/faces64.safetensors \\
        [--res 32] [--grid 11] [--gain 1.0]   # defaults: the bundled model's layout (LAYOUT)

The distilled face model has no W+ latent near a face that shows the same face with a feature
moved (measured: benchmarks.poster_edits); a drag then repaints instead of moving. This command
adds an explicit, smooth displacement of the content after the `--res` px stage, driven by its
own deformation-code row (zero for every sampled, truncated, interpolated or style-mixed latent,
so no image the model made before changes), and writes the generator with its provenance in the
file's metadata. Every other weight is copied unchanged. The layout (stage, grid, gain) was chosen
by measurement (README: "The bundled model"); the pathway is not trained: its map is the
identity (code entry i is bump coefficient i). Running it again rewrites the same file.
"""
import argparse
import json
import math
import sys

import clisafe
from stylegan import Generator, GeneratorConfig, load, read_metadata, save


LAYOUT = dict(res=32, grid=11, gain=1.0)   # the bundled model's (benchmarks.warp_layout chose it)


def with_warp(G, res=LAYOUT["res"], grid=LAYOUT["grid"], gain=LAYOUT["gain"]):
    """A copy of G (same weights) with a warp pathway after its `res` px stage."""
    cfg = GeneratorConfig.from_dict(dict(G.config.to_dict(), warp_res=res, warp_grid=grid, warp_gain=gain))
    out = Generator(cfg)
    missing, unexpected = out.load_state_dict(G.state_dict(), strict=False)
    if unexpected or any(not k.startswith("synthesis.warp.") for k in missing):
        raise ValueError(f"the generator does not fit its copy: missing {missing}, unexpected {unexpected}")
    return out.eval().requires_grad_(False)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m training.warp", description=__doc__.split("\n\n")[0])
    p.add_argument("--from", dest="source", required=True, help="the generator (.safetensors or official .pkl)")
    p.add_argument("--out", required=True, help="the .safetensors file to write")
    p.add_argument("--res", type=int, default=LAYOUT["res"],
                   help=f"the stage after which content is displaced (default {LAYOUT['res']})")
    p.add_argument("--grid", type=int, default=LAYOUT["grid"],
                   help=f"k: a k x k grid of displacement bumps (default {LAYOUT['grid']})")
    p.add_argument("--gain", type=float, default=LAYOUT["gain"],
                   help=f"displacement per unit of code, image units (default {LAYOUT['gain']:g})")
    a = p.parse_args(argv)
    return clisafe.run(lambda _: _main(a, argv), None, "training.warp", (ValueError, OSError))


def _main(a, argv):
    clisafe.regular_file(a.source, "--from")
    clisafe.check_out_file(a.out, suffixes=(".safetensors",))
    if not (1 <= a.grid <= 64 and 4 <= a.res <= 2048 and math.isfinite(a.gain) and 0 < a.gain <= 10):
        raise ValueError(f"--grid must be from 1 to 64, --res from 4 to 2048 and --gain a number in (0, 10]; got "
                         f"{a.grid}, {a.res}, {a.gain:g}")
    G = load(a.source)   # CheckpointError is a ValueError
    if G.synthesis.warp is not None:
        raise ValueError(f"{a.source} already has a warp pathway")
    W = with_warp(G, a.res, a.grid, a.gain)
    meta = {k: v for k, v in read_metadata(a.source).items() if k not in ("format", "version", "config")} \
        if str(a.source).endswith(".safetensors") else {}
    meta["warp"] = json.dumps(dict(res=a.res, grid=a.grid, gain=a.gain, trained=False,
                                   command="python -m training.warp " + " ".join(argv)))
    save(W, a.out, **meta)   # written beside, renamed into place
    print(f"{a.out}: warp pathway after the {a.res} px stage, {a.grid}x{a.grid} bumps, gain {a.gain:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
