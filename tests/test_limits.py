"""limits.py: every user range in one place, each refusal naming its field; output folders."""
import math
from pathlib import Path

import pytest

import limits

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name, value, expected", [
    ("seed", 3, 3), ("seed", 3.0, 3), ("seed", "7", 7), ("max_steps", 1000, 1000), ("lr", 0.002, 0.002),
    ("psi", -2, -2.0), ("r2", 64, 64.0), ("l", 0.5, 0.5),
])
def test_accepts_values_in_range(name, value, expected):
    got = limits.check(name, value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("name, value", [
    ("seed", -5), ("seed", 2 ** 70), ("seed", 3.5), ("seed", True), ("seed", None), ("seed", "x"), ("seed", [1]),
    ("lr", 1e300), ("lr", math.nan), ("lr", 0), ("psi", 1e308), ("psi", math.inf), ("max_steps", 10 ** 9),
    ("max_steps", math.nan), ("r2", 8000), ("r1", 0), ("mix_seeds", 300), ("seed", 10 ** 400),
])
def test_refuses_out_of_range_naming_the_field(name, value):
    label = limits.RANGES[name][0]
    with pytest.raises(limits.LimitError, match=f"^{label} must be a .*number from") as e:
        limits.check(name, value)
    assert "\n" not in str(e.value) and len(str(e.value)) < 120


def test_label_override_and_sizes():
    with pytest.raises(limits.LimitError, match="^Seed A must be"):
        limits.check("seed", -1, "Seed A")
    with pytest.raises(limits.LimitError, match="too large: 3,000,000"):
        limits.check_size("edit_json_bytes", 3_000_000, "the edit JSON file")


def test_settings_from_environment(monkeypatch):
    monkeypatch.setenv("LATENTLAB_HUB_TIMEOUT", "3.5")
    assert limits.setting("hub_timeout") == 3.5
    monkeypatch.setenv("LATENTLAB_HUB_TIMEOUT", "soon")
    with pytest.raises(limits.LimitError, match="LATENTLAB_HUB_TIMEOUT must be a number"):
        limits.setting("hub_timeout")
    monkeypatch.delenv("LATENTLAB_HUB_TIMEOUT")
    assert limits.setting("hub_timeout") == 15.0


def test_out_dir_checks(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(limits.LimitError, match="exists and is not a folder"):
        limits.check_out_dir(tmp_path / "file")
    with pytest.raises(limits.LimitError, match="is under a file"):
        limits.check_out_dir(tmp_path / "file" / "sub" / "deeper")
    with pytest.raises(limits.LimitError, match="cannot be created"):
        limits.check_out_dir("/proc/nope")
    assert limits.check_out_dir(tmp_path / "new" / "a") == tmp_path / "new" / "a" and not (tmp_path / "new").exists()


def test_out_names_leave_room_for_the_temporary_name_written_first(tmp_path):
    """A legal name (up to 255 bytes) whose temporary sibling (clisafe.atomic_dir / atomic_file: '.NAME.partial-XXXXXXXX'
    [+ the suffix]) would not be is refused before any work, where before the command ran and failed at the end."""
    import clisafe
    fits, long = "d" * (255 - clisafe.TMP_EXTRA), "d" * (256 - clisafe.TMP_EXTRA)
    assert limits.check_out_dir(tmp_path / fits) == tmp_path / fits
    with pytest.raises(limits.LimitError, match="the name is too long \\(238 bytes; at most 237"):
        limits.check_out_dir(tmp_path / long)
    with clisafe.atomic_dir(tmp_path / fits) as tmp:   # the longest accepted name really is written, by a real swap
        (tmp / "x.txt").write_text("x")
    assert (tmp_path / fits / "x.txt").is_file()
    png = "f" * (255 - clisafe.TMP_EXTRA - 4 - 4) + ".png"   # the temporary name repeats the suffix
    assert clisafe.check_out_file(tmp_path / png) == tmp_path / png
    with clisafe.atomic_file(tmp_path / png) as tmp:
        Path(tmp).write_bytes(b"x")
    assert (tmp_path / png).read_bytes() == b"x"
    with pytest.raises(clisafe.InputError, match="the name is too long"):
        clisafe.check_out_file(tmp_path / ("f" + png))


def test_readme_documents_every_range():
    assert limits.markdown() in (ROOT / "README.md").read_text()


def test_a_trainer_stops_after_its_step_on_sigint_or_sigterm_and_aborts_on_a_second():
    """clisafe.StopAfterStep (dcgan train, training.adapt): either signal sets `hit`, a second raises
    KeyboardInterrupt, and the handlers before it are back after the block."""
    import os
    import signal
    import clisafe
    before = signal.getsignal(signal.SIGTERM)
    for sig in (signal.SIGINT, signal.SIGTERM):
        stop = clisafe.StopAfterStep()
        with stop.installed():
            os.kill(os.getpid(), sig)
            assert stop.hit
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), sig)
    assert signal.getsignal(signal.SIGTERM) is before and signal.getsignal(signal.SIGINT) is signal.default_int_handler
