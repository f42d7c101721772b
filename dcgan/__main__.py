"""python -m dcgan train | sample | make-faces (see README / docs/dcgan.md)."""
import argparse
import sys
from pathlib import Path

import torch

import dcgan
import limits
from dcgan.train import load_checkpoint
from stylegan.imageops import to_uint8


def _parser():
    ap = argparse.ArgumentParser(prog="python -m dcgan")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train a DCGAN from scratch on an image folder")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--epochs", type=int, default=5)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--ngf", type=int, default=64)
    t.add_argument("--ndf", type=int, default=64)
    t.add_argument("--max-iters", type=int, default=None)
    t.add_argument("--workers", type=int, default=0)
    t.add_argument("--resume", action="store_true")
    s = sub.add_parser("sample", help="a sample grid from a checkpoint or the pretrained model")
    s.add_argument("--checkpoint", default="pretrained")
    s.add_argument("--out", required=True)
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--seed", type=int, default=0)
    m = sub.add_parser("make-faces", help="write samples of the pretrained DCGAN as a face folder")
    m.add_argument("--n", type=int, default=4000)
    m.add_argument("--out", required=True)
    m.add_argument("--seed", type=int, default=0)
    return ap


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        _check_args(args)
        if args.cmd == "train":
            r = dcgan.train(args.data, args.out, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                            seed=args.seed, ngf=args.ngf, ndf=args.ndf, resume=args.resume, max_iters=args.max_iters,
                            workers=args.workers)
            print(f"done: {r['iterations']} iterations in {r['seconds']:.0f}s -> {args.out}")
        elif args.cmd == "sample":
            if args.checkpoint == "pretrained":
                G = dcgan.load_pretrained()
            else:
                ck = load_checkpoint(args.checkpoint)
                G = dcgan.Generator(ngf=ck.get("ngf", 64))
                G.load_state_dict(ck["G"])
                G.eval()
            z = torch.randn(args.n, 100, generator=torch.Generator().manual_seed(args.seed))
            with torch.no_grad():
                dcgan.grid(G(z)).save(args.out)
            print(args.out)
        else:
            G = dcgan.load_pretrained()
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            gen = torch.Generator().manual_seed(args.seed)
            for i in range(0, args.n, 64):
                z = torch.randn(min(64, args.n - i), 100, generator=gen)
                with torch.no_grad():
                    x = to_uint8(G(z))
                from PIL import Image
                for j, im in enumerate(x):
                    Image.fromarray(im).save(out / f"face_{i + j:06d}.png")
            print(f"{args.n} faces -> {out}")
    except (ValueError, OSError, FloatingPointError) as e:  # DCGANError and LimitError are ValueErrors
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    return 0


def _check_args(args):
    """Every number and output path against limits.py, before any work starts."""
    c = limits.check
    c("seed", args.seed, "--seed")
    if args.cmd == "train":
        c("batch_size", args.batch_size), c("train_lr", args.lr), c("epochs", args.epochs)
        c("width", args.ngf, "--ngf"), c("width", args.ndf, "--ndf"), c("workers", args.workers)
        if args.max_iters is not None:
            c("iterations", args.max_iters)
        limits.check_out_dir(args.out)
        return
    c("sample_count", args.n)
    if args.cmd == "make-faces":
        limits.check_out_dir(args.out)
    elif Path(args.out).is_dir():
        raise limits.LimitError(f"--out {args.out} is a folder; give the PNG file to write")
    else:
        limits.check_out_dir(Path(args.out).parent or ".", "--out's folder")


if __name__ == "__main__":
    sys.exit(main())
