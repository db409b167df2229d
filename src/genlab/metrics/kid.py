"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD^2 with the polynomial kernel

    k(x, y) = (x . y / d + 1)^3

averaged over ``subsets`` random subsets of ``subset_size`` features from each
side (mean and std over subsets). Subsets are drawn as torch-fidelity draws them
(``numpy.random.RandomState(seed).choice`` without replacement), so the two
agree on the same features. Unlike FID it is unbiased for small N.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from genlab.errors import GenlabError


def polynomial_kernel(x: np.ndarray, y: np.ndarray, *, degree: int = 3, gamma: float | None = None, coef0: float = 1.0) -> np.ndarray:
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (x @ y.T * gamma + coef0) ** degree


def mmd2_unbiased(k_xx: np.ndarray, k_xy: np.ndarray, k_yy: np.ndarray) -> float:
    """Unbiased MMD^2: off-diagonal means of K_xx and K_yy minus twice the mean of K_xy."""
    m = k_xx.shape[0]
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float((sum_xx + sum_yy) / (m * (m - 1)) - 2 * k_xy.sum() / (m * m))


def kernel_inception_distance(
    features_1: Tensor, features_2: Tensor, *, subsets: int = 100, subset_size: int = 1000, seed: int = 2020
) -> tuple[float, float]:
    n1, n2 = features_1.shape[0], features_2.shape[0]
    if min(n1, n2) < 2:
        raise GenlabError("KID needs at least 2 images on each side")
    if subset_size < 2:
        raise GenlabError(f"KID subset size must be at least 2 (got {subset_size}); raise --kid-subset-size")
    if subset_size > min(n1, n2):
        raise GenlabError(
            f"KID subset size {subset_size} is larger than the images available ({n1} and {n2}); lower --kid-subset-size"
        )
    x, y = features_1.double().cpu().numpy(), features_2.double().cpu().numpy()
    rng = np.random.RandomState(seed)
    values = np.empty(subsets)
    for i in range(subsets):
        a = x[rng.choice(n1, subset_size, replace=False)]
        b = y[rng.choice(n2, subset_size, replace=False)]
        values[i] = mmd2_unbiased(polynomial_kernel(a, a), polynomial_kernel(a, b), polynomial_kernel(b, b))
    return float(values.mean()), float(values.std())
