"""Run by tests/training/test_distributed.py under torchrun: trains a tiny DCGAN replica per process
and saves each rank's final weights next to (not inside) the run folder."""

import sys
from pathlib import Path

import torch

from genlab.config import build_config
from genlab.training.loop import OneRun, RunState, fit, running
from genlab.training.run import _batches, _replica, load_data
from genlab.run_dir import History, RunDir
from genlab.training.runtime import barrier, current, init_from_environment, shutdown


def main(out: Path) -> None:
    runtime, device = init_from_environment("cpu")
    cfg = build_config("dcgan", preset="smoke", overrides=dict(width=8, z_dim=16, batch_size=8, limit=64, epochs=2, device=device))
    dataset, extra = load_data(cfg)
    trainer = _replica(cfg, extra)
    if runtime.is_main:
        RunDir.create(out / "run", cfg)
    barrier()
    run = RunDir(out / "run")
    state = RunState(cfg, run, trainer, History(run.history_path), main=runtime.is_main)
    with running([state]):
        fit(OneRun(state, _batches(dataset, cfg)), start_epoch=0, epochs=2)
    torch.save({name: model.state_dict() for name, model in trainer.models.items()}, out / f"rank{current().rank}.pt")
    shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
