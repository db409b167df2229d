"""Trained models apart from their training, and the record of every built-in family.

A model is the family's networks built from its config (initialised from the run's seed
without touching the global random generator), what a trained model does (``sample``,
``translate``, ``reconstruct``) and its weights' state. It holds no optimiser, schedule
or loss: ``genlab.training`` builds those on top of it, and ``genlab.trained`` loads one
from a run folder for inference.

The records below (``genlab.family.Family``) name each family's model, trainer and data builder by
import path, so this module loads without torch: the command line reads settings and presets from it at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from genlab.config import (
    CYCLEGAN_PRESETS, DCGAN_PRESETS, LOSS_TITLES, VAE_PRESETS, CycleGANConfig, DCGANConfig, VAEConfig,
)
from genlab.family import Family, family_for, register

if TYPE_CHECKING:
    from torch import Tensor, nn


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
    return family_for(cfg).build_model(cfg)


def load_weights(model: Any, state: dict[str, Any]) -> None:
    """Load ``{network name: state dict}`` (a checkpoint's ``trainer.models``) into every network of ``model``."""
    networks: dict[str, nn.Module] = model.networks
    for name, network in networks.items():
        network.load_state_dict(state[name])


DCGAN_FAMILY = register(Family(
    name="dcgan", title="DCGAN", help="DCGAN (GAN, LSGAN, WGAN or WGAN-GP loss)",
    config=DCGANConfig, presets=DCGAN_PRESETS,
    preset_help={
        "paper": "each loss its paper's optimiser: GAN/LSGAN Adam 2e-4 (0.5, 0.999) batch 128; WGAN RMSprop 5e-5, "
                 "5 critic steps, batch 64; WGAN-GP Adam 1e-4 (0, 0.9), 5 critic steps, batch 64",
        "assignment": "the homework's: Adam 2e-4 (0.5, 0.999), batch 64, one critic step, 200 epochs, PyTorch's init, "
                      "no convolution bias",
        "smoke": "the paper setting on 256 built-in images for 2 epochs (seconds)",
    },
    model="genlab.families.dcgan:DCGAN", trainer="genlab.training.dcgan:DCGANTrainer", data="genlab.data.run_data:images_and_real_batch",
    key_columns=("g_loss", "d_loss"),
    grid_kinds={"fake_image": "samples of the fixed latent batch"},
    curves={"losses": {"losses": ["g_loss", "d_loss"], "discriminator outputs": ["d_real", "d_fake"]}},
    variant=lambda cfg: cfg.loss, variant_name=lambda cfg: LOSS_TITLES[cfg.loss], variant_kind="loss",
    cuda_graphs=True,
    sweeps=True,
))

VAE_FAMILY = register(Family(
    name="vae", title="VAE", help="convolutional VAE",
    config=VAEConfig, presets=VAE_PRESETS,
    preset_help={
        "default": "Adam 1e-3, batch 128, 64x64, latent 128, 50 epochs",
        "smoke": "32x32, latent 16, width 16, 512 images, 2 epochs (seconds)",
    },
    model="genlab.families.vae:VAE", trainer="genlab.training.vae:VAETrainer", data="genlab.data.run_data:image_data",
    key_columns=("nelbo", "recon", "kl"),
    curves={"elbo": {
        "negative ELBO (nats per image)": ["nelbo", "val_nelbo"], "terms (nats per image)": ["recon", "kl", "val_recon", "val_kl"],
    }},
    unsmoothed=("val_nelbo", "val_recon", "val_kl"),
    grid_kinds={
        "prior": "samples from the prior p(z) (a fixed batch of z)",
        "recon": "held-out reconstructions (ground truth left, reconstruction right)",
    },
    preprocessing="genlab.reporting.run_report:vae_preprocessing",
))

CYCLEGAN_FAMILY = register(Family(
    name="cyclegan", title="CycleGAN", help="CycleGAN",
    config=CycleGANConfig, presets=CYCLEGAN_PRESETS,
    preset_help={
        "default": "the reference implementation: LSGAN, pool 50, lr 2e-4 then linear decay, 256x256 crops of 286",
        "assignment": "the homework's skeleton: no pool, constant lr, unhalved D losses, PyTorch's init, images as they are",
        "smoke": "32x32, width 8, 2 residual blocks, 2 epochs (seconds)",
    },
    model="genlab.families.cyclegan:CycleGAN", trainer="genlab.training.cyclegan:CycleGANTrainer.from_data",
    data="genlab.data.run_data:unpaired_data",
    key_columns=("g_loss", "d_a_loss", "d_b_loss"),
    curves={"losses": {
        "generators (both, summed)": ["g_loss"],
        "discriminators": ["d_a_loss", "d_b_loss"],
        "generator terms": ["adv_a2b", "adv_b2a", "cycle", "identity"],
    }},
    grid_kinds={
        "fakeA2B": "A to B: real A (top), translated to B, translated back to A",
        "fakeB2A": "B to A: real B (top), translated to A, translated back to B",
    },
    preprocessing="genlab.reporting.run_report:cyclegan_preprocessing",
    schedule="genlab.reporting.run_report:cyclegan_schedule",
    curves_note="the generators summed",
    pairs=True,
))
