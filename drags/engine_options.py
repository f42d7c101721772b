"""Each engine's own command-line options, derived from its declaration (`dragcore.engine`): one
flag per setting in `Engine.options` (`--r1`, `--l`, `--feature-scale`, ...), typed, described
and range-checked from the setting's `dragcore.config.setting()` metadata, on top of the shared
options of `drags.drag_cli`. `main(method)` is what `python -m <method>` runs."""
import argparse

from dragcore import config

from . import drag_cli
from .engines import ENGINES


def flag(name):
    return "--" + name.replace("_", "-")


def _value(name):
    """argparse type of a setting: its kind; a choice among its choices; 'auto' for a setting whose
    default is None (the model or the start image decides)."""
    s = config.spec(name)

    def parse(text):
        if s["default"] is None and str(text).strip().lower() == "auto":
            return None
        if s["choices"] is not None:
            return text
        try:
            return s["kind"](float(text)) if s["kind"] is int and float(text).is_integer() else s["kind"](text)
        except ValueError:
            auto = " or 'auto'" if s["default"] is None else ""
            raise argparse.ArgumentTypeError(f"must be a number{auto}, got {text!r}") from None
    parse.__name__ = name
    return parse


def help_text(engine, name):
    """A flag's help: what it means, its range or choices, and where its default comes from."""
    s = config.spec(name)
    default = getattr(engine.config(), name)
    what = s["help"] or s["label"]
    if s["choices"] is not None:
        rng = "one of " + ", ".join(s["choices"])
    else:
        rng = f"{s['low']:g}-{s['high']:g}"
    dflt = "auto" if default is None else f"{default:g}" if isinstance(default, (int, float)) else str(default)
    return f"{what}; {rng} (default: the model's preset, else {dflt})".replace("%", "%%")


def arguments(engine):
    """The function that adds `engine`'s own flags to a parser."""
    def add(p):
        g = p.add_argument_group(f"{engine.label} settings")
        for name in engine.options:
            s = config.spec(name)
            meta = "{" + ",".join(s["choices"]) + "}" if s["choices"] is not None else None
            g.add_argument(flag(name), dest=name, type=_value(name), default=None, metavar=meta,
                           help=help_text(engine, name))
    return add


def settings(engine):
    """The function that reads `engine`'s own settings from parsed arguments (None: not given, the
    model's preset, else the engine's default)."""
    return lambda args: {name: getattr(args, name) for name in engine.options}


def main(method, argv=None):
    """`python -m <method> ...`: the shared CLI with the engine's session class and options."""
    engine = ENGINES[method]
    return drag_cli.main(engine.session, arguments(engine), settings(engine), argv=argv)
