"""python -m dcgan train | sample | make-faces (see README / docs/dcgan.md).

Every number, file and output path is checked first (limits.py, clisafe); outputs appear only when
complete: `sample` writes its grid through a temporary file, `make-faces` fills a temporary folder
renamed into place at the end. `train` works in its run folder, which is resumable at every moment:
each of its files is replaced whole (dcgan/train.py); Ctrl-C or SIGTERM stops it after the current
step with a checkpoint there, and `--resume` goes on from it. An existing run is replaced only with
`--force`. Exit codes: 0 done, 2 bad input (one line), 130 interrupted.
"""
import argparse
import sys
import warnings
from pathlib import Path

import torch

import clisafe
import dcgan
import limits
from dcgan.train import RUN_FILES, SETTINGS, TARGETS, check_work_left, load_checkpoint, resume_settings, run_checkpoint
from stylegan.imageops import to_uint8


def _parser():
    ap = argparse.ArgumentParser(prog="python -m dcgan")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train a DCGAN from scratch on an image folder")
    t.add_argument("--data", required=True, help="a flat folder of face images (centre-cropped to a square, resized to 64x64)")
    t.add_argument("--out", required=True, help="run folder: checkpoint.pt, losses.csv, loss_curves.png, samples")
    t.add_argument("--epochs", type=int, default=None, help="passes over the folder (default 5)")
    t.add_argument("--batch-size", type=int, default=None, help="images per step (default 128, as the tutorial)")
    t.add_argument("--lr", type=float, default=None, help="Adam learning rate of both networks (default 2e-4)")
    t.add_argument("--seed", type=int, default=None, help="the run's random stream (default 0)")
    t.add_argument("--ngf", type=int, default=None, help="generator width (default 64)")
    t.add_argument("--ndf", type=int, default=None, help="discriminator width (default 64)")
    t.add_argument("--max-iters", type=int, default=None, help="stop after this many steps in all (default: the epochs' end)")
    t.add_argument("--workers", type=int, default=0, help="data-loading worker processes (default 0: in the main process)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint "
                   "(--epochs, --max-iters and the settings not given are the run's)")
    t.add_argument("--force", action="store_true", help="start again in an --out that holds a run, overwriting it")
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
        return _train(args)
    if args.cmd == "sample":
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


def _train(args):
    """`train` in its run folder, stoppable: the first Ctrl-C or SIGTERM ends it after the current step with
    a checkpoint there (exit 130, one line saying so), a second one at once (the last checkpoint stays)."""
    with warnings.catch_warnings(record=True) as said:   # shown as lines, once the folder is usable
        warnings.simplefilter("always")
        data = dcgan.ImageFolder(args.data)   # no usable image: a DataError, the one line
    for w in said:
        print(f"warning: {clisafe.one_line(w.message)}", file=sys.stderr)
    print(f"dcgan: training on {len(data)} images -> {args.out}", flush=True)
    ckpt = Path(args.out).expanduser() / "checkpoint.pt"
    stop = clisafe.StopAfterStep()
    try:
        with stop.installed():
            r = dcgan.train(data, Path(args.out).expanduser(), workers=args.workers, resume=args.run or False,
                            stop=lambda: stop.hit, **{k: getattr(args, k) for k in (*SETTINGS, *TARGETS)})
    except KeyboardInterrupt:
        kept = (f"the last checkpoint {ckpt} is kept: --resume continues it" if ckpt.is_file()
                else "no checkpoint was written yet")
        print(f"dcgan: interrupted again, so aborted at once; {kept}", file=sys.stderr, flush=True)
        return clisafe.EXIT_INTERRUPTED
    if r["stopped"]:
        print(f"dcgan: interrupted at iteration {r['iterations']} ({r['epoch']} of {args.epochs} epochs done); "
              f"the run's checkpoint is kept in {ckpt}: --resume continues it", file=sys.stderr, flush=True)
        return clisafe.EXIT_INTERRUPTED
    print(f"done: {r['iterations']} iterations in {r['seconds']:.0f}s -> {args.out}")
    return 0


def main(argv=None):
    # DCGANError and LimitError are ValueErrors; FloatingPointError: the losses diverged
    return clisafe.run(_main, argv, "dcgan", (ValueError, OSError, FloatingPointError))


def grid_bytes(n):
    """A coarse estimate of `sample`'s memory: the images as floats and the grid (3 bytes a pixel, twice)."""
    return n * 64 * 64 * 3 * (4 + 6)


def _check_args(args):
    """Every number and output path against limits.py, before any work starts."""
    c = limits.check
    if args.cmd == "train":
        _check_train(args)
        return
    c("seed", args.seed, "--seed")
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


LIMITS = dict(ngf=("width", "--ngf"), ndf=("width", "--ndf"), batch_size=("batch_size", None), lr=("train_lr", None),
              seed=("seed", "--seed"), epochs=("epochs", None), max_iters=("iterations", None))   # limits.py ranges


def _check_train(args):
    """`train`'s numbers and folders. With --resume the run's checkpoint is read (`args.run`) and fills in
    the settings and targets not given; a setting given that differs, or a run with nothing left to do, is
    refused. Without it an --out holding a run is refused unless --force (which starts it again)."""
    if args.resume and args.force:
        raise clisafe.InputError("--resume continues the run in --out and --force starts it again: give one of them")
    limits.check("workers", args.workers)
    if not Path(args.data).is_dir():
        raise dcgan.DataError(f"--data {args.data}: not a folder of images")
    limits.check_out_dir(args.out)
    given = {k: getattr(args, k) for k in (*SETTINGS, *TARGETS)}
    args.run = run_checkpoint(Path(args.out).expanduser()) if args.resume else None
    if args.run is None:
        _check_fresh(args)
        chosen = {**SETTINGS, **TARGETS, **{k: v for k, v in given.items() if v is not None}}
    else:
        chosen = resume_settings(args.run, given)
    for k, v in chosen.items():
        setattr(args, k, None if v is None else limits.check(LIMITS[k][0], v, LIMITS[k][1]))
    if args.run is not None:
        check_work_left(args.run, args.epochs, args.max_iters)


def _check_fresh(args):
    """A fresh run's --out: no earlier run there unless --force, and no files but a run's."""
    ckpt = Path(args.out).expanduser() / "checkpoint.pt"
    if not args.force and (ckpt.exists() or ckpt.is_symlink()):
        raise clisafe.InputError(f"--out {args.out} already holds a run ({ckpt}); --resume to continue it, "
                                 f"--force to start again and overwrite it")
    clisafe.check_replaceable(args.out, RUN_FILES)


if __name__ == "__main__":
    sys.exit(main())
