"""Peak FLOP/s of a device: NVIDIA GPUs from their datasheets, a CPU measured.

:func:`device_peak_flops` looks NVIDIA GPUs up in :data:`GPU_PEAKS` (vendor datasheet figures)
and measures a CPU's (the best of several large jitted matmuls, remembered for the process).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import jax
import jax.numpy as jnp

PEAK_MATMUL_SIZE = 2048
PEAK_MATMUL_REPEATS = 5


@dataclass(frozen=True)
class GpuPeak:
    """Dense (no sparsity) peak FLOP/s of one GPU model, from its vendor's datasheet."""

    pattern: str
    """regular expression matched against the lower-cased JAX ``device_kind``"""
    name: str
    float64: float
    float32: float
    source: str


_TERA = 1e12
# float64: the FP64 Tensor Core rate where the GPU has one (cuBLAS DGEMM uses it), else FP64.
# float32: the FP32 (CUDA core) rate. TF32 tensor cores (JAX's default matmul precision for
# float32 on Ampere and newer) run faster, at reduced precision; their rate is not used.
# Where a datasheet gives no FP64 figure, it is the FP32 figure times the chip's FP64:FP32 ratio.
GPU_PEAKS: tuple[GpuPeak, ...] = (
    # NVIDIA H200 datasheet: SXM FP64 34, FP64 Tensor Core 67, FP32 67; NVL 30 / 60 / 60 TFLOPS
    GpuPeak(r"h200.*nvl", "H200 NVL", 60 * _TERA, 60 * _TERA, "NVIDIA H200 datasheet"),
    GpuPeak(r"gh200", "GH200", 67 * _TERA, 67 * _TERA, "NVIDIA GH200 datasheet"),
    GpuPeak(r"h200", "H200 SXM", 67 * _TERA, 67 * _TERA, "NVIDIA H200 datasheet"),
    # NVIDIA H100 datasheet: SXM 34 / 67 / 67, PCIe 26 / 51 / 51, NVL 30 / 60 / 60 TFLOPS
    GpuPeak(r"h100.*pcie", "H100 PCIe", 51 * _TERA, 51 * _TERA, "NVIDIA H100 datasheet"),
    GpuPeak(r"h100.*nvl", "H100 NVL", 60 * _TERA, 60 * _TERA, "NVIDIA H100 datasheet"),
    GpuPeak(r"h100", "H100 SXM", 67 * _TERA, 67 * _TERA, "NVIDIA H100 datasheet"),
    # NVIDIA A100 datasheet: SXM and PCIe, 40 and 80 GB: FP64 9.7, FP64 Tensor Core 19.5,
    # FP32 19.5 TFLOPS
    GpuPeak(r"a100.*pcie", "A100 PCIe", 19.5 * _TERA, 19.5 * _TERA, "NVIDIA A100 datasheet"),
    GpuPeak(r"a100", "A100 SXM", 19.5 * _TERA, 19.5 * _TERA, "NVIDIA A100 datasheet"),
    # NVIDIA A30 datasheet: FP64 5.2, FP64 Tensor Core 10.3, FP32 10.3 TFLOPS
    GpuPeak(r"\ba30\b", "A30", 10.3 * _TERA, 10.3 * _TERA, "NVIDIA A30 datasheet"),
    # NVIDIA V100 datasheet (no FP64 tensor cores): SXM2 FP64 7.8, FP32 15.7; PCIe 7 / 14;
    # V100S PCIe 8.2 / 16.4 TFLOPS
    GpuPeak(r"v100s", "V100S PCIe", 8.2 * _TERA, 16.4 * _TERA, "NVIDIA V100S datasheet"),
    GpuPeak(r"v100.*pcie", "V100 PCIe", 7.0 * _TERA, 14.0 * _TERA, "NVIDIA V100 datasheet"),
    GpuPeak(r"v100", "V100 SXM2", 7.8 * _TERA, 15.7 * _TERA, "NVIDIA V100 datasheet"),
    # NVIDIA L40S datasheet: FP32 91.6 TFLOPS; FP64 at Ada's 1:64
    GpuPeak(r"l40s", "L40S", 91.6 / 64 * _TERA, 91.6 * _TERA,
            "NVIDIA L40S datasheet (FP64 = FP32 / 64)"),
    # NVIDIA L4 datasheet: FP32 30.3 TFLOPS; FP64 at Ada's 1:64
    GpuPeak(r"\bl4\b", "L4", 30.3 / 64 * _TERA, 30.3 * _TERA,
            "NVIDIA L4 datasheet (FP64 = FP32 / 64)"),
    # NVIDIA A10 datasheet: FP32 31.2 TFLOPS; FP64 at GA102's 1:64
    GpuPeak(r"\ba10\b", "A10", 31.2 / 64 * _TERA, 31.2 * _TERA,
            "NVIDIA A10 datasheet (FP64 = FP32 / 64)"),
    # NVIDIA Ada Lovelace architecture whitepaper: GeForce RTX 4090 FP32 82.6 TFLOPS; FP64 1:64
    GpuPeak(r"rtx 4090", "GeForce RTX 4090", 82.6 / 64 * _TERA, 82.6 * _TERA,
            "NVIDIA Ada Lovelace whitepaper (FP64 = FP32 / 64)"),
    # NVIDIA T4 datasheet: FP32 8.1 TFLOPS; FP64 at Turing's 1:32
    GpuPeak(r"\bt4\b", "T4", 8.1 / 32 * _TERA, 8.1 * _TERA,
            "NVIDIA T4 datasheet (FP64 = FP32 / 32)"),
)


def gpu_peak(device_kind: str) -> GpuPeak | None:
    """The :data:`GPU_PEAKS` entry of a JAX ``device_kind`` (e.g. ``NVIDIA H100 80GB HBM3``)."""
    name = re.sub(r"[-_]", " ", device_kind.lower())
    return next((peak for peak in GPU_PEAKS if re.search(peak.pattern, name)), None)


@cache
def measured_matmul_peak(dtype: str = "float64", size: int = PEAK_MATMUL_SIZE,
                         repeats: int = PEAK_MATMUL_REPEATS) -> float:
    """FLOP/s of the fastest of ``repeats`` jitted ``size`` x ``size`` matmuls on the CPU.

    Measured once per process and dtype (a few seconds for float64 at 2048).
    """
    device = jax.devices("cpu")[0]
    key_a, key_b = jax.random.split(jax.random.key(0))
    a = jax.device_put(jax.random.normal(key_a, (size, size), jnp.dtype(dtype)), device)
    b = jax.device_put(jax.random.normal(key_b, (size, size), jnp.dtype(dtype)), device)
    matmul = jax.jit(jnp.matmul)
    matmul(a, b).block_until_ready()  # compile and warm up
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def device_peak_flops(environment: dict[str, Any],
                      dtype: str = "float64") -> tuple[float | None, str]:
    """The peak FLOP/s at ``dtype`` of the device an environment describes, and its source.

    Args:
        environment: :func:`suite.bench.provenance.environment` of this process (``platform`` and
            ``device``). A CPU's peak is measured here, so it must describe this machine.
        dtype: ``float64`` or ``float32`` (a run's ``config.model.dtype``).

    Returns:
        ``(peak or None, where it comes from or why it is unknown)``.
    """
    platform = str(environment.get("platform"))
    device = str(environment.get("device"))
    if platform == "cpu":
        peak = measured_matmul_peak(dtype)
        return peak, (f"measured matmul peak ({PEAK_MATMUL_SIZE}x{PEAK_MATMUL_SIZE} {dtype}, "
                      f"best of {PEAK_MATMUL_REPEATS})")
    if platform in ("gpu", "cuda"):
        entry = gpu_peak(device)
        if entry is not None:
            precision = "FP64" if dtype == "float64" else "FP32"
            return getattr(entry, dtype), f"{entry.name} {precision} peak ({entry.source})"
    return None, f"no known peak for {device} ({platform})"
