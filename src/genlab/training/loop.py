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

import torch
from torch import Tensor
from tqdm.auto import tqdm

from genlab import __version__
from genlab.data.loader import EpochBatches
from genlab.errors import GenlabError
from genlab.files import write_json
from genlab.reporting.run_report import write_run_report
from genlab.reporting.tensorboard import TensorBoardLog
from genlab.reporting.writer import background_writes, write
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
    Pictures, the run's report page and TensorBoard events (config ``tensorboard``) are written on a background
    thread when the config's ``async_writes`` is on.
    """
    main = current().is_main
    board = TensorBoardLog(run, logged_rows=len(history.rows)) if config.get("tensorboard") and main else None
    try:
        with background_writes(bool(config.get("async_writes"))):
            return _epochs(
                trainer, batches, run, history, board, config=config, epochs=epochs, checkpoint_every=checkpoint_every,
                start_epoch=start_epoch, start_step=start_step, evaluator=evaluator, best=best,
            )
    except BaseException:  # an interrupt, a kill signal turned exception, a failure: the page stops saying "running"
        if main:
            mark_stopped(run)
        raise
    finally:
        if board is not None:
            board.close()


def _epochs(
    trainer: Trainer, batches: EpochBatches, run: RunDir, history: History, board: TensorBoardLog | None, *,
    config: dict[str, Any], epochs: int, checkpoint_every: int, start_epoch: int, start_step: int,
    evaluator: Evaluator | None, best: float | None,
) -> int:
    step = start_step
    main = current().is_main
    readback = _Readback(int(config.get("log_every") or 1), run, history, main=main)
    for epoch in range(start_epoch + 1, epochs + 1):
        started, seen = time.perf_counter(), 0
        bar = tqdm(
            batches.epoch(epoch), total=len(batches), desc=f"epoch {epoch}/{epochs}", unit="step", mininterval=0.5, disable=not main
        )
        for batch in bar:  # a tensor of images, or a tuple of them (unpaired A, B)
            step += 1
            readback.add(step, epoch, trainer.train_step(batch, step))
            broadcast_buffers(trainer.models)
            seen += len(batch[0]) if isinstance(batch, (tuple, list)) else batch.shape[0]
            if readback.due():
                _show(bar, readback.read(), seen / max(time.perf_counter() - started, 1e-9))
        _show(bar, readback.read(), seen / max(time.perf_counter() - started, 1e-9))  # the epoch's last steps
        bar.close()
        trainer.end_epoch(epoch)
        if main:
            best = _close_epoch(
                trainer, run, history, evaluator, best,
                config=config, epoch=epoch, epochs=epochs, step=step, checkpoint_every=checkpoint_every,
            )
            publish_epoch(run, history, board, epoch=epoch, epochs=epochs)
    return step


class _Readback:
    """Each step's numbers kept on the device, read back every ``every`` steps in one transfer (one host sync).

    Then, in step order, each step is checked for NaN/inf (training stops naming the first bad step, before any
    checkpoint of its epoch is written) and becomes one history row, exactly as if it had been read at once.
    """

    def __init__(self, every: int, run: RunDir, history: History, *, main: bool) -> None:
        self.every, self.run, self.history, self.main = every, run, history, main
        self.pending: list[tuple[int, int, dict[str, Tensor]]] = []

    def add(self, step: int, epoch: int, numbers: dict[str, Tensor]) -> None:
        self.pending.append((step, epoch, {name: value.detach() for name, value in numbers.items()}))

    def due(self) -> bool:
        return len(self.pending) >= self.every

    def read(self) -> dict[str, float]:
        """Read every pending step (in one transfer); the last step's numbers ({} when none were pending)."""
        if not self.pending:
            return {}
        values = iter(torch.stack([v.float().reshape(()) for _, _, numbers in self.pending for v in numbers.values()]).tolist())
        last: dict[str, float] = {}
        for step, epoch, numbers in self.pending:
            last = {name: next(values) for name in numbers}
            _stop_if_diverged(last, step, epoch, self.run, self.history if self.main else None)
            self.history.append({"step": step, "epoch": epoch, **last})
        self.pending.clear()
        return last


def _show(bar: tqdm, numbers: dict[str, float], rate: float) -> None:
    if numbers:
        losses = {k: f"{v:.3f}" for k, v in numbers.items() if k.endswith("loss")}
        bar.set_postfix({**losses, "img/s": f"{rate:.0f}"}, refresh=False)


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
    # latest.pt last: a kill in the middle of these writes leaves latest.pt at the epoch before, so a resume
    # trains this epoch again and writes its kept checkpoints anew
    if epoch % checkpoint_every == 0 or epoch == epochs:
        save_atomic(state, run.epoch_checkpoint(epoch))
    if improved:
        save_atomic(state, run.checkpoints / "best.pt")
    save_atomic(state, run.latest)
    return best


def publish_epoch(run: RunDir, history: History, board: TensorBoardLog | None, *, epoch: int, epochs: int) -> None:
    """Rank 0 after an epoch's checkpoint: the report page and TensorBoard (now, or on the background writer)."""
    rows, state = list(history.rows), "finished" if epoch == epochs else "running"
    write(lambda: write_run_report(run, rows=rows, state=state))
    if board is not None:
        write(lambda: board.log_epoch(rows, epoch))


def mark_stopped(run: RunDir) -> None:
    """Rewrite the report of a run whose training ended before its last epoch (from what history.csv kept)."""
    try:
        write_run_report(run, state="diverged" if run.diverged_path.is_file() else "stopped early")
    except Exception:  # noqa: BLE001 - the page is a convenience; the error that stopped training is what matters
        pass


def _stop_if_diverged(numbers: dict[str, float], step: int, epoch: int, run: RunDir, history: History | None) -> None:
    bad = {k: v for k, v in numbers.items() if not math.isfinite(v)}
    if not bad:
        return
    name, value = next(iter(bad.items()))
    kept = (
        f"the last good checkpoint {run.latest} is intact; resume from it with --resume {run.root} "
        "and a lower learning rate (--lr)"
        if run.latest.exists()
        else "no checkpoint was written yet; start again with a lower learning rate (--lr)"
    )
    message = f"training stopped: {name} became {value} at step {step} (epoch {epoch}); {kept}"
    if history is not None:  # rank 0 keeps the rows up to the failure, says where it stopped, and shows it on the page
        history.flush()
        write_json(run.diverged_path, {"step": step, "epoch": epoch, "column": name, "value": str(value), "message": message})
        write_run_report(run, rows=list(history.rows), state="diverged")
    raise GenlabError(message)
