"""python -m dcgan train | sample | make-faces (see README / docs/dcgan.md).

Every number, file and output path is checked first (limits.py, clisafe); outputs appear only when
complete: `sample` writes its grid through a temporary file, `make-faces` and a fresh `train` fill a
temporary folder renamed into place at the end (`train --resume` goes on in its own folder, whose
checkpoint is replaced atomically). Exit codes: 0 done, 2 bad input (one line), 130 interrupted.
"""
import argparse
import sys
import warnings
from pathlib import Path

import torch

import clisafe
import dcgan
import limits
from dcgan.train import load_checkpoint
from stylegan.imageops import to_uint8


def _parser():
    ap = argparse.ArgumentParser(prog="python -m dcgan")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train a DCGAN from scratch on an image folder")
    t.add_argument("--data", required=True, help="a flat folder of face images (centre-cropped to a square, resized to 64x64)")
    t.add_argument("--out", required=True, help="run folder: checkpoint.pt, losses.csv, loss_curves.png, samples")
    t.add_argument("--epochs", type=int, default=5, help="passes over the folder (default 5)")
    t.add_argument("--batch-size", type=int, default=128, help="images per step (default 128, as the PyTorch tutorial)")
    t.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate of both networks (default 2e-4)")
    t.add_argument("--seed", type=int, default=0, help="the run's random stream (default 0)")
    t.add_argument("--ngf", type=int, default=64, help="generator width (default 64)")
    t.add_argument("--ndf", type=int, default=64, help="discriminator width (default 64)")
    t.add_argument("--max-iters", type=int, default=None, help="stop after this many steps in all (default: the epochs' end)")
    t.add_argument("--workers", type=int, default=0, help="data-loading worker processes (default 0: in the main process)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    s = sub.add_parser("sample", help="a sample grid from a checkpoint or the pretrained model")
    s.add_argument("--checkpoint", default="pretrained",
                   help="a checkpoint.pt of a run, or 'pretrained': the bundled face DCGAN (default)")
    s.add_argument("--out", required=True, help="the grid image to write (.png, .jpg, ...)")
    s.add_argument("--n", type=int, default=64, help=f"images in the grid (at most {limits.RANGES['grid_samples'][3]})")
    s.add_argument("--seed", type=int, default=0, help="the latents' random stream (default 0)")
    m = sub.add_parser("make-faces", help="write samples of the pretrained DCGAN as a face folder")
    m.add_argument("--n", type=int, default=4000, help="how many faces (default 4000)")
    m.add_argument("--out", required=True, help="the folder to write them to")
    m.add_argument("--seed", type=int, default=0, help="the latents' random stream (default 0)")
    return ap


TRAIN_FILES = ("checkpoint.pt", "losses.csv", "loss_curves.png", "samples_epoch*")
BATCH = 64   # images generated at once (sample, make-faces)


def _generate(G, n, seed):
    """n images [n, 3, 64, 64] in [-1, 1], BATCH at a time (memory bounded whatever n is)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for i in range(0, n, BATCH):
            yield i, G(torch.randn(min(BATCH, n - i), 100, generator=gen))


def _sample_generator(spec):
    if spec == "pretrained":
        return dcgan.load_pretrained()
    ck = load_checkpoint(clisafe.regular_file(spec, "--checkpoint"))
    G = dcgan.Generator(ngf=limits.check("width", ck.get("ngf", 64), "the checkpoint's ngf"))
    try:
        G.load_state_dict(ck["G"])
    except (RuntimeError, TypeError, KeyError) as e:
        raise dcgan.DCGANCheckpointError(f"--checkpoint {spec} does not hold this DCGAN's generator "
                                         f"({clisafe.one_line(e, 120)})") from None
    if not all(torch.isfinite(p).all() for p in G.state_dict().values()):
        raise dcgan.DCGANCheckpointError(f"--checkpoint {spec}: its generator holds NaN or Inf weights")
    return G.eval()


def _main(argv):
    args = _parser().parse_args(argv)
    _check_args(args)
    if args.cmd == "train":
        with warnings.catch_warnings(record=True) as said:   # shown as lines, once the folder is usable
            warnings.simplefilter("always")
            args.data = dcgan.ImageFolder(args.data)   # no usable image: a DataError, the one line
        for w in said:
            print(f"warning: {clisafe.one_line(w.message)}", file=sys.stderr)
        print(f"dcgan: training on {len(args.data)} images -> {args.out}", flush=True)
        if args.resume:   # a run goes on in its own folder
            r = _train(args, args.out)
        else:
            with clisafe.atomic_dir(args.out) as tmp:
                r = _train(args, tmp)
        print(f"done: {r['iterations']} iterations in {r['seconds']:.0f}s -> {args.out}")
    elif args.cmd == "sample":
        G = _sample_generator(args.checkpoint)
        images = torch.cat([x for _, x in _generate(G, args.n, args.seed)])
        with clisafe.atomic_file(args.out) as tmp:
            dcgan.grid(images).save(tmp)
        print(args.out)
    else:
        from PIL import Image
        G = dcgan.load_pretrained()
        with clisafe.atomic_dir(args.out) as out:
            for i, x in _generate(G, args.n, args.seed):
                for j, im in enumerate(to_uint8(x)):
                    Image.fromarray(im).save(out / f"face_{i + j:06d}.png")
        print(f"{args.n} faces -> {args.out}")
    return 0


def _train(args, out):
    return dcgan.train(args.data, out, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                       ngf=args.ngf, ndf=args.ndf, resume=args.resume, max_iters=args.max_iters, workers=args.workers)


def main(argv=None):
    # DCGANError and LimitError are ValueErrors; FloatingPointError: the losses diverged
    return clisafe.run(_main, argv, "dcgan", (ValueError, OSError, FloatingPointError))


def grid_bytes(n):
    """A coarse estimate of `sample`'s memory: the images as floats and the grid (3 bytes a pixel, twice)."""
    return n * 64 * 64 * 3 * (4 + 6)


def _check_args(args):
    """Every number and output path against limits.py, before any work starts."""
    c = limits.check
    c("seed", args.seed, "--seed")
    if args.cmd == "train":
        c("batch_size", args.batch_size), c("train_lr", args.lr), c("epochs", args.epochs)
        c("width", args.ngf, "--ngf"), c("width", args.ndf, "--ndf"), c("workers", args.workers)
        if args.max_iters is not None:
            c("iterations", args.max_iters)
        if not Path(args.data).is_dir():
            raise dcgan.DataError(f"--data {args.data}: not a folder of images")
        limits.check_out_dir(args.out)
        if not args.resume:
            clisafe.check_replaceable(args.out, TRAIN_FILES)
        return
    if args.cmd == "make-faces":
        c("sample_count", args.n)
        limits.check_out_dir(args.out)
        clisafe.check_replaceable(args.out, ("face_*",))
        return
    limits.check_sized("grid_samples", args.n, "--n", grid_bytes)
    limits.check_memory(f"dcgan sample --n {args.n}", grid_bytes(args.n))
    clisafe.check_out_file(args.out)
    if args.checkpoint != "pretrained":
        clisafe.regular_file(args.checkpoint, "--checkpoint")


if __name__ == "__main__":
    sys.exit(main())
