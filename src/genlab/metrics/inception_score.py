"""Inception Score (Salimans et al. 2016) from class probabilities.

    IS = exp( E_x KL(p(y|x) || p(y)) ),  p(y) = the mean of p(y|x) over the split,

computed on ``splits`` equal chunks of a seeded shuffle of the images; the mean
and (population) standard deviation over the chunks are reported. The same
shuffle as torch-fidelity (``numpy.random.RandomState(seed).permutation``), so
the two agree on the same logits.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from genlab.errors import GenlabError


def inception_score_from_logits(logits: Tensor, *, splits: int = 10, shuffle: bool = True, seed: int = 2020) -> tuple[float, float]:
    """IS mean and std from (N, K) logits (softmax taken here, in float64)."""
    return _score(logits.double().log_softmax(dim=1), splits=splits, shuffle=shuffle, seed=seed)


def inception_score(probs: Tensor, *, splits: int = 10, shuffle: bool = True, seed: int = 2020) -> tuple[float, float]:
    """IS mean and std from (N, K) class probabilities p(y|x) (rows sum to 1)."""
    return _score(probs.double().clamp_min(1e-300).log(), splits=splits, shuffle=shuffle, seed=seed)


def _score(log_p: Tensor, *, splits: int, shuffle: bool, seed: int) -> tuple[float, float]:
    if log_p.dim() != 2:
        raise ValueError(f"expected (N, K) class scores, got shape {tuple(log_p.shape)}")
    n = log_p.shape[0]
    if n < splits:
        raise GenlabError(f"{n} images cannot make {splits} splits for the Inception Score; use more images or fewer --splits")
    if shuffle:
        log_p = log_p[torch.from_numpy(np.random.RandomState(seed).permutation(n))]
    scores = []
    for i in range(splits):
        chunk = log_p[i * n // splits : (i + 1) * n // splits]
        p = chunk.exp()
        log_marginal = p.mean(dim=0).clamp_min(1e-300).log()
        kl = (p * (chunk - log_marginal)).sum(dim=1).mean()
        scores.append(kl.exp().item())
    return float(np.mean(scores)), float(np.std(scores))
