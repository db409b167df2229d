"""Colour helpers shared by the drawn sets."""

from __future__ import annotations

import numpy as np

Colour = tuple[int, int, int]


def pick(rng: np.random.Generator, options: list[Colour]) -> Colour:
    """One of ``options``, drawn from ``rng``."""
    return options[int(rng.integers(len(options)))]


def shade(colour: Colour, factor: float) -> Colour:
    """``colour`` darkened (factor < 1) or lightened (> 1), clipped to [0, 255]."""
    return tuple(int(max(0, min(255, c * factor))) for c in colour)  # type: ignore[return-value]


def mix(a: Colour, b: Colour, t: float) -> Colour:
    """The colour a fraction ``t`` of the way from ``a`` to ``b``."""
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))  # type: ignore[return-value]


def jitter(rng: np.random.Generator, colour: Colour, amount: int) -> Colour:
    """``colour`` with each channel moved by up to ``amount``, drawn from ``rng``."""
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)  # type: ignore[return-value]
