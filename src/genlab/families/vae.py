"""A convolutional VAE (spec section 3): the network of a config, prior samples and reconstructions."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.config import VAEConfig
from genlab.data.transforms import to_model_range
from genlab.models.init import seeded
from genlab.models.vae import ConvVAE
from genlab.reporting.architecture import ArchitectureTable, architecture_rows


def build_vae(cfg: VAEConfig) -> ConvVAE:
    return ConvVAE(image_size=cfg.image_size, latent_dim=cfg.latent_dim, width=cfg.width)


class VAE:
    def __init__(self, cfg: VAEConfig) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.run.device)
        with seeded(cfg.run.seed):
            self.vae = build_vae(cfg).to(self.device)

    @property
    def networks(self) -> dict[str, nn.Module]:
        return {"vae": self.vae}

    def latent(self, n: int, generator: torch.Generator) -> Tensor:
        """z ~ p(z) = N(0, I), shape (n, latent_dim), on the CPU."""
        return torch.randn(n, self.cfg.latent_dim, generator=generator)

    @torch.no_grad()
    def sample(self, z: Tensor) -> Tensor:
        """Decoder means for z, as images in [-1, 1]."""
        self.vae.eval()
        z = z.to(self.device)
        return torch.sigmoid(self.vae.decode(z.view(z.shape[0], -1))) * 2 - 1

    @torch.no_grad()
    def posterior(self, batch: Tensor) -> tuple[Tensor, Tensor]:
        """uint8 images -> (mu, logvar) of q(z|x), on the CPU."""
        self.vae.eval()
        mu, logvar = self.vae.encode(to_model_range(batch, self.device))
        return mu.cpu(), logvar.cpu()

    @torch.no_grad()
    def reconstruct(self, batch: Tensor) -> Tensor:
        """uint8 images -> decoder means at the posterior mean z = mu, in [-1, 1]."""
        self.vae.eval()
        mu, _ = self.vae.encode(to_model_range(batch, self.device))
        return self.sample(mu)

    def architecture(self) -> list[ArchitectureTable]:
        x = torch.zeros(1, 3, self.cfg.image_size, self.cfg.image_size, device=self.device)
        return [ArchitectureTable("VAE (encoder, then decoder)", architecture_rows(self.vae, lambda m: m(x)))]
