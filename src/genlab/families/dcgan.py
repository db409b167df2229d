"""A DCGAN (spec section 1): the generator and discriminator of a config, and sampling from the generator."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.config import DCGANConfig
from genlab.models.dcgan import DCGANDiscriminator, DCGANGenerator
from genlab.models.init import initialize_, seeded
from genlab.reporting.architecture import ArchitectureTable, architecture_rows


def build_generator(cfg: DCGANConfig) -> DCGANGenerator:
    generator = DCGANGenerator(
        z_dim=cfg.z_dim, image_size=cfg.image_size, width=cfg.width, last_norm=cfg.gen_last_norm,
        last_bias=cfg.gen_last_bias, grey=cfg.grey,
    )
    return initialize_(generator, cfg.init)


def build_discriminator(cfg: DCGANConfig) -> DCGANDiscriminator:
    discriminator = DCGANDiscriminator(
        image_size=cfg.image_size, width=cfg.width, norm=cfg.critic_norm, last_bias=cfg.disc_last_bias
    )
    return initialize_(discriminator, cfg.init)


def fixed_noise(cfg: DCGANConfig, n: int, device: torch.device | str) -> Tensor:
    """The same z batch for every grid of a run (a function of the seed only)."""
    generator = torch.Generator().manual_seed(cfg.run.seed + 7919)
    return torch.randn(n, cfg.z_dim, 1, 1, generator=generator).to(device)


class DCGAN:
    def __init__(self, cfg: DCGANConfig) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.run.device)
        with seeded(cfg.run.seed):  # generator first, then discriminator: the order fixes their initial weights
            self.gen = build_generator(cfg).to(self.device)
            self.disc = build_discriminator(cfg).to(self.device)

    @property
    def networks(self) -> dict[str, nn.Module]:
        return {"generator": self.gen, "discriminator": self.disc}

    def latent(self, n: int, generator: torch.Generator) -> Tensor:
        """z ~ N(0, I), shape (n, z_dim, 1, 1), on the CPU."""
        return torch.randn(n, self.cfg.z_dim, 1, 1, generator=generator)

    @torch.no_grad()
    def sample(self, z: Tensor) -> Tensor:
        """G(z) in eval mode (BatchNorm's running statistics), images in [-1, 1]."""
        self.gen.eval()
        return self.gen(z.to(self.device))

    def architecture(self) -> list[ArchitectureTable]:
        z = torch.zeros(2, self.cfg.z_dim, 1, 1, device=self.device)
        x = torch.zeros(2, 3, self.cfg.image_size, self.cfg.image_size, device=self.device)
        return [
            ArchitectureTable("DCGAN generator", architecture_rows(self.gen, lambda m: m(z))),
            ArchitectureTable("DCGAN discriminator", architecture_rows(self.disc, lambda m: m(x))),
        ]
