"""Start or resume a training run of any family: data, trainer, run folder, then ``fit``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from genlab.config import config_to_dict, family_of, format_config, resolve_device, save_config, validate
from genlab.data.loader import EpochBatches
from genlab.data.sources import load_images
from genlab.errors import GenlabError
from genlab.registry import choose
from genlab.training.checkpoint import load_checkpoint, set_rng_state
from genlab.training.dcgan import DCGANTrainer
from genlab.training.loop import fit
from genlab.training.run_dir import History, RunDir

TRAINERS: dict[str, type] = {"dcgan": DCGANTrainer}


def _batches(cfg: Any) -> EpochBatches:
    images = load_images(cfg.data, image_size=cfg.image_size, data_root=cfg.data_root, limit=cfg.limit)
    return EpochBatches(images, cfg.batch_size, seed=cfg.seed, workers=cfg.workers)


def train(cfg: Any, out: str | Path, *, quiet: bool = False) -> RunDir:
    """Train a new run into ``out`` (which must not hold a run already)."""
    trainer = choose(TRAINERS, family_of(cfg), "model family")(cfg)
    batches = _batches(cfg)  # fails on bad data before anything is written
    run = RunDir.create(out, cfg)
    if not quiet:
        print(f"genlab: training {family_of(cfg)} into {run.root} with\n{format_config(cfg)}", flush=True)
    history = History(run.history_path)
    fit(trainer, batches, run, history, config=config_to_dict(cfg), epochs=cfg.epochs, checkpoint_every=cfg.checkpoint_every)
    return run


def resume(run_dir: str | Path, overrides: dict[str, Any] | None = None, *, quiet: bool = False) -> RunDir:
    """Continue a run from checkpoints/latest.pt; ``overrides`` may change e.g. epochs or device."""
    run = RunDir.open(run_dir)
    if not run.latest.is_file():
        raise GenlabError(f"{run.root} has no checkpoint yet (the first epoch did not finish); start a new run instead")
    checkpoint = load_checkpoint(run.latest)
    cfg = run.config()
    if overrides:
        cfg = dataclasses.replace(cfg, **overrides)
        cfg.device = resolve_device(cfg.device)
        validate(cfg)
        save_config(cfg, run.config_path)
    epoch, step = checkpoint["epoch"], checkpoint["step"]
    if epoch >= cfg.epochs:
        raise GenlabError(f"{run.root} already finished {epoch} epochs; pass --epochs N (more than {epoch}) to train longer")
    trainer = choose(TRAINERS, family_of(cfg), "model family")(cfg)
    trainer.load_state_dict(checkpoint["trainer"])
    set_rng_state(checkpoint["rng"])
    batches = _batches(cfg)
    if not quiet:
        print(f"genlab: resuming {run.root} at epoch {epoch + 1}/{cfg.epochs} (step {step})", flush=True)
    history = History.load(run.history_path, up_to_step=step)
    fit(
        trainer, batches, run, history,
        config=config_to_dict(cfg), epochs=cfg.epochs, checkpoint_every=cfg.checkpoint_every,
        start_epoch=epoch, start_step=step,
    )
    return run
