"""The shared training loop: epochs, progress, history, checkpoints. It knows nothing about GANs.

A family's trainer supplies ``train_step(batch, step) -> dict[str, Tensor]`` (detached
scalars, in the order of its paper's algorithm box), ``end_epoch(epoch)`` for what
changes between epochs, ``report(epoch, run, history)`` for its pictures, ``models``,
and ``state_dict()`` / ``load_state_dict()`` for everything a resumed run needs
(models, optimisers, schedulers, its random generators). Under torchrun every
process trains; rank 0 alone shows progress and writes the run folder.
"""

from __future__ import annotations

import math
import time
from typing import Any, Protocol

from torch import Tensor
from tqdm.auto import tqdm

from genlab import __version__
from genlab.data.loader import EpochBatches
from genlab.errors import GenlabError
from genlab.reporting.writer import background_writes
from genlab.checkpoint import rng_state, save_atomic
from genlab.run_dir import History, RunDir
from genlab.training.runtime import broadcast_buffers, current


class Evaluator(Protocol):
    best_metric: str

    def due(self, epoch: int, last_epoch: int) -> bool: ...

    def __call__(self, trainer: Any, epoch: int, run: RunDir, history: History) -> dict[str, float]: ...


class Trainer(Protocol):
    def train_step(self, batch: Tensor, step: int) -> dict[str, Tensor]: ...

    def end_epoch(self, epoch: int) -> None: ...  # every process: what changes between epochs (schedules)

    def report(self, epoch: int, run: RunDir, history: History) -> None: ...  # rank 0: pictures, held-out scores

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def fit(
    trainer: Trainer,
    batches: EpochBatches,
    run: RunDir,
    history: History,
    *,
    config: dict[str, Any],
    epochs: int,
    checkpoint_every: int,
    start_epoch: int = 0,
    start_step: int = 0,
    evaluator: Evaluator | None = None,
    best: float | None = None,
) -> int:
    """Train epochs start_epoch+1 .. epochs; returns the last step. Epochs are numbered from 1.

    With an ``evaluator``, scores are computed every few epochs and the checkpoint with the
    lowest ``evaluator.best_metric`` so far (``best`` carried over on resume) is kept as best.pt.
    Pictures are written on a background thread when the config's ``async_writes`` is on.
    """
    with background_writes(bool(config.get("async_writes"))):
        step = start_step
        main = current().is_main
        for epoch in range(start_epoch + 1, epochs + 1):
            started, seen = time.perf_counter(), 0
            bar = tqdm(
                batches.epoch(epoch), total=len(batches), desc=f"epoch {epoch}/{epochs}", unit="step", mininterval=0.5, disable=not main
            )
            for batch in bar:  # a tensor of images, or a tuple of them (unpaired A, B)
                step += 1
                numbers = {name: float(value) for name, value in trainer.train_step(batch, step).items()}
                broadcast_buffers(trainer.models)
                _stop_if_diverged(numbers, step, epoch, run, history if main else None)
                history.append({"step": step, "epoch": epoch, **numbers})
                seen += len(batch[0]) if isinstance(batch, (tuple, list)) else batch.shape[0]
                rate = seen / max(time.perf_counter() - started, 1e-9)
                losses = {k: f"{v:.3f}" for k, v in numbers.items() if k.endswith("loss")}
                bar.set_postfix({**losses, "img/s": f"{rate:.0f}"}, refresh=False)
            bar.close()
            trainer.end_epoch(epoch)
            if main:
                best = _close_epoch(
                    trainer, run, history, evaluator, best,
                    config=config, epoch=epoch, epochs=epochs, step=step, checkpoint_every=checkpoint_every,
                )
        return step


def _close_epoch(
    trainer: Trainer, run: RunDir, history: History, evaluator: Evaluator | None, best: float | None,
    *, config: dict[str, Any], epoch: int, epochs: int, step: int, checkpoint_every: int,
) -> float | None:
    """Rank 0 after an epoch: pictures, scores, history, checkpoints (best.pt when the score improved)."""
    trainer.report(epoch, run, history)  # may add rows (held-out scores)
    improved = False
    if evaluator is not None and evaluator.due(epoch, epochs):
        score = evaluator(trainer, epoch, run, history)[evaluator.best_metric]
        improved = best is None or score < best
        best = score if improved else best
    history.flush()
    state = {
        "genlab_version": __version__,
        "config": config,
        "epoch": epoch,
        "step": step,
        "trainer": trainer.state_dict(),
        "rng": rng_state(),
        "best": best,
    }
    save_atomic(state, run.latest)
    if improved:
        save_atomic(state, run.checkpoints / "best.pt")
    if epoch % checkpoint_every == 0 or epoch == epochs:
        save_atomic(state, run.epoch_checkpoint(epoch))
    return best


def _stop_if_diverged(numbers: dict[str, float], step: int, epoch: int, run: RunDir, history: History | None) -> None:
    bad = {k: v for k, v in numbers.items() if not math.isfinite(v)}
    if not bad:
        return
    if history is not None:  # rank 0 keeps the rows up to the failure
        history.flush()
    name, value = next(iter(bad.items()))
    kept = (
        f"the last good checkpoint {run.latest} is intact; resume from it with --resume {run.root} "
        "and a lower learning rate (--lr)"
        if run.latest.exists()
        else "no checkpoint was written yet; start again with a lower learning rate (--lr)"
    )
    raise GenlabError(f"training stopped: {name} became {value} at step {step} (epoch {epoch}); {kept}")
