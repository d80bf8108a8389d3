"""What the extraction needs to know about the device it runs on: compute dtype, free memory,
the batch size that fits, and how fast a run was compared with the device's peak.

Every function runs without a GPU; the CUDA queries are only made for a ``cuda`` device. The
batch-size rule and the FLOP count are estimates (documented below), not measurements: they
decide how work is cut, never what is computed.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass

COMPUTE_DTYPES = ("float32", "bfloat16", "float16")
"""Dtypes a model can run in (``extraction.dtype`` / ``model_catalog.<model>.dtype``)."""

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}

PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    # (regex on torch.cuda.get_device_name, dense bf16 tensor-core TFLOP/s from the vendor's
    # data sheet); the first match wins, so the more specific names come first
    (r"H100.*(PCIe)", 756.0),
    (r"H100.*NVL", 835.0),
    (r"H100|H200|GH200", 989.0),
    (r"A100", 312.0),
    (r"L40S", 362.0),
    (r"\bL4\b", 121.0),
    (r"\bA10\b", 125.0),
)


def resolve_dtype(requested: str, device: str) -> str:
    """``auto``: bfloat16 on a CUDA device that supports it, float32 otherwise (a CPU runs
    float32 fastest and exactly); any other value must be one of COMPUTE_DTYPES."""
    if requested == "auto":
        if device.startswith("cuda"):
            import torch

            return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return "float32"
    if requested not in COMPUTE_DTYPES:
        raise ValueError(f"dtype '{requested}': expected auto or one of {COMPUTE_DTYPES}")
    return requested


def device_name(device: str) -> str:
    """``torch.cuda.get_device_name`` for a CUDA device; the CPU's architecture otherwise."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    return f"cpu ({platform.machine() or 'unknown'}, {os.cpu_count()} cores)"


def peak_bf16_tflops(name: str) -> float | None:
    """Dense bf16 peak of a known GPU (by its torch device name); None when the GPU is not in
    the table, and for CPUs (no reliable peak)."""
    for pattern, tflops in PEAK_BF16_TFLOPS:
        if re.search(pattern, name):
            return tflops
    return None


def free_memory_bytes(device: str) -> int | None:
    """Free memory the batches may use: ``torch.cuda.mem_get_info`` on CUDA (after the model's
    weights are resident), the available physical memory on a Linux CPU, None if unknown."""
    if device.startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


@dataclass(frozen=True)
class ModelShape:
    """The dimensions that set an extraction's memory and FLOPs."""

    n_layers: int
    d_model: int
    d_mlp: int
    n_heads: int
    non_embedding_parameters: int

    def flops_per_token(self, layers_run: int) -> float:
        """Forward FLOPs per token through the first ``layers_run`` blocks: 2 x non-embedding
        parameters x the fraction of blocks run (Kaplan et al.'s estimate; attention's
        context-dependent term and the unembedding, never run, are left out)."""
        return 2.0 * self.non_embedding_parameters * layers_run / self.n_layers


CPU_TOKENS_PER_BATCH = 4096
"""On a CPU, a bigger batch stops paying off once the matrices are this many tokens tall."""
GPU_TOKENS_PER_BATCH = 131072
"""On a GPU, the cap that keeps a batch (and its host-side assembly) moderate."""
MEMORY_FRACTION = 0.5
"""Share of the free memory the batch's activations may take (the estimate is rough)."""


def bytes_per_example(shape: ModelShape, context_tokens: int, dtype: str) -> int:
    """Upper estimate of the activation memory one example of ``context_tokens`` tokens holds at
    the peak of a no-grad forward pass: a block's residual stream, q/k/v and MLP tensors in the
    compute dtype, the hooked MLP tensor in float32 for the span reduction, and eager attention
    scores and probabilities in float32."""
    width = DTYPE_BYTES[dtype]
    per_token = width * (8 * shape.d_model + 3 * shape.d_mlp) + 4 * 2 * shape.d_mlp
    attention = 4 * 2 * shape.n_heads * context_tokens * context_tokens
    return context_tokens * per_token + attention


def choose_batch_size(
    shape: ModelShape, context_tokens: int, dtype: str, device: str,
    free_bytes: int | None, reserved_bytes: int = 0, result_bytes_per_example: int = 0,
) -> int:
    """Examples per forward pass when the config does not set one.

    The largest batch whose estimated activations (``bytes_per_example``) fit in
    MEMORY_FRACTION of ``free_bytes`` less ``reserved_bytes`` (fixed result buffers) and
    ``result_bytes_per_example`` per example (result buffers that grow with the batch), capped
    at CPU_TOKENS_PER_BATCH / GPU_TOKENS_PER_BATCH tokens; at least 1, a multiple of 8 from 8
    up. Only the cutting of the work depends on it: every example's activations are the same
    for any batch size (up to float rounding).
    """
    cap_tokens = GPU_TOKENS_PER_BATCH if device.startswith("cuda") else CPU_TOKENS_PER_BATCH
    batch = max(1, cap_tokens // context_tokens)
    if free_bytes is not None:
        usable = max(0, free_bytes - reserved_bytes)
        per_example = (bytes_per_example(shape, context_tokens, dtype)
                       + result_bytes_per_example / MEMORY_FRACTION)
        batch = min(batch, int(MEMORY_FRACTION * usable // per_example))
    batch = max(1, batch)
    return batch - batch % 8 if batch >= 8 else batch


@dataclass(frozen=True)
class Throughput:
    """How fast an extraction ran: real (unpadded) tokens per second, and the FLOP rate that
    implies under ``flops_per_token``. The fraction of peak compares with the GPU's dense bf16
    peak whatever dtype ran; it is absent where the peak is unknown (CPUs, unlisted GPUs)."""

    tokens: int
    padded_tokens: int
    seconds: float
    flops_per_token: float
    device_name: str
    peak_tflops: float | None

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else float("nan")

    @property
    def achieved_tflops(self) -> float:
        return self.tokens_per_second * self.flops_per_token / 1e12

    @property
    def peak_fraction(self) -> float | None:
        return None if self.peak_tflops is None else self.achieved_tflops / self.peak_tflops

    @property
    def padding_fraction(self) -> float:
        return 1 - self.tokens / self.padded_tokens if self.padded_tokens else 0.0

    def describe(self) -> str:
        """One log line, e.g. ``12,345 tokens/s, 0.47 TFLOP/s = 0.05% of the bf16 peak of ...``."""
        rate = f"{self.tokens_per_second:,.0f} tokens/s ({self.tokens:,} tokens in " \
               f"{self.seconds:.1f} s, {self.padding_fraction:.1%} padding)"
        if self.peak_fraction is None:
            return f"{rate}, {self.achieved_tflops * 1e3:,.1f} GFLOP/s on {self.device_name}"
        return (f"{rate}, {self.achieved_tflops:,.2f} TFLOP/s = {self.peak_fraction:.2%} of the "
                f"{self.peak_tflops:g} TFLOP/s dense bf16 peak of {self.device_name}")
