"""The data of a run, as its config describes it: images (and a held-out split) or unpaired domains."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import Subset

from genlab.config import Config, CycleGANConfig, DCGANConfig, VAEConfig, resolve_data_root
from genlab.data.images import InMemoryImages
from genlab.data.loader import split_holdout
from genlab.data.sources import NAMED_SOURCES, load_images
from genlab.data.unpaired import DomainImages, Domains, UnpairedImages, check_sizes, open_domains
from genlab.errors import GenlabError


DATA_TO_REFERENCE = {"builtin": "builtin", "cifar10": "cifar10-train"}


def training_reference(cfg: Config) -> str:
    """The real images a run trained on, as a scoring source: a dataset name or its image folder."""
    return DATA_TO_REFERENCE.get(cfg.input.data, cfg.input.data)


COLLAPSE_SAMPLES = 64  # generated and real images compared by the collapse check after every epoch


def fixed_real_batch(images: InMemoryImages, n: int = COLLAPSE_SAMPLES, *, seed: int) -> Tensor:
    """``n`` training images (uint8), the same for every epoch of a run: a seeded choice."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed + 15485863))
    return images.images[order[: min(n, len(images))]]


def images_and_real_batch(cfg: DCGANConfig) -> tuple[InMemoryImages, Tensor]:
    """(training images, a fixed batch of them for the collapse check): what a DCGAN trainer needs."""
    images, _ = image_data(cfg)
    return images, fixed_real_batch(images, seed=cfg.run.seed)


def image_data(cfg: DCGANConfig | VAEConfig) -> tuple[InMemoryImages, InMemoryImages | None]:
    """(training images, held-out images or None), preprocessed as the config says."""
    crop = {k: getattr(cfg, k) for k in ("crop_size", "crop_fraction") if hasattr(cfg, k)}
    images = load_images(cfg.input.data, image_size=cfg.image_size, data_root=cfg.input.data_root, limit=cfg.input.limit, **crop)
    holdout = getattr(cfg, "holdout", 0.0)
    return split_holdout(images, holdout, seed=cfg.run.seed) if holdout else (images, None)


def _domains(cfg: CycleGANConfig, *, decode: bool) -> Domains:
    domains = open_domains(
        cfg.input.data, domain_a=cfg.domain_a, domain_b=cfg.domain_b, test_fraction=cfg.test_fraction, seed=cfg.run.seed,
        data_root=cfg.input.data_root, decode=decode, size=cfg.image_size, limit=cfg.input.limit,
    )
    check_sizes(domains, preprocess=cfg.preprocess, crop_size=cfg.image_size)
    return domains


def _test_sets(cfg: CycleGANConfig, domains: Domains) -> tuple[DomainImages, DomainImages]:
    test = dict(preprocess=cfg.preprocess, crop_size=cfg.image_size)
    return DomainImages(domains.test_a, **test), DomainImages(domains.test_b, **test)


def unpaired_data(cfg: CycleGANConfig) -> tuple[UnpairedImages, Domains]:
    """(unpaired training pairs, the four domains with the test sets preprocessed for testing)."""
    domains = _domains(cfg, decode=True)
    first = lambda images: Subset(images, range(min(cfg.input.limit, len(images)))) if cfg.input.limit else images  # noqa: E731
    train = UnpairedImages(
        first(domains.train_a), first(domains.train_b), seed=cfg.run.seed, preprocess=cfg.preprocess,
        load_size=cfg.load_size, crop_size=cfg.image_size, flip=cfg.flip,
    )
    return train, Domains(domains.train_a, domains.train_b, *_test_sets(cfg, domains))


def test_domains(cfg: CycleGANConfig) -> tuple[DomainImages, DomainImages]:
    """A CycleGAN run's (test A, test B), preprocessed for testing; the training images are not read whole."""
    return _test_sets(cfg, _domains(cfg, decode=False))


def unseen_images(cfg: DCGANConfig | VAEConfig, held_out: str | None = None) -> InMemoryImages:
    """Real images the run never trained on: ``held_out`` (a dataset name or folder), else the larger of the run's
    held-out split and its named dataset's test split."""
    size, root = cfg.image_size, resolve_data_root(cfg.input.data_root)
    if held_out is not None:
        name, split = (held_out[: -len("-test")], "test") if held_out.endswith("-test") and held_out[: -len("-test")] in NAMED_SOURCES else (held_out, "train")
        return load_images(name, image_size=size, data_root=str(root), split=split)
    _, split = image_data(cfg)
    test = load_images(cfg.input.data, image_size=size, data_root=str(root), split="test") if cfg.input.data in NAMED_SOURCES else None
    candidates = [images for images in (split, test) if images is not None]
    if candidates:  # the larger of the held-out split and the dataset's test split: both are unseen
        return max(candidates, key=len)
    raise GenlabError(
        f"the run trained on every image of {cfg.input.data}, so none are unseen; give --held-out FOLDER (real images "
        "of the same kind that it did not train on)"
    )


def target_training_images(cfg: CycleGANConfig, direction: str) -> DomainImages:
    """A CycleGAN run's real training images of the domain ``direction`` translates into, preprocessed as its
    test set is (real images other than the test set, of the same kind)."""
    domains = _domains(cfg, decode=False)
    return DomainImages(domains.train_a if direction == "b2a" else domains.train_b, preprocess=cfg.preprocess, crop_size=cfg.image_size)
