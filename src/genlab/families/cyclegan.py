"""A CycleGAN (spec section 2): two generators and two discriminators of a config, and translation."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.config import CycleGANConfig
from genlab.data.transforms import to_model_range
from genlab.models.cyclegan import PatchDiscriminator, ResnetGenerator
from genlab.models.init import initialize_, seeded
from genlab.registry import unknown_choice
from genlab.reporting.architecture import ArchitectureTable, architecture_rows

DIRECTIONS = ("a2b", "b2a")


def check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise unknown_choice("direction", direction, DIRECTIONS)


def build_generator(cfg: CycleGANConfig) -> ResnetGenerator:
    return initialize_(ResnetGenerator(width=cfg.width, n_blocks=cfg.n_blocks), cfg.init)


def build_discriminator(cfg: CycleGANConfig) -> PatchDiscriminator:
    return initialize_(PatchDiscriminator(width=cfg.width, n_layers=cfg.disc_layers), cfg.init)


class CycleGAN:
    def __init__(self, cfg: CycleGANConfig) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.run.device)
        with seeded(cfg.run.seed):  # the construction order fixes the initial weights
            self.gen_a2b, self.gen_b2a = build_generator(cfg).to(self.device), build_generator(cfg).to(self.device)
            self.disc_a, self.disc_b = build_discriminator(cfg).to(self.device), build_discriminator(cfg).to(self.device)

    @property
    def networks(self) -> dict[str, nn.Module]:
        return {"gen_a2b": self.gen_a2b, "gen_b2a": self.gen_b2a, "disc_a": self.disc_a, "disc_b": self.disc_b}

    @torch.no_grad()
    def translate(self, images: Tensor, direction: str) -> Tensor:
        """uint8 or [-1, 1] images -> translated images in [-1, 1] (eval mode)."""
        generator = {"a2b": self.gen_a2b, "b2a": self.gen_b2a}[direction]
        generator.eval()
        x = to_model_range(images, self.device) if images.dtype == torch.uint8 else images.to(self.device)
        return generator(x)

    def architecture(self) -> list[ArchitectureTable]:
        x = torch.zeros(1, 3, self.cfg.image_size, self.cfg.image_size, device=self.device)
        return [
            ArchitectureTable("CycleGAN generator (each direction)", architecture_rows(self.gen_a2b, lambda m: m(x))),
            ArchitectureTable("CycleGAN discriminator (each domain)", architecture_rows(self.disc_a, lambda m: m(x))),
        ]
