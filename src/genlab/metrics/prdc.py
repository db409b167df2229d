"""Precision, recall, density and coverage of generated features against real ones.

- Precision and recall (Kynkäänniemi et al. 2019, k = 3): each set's support is the union of balls around its points,
  each ball reaching the point's k-th nearest neighbour in its own set. Precision is the share of generated points
  inside the real support (are the samples realistic?); recall the share of real points inside the generated support
  (is the data's variety covered?).
- Density and coverage (Naeem et al. 2020, k = 5), built on the real balls only (robust to generated outliers):
  density counts how many real balls hold each generated point, over k (about 1 when the two sets match; above 1
  when samples crowd where the data is dense); coverage is the share of real points whose ball holds a generated one.

Distances are computed in blocks of ``chunk`` x ``chunk``, keeping only what each row needs (its k+1 nearest
distances, a flag, a count), so 50,000 x 2,048 features take memory bounded by the block size on the CPU and the GPU.
"""

from __future__ import annotations

import torch
from torch import Tensor

CHUNK = 2048
PR_NEIGHBOURS = 3  # Kynkäänniemi et al.
DC_NEIGHBOURS = 5  # Naeem et al.


def _blocks(rows: Tensor, cols: Tensor, chunk: int):
    """(row start, column start, distances) for every block of the pairwise Euclidean distances."""
    for i, a in enumerate(rows.split(chunk)):
        for j, b in enumerate(cols.split(chunk)):
            yield i * chunk, j * chunk, torch.cdist(a, b)


def neighbour_radii(x: Tensor, k: int, chunk: int = CHUNK) -> Tensor:
    """Each point's distance to its k-th nearest other point of ``x`` (the point itself is the 0th, at distance 0)."""
    if x.shape[0] <= k:
        raise ValueError(f"{k} nearest neighbours need more than {k} points, got {x.shape[0]}")
    best = torch.full((x.shape[0], k + 1), float("inf"), device=x.device, dtype=torch.float32)
    for i, _, d in _blocks(x, x, chunk):
        rows = slice(i, i + d.shape[0])
        best[rows] = torch.cat([best[rows], d.float()], 1).topk(k + 1, dim=1, largest=False).values
    return best[:, k]


def _inside_any(points: Tensor, centres: Tensor, radii: Tensor, chunk: int) -> Tensor:
    """For each point: how many of the balls (centres, radii) hold it."""
    counts = torch.zeros(points.shape[0], device=points.device, dtype=torch.float64)
    for i, j, d in _blocks(points, centres, chunk):
        counts[i : i + d.shape[0]] += (d <= radii[j : j + d.shape[1]]).sum(1).double()
    return counts


def precision_recall(real: Tensor, fake: Tensor, *, k: int = PR_NEIGHBOURS, chunk: int = CHUNK) -> tuple[float, float]:
    """(precision, recall) of ``fake`` against ``real``, both (N, D) features."""
    real, fake = real.float(), fake.float()
    precision = (_inside_any(fake, real, neighbour_radii(real, k, chunk), chunk) > 0).double().mean().item()
    recall = (_inside_any(real, fake, neighbour_radii(fake, k, chunk), chunk) > 0).double().mean().item()
    return precision, recall


def density_coverage(real: Tensor, fake: Tensor, *, k: int = DC_NEIGHBOURS, chunk: int = CHUNK) -> tuple[float, float]:
    """(density, coverage) of ``fake`` against ``real``, both (N, D) features."""
    real, fake = real.float(), fake.float()
    radii = neighbour_radii(real, k, chunk)
    density = _inside_any(fake, real, radii, chunk).sum().item() / (k * fake.shape[0])
    nearest = torch.full((real.shape[0],), float("inf"), device=real.device)
    for i, _, d in _blocks(real, fake, chunk):
        nearest[i : i + d.shape[0]] = torch.minimum(nearest[i : i + d.shape[0]], d.min(1).values)
    coverage = (nearest <= radii).double().mean().item()
    return density, coverage


def prdc(real: Tensor, fake: Tensor, *, chunk: int = CHUNK) -> dict[str, float]:
    """All four, with the papers' neighbourhoods (k = 3 for precision/recall, 5 for density/coverage)."""
    precision, recall = precision_recall(real, fake, chunk=chunk)
    density, coverage = density_coverage(real, fake, chunk=chunk)
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}
