"""The negative ELBO of a VAE, in nats per image (Kingma & Welling 2014, eq. 10).

    -ELBO(x) = E_q(z|x)[-log p(x|z)] + KL(q(z|x) || N(0, I))

estimated with one reparameterised sample of z; the KL term is analytic:
    KL = -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j)).
Pixels are taken in [0, 1]. Likelihoods:
- bernoulli: -log p(x|z) = sum_d BCE(logit_d, x_d)   (x_d in [0, 1] as the target)
- gaussian:  -log p(x|z) = sum_d [(x_d - m_d)^2 / (2 sigma^2) + log sigma + 1/2 log 2 pi],
             m = sigmoid(decoder output), sigma fixed.
Each is summed over the pixels of an image, then averaged over the batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from genlab.config import Likelihood
from genlab.registry import choose


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per image, in nats: shape (N,)."""
    return -0.5 * (1 + logvar - mu.square() - logvar.exp()).flatten(1).sum(1)


def bernoulli_nll(logits: Tensor, x01: Tensor) -> Tensor:
    """-log Bernoulli(x | sigmoid(logits)) summed over an image's pixels: shape (N,)."""
    return F.binary_cross_entropy_with_logits(logits, x01, reduction="none").flatten(1).sum(1)


def gaussian_nll(logits: Tensor, x01: Tensor, sigma: float) -> Tensor:
    """-log N(x | sigmoid(logits), sigma^2 I) summed over an image's pixels: shape (N,)."""
    mean = torch.sigmoid(logits)
    per_pixel = (x01 - mean).square() / (2 * sigma**2) + math.log(sigma) + 0.5 * math.log(2 * math.pi)
    return per_pixel.flatten(1).sum(1)


# -log p(x|z) per image, by likelihood: (decoder logits, pixels in [0, 1], sigma) -> (N,)
LIKELIHOODS: dict[Likelihood, Callable[[Tensor, Tensor, float], Tensor]] = {
    "bernoulli": lambda logits, x01, sigma: bernoulli_nll(logits, x01),
    "gaussian": gaussian_nll,
}


class ELBOTerms(NamedTuple):
    loss: Tensor  # what is minimised: recon + beta * kl (the negative ELBO when beta = 1)
    nelbo: Tensor  # recon + kl, nats per image
    recon: Tensor  # expected negative log-likelihood, nats per image
    kl: Tensor  # nats per image


def negative_elbo(
    logits: Tensor, x01: Tensor, mu: Tensor, logvar: Tensor, *, likelihood: str = "bernoulli", sigma: float = 0.1, beta: float = 1.0
) -> ELBOTerms:
    """Batch means of the negative ELBO and its two terms."""
    recon = choose(LIKELIHOODS, likelihood, "likelihood")(logits, x01, sigma).mean()
    kl = gaussian_kl(mu, logvar).mean()
    return ELBOTerms(recon + beta * kl, recon + kl, recon, kl)


def bits_per_dim(nats_per_image: float, dims: int) -> float:
    return nats_per_image / (dims * math.log(2))
