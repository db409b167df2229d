"""Weight initialisation schemes, selectable by name (config field ``init``)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from genlab.config import InitName
from genlab.registry import choose


def normal_init_(module: nn.Module, std: float = 0.02) -> None:
    """DCGAN/CycleGAN init (Radford et al. 2016): conv weights N(0, std), norm weights N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d, nn.LayerNorm)):
            if getattr(m, "weight", None) is not None:
                nn.init.normal_(m.weight, 1.0, std)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def pytorch_default_init_(module: nn.Module) -> None:
    """Keep the initialisation each layer's constructor gave it (what a skeleton without custom init does)."""


INITS: dict[InitName, Callable[[nn.Module], None]] = {
    "normal": normal_init_,
    "pytorch": pytorch_default_init_,
}


def initialize_(module: nn.Module, scheme: str) -> nn.Module:
    choose(INITS, scheme, "initialisation")(module)
    return module


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with the CPU generator seeded (PyTorch's default init draws from it), then give the
    caller's random state back untouched: building a model never changes the global random stream."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
