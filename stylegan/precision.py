"""Reduced precision: which autocast dtypes a device computes natively, and the choice a user
makes with `--precision fp32|bf16|fp16|auto`.

The generator is autocast-safe (styles, demodulation, the mapping network and the image sum stay
float32), so a drag step, a preview or an inversion step runs its convolutions under
`torch.autocast` and casts what it returns back to float32 (losses, point tracking and Adam never
see a low-precision tensor). What a choice means:

- fp32: no autocast.
- bf16: bfloat16 autocast. CPU only where the CPU has bf16 arithmetic (x86 AVX512-BF16 or AMX,
  ARM BF16): elsewhere oneDNN emulates it and it is slower than fp32, so it is refused. CUDA on
  GPUs that support it (Ampere and later); MPS where autocast supports it.
- fp16: float16 autocast, CUDA and MPS only; gradients get a static loss scale (`loss_scale`)
  because the drag losses are means over many elements whose per-element gradients fall below
  float16's normal range.
- auto: bf16 on a CPU with bf16 arithmetic for models of `AUTO_MIN_RES` px and up, bf16 (else
  fp16) on CUDA, fp32 otherwise. The choice and its reason are logged (logger "latentlab").

Why a size threshold on CPU: on a CPU with bf16 arithmetic, bf16 pays for its rounding from 256 px up
and hardly at all on the 64 px bundled model (measured: docs/benchmarks.md, "Speed and memory of a
drag step").
"""
import logging
import os
import platform
import subprocess
import sys
from contextlib import nullcontext
from dataclasses import dataclass

import torch

from .errors import PrecisionError  # noqa: F401  (raised here, defined with the package's other errors)

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
AUTO_MIN_RES = 256
FP16_LOSS_SCALE = 2.0 ** 12
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
log = logging.getLogger("latentlab")


def cpu_has_bf16():
    """True when the CPU has bfloat16 arithmetic (not just oneDNN's emulation of it) and oneDNN may
    use it (ONEDNN_MAX_CPU_ISA can cap it below, e.g. AVX512_CORE)."""
    cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "ALL").upper()
    if cap not in ("ALL", "DEFAULT") and not any(k in cap for k in ("BF16", "AMX", "AVX10")):
        return False
    for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):  # x86: torch.cpu's probes
        probe = getattr(torch.cpu, name, None)
        if probe is not None and probe():
            return True
    if platform.machine().lower() not in ("arm64", "aarch64"):
        return False
    return _arm_bf16() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def _arm_bf16():
    if sys.platform == "darwin":  # Apple M2 and later
        probe = subprocess.run(["sysctl", "-n", "hw.optional.arm.FEAT_BF16"], capture_output=True, text=True)
        return probe.stdout.strip() == "1"
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("Features") and "bf16" in line.split() for line in f)
    except OSError:
        return False


def native_dtypes(device):
    """The reduced precisions `device` runs natively, fastest first."""
    kind = torch.device(device).type
    if kind == "cpu":
        return ["bf16"] if cpu_has_bf16() else []
    if kind == "cuda":
        return (["bf16"] if torch.cuda.is_bf16_supported() else []) + ["fp16"]
    if kind == "mps" and torch.amp.is_autocast_available("mps"):
        return ["fp16", "bf16"]
    return []


@dataclass(frozen=True)
class Precision:
    name: str                 # fp32 | bf16 | fp16 (what runs)
    device_type: str
    requested: str = "fp32"   # what was asked for (auto, or the name itself)
    reason: str = ""

    @property
    def dtype(self):
        return DTYPES.get(self.name, torch.float32)

    @property
    def loss_scale(self):
        return FP16_LOSS_SCALE if self.name == "fp16" else 1.0

    def autocast(self):
        if self.name == "fp32":
            return nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def describe(self):
        return self.name if self.requested != "auto" else f"{self.name} (auto: {self.reason})"


def _why_not(name, kind):
    if kind == "cpu" and name == "bf16":
        return "this CPU has no bfloat16 arithmetic (AVX512-BF16, AMX or ARM BF16), so bf16 would be slower than fp32"
    if kind == "cpu":
        return "float16 autocast is for CUDA and MPS; on a CPU use bf16 (where supported) or fp32"
    return f"{name} is not supported on this {kind} device"


def choose(precision, device, resolution=None):
    """A `Precision` for the name the user gave; raises PrecisionError when the device cannot run it."""
    if precision is None:
        precision = "auto"
    if isinstance(precision, Precision):
        return precision
    name = str(precision).lower()
    if name not in PRECISIONS:
        raise PrecisionError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    kind = torch.device(device).type
    native = native_dtypes(device)
    if name == "fp32":
        return Precision("fp32", kind, "fp32")
    if name != "auto":
        if name not in native:
            raise PrecisionError(f"precision {name}: {_why_not(name, kind)}")
        return Precision(name, kind, name)
    chosen = _auto(kind, native, resolution)
    log.info("precision auto -> %s (%s)", chosen.name, chosen.reason)
    return chosen


def _auto(kind, native, resolution):
    if kind == "cuda":
        return Precision(native[0], kind, "auto", f"CUDA runs {native[0]} natively")
    if kind == "cpu" and "bf16" in native:
        if resolution is not None and resolution < AUTO_MIN_RES:
            return Precision("fp32", kind, "auto", f"{resolution} px model: bf16 is only ~1.1x faster below "
                                                   f"{AUTO_MIN_RES} px on CPU")
        return Precision("bf16", kind, "auto", "this CPU has bfloat16 arithmetic")
    why = "no bfloat16 arithmetic on this CPU" if kind == "cpu" else f"reduced precision is not measured on {kind}"
    return Precision("fp32", kind, "auto", why)


def to_float32(x):
    """Tensors (or tuples of them) produced under autocast, back in float32."""
    if isinstance(x, tuple):
        return tuple(to_float32(t) for t in x)
    return x.float() if isinstance(x, torch.Tensor) and x.is_floating_point() else x
