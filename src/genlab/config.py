"""Typed run configurations, named presets, and how they are resolved and saved.

Precedence, lowest to highest: dataclass defaults < preset < TOML config file <
command-line flags. A preset may depend on the loss (the ``paper`` preset gives
each loss its own paper's optimiser), so the loss is read from the file and the
flags first, then the preset is applied under them.

Each family's config holds its own settings and four shared groups: ``run``
(seed, device, epochs, what is written when), ``input`` (data, data root, limit,
workers), ``speed`` and ``scores``. Every
setting has one flat name, the same in ``config.json``, TOML files and flags
(``--seed``, ``--amp``, ``--eval-every``). Configs are frozen; ``replace`` makes a
changed copy. "auto" values (device, data root, speed switches) are resolved when
the config is built, so the ``config.json`` saved with every run is complete, with
the speed switches as true/false.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from genlab.errors import GenlabError
from genlab.family import FAMILIES, Preset, family_for, get_family
from genlab.files import read_json, write_json
from genlab.registry import choose, unknown_choice

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATA_ROOT_ENV = "GENLAB_DATA"
DEFAULT_DATA_ROOT = Path.home() / ".cache" / "genlab" / "data"

# The choices of each setting. Each registry that implements one (ADVERSARIAL_LOSSES, CRITIC_NORMS,
# INITS, FEATURE_EXTRACTORS, ...) is typed with these names, and a test checks that they agree.
LossName = Literal["gan", "lsgan", "wgan", "wgan-gp"]
LOSS_TITLES: dict[str, str] = {"gan": "GAN", "lsgan": "LSGAN", "wgan": "WGAN", "wgan-gp": "WGAN-GP"}  # as papers write them
CriticNorm = Literal["batch", "layer", "none"]
InitName = Literal["normal", "pytorch"]
OptimizerName = Literal["adam", "rmsprop"]
Likelihood = Literal["bernoulli", "gaussian"]
NetworkName = Literal["builtin", "tf-inception", "torchvision", "dinov2", "clip"]
CycleLoss = Literal["lsgan", "gan"]
Preprocess = Literal["resize_crop", "resize", "none"]


@dataclass(frozen=True)
class Rule:
    """What a setting's value must be, in words, and the test."""

    says: str  # "must be at least 1"
    holds: Callable[[Any], bool]

    def check(self, name: str, value: Any) -> None:
        if not self.holds(value):  # NaN fails every comparison, so every rule refuses it
            raise GenlabError(f"{name} {self.says} (got {value})")


AT_LEAST_ONE = Rule("must be at least 1", lambda v: v >= 1)
NOT_NEGATIVE = Rule("must be 0 or more", lambda v: v >= 0)
POSITIVE = Rule("must be a finite number above 0", lambda v: 0 < v < math.inf)
BELOW_ONE = Rule("must be in [0, 1)", lambda v: 0 <= v < 1)
FRACTION = Rule("must be between 0 and 1", lambda v: 0 <= v <= 1)
POWER_OF_TWO = Rule("must be a power of two, at least 8", lambda v: stages_to(v) is not None)
CROP = Rule("must be a multiple of 4, at least 32", lambda v: v >= 32 and v % 4 == 0)  # CycleGAN: two stride-2 layers
# every score genlab computes (genlab evaluate's --metrics; here, torch-free, for the config's rules): a run can take
# any of them during training, KID always among them (best.pt is kept at the lowest)
PRDC = ("precision", "recall", "density", "coverage")
EVAL_METRICS = ("is", "kid", "fid", *PRDC)
FEATURES_ONLY: tuple[NetworkName, ...] = ("dinov2", "clip")  # networks without class logits: no IS


def metric_list(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


METRIC_LIST = Rule(
    f"must be a comma-separated list of {', '.join(EVAL_METRICS)} that includes kid (best.pt is kept at the lowest KID)",
    lambda v: "kid" in metric_list(v) and set(metric_list(v)) <= set(EVAL_METRICS),
)


def setting(default: Any, help: str, rule: Rule | None = None) -> Any:
    """A config field with its one line of help (for --help, the report page) and the rule its value obeys."""
    return field(default=default, metadata={"help": help, "rule": rule})


def stages_to(image_size: int) -> int | None:
    """The number of stride-2 layers between 4x4 and ``image_size`` (a power of two, at least 8), else None."""
    if image_size < 8 or image_size & (image_size - 1):
        return None
    return image_size.bit_length() - 3


@dataclass(frozen=True)
class RunOptions:
    """What every run has: its name of preset, seed, device, length, and what it writes when."""

    preset: str = setting("default", "named settings under the file and the flags (see 'Presets' above)")
    seed: int = setting(0, "seed of the weights, the batch order and every random draw of the run", NOT_NEGATIVE)
    # auto | cpu | cuda | cuda:N (resolved when the config is built)
    device: str = setting("auto", "auto, cpu, cuda or cuda:N")
    epochs: int = setting(200, "passes over the training data", AT_LEAST_ONE)
    checkpoint_every: int = setting(10, "epochs between kept checkpoints (latest.pt: after every epoch, at most every 10 s)", AT_LEAST_ONE)
    sample_every: int = setting(1, "epochs between sample grids", AT_LEAST_ONE)
    grid_size: int = setting(64, "images in each sample grid", AT_LEAST_ONE)
    smooth_window: int = setting(50, "moving-average window of the curves, in steps", AT_LEAST_ONE)
    curves_every: float = setting(30.0, "seconds between refreshed curves and report page (0: each epoch)", NOT_NEGATIVE)
    # the NaN check still names the first bad step exactly
    log_every: int = setting(50, "steps read back from the device together (history, progress, NaN check)", AT_LEAST_ONE)
    tensorboard: bool = setting(False, "also log the history and grids to RUN_DIR/tensorboard (needs genlab[tensorboard])")

    def grid_due(self, epoch: int) -> bool:
        """Whether ``epoch`` writes its sample grids: every ``sample_every`` epochs, and always the first and last."""
        return epoch % self.sample_every == 0 or epoch in (1, self.epochs)


@dataclass(frozen=True)
class InputOptions:
    """Where a run's images come from: a dataset name or folder, where datasets are cached, how many, how loaded."""

    # builtin | cifar10 (DCGAN, VAE) | a CycleGAN dataset name (CycleGAN) | a folder of images
    data: str = setting("builtin", "builtin, cifar10, a CycleGAN dataset name, or the path of an image folder")
    # where datasets are cached; auto: $GENLAB_DATA or ~/.cache/genlab/data
    data_root: str = setting("auto", "dataset cache folder (auto: $GENLAB_DATA or ~/.cache/genlab/data)")
    # use only the first N images (of each domain for CycleGAN; 0: all)
    limit: int = setting(0, "train on the first N images (0: all)", NOT_NEGATIVE)
    # data-loading worker processes for folder datasets
    workers: int = setting(0, "data-loading processes for image folders", NOT_NEGATIVE)


@dataclass(frozen=True)
class SpeedOptions:
    """How fast one device trains. None is "auto": resolved when the config is built to on for CUDA and off
    for the CPU, where the benchmarks measured each of them slower or no faster."""

    # bf16 autocast of the forward passes (the WGAN-GP penalty stays fp32)
    amp: bool | None = setting(None, "bf16 autocast of the forward passes (auto: on for CUDA)")
    # NHWC memory format for models and inputs
    channels_last: bool | None = setting(None, "NHWC memory format (auto: on for CUDA)")
    fused_optimizer: bool | None = setting(None, "Adam's fused kernel (auto: on for CUDA)")
    data_on_device: bool | None = setting(None, "keep in-memory datasets on the device (auto: on for CUDA)")
    # encode PNG grids and draw curves on a background thread
    async_writes: bool | None = setting(None, "write grids and curves on a background thread (auto: on for CUDA)")
    # torch.compile every network (in place; checkpoints keep plain names)
    compile: bool = setting(False, "torch.compile every network")
    cuda_graphs: bool | None = setting(
        None,
        "DCGAN on CUDA: replay each whole step as a CUDA graph (auto: off, not yet measured)",
    )


@dataclass(frozen=True)
class ScoreOptions:
    """Scores during training: IS and KID of generated (CycleGAN: translated) images every few epochs."""

    # epochs between IS/KID evaluations (0: off); keeps checkpoints/best.pt (lowest KID)
    eval_every: int = setting(0, "epochs between IS/KID scores during training (0: off); keeps best.pt", NOT_NEGATIVE)
    eval_network: NetworkName = setting("builtin", "network of the scores during training")
    eval_n: int = setting(1000, "images scored at each evaluation", AT_LEAST_ONE)
    eval_metrics: str = setting("is,kid", "scores of each evaluation: kid and any of is, fid, precision, recall, density, coverage", METRIC_LIST)
    # real images for KID; auto: the training data (CycleGAN: the real test set of A)
    eval_reference: str = setting("auto", "real images for KID (auto: the training data)")


# The groups every family's config holds; their fields are flat in config.json, TOML files and flags.
GROUPS: dict[str, type] = {"run": RunOptions, "input": InputOptions, "speed": SpeedOptions, "scores": ScoreOptions}
SPEED_FIELDS = tuple(f.name for f in fields(SpeedOptions) if f.name not in ("compile", "cuda_graphs"))


@dataclass(frozen=True)
class DCGANConfig:
    """One DCGAN run (spec section 1). Defaults are the spec's table and the GAN paper."""

    # objective
    loss: LossName = setting("gan", "adversarial loss")
    n_critic: int = setting(1, "critic steps per generator step", AT_LEAST_ONE)
    clip_value: float = setting(0.01, "wgan: critic weights are clipped to [-c, c] after every critic step", POSITIVE)
    gp_weight: float = setting(10.0, "wgan-gp: the gradient penalty's weight", NOT_NEGATIVE)
    # networks
    image_size: int = setting(
        32,
        "image side in pixels (DCGAN, VAE: a power of two; CycleGAN: the crop, a multiple of 4)",
        POWER_OF_TWO,
    )
    z_dim: int = setting(256, "length of the noise vector z", AT_LEAST_ONE)
    width: int = setting(64, "channels of the first discriminator (last generator) layer; doubles per layer", AT_LEAST_ONE)
    critic_norm: CriticNorm = setting("batch", "normalisation in the critic (batch: the spec's table)")
    gen_last_norm: bool = setting(True, "BatchNorm before the generator's Tanh (the spec's table has it)")
    disc_last_bias: bool = setting(True, "a bias on the critic's last layer")
    gen_last_bias: bool = setting(True, "a bias on the generator's last convolution when no BatchNorm follows it")
    grey: bool = setting(False, "the generator draws one channel, shown as three (grey data: no colour speckle)")
    init: InitName = setting("normal", "initialisation (normal: N(0, 0.02); pytorch: layers' own)")
    sync_bn: bool = setting(False, "torchrun: global-batch BatchNorm")
    # optimisation
    optimizer: OptimizerName = setting("adam", "optimiser of both networks")
    lr: float = setting(2e-4, "learning rate", POSITIVE)
    lr_g: float = setting(0.0, "generator's learning rate, 0: --lr", NOT_NEGATIVE)  # two time-scales (TTUR)
    lr_d: float = setting(0.0, "discriminator's rate, 0: --lr", NOT_NEGATIVE)
    beta1: float = setting(0.5, "Adam's beta1", BELOW_ONE)
    beta2: float = setting(0.999, "Adam's beta2", BELOW_ONE)
    batch_size: int = setting(64, "images per step (per process)", AT_LEAST_ONE)
    # what every run has
    run: RunOptions = field(default_factory=lambda: RunOptions(preset="paper"))
    input: InputOptions = field(default_factory=lambda: InputOptions(data="cifar10"))
    speed: SpeedOptions = field(default_factory=SpeedOptions)
    scores: ScoreOptions = field(default_factory=ScoreOptions)


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



def _paper(user: dict[str, Any]) -> dict[str, Any]:
    return dict(PAPER_DEFAULTS.get(user.get("loss", DCGANConfig.loss), {}))


DCGAN_PRESETS: dict[str, Preset] = {
    "paper": _paper,
    "assignment": lambda user: dict(ASSIGNMENT),
    "smoke": lambda user: {**_paper(user), **SMOKE},
}


@dataclass(frozen=True)
class VAEConfig:
    """A convolutional VAE (spec section 3, seed 004): Kingma & Welling 2014."""

    # objective
    # bernoulli: pixels in [0, 1] | gaussian: N(x; decoder mean, sigma^2)
    likelihood: Likelihood = setting("bernoulli", "p(x|z): bernoulli (one logit per pixel) or gaussian (fixed sigma)")
    sigma: float = setting(0.1, "gaussian likelihood's standard deviation, in [0, 1] pixel units", POSITIVE)
    # KL weight; only beta = 1 trains (and reports) the true negative ELBO
    beta: float = setting(1.0, "weight of the KL term (1: the true negative ELBO)", NOT_NEGATIVE)
    # network
    image_size: int = setting(
        64,
        "image side in pixels (DCGAN, VAE: a power of two; CycleGAN: the crop, a multiple of 4)",
        POWER_OF_TWO,
    )
    latent_dim: int = setting(128, "length of the latent z", AT_LEAST_ONE)
    # channels of the first encoder layer, doubling per stride-2 layer
    width: int = setting(32, "channels of the first discriminator (last generator) layer; doubles per layer", AT_LEAST_ONE)
    # optimisation
    lr: float = setting(1e-3, "learning rate", POSITIVE)
    batch_size: int = setting(128, "images per step (per process under torchrun)", AT_LEAST_ONE)
    # preprocessing: centre crop (crop_size pixels, or crop_fraction of the shorter side), then resize
    crop_size: int = setting(0, "centre crop in pixels before resizing (0: use --crop-fraction)", NOT_NEGATIVE)
    crop_fraction: float = setting(1.0, "centre crop as a fraction of the shorter side", FRACTION)
    holdout: float = setting(0.05, "fraction of the images held out for the held-out ELBO (seeded)", FRACTION)
    # what every run has
    run: RunOptions = field(default_factory=lambda: RunOptions(epochs=50, grid_size=32))
    input: InputOptions = field(default_factory=InputOptions)
    speed: SpeedOptions = field(default_factory=SpeedOptions)
    scores: ScoreOptions = field(default_factory=ScoreOptions)


VAE_PRESETS: dict[str, Preset] = {
    "default": lambda user: {},
    "smoke": lambda user: dict(image_size=32, latent_dim=16, width=16, batch_size=64, epochs=2, limit=512, checkpoint_every=1, grid_size=16, smooth_window=5),
}

@dataclass(frozen=True)
class CycleGANConfig:
    """CycleGAN (spec section 2): Zhu et al. 2017 as the reference implementation trains it."""

    # objective
    gan_loss: CycleLoss = setting("lsgan", "adversarial loss (lsgan: least squares, the reference's; gan: the log loss)")
    lambda_cycle: float = setting(10.0, "weight of the cycle-consistency L1 terms", NOT_NEGATIVE)
    lambda_identity: float = setting(0.5, "identity weight, as a fraction of --lambda-cycle (0: off)", NOT_NEGATIVE)
    # D loss = 1/2 (real term + fake term)
    halve_d_loss: bool = setting(True, "halve each discriminator's loss, as the reference implementation does")
    pool_size: int = setting(50, "generated images kept per discriminator in the history pool (0: none)", NOT_NEGATIVE)
    # networks
    width: int = setting(64, "channels of the first discriminator (last generator) layer; doubles per layer", AT_LEAST_ONE)
    n_blocks: int = setting(6, "residual blocks in each generator", AT_LEAST_ONE)
    # the reference implementation's --n_layers_D: 3 is the 70x70 PatchGAN
    disc_layers: int = setting(3, "stride-2 layers of each discriminator: 3 judges 70x70 patches, 2 34x34, 1 16x16", AT_LEAST_ONE)
    init: InitName = setting("normal", "weight initialisation (normal: N(0, 0.02); pytorch: each layer's default)")
    # optimisation
    lr: float = setting(2e-4, "learning rate", POSITIVE)
    lr_g: float = setting(0.0, "generator's learning rate, 0: --lr", NOT_NEGATIVE)  # two time-scales (TTUR)
    lr_d: float = setting(0.0, "discriminator's rate, 0: --lr", NOT_NEGATIVE)
    beta1: float = setting(0.5, "Adam's beta1", BELOW_ONE)
    beta2: float = setting(0.999, "Adam's beta2", BELOW_ONE)
    batch_size: int = setting(1, "images per step (per process under torchrun)", AT_LEAST_ONE)
    decay_epochs: int = setting(100, "last epochs over which the learning rate decays linearly to 0 (0: constant)")
    # data: --data builtin, a CycleGAN dataset (trainA/ trainB/ testA/ testB/), or --domain-a/--domain-b folders
    domain_a: str = setting("", "a folder of domain A images (with --domain-b, instead of --data)")
    domain_b: str = setting("", "a folder of domain B images")
    # held out for testing when there are no testA/testB folders
    test_fraction: float = setting(0.05, "held out for testing when the data has no testA/testB", FRACTION)
    # the crop size the networks see
    image_size: int = setting(
        256,
        "image side in pixels (DCGAN, VAE: a power of two; CycleGAN: the crop, a multiple of 4)",
        CROP,
    )
    load_size: int = setting(286, "resize to this before the random crop (--preprocess resize_crop)", AT_LEAST_ONE)
    preprocess: Preprocess = setting(
        "resize_crop",
        "training images: resize then random crop and flip, resize only, or as they are",
    )
    flip: bool = setting(True, "random horizontal flips in training")
    # what every run has
    run: RunOptions = field(default_factory=lambda: RunOptions(grid_size=4, smooth_window=100))
    input: InputOptions = field(default_factory=lambda: InputOptions(workers=2))
    speed: SpeedOptions = field(default_factory=SpeedOptions)
    scores: ScoreOptions = field(default_factory=ScoreOptions)


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

Config = DCGANConfig | VAEConfig | CycleGANConfig  # any built-in family's config

def flat_fields(config_cls: type) -> dict[str, tuple[str | None, Any]]:
    """Every setting of a family by its flat name (as in config.json and the flags): (its group or None, its type)."""
    out: dict[str, tuple[str | None, Any]] = {}
    hints = get_type_hints(config_cls)
    for name in (f.name for f in fields(config_cls)):  # fields only: class constants (ClassVar) are not settings
        if name in GROUPS:
            inner_hints = get_type_hints(GROUPS[name])
            out.update({inner.name: (name, inner_hints[inner.name]) for inner in fields(GROUPS[name])})
        else:
            out[name] = (None, hints[name])
    return out


def _metadata(config_cls: type) -> dict[str, Mapping[str, Any]]:
    """Every setting's field metadata by its flat name."""
    out: dict[str, Mapping[str, Any]] = {}
    for f in fields(config_cls):
        if f.name in GROUPS:
            out.update({inner.name: inner.metadata for inner in fields(GROUPS[f.name])})
        else:
            out[f.name] = f.metadata
    return out


def field_help(config_cls: type) -> dict[str, str]:
    """Every setting's one line of help, by its flat name."""
    return {name: meta.get("help", "") for name, meta in _metadata(config_cls).items()}


def field_names(config_cls: type) -> list[str]:
    return list(flat_fields(config_cls))


def choices(kind: Any) -> tuple[str, ...] | None:
    """The allowed values of a Literal-typed setting, else None."""
    return get_args(kind) if get_origin(kind) is Literal else None


def is_auto_switch(kind: Any) -> bool:
    """A speed switch: True, False, or None for auto."""
    return kind == (bool | None)


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


SWITCH_WORDS = {"auto": None, "on": True, "off": False, "true": True, "false": False}


def _coerce(config_cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """Convert values (from TOML, JSON or flags) to each setting's type: ints into float fields, on/off/auto into
    speed switches, and so on."""
    kinds = flat_fields(config_cls)
    out = {}
    for key, value in values.items():
        _, kind = kinds[key]
        if is_auto_switch(kind):
            if isinstance(value, str) and value.lower() in SWITCH_WORDS:
                value = SWITCH_WORDS[value.lower()]
            elif value is not None and not isinstance(value, bool):
                raise GenlabError(f"setting {key}={value!r} is not a switch; choose one of ['auto', 'on', 'off']")
        elif kind is bool:
            if not isinstance(value, bool):
                raise GenlabError(f"setting {key}={value!r} is not true or false; write {key} = true or {key} = false")
        elif kind is int:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int) or isinstance(value, bool):
                raise GenlabError(f"setting {key}={value!r} is not a whole number; write e.g. {key} = {_group_default(config_cls, key)}")
        elif kind is float:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise GenlabError(f"setting {key}={value!r} is not a number; write it without quotes, e.g. {key} = 0.001")
            value = float(value)
        elif not isinstance(value, str):  # text and named choices
            raise GenlabError(f"setting {key}={value!r} is not text; write it in quotes, e.g. {key} = \"{value}\"")
        out[key] = value
    return out


def _group_default(config_cls: type, key: str) -> Any:
    group, _ = flat_fields(config_cls)[key]
    return getattr(getattr(config_cls(), group), key) if group else getattr(config_cls(), key)


def _nest(config_cls: type, values: Mapping[str, Any]) -> Config:
    """A config from flat settings: each group's settings go into its group, over the family's defaults."""
    kinds = flat_fields(config_cls)
    defaults = config_cls()
    top = {k: v for k, v in values.items() if kinds[k][0] is None}
    for group in GROUPS:
        inner = {k: v for k, v in values.items() if kinds[k][0] == group}
        top[group] = dataclasses.replace(getattr(defaults, group), **inner)
    return dataclasses.replace(defaults, **top)


def flatten(cfg: Config) -> dict[str, Any]:
    """The settings of a config by their flat names."""
    out = {}
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        out.update(dataclasses.asdict(value) if f.name in GROUPS else {f.name: value})
    return out


def replace(cfg: Config, **changes: Any) -> Config:
    """A copy of ``cfg`` with settings changed by their flat names (``replace(cfg, device="cpu", lr=1e-4)``)."""
    config_cls = type(cfg)
    _check_keys(config_cls, changes, "the changes")
    return _nest(config_cls, {**flatten(cfg), **_coerce(config_cls, changes)})


def check_device(name: str) -> None:
    """The device's spelling, checked without importing torch."""
    if not (name in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", name)):
        raise GenlabError(f"unknown device {name!r}; choose one of ['auto', 'cpu', 'cuda', 'cuda:N']")


def resolve_device(name: str) -> str:
    check_device(name)
    if name == "cpu":
        return name
    import torch  # only here: checking settings never waits for torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise GenlabError(f"device {name!r} was asked for but no CUDA GPU is available; use --device cpu")
    return name


def resolve_data_root(value: str) -> str:
    if value != "auto":
        return str(Path(value).expanduser())
    return str(Path(os.environ.get(DATA_ROOT_ENV) or DEFAULT_DATA_ROOT).expanduser())


MAX_SEED = 2**63 - 1
MAX_IMAGE_SIZE = 1024


def _bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:,.3g} TB"


def learning_rates(cfg: Config) -> tuple[float, float]:
    """(generator's, discriminator's) learning rate: ``lr_g`` / ``lr_d`` when set (two time-scales), else ``lr``."""
    return (getattr(cfg, "lr_g", 0.0) or cfg.lr, getattr(cfg, "lr_d", 0.0) or cfg.lr)


def check_seed(seed: int) -> None:
    if not 0 <= seed <= MAX_SEED:
        raise GenlabError(f"seed must be between 0 and 2**63 - 1 (got {seed})")


def smallest_disc_image(n_layers: int) -> int:
    """The smallest image a CycleGAN discriminator of ``n_layers`` stride-2 layers gives at least one logit for."""
    return 3 * 2**n_layers


def validate(cfg: Config) -> None:
    values = flatten(cfg)
    check_device(values["device"])
    for name, (_, kind) in flat_fields(type(cfg)).items():
        allowed = choices(kind)
        if allowed is not None and values[name] not in allowed:
            raise unknown_choice(name.replace("_", " "), values[name], allowed)
    for name, meta in _metadata(type(cfg)).items():  # each setting's own rule
        if meta.get("rule") is not None:
            meta["rule"].check(name, values[name])
    if values.get("preprocess") == "resize_crop" and values["load_size"] < values["image_size"]:
        raise GenlabError(f"load_size {values['load_size']} is smaller than the crop image_size {values['image_size']}; raise --load-size")
    if "decay_epochs" in values and not 0 <= values["decay_epochs"] <= values["epochs"]:
        raise GenlabError(f"decay_epochs must be between 0 and epochs ({values['epochs']}); got {values['decay_epochs']}")
    check_seed(values["seed"])
    if "disc_layers" in values and values["image_size"] < (smallest := smallest_disc_image(values["disc_layers"])):
        raise GenlabError(
            f"disc_layers {values['disc_layers']} needs images of at least {smallest} px to judge "
            f"(image_size is {values['image_size']}); lower --disc-layers or raise --image-size"
        )
    if values["eval_network"] in FEATURES_ONLY and "is" in metric_list(values["eval_metrics"]):
        raise GenlabError(
            f"IS needs a classifier's logits; eval_network {values['eval_network']} gives features only: "
            "leave is out of --eval-metrics or choose another --eval-network"
        )
    size = values.get("image_size", 0)
    if size > MAX_IMAGE_SIZE:
        first_layer = values["batch_size"] * values.get("width", 64) * (size // 2) ** 2 * 4  # float32 activations of one batch
        raise GenlabError(
            f"image_size {size} is above the largest genlab trains ({MAX_IMAGE_SIZE}): one batch's first-layer activations "
            f"alone would need {_bytes(first_layer)}; choose --image-size {MAX_IMAGE_SIZE} or less"
        )


def build_config(
    family: str,
    *,
    preset: str | None = None,
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    resolved: bool = True,
) -> Config:
    """Defaults < preset < config file < overrides (flags), by flat setting names; validated and frozen, and with
    ``resolved`` its "auto" values resolved (which imports torch; without it the check answers at once)."""
    record = get_family(family)
    config_cls, presets = record.config, record.presets
    user: dict[str, Any] = {}
    if config_file is not None:
        from_file = load_toml(config_file)
        from_file = from_file.get(family, from_file)
        _check_keys(config_cls, from_file, f"config file {config_file}")
        try:
            user.update(_coerce(config_cls, from_file))
        except GenlabError as e:
            raise GenlabError(f"config file {config_file}: {e}") from None
    if overrides:
        _check_keys(config_cls, overrides, "the flags")
        user.update(_coerce(config_cls, overrides))
    if preset is not None:
        user["preset"] = preset

    preset_name = user.get("preset", config_cls().run.preset)
    values = choose(presets, preset_name, "preset")(user)
    values.update(user)
    cfg = _nest(config_cls, _coerce(config_cls, values))
    if not resolved:
        validate(cfg)
        return cfg
    return resolve(cfg)


def sweep_configs(build: Callable[[dict[str, Any]], Config], losses: list[str], seeds: list[int]) -> list[Config]:
    """One config per (loss, seed), losses outermost, each built by ``build({"loss": ..., "seed": ...})`` from the
    user's settings exactly as a lone run with that loss and seed is (a preset resolves per loss: under ``paper``
    WGAN gets RMSprop and five critic steps whatever the sweep's first loss is)."""
    if len(set(losses)) != len(losses) or len(set(seeds)) != len(seeds):
        raise GenlabError(f"a sweep lists each loss and each seed once (got --loss {','.join(losses)} --seeds {','.join(map(str, seeds))})")
    return [build({"loss": loss, "seed": seed}) for loss in losses for seed in seeds]


# What --resume may change: how long, how fast and where a run trains, and how it is watched. Every other
# setting defines the run (model, loss, data, batches, seed) and is refused on --resume when it differs.
RESUMABLE = frozenset(
    {"epochs", "device", "lr", "lr_g", "lr_d", "decay_epochs", "checkpoint_every", "sample_every", "grid_size", "smooth_window", "curves_every",
     "log_every", "tensorboard",
     "workers", "data_root"}
    | {f.name for f in fields(SpeedOptions)}
    | {f.name for f in fields(ScoreOptions)}
)


def resume_changes(cfg: Config, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides a resumed run takes; an error that lists every run-defining setting given a different value."""
    config_cls = type(cfg)
    _check_keys(config_cls, overrides, "the changes")
    given = _coerce(config_cls, overrides)
    current = flatten(cfg)
    differing = [name for name, value in given.items() if name not in RESUMABLE and value != current[name]]
    if differing:
        listed = ", ".join(f"{name} (run: {current[name]!r}, given: {given[name]!r})" for name in differing)
        raise GenlabError(
            f"--resume cannot change what defines a run: {listed}; only {', '.join(sorted(RESUMABLE & set(current)))} "
            "may change. To train with other settings, start a new run with --out NEW_DIR"
        )
    return {name: value for name, value in given.items() if name in RESUMABLE}


def resolve(cfg: Config) -> Config:
    """Device, data root and speed switches resolved ("auto" -> what this machine has), then validated."""
    device = resolve_device(cfg.run.device)
    on_cuda = device.startswith("cuda")
    switches = {name: on_cuda if getattr(cfg.speed, name) is None else getattr(cfg.speed, name) for name in SPEED_FIELDS}
    cfg = dataclasses.replace(
        cfg,
        run=dataclasses.replace(cfg.run, device=device),
        input=dataclasses.replace(cfg.input, data_root=resolve_data_root(cfg.input.data_root)),
        speed=dataclasses.replace(cfg.speed, **switches, cuda_graphs=bool(cfg.speed.cuda_graphs)),
    )
    validate(cfg)
    if cfg.speed.cuda_graphs:
        if not on_cuda:
            raise GenlabError(f"cuda_graphs needs a CUDA device (the run is on {device}); leave out --cuda-graphs")
        if not family_for(cfg).cuda_graphs:
            raise GenlabError("cuda_graphs captures the DCGAN training step only; leave out --cuda-graphs")
        if cfg.speed.compile:
            raise GenlabError("give either --compile or --cuda-graphs, not both")
    return cfg


def config_to_dict(cfg: Config) -> dict[str, Any]:
    return {"family": family_of(cfg), **flatten(cfg)}


def config_from_dict(data: Mapping[str, Any]) -> Config:
    data = dict(data)
    config_cls = get_family(data.pop("family")).config
    _check_keys(config_cls, data, "the saved config")
    return _nest(config_cls, _coerce(config_cls, data))


def data_label(cfg: Config) -> str:
    """What a run trains on, in a few words: its dataset or folder, or a CycleGAN's two domain folders."""
    domains = getattr(cfg, "domain_a", ""), getattr(cfg, "domain_b", "")
    if any(domains):
        return " <-> ".join(domains)
    return cfg.input.data


def family_of(cfg: Config) -> str:
    return family_for(cfg).name


def save_config(cfg: Config, path: str | Path) -> None:
    """Written to a temporary file and renamed: a reader (another rank, a crash) never sees half a config."""
    write_json(path, config_to_dict(cfg))


def load_config(path: str | Path) -> Config:
    """A saved config.json; a damaged or hand-edited one is one line naming the file."""
    data = read_json(path, "config file")
    if not isinstance(data, dict) or "family" not in data:
        raise GenlabError(f"config file {path} holds no genlab config (no family); restore it from a copy")
    try:
        return config_from_dict(data)
    except GenlabError as e:
        raise GenlabError(f"config file {path}: {e}") from None


def format_config(cfg: Config) -> str:
    data = config_to_dict(cfg)
    width = max(map(len, data))
    return "\n".join(f"  {key:<{width}}  {value}" for key, value in data.items())
