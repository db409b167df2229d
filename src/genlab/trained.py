"""Trained models from run folders: a checkpoint's weights in a freshly built model, for inference.

Loading builds no optimiser and leaves the global random generator as it was, so
sampling, translating or scoring a run never changes what else the process draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlab.checkpoint import load_checkpoint
from genlab.config import Config, build_config, replace
from genlab.family import FAMILIES
from genlab.families import build_model, load_weights
from genlab.reporting.architecture import describe as architecture_markdown
from genlab.run_dir import RunDir


@dataclass(frozen=True)
class TrainedRun:
    run: RunDir
    cfg: Config  # the run's config, with the device it was loaded on
    model: Any  # genlab.families.DCGAN, VAE or CycleGAN
    checkpoint: str


def load_model(run_dir: str | Path, checkpoint: str = "latest", device: str = "cpu") -> TrainedRun:
    """The model of ``run_dir`` with the weights of ``checkpoint`` (latest, best, an epoch or a .pt path), on ``device``."""
    run = RunDir.open(run_dir)
    cfg = replace(run.config(), device=device)
    state = load_checkpoint(run.checkpoint(checkpoint), map_location=device)
    model = build_model(cfg)
    load_weights(model, state["trainer"]["models"])
    return TrainedRun(run, cfg, model, checkpoint)


def describe(target: str) -> str:
    """The architecture tables of a run folder's models, or of a family's default models."""
    if target in FAMILIES:
        cfg = build_config(target, overrides={"device": "cpu"})
    else:
        cfg = replace(RunDir.open(target).config(), device="cpu")
    return architecture_markdown(build_model(cfg).architecture())
