"""Trained models apart from their training: one class per family.

A model is the family's networks built from its config (initialised from the run's seed
without touching the global random generator), what a trained model does (``sample``,
``translate``, ``reconstruct``) and its weights' state. It holds no optimiser, schedule
or loss: ``genlab.training`` builds those on top of it, and ``genlab.runs`` loads one
from a run folder for inference.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from torch import Tensor, nn

from genlab.config import family_of
from genlab.families.cyclegan import CycleGAN
from genlab.families.dcgan import DCGAN
from genlab.families.vae import VAE
from genlab.registry import choose

MODELS: dict[str, type] = {"dcgan": DCGAN, "vae": VAE, "cyclegan": CycleGAN}


@runtime_checkable
class Sampler(Protocol):
    """A model with a prior to sample: DCGAN generators, the VAE's decoder."""

    def latent(self, n: int, generator: Any) -> Tensor: ...

    def sample(self, z: Tensor) -> Tensor: ...


@runtime_checkable
class Translator(Protocol):
    def translate(self, images: Tensor, direction: str) -> Tensor: ...


@runtime_checkable
class Reconstructor(Protocol):
    def reconstruct(self, batch: Tensor) -> Tensor: ...


def build_model(cfg: Any) -> Any:
    """The model of ``cfg``'s family, freshly initialised from ``cfg.run.seed``, on ``cfg.run.device``."""
    return choose(MODELS, family_of(cfg), "model family")(cfg)


def load_weights(model: Any, state: dict[str, Any]) -> None:
    """Load ``{network name: state dict}`` (a checkpoint's ``trainer.models``) into every network of ``model``."""
    networks: dict[str, nn.Module] = model.networks
    for name, network in networks.items():
        network.load_state_dict(state[name])
