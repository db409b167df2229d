"""Timing shared by the benchmarks: calls per second, and two sides measured alternately."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn: Callable[[int], None], iters: int, device: str) -> float:
    """Calls of fn(i) per second over ``iters`` calls (device work included)."""
    sync(device)
    start = time.perf_counter()
    for i in range(iters):
        fn(i)
    sync(device)
    return iters / (time.perf_counter() - start)


def alternate(ours: Callable[[int], None], reference: Callable[[int], None], *, iters: int, repeats: int, device: str) -> tuple[float, float]:
    """Median calls/s of both sides after a warm-up; which side goes first alternates per repeat."""
    timed(ours, 2, device), timed(reference, 2, device)
    a, b = [], []
    for r in range(repeats):
        if r % 2:
            b.append(timed(reference, iters, device))
        a.append(timed(ours, iters, device))
        if not r % 2:
            b.append(timed(reference, iters, device))
    return statistics.median(a), statistics.median(b)
