"""Start or resume a training run of any family: data, trainer, run folder, then ``fit``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from genlab.config import Config, config_to_dict, family_of, format_config, replace, resolve, save_config
from genlab.data.images import InMemoryImages
from genlab.data.loader import EpochBatches
from genlab.data.run_data import image_data, unpaired_data
from genlab.errors import GenlabError
from genlab.registry import choose
from genlab.run_dir import History, RunDir
from genlab.checkpoint import load_checkpoint, set_rng_state
from genlab.training.collapse import fixed_real_batch
from genlab.training.cyclegan import CycleGANTrainer
from genlab.training.dcgan import DCGANTrainer
from genlab.training.evaluation import TrainingEvaluator
from genlab.training.loop import fit
from genlab.training.runtime import barrier, current, replicate
from genlab.training.vae import VAETrainer

def _images_and_real_batch(cfg: Config) -> tuple[InMemoryImages, Any]:
    """(training images, a fixed batch of them for the collapse check)."""
    images, _ = image_data(cfg)
    return images, fixed_real_batch(images, seed=cfg.run.seed)


# family -> config -> (training dataset, what else its trainer needs)
DATA: dict[str, Callable[[Any], tuple[Any, Any]]] = {
    "dcgan": _images_and_real_batch, "vae": image_data, "cyclegan": unpaired_data,
}

# family -> (config, that extra or None) -> trainer
TRAINERS: dict[str, Callable[[Any, Any], Any]] = {
    "dcgan": lambda cfg, real: DCGANTrainer(cfg, real),
    "vae": lambda cfg, holdout: VAETrainer(cfg, holdout),
    "cyclegan": lambda cfg, domains: CycleGANTrainer(cfg, *((domains.test_a, domains.test_b) if domains else ())),
}


def make_trainer(cfg: Config, extra: Any = None) -> Any:
    return choose(TRAINERS, family_of(cfg), "model family")(cfg, extra)


def load_data(cfg: Config) -> tuple[Any, Any]:
    return choose(DATA, family_of(cfg), "model family")(cfg)


def _batches(dataset: Any, cfg: Config) -> EpochBatches:
    runtime = current()
    return EpochBatches(
        dataset, cfg.batch_size, seed=cfg.run.seed, workers=cfg.input.workers, rank=runtime.rank, world_size=runtime.world_size,
        device=cfg.run.device if cfg.speed.data_on_device else None,
    )


def _replica(cfg: Config, extra: Any) -> Any:
    """The trainer of this process, made a data-parallel replica under torchrun."""
    trainer = make_trainer(cfg, extra)
    replicate(trainer.models, trainer.optimizers, sync_batchnorm=getattr(cfg, "sync_bn", False))
    return trainer


def train(cfg: Config, out: str | Path, *, quiet: bool = False) -> RunDir:
    """Train a new run into ``out`` (which must not hold a run already)."""
    dataset, extra = load_data(cfg)  # fails on bad data before anything is written
    batches = _batches(dataset, cfg)
    trainer = _replica(cfg, extra)
    main = current().is_main
    evaluator = TrainingEvaluator(cfg) if cfg.scores.eval_every and main else None
    if main:
        run = RunDir.create(out, cfg)
        architecture = trainer.model.describe()
        (run.root / "architecture.md").write_text(architecture)
        if not quiet:
            print(f"genlab: training {family_of(cfg)} into {run.root} with\n{format_config(cfg)}\n\n{architecture}", flush=True)
    barrier()
    run = RunDir(Path(out).expanduser())
    history = History(run.history_path)
    fit(
        trainer, batches, run, history,
        config=config_to_dict(cfg), epochs=cfg.run.epochs, checkpoint_every=cfg.run.checkpoint_every, evaluator=evaluator,
    )
    return run


def resume(run_dir: str | Path, overrides: dict[str, Any] | None = None, *, quiet: bool = False) -> RunDir:
    """Continue a run from checkpoints/latest.pt; ``overrides`` may change e.g. epochs or device."""
    run = RunDir.open(run_dir)
    if not run.latest.is_file():
        raise GenlabError(f"{run.root} has no checkpoint yet (the first epoch did not finish); start a new run instead")
    checkpoint = load_checkpoint(run.latest)
    cfg = run.config()
    if overrides:
        cfg = resolve(replace(cfg, **overrides))
        if current().is_main:
            save_config(cfg, run.config_path)
    epoch, step = checkpoint["epoch"], checkpoint["step"]
    if epoch >= cfg.run.epochs:
        raise GenlabError(f"{run.root} already finished {epoch} epochs; pass --epochs N (more than {epoch}) to train longer")
    dataset, extra = load_data(cfg)
    trainer = make_trainer(cfg, extra)
    trainer.load_state_dict(checkpoint["trainer"])
    replicate(trainer.models, trainer.optimizers, sync_batchnorm=getattr(cfg, "sync_bn", False))
    set_rng_state(checkpoint["rng"])
    batches = _batches(dataset, cfg)
    main = current().is_main
    if not quiet and main:
        print(f"genlab: resuming {run.root} at epoch {epoch + 1}/{cfg.run.epochs} (step {step})", flush=True)
    history = History.load(run.history_path, up_to_step=step)
    fit(
        trainer, batches, run, history,
        config=config_to_dict(cfg), epochs=cfg.run.epochs, checkpoint_every=cfg.run.checkpoint_every,
        start_epoch=epoch, start_step=step,
        evaluator=TrainingEvaluator(cfg) if cfg.scores.eval_every and main else None, best=checkpoint.get("best"),
    )
    return run
