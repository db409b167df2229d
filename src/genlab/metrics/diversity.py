"""A mode-collapse check: how spread out generated samples are, against real images.

Two statistics of a set of vectors (pixels, or a feature network's pool features),
each compared with the same statistic of real images of the same count:

- ``diversity`` = mean pairwise distance of the samples / that of the real images.
  Real against real is about 1; a generator that outputs one image gives 0.
- ``duplicates`` = the fraction of samples whose nearest other sample is closer than
  a tenth of the real images' median nearest-neighbour distance (near-copies). It
  catches a generator that repeats a few images, which can keep a fair mean distance.

A set is flagged as collapsed when diversity < 0.5 or duplicates > 0.2. Trained
models on the built-in digits sit near 0.7-0.9 diversity with no duplicates;
flat grey or one repeated blob sit below 0.2 with nearly every sample a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

DUPLICATE_SCALE = 0.1  # a near-copy: closer than this fraction of the real median nearest-neighbour distance
MAX_COMPARED = 2000  # the first this many of each set (the distance matrices are N x N)


def pairwise_distances(x: Tensor) -> Tensor:
    """Euclidean distances between the rows of ``x`` (N, D), in float64, shape (N, N)."""
    x = x.flatten(1).double()
    return torch.cdist(x, x)


def mean_pairwise_distance(x: Tensor) -> float:
    """Mean distance over the N (N - 1) ordered pairs of distinct rows."""
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"the mean pairwise distance needs at least 2 samples, got {n}")
    return float(pairwise_distances(x).sum() / (n * (n - 1)))


def nearest_neighbour_distances(x: Tensor) -> Tensor:
    """Each row's distance to its nearest other row, shape (N,)."""
    d = pairwise_distances(x)
    d.fill_diagonal_(float("inf"))
    return d.min(dim=1).values


@dataclass(frozen=True)
class Collapse:
    diversity: float  # mean pairwise distance, relative to real images'
    duplicates: float  # fraction of samples with a near-copy among the samples
    n: int  # samples compared (the same count of real images)

    def to_dict(self) -> dict[str, float]:
        return {"diversity": self.diversity, "duplicates": self.duplicates}


def collapse_check(samples: Tensor, real: Tensor) -> Collapse:
    """Compare ``samples`` with ``real`` (both (N, ...), any N >= 2); the larger set is cut to the smaller's size
    (nearest-neighbour distances shrink as N grows), and both to at most MAX_COMPARED."""
    n = min(samples.shape[0], real.shape[0], MAX_COMPARED)
    if n < 2:
        raise ValueError(f"the collapse check needs at least 2 samples and 2 real images, got {samples.shape[0]} and {real.shape[0]}")
    samples, real = samples[:n], real[:n]
    real_spread = mean_pairwise_distance(real)
    if real_spread == 0:
        raise ValueError("the real images are all identical; the collapse check needs varied real images")
    threshold = DUPLICATE_SCALE * float(nearest_neighbour_distances(real).median())
    duplicates = float((nearest_neighbour_distances(samples) < threshold).double().mean())
    return Collapse(mean_pairwise_distance(samples) / real_spread, duplicates, n)
