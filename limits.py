"""Every bound on what a user can ask for, in one place: the range of each number (app fields,
edit JSON, command lines), the size of files and JSON, and the network deadlines. The drag
settings' ranges (seed, psi, max steps, lr, the engines' own) are declared with their defaults in
`dragcore.config` and served here; this module adds the ranges of everything else.

`check(name, value)` converts a value to its kind and raises `LimitError` (a ValueError whose
message names the field and its range) when it is missing, not a number, not finite, not whole
where a whole number is needed, or outside the range. Nothing is clamped silently. The network
and size settings can be overridden by environment variables (read at call time, so tests can
use short deadlines). The sanity limits on checkpoint files live in `stylegan.io.LIMITS`
(the library must not import the app's settings). `python -m limits` prints the README table.
"""
import math
import os

from dragcore import config as drag_config


class _Ranges(dict):
    """The table below, and every drag setting's range read live from dragcore.config (an engine
    declared later, dragcore.engine, brings its own settings)."""

    def _live(self):
        return {k: v for k, v in drag_config.ranges().items() if not dict.__contains__(self, k)}

    def __missing__(self, name):
        return self._live()[name]

    def __contains__(self, name):
        return dict.__contains__(self, name) or name in self._live()

    def items(self):
        return list(dict.items(self)) + list(self._live().items())


# name: (label shown to the user, kind, low, high)
RANGES = _Ranges({
    **drag_config.ranges(),   # seed, psi, max_steps, lr, mask_weight, rows, feature_res, r1, r2, ..., l, d, arrival
    "point_pairs": ("Number of point pairs", int, 1, 16),
    "frames": ("Frames", int, 3, 16),
    "mix_seeds": ("Number of source seeds", int, 1, 8),
    "sefa_k": ("Directions", int, 1, 8),
    "sefa_strength": ("Strength", float, -50.0, 50.0),
    "inv_steps": ("Inversion steps", int, 0, 500),
    "dcgan_samples": ("Samples", int, 1, 64),
    "batch_size": ("--batch-size", int, 1, 4096),
    "train_lr": ("--lr", float, 1e-7, 1.0),
    "epochs": ("--epochs", int, 1, 10_000),
    "width": ("--ngf/--ndf", int, 8, 512),
    "workers": ("--workers", int, 0, 64),
    "iterations": ("--max-iters", int, 1, 10_000_000),
    "sample_count": ("--n", int, 1, 100_000),   # dcgan make-faces: written 64 at a time
    "grid_samples": ("--n", int, 1, 1024),      # dcgan sample: one grid image
    "scale": ("--scale", int, 1, 16),           # latent interp|mix|truncation|sefa: pixel repeat of the grid
    "grid_seeds": ("Number of --seeds", int, 1, 9),
    "crop": ("--crop", int, 0, 100_000),
    "adapt_steps": ("Adaptation steps", int, 1, 20_000),   # training.adapt --steps, the Adapt tab
    "adapt_batch": ("--batch", int, 1, 64),
})

# sizes of things users send (bytes, pixels, nesting)
SIZES = {
    "edit_json_bytes": 2_000_000,     # an edit JSON with a 1024 px mask is ~20 KB
    "edit_json_depth": 6,             # {params: {...}}, {points: [[x, y]]} need 3
    "image_pixels": 16_000_000,       # photos to invert and painted mask layers
    "model_upload_bytes": 1_000_000_000,   # the largest official StyleGAN2 pickle is ~380 MB
}

# network and cache settings: (environment variable, default)
SETTINGS = {
    "session_idle": ("LATENTLAB_SESSION_IDLE", 900.0),     # s a session without a heartbeat is kept idle (ui.sessions)
    "gradio_cap_mb": ("LATENTLAB_GRADIO_CAP_MB", 2048.0),  # MB of the app's folder in Gradio's (ui.disk)
    "hub_timeout": ("LATENTLAB_HUB_TIMEOUT", 15.0),        # s until the Hub's first byte, retries included
    "stall_window": ("LATENTLAB_HUB_STALL_WINDOW", 15.0),  # s over which a transfer must keep up ...
    "stall_min_rate": ("LATENTLAB_HUB_MIN_RATE", 16384.0),  # ... this many bytes/s, or it is abandoned
    "hub_max_requests": ("LATENTLAB_HUB_MAX_REQUESTS", 12.0),  # HTTP requests per download, retries included
    "download_wait": ("LATENTLAB_DOWNLOAD_WAIT", 25.0),    # s an app request waits for a running download
    "model_cache": ("LATENTLAB_MODEL_CACHE", 4.0),         # generators kept in memory by the app (LRU)
    "chain_drags": ("LATENTLAB_CHAIN_DRAGS", 20.0),        # drags in one image's chain (each keeps its frames)
    "cli_memory_gb": ("LATENTLAB_CLI_MEMORY_GB", 6.0),     # GB a command line's size knobs may ask for
}


class LimitError(ValueError):
    """A value from a user is missing, malformed or outside its documented range."""


def max_chain():
    """The most drags one image's chain holds (the app's chain and an edit JSON's `drags`)."""
    return int(setting("chain_drags"))


WHOLE_SETTINGS = {"hub_max_requests", "model_cache", "chain_drags"}   # counts: whole numbers >= 1


def setting(name):
    env, default = SETTINGS[name]
    raw = os.environ.get(env)
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise LimitError(f"{env} must be a number, got {short(raw)}") from None
    if not (math.isfinite(value) and value > 0):
        raise LimitError(f"{env} must be a positive number, got {short(raw)}")
    if name in WHOLE_SETTINGS and value != int(value):
        raise LimitError(f"{env} must be a whole number from 1, got {short(raw)}")
    return value


def check_settings():
    """Every operator setting read now, so a bad environment variable stops the app at start with
    one line naming it (LimitError), never a failure in every later request."""
    for name in SETTINGS:
        setting(name)


def describe(name):
    label, kind, lo, hi = RANGES[name]
    if kind is int:
        return f"a whole number from {lo} to {hi}"
    return f"a number from {lo:g} to {hi:g}"


def short(value):
    """A value as quoted in a message: at most 40 characters (a 5000-digit integer is described, not
    converted: Python refuses to print one)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"a whole number of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_choice(name, value, label=None):
    """A text setting of dragcore.config (space, mode, precision) among its choices, or LimitError."""
    spec = drag_config.spec(name)
    if value not in spec["choices"]:
        raise LimitError(f"{label or spec['label']} must be one of {', '.join(spec['choices'])}, got {short(value)}")
    return value


def check(name, value, label=None):
    """value converted to the field's kind, or LimitError naming the field and its range."""
    default_label, kind, lo, hi = RANGES[name]
    label = label or default_label
    bad = LimitError(f"{label} must be {describe(name)}, got {short(value)}")
    if isinstance(value, bool) or value is None:
        raise bad
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise bad from None
    if not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise bad
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise bad from None
    if not math.isfinite(number) or not lo <= number <= hi:
        raise bad
    if kind is int:
        if number != int(number):
            raise bad
        return int(number)
    return number


def gigabytes(nbytes):
    return f"~{nbytes / 1e9:.1f} GB" if nbytes >= 1e8 else f"~{max(nbytes, 1) / 1e6:.0f} MB"


def check_sized(name, value, label, need):
    """`check` for a size knob, whose refusal also says what the value would cost: need(value) ->
    bytes (an estimate)."""
    try:
        return check(name, value, label)
    except LimitError as e:
        try:
            big = float(value) > RANGES[name][3]
            cost = need(float(value)) if big else 0
        except (TypeError, ValueError, OverflowError):
            raise e from None
        if not math.isfinite(cost) or cost <= 0:
            raise e from None
        raise LimitError(f"{e} (it would need {gigabytes(cost)} of memory)") from None


def check_memory(what, nbytes):
    """LimitError when a command line's estimated memory use is over the budget (cli_memory_gb)."""
    budget = setting("cli_memory_gb") * 1e9
    if nbytes > budget:
        raise LimitError(f"{what} needs {gigabytes(nbytes)} of memory, more than the {budget / 1e9:g} GB budget "
                         f"({SETTINGS['cli_memory_gb'][0]}); ask for less")
    return nbytes


def check_size(name, n, what):
    if n > SIZES[name]:
        raise LimitError(f"{what} is too large: {n:,} (at most {SIZES[name]:,})")
    return n


def check_out_dir(path, flag="--out"):
    """An output folder that can be created: not an existing file, a name that fits with the temporary one
    written first (clisafe.check_name_fits), not under a file, its nearest existing parent writable. Checked before
    any work starts; nothing is created here."""
    from pathlib import Path
    import clisafe
    out = Path(path).expanduser()
    if out.exists() and not out.is_dir():
        raise LimitError(f"{flag} {path} exists and is not a folder")
    try:
        clisafe.check_name_fits(out, flag)
    except clisafe.InputError as e:
        raise LimitError(str(e)) from None
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise LimitError(f"{flag} {path} is under a file ({parent})")
    if parent.resolve().parts[1:2] in (("proc",), ("sys",)):   # kernel interfaces, not folders
        raise LimitError(f"{flag} {path} cannot be created ({parent} is a system folder)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise LimitError(f"{flag} {path} cannot be written (no permission in {parent})")
    return out


def markdown():
    """The README table of user-facing ranges."""
    rows = [f"| {label} (`{name}`) | {describe(name)} |" for name, (label, *_rest) in RANGES.items()]
    return "\n".join(["| field | accepted |", "|---|---|", *rows])


if __name__ == "__main__":
    import argparse
    argparse.ArgumentParser(prog="python -m limits",
                            description="Print every bounded input and its range as a Markdown table.").parse_args()
    print(markdown())
