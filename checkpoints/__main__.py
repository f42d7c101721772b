"""python -m checkpoints [list | fetch ID | verify [ID ...]]: see checkpoints/__init__.py.

Errors are one stderr line and exit code 2 (Ctrl-C: one line and 130). `verify` exits 1 when a
checked Hub model has no source on the Hub, 0 when every one has at least one.
"""
import sys

import clisafe

from . import describe
from . import verify
from .hub import HubUnavailableError, load
from .registry import UnknownModelError, get_info, list_models


def _one_line(e):
    return " ".join(str(e).split())


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(prog="python -m checkpoints", description="List, fetch and verify Latent Lab models.")
    sub = ap.add_subparsers(dest="cmd")
    sub.add_parser("list", help="the registry: shape, licence, state, cached or not, and the presets each model's drags use")
    f = sub.add_parser("fetch", help="download (trying the sources in order) and convert one model")
    f.add_argument("id", help="a model id of the registry (`python -m checkpoints list`)")
    v = sub.add_parser("verify", help="which sources exist on the Hub and their sizes (downloads nothing)")
    v.add_argument("ids", nargs="*", metavar="ID", help="models to check (default: all)")
    sub.add_parser("table", help="the registry as the README's Markdown table")
    args = ap.parse_args(argv)
    return clisafe.run(lambda _: _main(args), None, "checkpoints", ())


def _main(args):
    from huggingface_hub.utils import logging as hf_logging
    hf_logging.set_verbosity_error()  # its retry warnings would add stderr lines to our one-line errors
    try:
        if args.cmd == "fetch":
            G = load(args.id, report=lambda text: print(f"note: {text}", flush=True))
            shape = getattr(G, "img_shape", (G.img_resolution, G.img_resolution))
            print(f"{args.id}: ready ({shape[0]}x{shape[1]} px, HxW)")
            return 0
        if args.cmd == "verify":
            infos = [get_info(i) for i in args.ids] if args.ids else list_models()
            return 0 if verify.run(infos) else 1
        if args.cmd == "table":
            models = list_models()
            print("\n".join(describe.markdown_table(models) + [""] + describe.markdown_notes(models)))
            return 0
        for line in describe.text_table(list_models()):
            print(line)
        return 0
    except (UnknownModelError, HubUnavailableError, OSError, ValueError) as e:   # stylegan.CheckpointError is a ValueError
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
