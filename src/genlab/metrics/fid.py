"""Fréchet distance between two Gaussians fitted to features (Heusel et al. 2017).

    FID = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))

Statistics are (mean, covariance) in float64 and can be cached as .npz files.
Tr((S1 S2)^(1/2)) is the sum of the square roots of the eigenvalues of S1 S2
(real parts), as torch-fidelity computes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
from torch import Tensor

from genlab.files import replacing


class FeatureStats(NamedTuple):
    mu: np.ndarray  # (D,)
    sigma: np.ndarray  # (D, D)
    n: int

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path, ".npz") as tmp:
            np.savez(tmp, mu=self.mu, sigma=self.sigma, n=self.n)

    @classmethod
    def load(cls, path: str | Path) -> FeatureStats:
        with np.load(path) as data:
            return cls(data["mu"], data["sigma"], int(data["n"]))


def feature_statistics(features: Tensor) -> FeatureStats:
    x = features.double().cpu().numpy()
    return FeatureStats(x.mean(axis=0), np.cov(x, rowvar=False), x.shape[0])


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    eigenvalues = np.linalg.eigvals(sigma1 @ sigma2).astype(np.complex128)
    trace_sqrt = np.sqrt(eigenvalues).real.sum()
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


def fid_from_stats(a: FeatureStats, b: FeatureStats) -> float:
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma)
