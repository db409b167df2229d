"""Typed run configurations, named presets, and how they are resolved and saved.

Precedence, lowest to highest: dataclass defaults < preset < TOML config file <
command-line flags. A preset may depend on the loss (the ``paper`` preset gives
each loss its own paper's optimiser), so the loss is read from the file and the
flags first, then the preset is applied under them.

"auto" values (device, data root) are resolved when the config is built, so the
``config.json`` saved with every run is complete.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError
from genlab.registry import choose

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATA_ROOT_ENV = "GENLAB_DATA"
DEFAULT_DATA_ROOT = Path.home() / ".cache" / "genlab" / "data"


@dataclass
class SpeedOptions:
    """How fast one device trains; "auto" resolves when the config is built (on for CUDA, off for the CPU,
    where the benchmarks measured each of them slower or no faster)."""

    amp: str = "auto"  # bf16 autocast of the forward passes (the WGAN-GP penalty stays fp32)
    channels_last: str = "auto"  # NHWC memory format for models and inputs
    fused_optimizer: str = "auto"  # Adam's fused CUDA kernel
    data_on_device: str = "auto"  # keep in-memory datasets (uint8) on the training device
    async_writes: str = "auto"  # encode PNG grids and draw curves on a background thread
    compile: bool = False  # torch.compile every network (in place; checkpoints keep plain names)


SPEED_FIELDS = ("amp", "channels_last", "fused_optimizer", "data_on_device", "async_writes")


@dataclass
class DCGANConfig(SpeedOptions):
    """One DCGAN run (spec section 1). Defaults are the spec's table and the GAN paper."""

    # objective
    loss: str = "gan"
    n_critic: int = 1  # discriminator steps per generator step
    clip_value: float = 0.01  # wgan: critic weights clipped to [-c, c]
    gp_weight: float = 10.0  # wgan-gp: lambda
    # networks
    image_size: int = 32
    z_dim: int = 256
    width: int = 64  # channels of the discriminator's first / generator's last hidden layer
    critic_norm: str = "batch"  # batch | layer | none
    gen_last_norm: bool = True  # BatchNorm before the generator's Tanh (the seed's table has it)
    disc_last_bias: bool = True  # bias on the discriminator's last convolution
    gen_last_bias: bool = True  # bias on the generator's last convolution when no BatchNorm follows it
    init: str = "normal"  # normal: N(0, 0.02), BN weight N(1, 0.02) | pytorch: PyTorch's default
    sync_bn: bool = False  # under torchrun on GPUs: BatchNorm statistics over the global batch
    # optimisation
    optimizer: str = "adam"  # adam | rmsprop
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    batch_size: int = 64
    epochs: int = 200
    # data
    data: str = "cifar10"  # builtin | cifar10 | path to a folder of images
    data_root: str = "auto"  # where datasets are cached; auto: $GENLAB_DATA or ~/.cache/genlab/data
    limit: int = 0  # use only the first N images (0: all)
    workers: int = 0  # data-loading worker processes for folder datasets
    # run
    preset: str = "paper"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    checkpoint_every: int = 10  # epochs between kept checkpoints (latest.pt is written every epoch)
    sample_every: int = 1  # epochs between sample grids
    grid_size: int = 64  # images in each sample grid
    smooth_window: int = 50  # moving-average window of the loss curves, in steps
    # scores during training (0: off)
    eval_every: int = 0  # epochs between IS/KID evaluations; keeps checkpoints/best.pt (lowest KID)
    eval_network: str = "builtin"  # builtin | tf-inception | torchvision
    eval_n: int = 1000  # generated images per evaluation
    eval_reference: str = "auto"  # real images for KID; auto: the training data


# GAN (Radford et al. 2016) and LSGAN (Mao et al. 2017) use DCGAN's Adam setting;
# WGAN (Arjovsky et al. 2017, Algorithm 1) and WGAN-GP (Gulrajani et al. 2017, Algorithm 1).
PAPER_DEFAULTS: dict[str, dict[str, Any]] = {
    "gan": dict(optimizer="adam", lr=2e-4, beta1=0.5, beta2=0.999, batch_size=128, n_critic=1),
    "lsgan": dict(optimizer="adam", lr=2e-4, beta1=0.5, beta2=0.999, batch_size=128, n_critic=1),
    "wgan": dict(optimizer="rmsprop", lr=5e-5, batch_size=64, n_critic=5, clip_value=0.01),
    "wgan-gp": dict(optimizer="adam", lr=1e-4, beta1=0.0, beta2=0.9, batch_size=64, n_critic=5, gp_weight=10.0),
}

# The assignment's setting (seed 000): the same optimiser for every loss, one D step per G step,
# and its skeleton's network choices: PyTorch's default initialisation, no convolution biases.
ASSIGNMENT = dict(
    optimizer="adam", lr=2e-4, beta1=0.5, beta2=0.999, batch_size=64, n_critic=1, epochs=200,
    init="pytorch", disc_last_bias=False, gen_last_bias=False,
)

SMOKE = dict(data="builtin", epochs=2, batch_size=32, limit=256, checkpoint_every=1, grid_size=16, smooth_window=5)

Preset = Callable[[dict[str, Any]], dict[str, Any]]  # the user's settings -> the preset's values


def _paper(user: dict[str, Any]) -> dict[str, Any]:
    return dict(PAPER_DEFAULTS.get(user.get("loss", DCGANConfig.loss), {}))


DCGAN_PRESETS: dict[str, Preset] = {
    "paper": _paper,
    "assignment": lambda user: dict(ASSIGNMENT),
    "smoke": lambda user: {**_paper(user), **SMOKE},
}


@dataclass
class VAEConfig(SpeedOptions):
    """A convolutional VAE (spec section 3, seed 004): Kingma & Welling 2014."""

    # objective
    likelihood: str = "bernoulli"  # bernoulli: pixels in [0, 1] | gaussian: N(x; decoder mean, sigma^2)
    sigma: float = 0.1  # gaussian likelihood's fixed standard deviation, in [0, 1] pixel units
    beta: float = 1.0  # KL weight; only beta = 1 trains (and reports) the true negative ELBO
    # network
    image_size: int = 64
    latent_dim: int = 128
    width: int = 32  # channels of the first encoder layer, doubling per stride-2 layer
    # optimisation
    lr: float = 1e-3
    batch_size: int = 128
    epochs: int = 50
    # data and preprocessing: centre crop (crop_size pixels, or crop_fraction of the shorter side), then resize
    data: str = "builtin"
    data_root: str = "auto"
    crop_size: int = 0  # 0: use crop_fraction
    crop_fraction: float = 1.0
    holdout: float = 0.05  # held-out fraction (seeded split)
    limit: int = 0
    workers: int = 0
    # run
    preset: str = "default"
    seed: int = 0
    device: str = "auto"
    checkpoint_every: int = 10
    sample_every: int = 1
    grid_size: int = 32
    smooth_window: int = 50
    # scores during training (0: off)
    eval_every: int = 0  # epochs between IS/KID evaluations; keeps checkpoints/best.pt (lowest KID)
    eval_network: str = "builtin"  # builtin | tf-inception | torchvision
    eval_n: int = 1000  # generated images per evaluation
    eval_reference: str = "auto"  # real images for KID; auto: the training data


VAE_PRESETS: dict[str, Preset] = {
    "default": lambda user: {},
    "smoke": lambda user: dict(image_size=32, latent_dim=16, width=16, batch_size=64, epochs=2, limit=512, checkpoint_every=1, grid_size=16, smooth_window=5),
}

@dataclass
class CycleGANConfig(SpeedOptions):
    """CycleGAN (spec section 2): Zhu et al. 2017 as the reference implementation trains it."""

    # objective
    gan_loss: str = "lsgan"  # lsgan (least squares) | gan (the log loss of seed 004)
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5  # identity weight = lambda_identity * lambda_cycle; 0 disables it
    halve_d_loss: bool = True  # D loss = 1/2 (real term + fake term)
    pool_size: int = 50  # history of generated images per discriminator; 0: none
    # networks
    width: int = 64
    n_blocks: int = 6
    init: str = "normal"
    # optimisation
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    batch_size: int = 1
    epochs: int = 200
    decay_epochs: int = 100  # the last epochs decay the learning rate linearly towards 0 (0: constant)
    # data: builtin, a CycleGAN dataset root (trainA/ trainB/ testA/ testB/), or --domain-a/--domain-b folders
    data: str = "builtin"
    domain_a: str = ""
    domain_b: str = ""
    test_fraction: float = 0.05  # held out for testing when there are no testA/testB folders
    limit: int = 0  # train on the first N images of each domain (0: all)
    data_root: str = "auto"
    image_size: int = 256  # the crop size the networks see
    load_size: int = 286
    preprocess: str = "resize_crop"  # resize_crop (train: resize, random crop, flip) | resize | none
    flip: bool = True
    workers: int = 2
    # run
    preset: str = "default"
    seed: int = 0
    device: str = "auto"
    checkpoint_every: int = 10
    sample_every: int = 1
    grid_size: int = 4  # fixed test images per translation grid
    smooth_window: int = 100


CYCLEGAN_PRESETS: dict[str, Preset] = {
    "default": lambda user: {},
    # The assignment's skeleton: no pool, constant lr, D loss not halved, PyTorch's init, images as they are.
    "assignment": lambda user: dict(
        pool_size=0, decay_epochs=0, halve_d_loss=False, init="pytorch", preprocess="none", flip=False, batch_size=1,
    ),
    "smoke": lambda user: dict(
        image_size=32, load_size=36, width=8, n_blocks=2, epochs=2, decay_epochs=1, batch_size=4, workers=0,
        checkpoint_every=1, smooth_window=5, pool_size=8,
    ),
}

FAMILIES: dict[str, tuple[type, dict[str, Preset]]] = {
    "dcgan": (DCGANConfig, DCGAN_PRESETS),
    "vae": (VAEConfig, VAE_PRESETS),
    "cyclegan": (CycleGANConfig, CYCLEGAN_PRESETS),
}

CHOICES: dict[str, tuple[str, ...]] = {
    "loss": tuple(PAPER_DEFAULTS),
    "critic_norm": ("batch", "layer", "none"),
    "init": ("normal", "pytorch"),
    "optimizer": ("adam", "rmsprop"),
    "likelihood": ("bernoulli", "gaussian"),
    "eval_network": ("builtin", "tf-inception", "torchvision"),
    "gan_loss": ("lsgan", "gan"),
    **{name: ("auto", "on", "off") for name in SPEED_FIELDS},
    "preprocess": ("resize_crop", "resize", "none"),
}


def field_names(config_cls: type) -> list[str]:
    return [f.name for f in fields(config_cls)]


def load_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"config file {path} does not exist; give the path of a TOML file")
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise GenlabError(f"config file {path} is not valid TOML ({e}); fix the line it names") from None


def _check_keys(config_cls: type, values: Mapping[str, Any], origin: str) -> None:
    unknown = sorted(set(values) - set(field_names(config_cls)))
    if unknown:
        raise GenlabError(
            f"unknown setting(s) {unknown} in {origin}; valid settings are {field_names(config_cls)}"
        )


def _coerce(config_cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """Convert values (from TOML or JSON) to each field's type: ints into float fields etc."""
    types = {f.name: f.type for f in fields(config_cls)}
    out = {}
    for key, value in values.items():
        kind = types[key]
        try:
            if kind in ("float", float) and isinstance(value, (int, float)) and not isinstance(value, bool):
                value = float(value)
            elif kind in ("int", int) and isinstance(value, float) and value.is_integer():
                value = int(value)
            elif kind in ("str", str) and not isinstance(value, str):
                value = str(value)
        except (TypeError, ValueError):
            raise GenlabError(f"setting {key}={value!r} is not a valid {kind}") from None
        out[key] = value
    return out


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return name
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise GenlabError(f"device {name!r} was asked for but no CUDA GPU is available; use --device cpu")
        return name
    raise GenlabError(f"unknown device {name!r}; choose one of ['auto', 'cpu', 'cuda', 'cuda:N']")


def resolve_data_root(value: str) -> str:
    if value != "auto":
        return str(Path(value).expanduser())
    return str(Path(os.environ.get(DATA_ROOT_ENV) or DEFAULT_DATA_ROOT).expanduser())


def validate(cfg: Any) -> None:
    for name, allowed in CHOICES.items():
        if hasattr(cfg, name) and getattr(cfg, name) not in allowed:
            raise GenlabError(f"unknown {name.replace('_', ' ')} {getattr(cfg, name)!r}; choose one of {list(allowed)}")
    for name in ("epochs", "batch_size", "n_critic", "grid_size", "checkpoint_every", "sample_every", "smooth_window"):
        if hasattr(cfg, name) and getattr(cfg, name) < 1:
            raise GenlabError(f"{name} must be at least 1 (got {getattr(cfg, name)})")
    if getattr(cfg, "preprocess", "") == "resize_crop" and cfg.load_size < cfg.image_size:
        raise GenlabError(f"load_size {cfg.load_size} is smaller than the crop image_size {cfg.image_size}; raise --load-size")
    if hasattr(cfg, "decay_epochs") and not 0 <= cfg.decay_epochs <= cfg.epochs:
        raise GenlabError(f"decay_epochs must be between 0 and epochs ({cfg.epochs}); got {cfg.decay_epochs}")
    for name in ("holdout", "crop_fraction", "test_fraction"):
        if hasattr(cfg, name) and not 0 <= getattr(cfg, name) <= 1:
            raise GenlabError(f"{name} must be between 0 and 1 (got {getattr(cfg, name)})")
    size = getattr(cfg, "image_size", 32)
    if isinstance(cfg, CycleGANConfig):
        if size < 32 or size % 4:
            raise GenlabError(f"image_size must be a multiple of 4, at least 32 (got {size})")
    elif size < 8 or size & (size - 1):
        raise GenlabError(f"image_size must be a power of two, at least 8 (got {size})")


def build_config(
    family: str,
    *,
    preset: str | None = None,
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Any:
    """Defaults < preset < config file < overrides (flags); resolved and validated."""
    config_cls, presets = choose(FAMILIES, family, "model family")
    user: dict[str, Any] = {}
    if config_file is not None:
        from_file = load_toml(config_file)
        from_file = from_file.get(family, from_file)
        _check_keys(config_cls, from_file, f"config file {config_file}")
        user.update(_coerce(config_cls, from_file))
    if overrides:
        _check_keys(config_cls, overrides, "the flags")
        user.update(_coerce(config_cls, overrides))
    if preset is not None:
        user["preset"] = preset

    defaults = config_cls()
    preset_name = user.get("preset", defaults.preset)
    values = choose(presets, preset_name, "preset")(user)
    values.update(user)
    cfg = dataclasses.replace(defaults, **values)
    cfg.device = resolve_device(cfg.device)
    cfg.data_root = resolve_data_root(cfg.data_root)
    validate(cfg)
    resolve_speed(cfg)
    return cfg


def resolve_speed(cfg: Any) -> None:
    """auto -> on for CUDA devices, off for the CPU."""
    for name in SPEED_FIELDS:
        if getattr(cfg, name) == "auto":
            setattr(cfg, name, "on" if cfg.device.startswith("cuda") else "off")


def config_to_dict(cfg: Any) -> dict[str, Any]:
    return {"family": family_of(cfg), **dataclasses.asdict(cfg)}


def config_from_dict(data: Mapping[str, Any]) -> Any:
    data = dict(data)
    config_cls, _ = choose(FAMILIES, data.pop("family"), "model family")
    _check_keys(config_cls, data, "the saved config")
    return config_cls(**_coerce(config_cls, data))


def family_of(cfg: Any) -> str:
    for name, (config_cls, _) in FAMILIES.items():
        if isinstance(cfg, config_cls):
            return name
    raise TypeError(f"not a genlab config: {type(cfg).__name__}")


def save_config(cfg: Any, path: str | Path) -> None:
    Path(path).write_text(json.dumps(config_to_dict(cfg), indent=2) + "\n")


def load_config(path: str | Path) -> Any:
    return config_from_dict(json.loads(Path(path).read_text()))


def format_config(cfg: Any) -> str:
    data = config_to_dict(cfg)
    width = max(map(len, data))
    return "\n".join(f"  {key:<{width}}  {value}" for key, value in data.items())
