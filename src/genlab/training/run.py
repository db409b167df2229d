"""Start or resume a training run of any family: data, trainer, run folder, then ``fit``."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from genlab.config import (
    Config, data_label, family_of, format_config, replace, resolve, resume_changes, save_config,
)
from genlab.data.loader import EpochBatches
from genlab.errors import GenlabError
from genlab.family import family_for
from genlab.reporting.architecture import save_architecture
from genlab.reporting.tensorboard import require_tensorboard
from genlab.run_dir import History, RunDir
from genlab.checkpoint import load_checkpoint, set_rng_state
from genlab.training.evaluation import TrainingEvaluator
from genlab.training.loop import OneRun, RunState, fit, running
from genlab.training.runtime import barrier, current, replicate


def make_trainer(cfg: Config, extra: Any = None) -> Any:
    return family_for(cfg).make_trainer(cfg, extra)


def load_data(cfg: Config) -> tuple[Any, Any]:
    """(the training dataset, what the family's trainer needs besides it), from the family's data builder."""
    return family_for(cfg).load_data(cfg)


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


def start_summary(cfg: Config, dataset: Any, run: RunDir) -> str:
    """One line: what trains, on what, where (the full config is in config.json, the networks in architecture.md)."""
    family = family_for(cfg)
    detail = f"{family.variant_words(cfg)}, " if family.variant(cfg) else ""
    on = [name for name, value in dataclasses.asdict(cfg.speed).items() if value]
    return (
        f"genlab: training {family.title} ({detail}preset {cfg.run.preset}) on {data_label(cfg)} ({len(dataset):,} training images"
        f"{' or pairs' if family.pairs else ''}, {cfg.image_size}x{cfg.image_size}) for {cfg.run.epochs} epochs "
        f"on {cfg.run.device} (speed options: {', '.join(on) or 'none'}) into {run.root}"
    )


GREY_SAMPLE = 16  # training images looked at for grey_tip


def grey_tip(cfg: Config, dataset: Any) -> str | None:
    """For a generator drawing three channels (a family with a ``grey`` setting, off) on grey images (every one of up
    to GREY_SAMPLE, spread over the data, has equal channels): the setting that makes its samples grey; else None."""
    if getattr(cfg, "grey", True) or len(dataset) == 0:
        return None
    for i in range(0, len(dataset), max(1, len(dataset) // GREY_SAMPLE))[:GREY_SAMPLE]:
        image = dataset[i]
        if image.shape[0] != 3 or not (image[0] == image[1]).all() or not (image[0] == image[2]).all():
            return None
    return (
        "genlab: tip: the training images are grey; --grey (grey=True) makes the generator draw one channel shown "
        "as three, so its samples cannot get colour speckle"
    )


def end_summary(cfg: Config, run: RunDir, history: History, seconds: float) -> str:
    """Where the run is, what it reached, and what to do next."""
    steps = [row for row in history.rows if any(k.endswith("loss") for k in row)]
    last = steps[-1] if steps else {}
    losses = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k.endswith("loss"))
    lines = [
        f"genlab: finished {run.root}: {cfg.run.epochs} epochs, {int(last.get('step', 0)):,} steps in {seconds / 60:.1f} min"
        + (f"; last losses: {losses}" if losses else ""),
    ]
    _, kid = history.column("kid_mean")
    if kid:
        best = min(range(len(kid)), key=kid.__getitem__)
        _, scores = history.column("is_mean")
        lines.append(f"  best KID {kid[best]:.4g} (IS {scores[best]:.3f}) -> {run.checkpoints / 'best.pt'}")
    _, diversity = history.column("diversity")
    if diversity:
        lines.append(f"  sample diversity at the end: {diversity[-1]:.2f} of real images' (collapse below 0.5)")
    lines += [
        f"  pictures: {run.images}/  curves: {run.plots}/  numbers: {run.history_path}",
        "  next: "
        + ("genlab translate {0} --direction b2a --input DIR --output OUT" if family_for(cfg).pairs else "genlab sample {0} -n 64 --out grid.png")
        .format(run.root)
        + f" | genlab evaluate {run.root} | genlab train --resume {run.root} --epochs {cfg.run.epochs * 2}",
    ]
    return "\n".join(lines)


def train(cfg: Config, out: str | Path, *, quiet: bool = False, verbose: bool = False) -> RunDir:
    """Train a new run into ``out`` (which must not hold a run already); prints a start and an end summary unless
    ``quiet``, and the full config and architecture tables when ``verbose``."""
    started = time.perf_counter()
    if cfg.run.tensorboard:
        require_tensorboard()
    dataset, extra = load_data(cfg)  # fails on bad data before anything is written
    batches = _batches(dataset, cfg)
    trainer = _replica(cfg, extra)
    main = current().is_main
    evaluator = TrainingEvaluator(cfg) if cfg.scores.eval_every and main else None
    if main:
        run = RunDir.create(out, cfg)
        architecture = save_architecture(run.root, trainer.model.architecture())
        if verbose and not quiet:
            print(f"genlab: the config\n{format_config(cfg)}\n\n{architecture}", flush=True)
        if not quiet:
            print(start_summary(cfg, dataset, run), flush=True)
            tip = grey_tip(cfg, dataset)
            if tip:
                print(tip, flush=True)
    barrier()
    run = RunDir(Path(out).expanduser())
    state = RunState(cfg, run, trainer, History(run.history_path), evaluator=evaluator, main=main)
    with running([state]):
        fit(OneRun(state, batches), start_epoch=0, epochs=cfg.run.epochs, async_writes=bool(cfg.speed.async_writes))
    if main and not quiet:
        print(end_summary(cfg, run, state.history, time.perf_counter() - started), flush=True)
    return run


def resumed_config(run: RunDir, overrides: dict[str, Any] | None, *, write: bool = True) -> Config:
    """The run's config with what --resume may change, validated before config.json is rewritten (by rank 0; with
    ``write`` False the caller writes it once it holds the run's lock)."""
    cfg = run.config()
    if overrides:
        cfg = resolve(replace(cfg, **resume_changes(cfg, overrides)))
        if write and current().is_main:
            save_config(cfg, run.config_path)
    if cfg.run.tensorboard:
        require_tensorboard()
    return cfg


def check_epochs_left(where: Path, epoch: int, cfg: Config) -> None:
    if epoch >= cfg.run.epochs:
        raise GenlabError(f"{where} already finished {epoch} epochs; pass --epochs N (more than {epoch}) to train longer")


def resume(run_dir: str | Path, overrides: dict[str, Any] | None = None, *, quiet: bool = False) -> RunDir:
    """Continue a run from checkpoints/latest.pt; ``overrides`` may change e.g. epochs or device (its config.json is
    rewritten only once the run's lock is held)."""
    started = time.perf_counter()
    run = RunDir.open(run_dir)
    if not run.latest.is_file():
        raise GenlabError(
            f"{run.root} has no checkpoint yet (its first epoch did not finish); start it again in the same folder: "
            f"genlab train {family_of(run.config())} --out {run.root} ..."
        )
    checkpoint = load_checkpoint(run.latest)
    cfg = resumed_config(run, overrides, write=False)
    epoch, step = checkpoint["epoch"], checkpoint["step"]
    check_epochs_left(run.root, epoch, cfg)
    dataset, extra = load_data(cfg)
    trainer = make_trainer(cfg, extra)
    trainer.load_state_dict(checkpoint["trainer"])
    replicate(trainer.models, trainer.optimizers, sync_batchnorm=getattr(cfg, "sync_bn", False))
    set_rng_state(checkpoint["rng"])
    batches = _batches(dataset, cfg)
    main = current().is_main
    state = RunState(
        cfg, run, trainer, History.load(run.history_path, up_to_step=step), step=step, best=checkpoint.get("best"),
        evaluator=TrainingEvaluator(cfg) if cfg.scores.eval_every and main else None, main=main,
    )
    with running([state], write_configs=True):
        if not quiet and main:
            print(f"genlab: resuming {run.root} at epoch {epoch + 1}/{cfg.run.epochs} (step {step})", flush=True)
        fit(OneRun(state, batches), start_epoch=epoch, epochs=cfg.run.epochs, async_writes=bool(cfg.speed.async_writes))
    if main and not quiet:
        print(end_summary(cfg, run, state.history, time.perf_counter() - started), flush=True)
    return run
