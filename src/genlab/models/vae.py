"""Convolutional VAE (Kingma & Welling 2014) for square RGB images (spec section 3).

Encoder: stride-2 Conv(k4, s2, p1) + BatchNorm + LeakyReLU(0.2) layers halve the
image down to 4x4 (widths ``width * 2**i``), then one Linear gives (mu, logvar).
Decoder: Linear to (C, 4, 4), then ConvTranspose(k4, s2, p1) + BatchNorm + ReLU
layers double it back, and a last ConvTranspose gives 3 channels of logits
(Bernoulli) or pre-sigmoid means (Gaussian). Every shape follows from
``image_size``; at 64x64 the encoder goes 64 -> 32 -> 16 -> 8 -> 4.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.config import stages_to


class ConvVAE(nn.Module):
    def __init__(self, *, image_size: int = 64, latent_dim: int = 128, width: int = 32, channels: int = 3) -> None:
        super().__init__()
        stages = stages_to(image_size)
        if stages is None:
            raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
        widths = [width * 2**i for i in range(stages)]  # 64x64: [32, 64, 128, 256]
        self.latent_dim, self.top = latent_dim, (widths[-1], 4, 4)
        down = []
        for c_in, c_out in zip([channels, *widths], widths):
            down += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)]
        self.encoder = nn.Sequential(*down, nn.Flatten())  # (N, 256 * 4 * 4) at 64x64
        self.to_posterior = nn.Linear(widths[-1] * 16, 2 * latent_dim)  # (N, 2 * latent): mu, logvar
        self.from_latent = nn.Linear(latent_dim, widths[-1] * 16)
        up = []
        for c_in, c_out in zip(widths[::-1], widths[-2::-1]):
            up += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
        up.append(nn.ConvTranspose2d(widths[0], channels, 4, 2, 1))  # (N, 3, H, W) logits
        self.decoder = nn.Sequential(*up)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x in [-1, 1] -> (mu, logvar) of q(z|x), each (N, latent_dim)."""
        mu, logvar = self.to_posterior(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        """z (N, latent_dim) -> logits (N, 3, H, W); sigmoid(logits) is the mean image in [0, 1]."""
        return self.decoder(self.from_latent(z).view(z.shape[0], *self.top))

    @staticmethod
    def reparameterize(mu: Tensor, logvar: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """z = mu + sigma * eps, eps ~ N(0, I): a sample of q(z|x) that gradients flow through."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def forward(self, x: Tensor, *, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar, generator=generator)), mu, logvar
