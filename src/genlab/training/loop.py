"""The one training loop: epochs, progress, history, the end-of-epoch hooks. It knows nothing about GANs.

What trains is a *stepper*: it advances one run (``OneRun``: a family's trainer over its batches) or several
(``genlab.training.sweep.StackedRuns``: K runs as one stacked model) by one unit of work at a time. What a run
accumulates is its ``RunState``: folder, history, the device-side read-back of its numbers, evaluator, best score,
TensorBoard log, step. After every epoch each run's state goes through ``END_OF_EPOCH``, one ordered list of hooks:
the refresh cadence, pictures (grids, the collapse check), learning curves, scores, history, checkpoints, then the
report page and TensorBoard; the page and TensorBoard are refreshed after the first epoch, then (with the curves) at
most every ``curves_every`` seconds but not when the run should end sooner than that, and after the last epoch;
latest.pt is written after the first and last epoch, with every kept or best checkpoint, and otherwise at most every
``LATEST_EVERY`` seconds.

A family's trainer supplies ``train_step(batch, step) -> dict[str, Tensor]`` (detached scalars, in the order of
its paper's algorithm box), ``end_epoch(epoch)`` for what changes between epochs, ``report(epoch, run, history)``
for its pictures, ``models``, and ``state_dict()`` / ``load_state_dict()`` for everything a resumed run needs
(models, optimisers, schedulers, its random generators). Under torchrun every process trains; rank 0 alone shows
progress and writes the run folder.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor
from tqdm.auto import tqdm

from genlab import __version__
from genlab.checkpoint import rng_state, save_atomic
from genlab.config import Config, config_to_dict, save_config
from genlab.data.loader import EpochBatches
from genlab.errors import GenlabError
from genlab.family import family_for
from genlab.files import write_json
from genlab.reporting.curves import plot_curves
from genlab.reporting.run_report import write_run_report
from genlab.reporting.tensorboard import TensorBoardLog
from genlab.reporting.writer import background_writes, write
from genlab.run_dir import History, RunDir, training_lock
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


class Readback:
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


@dataclass
class RunState:
    """One run in training: its config and folder, the trainer whose state its checkpoints hold, and what its
    epochs accumulate. ``main``: this process writes the run folder (rank 0)."""

    cfg: Config
    run: RunDir
    trainer: Any  # a Trainer (pictures, checkpoint state, the model its scores sample)
    history: History
    step: int = 0
    best: float | None = None
    evaluator: Evaluator | None = None
    main: bool = True
    board: TensorBoardLog | None = None
    improved: bool = False  # the epoch's score beat the best so far (best.pt is written)
    refreshed: float = -math.inf  # when the curves and the page were last refreshed (time.monotonic)
    refresh_due: bool = False  # this epoch refreshes them
    clock: tuple[int, float] | None = None  # (epoch, time.monotonic) when this process ended its first epoch
    saved: float = -math.inf  # when latest.pt was last written (time.monotonic)
    readback: Readback = field(init=False)

    def __post_init__(self) -> None:
        self.readback = Readback(self.cfg.run.log_every, self.run, self.history, main=self.main)


class Stepper(Protocol):
    """Advances runs: an epoch is a sequence of units of work, each advancing one or more runs by one step."""

    states: list[RunState]

    def units(self, epoch: int) -> Iterable[Any]: ...

    def __len__(self) -> int: ...  # units per epoch

    def advance(self, unit: Any, epoch: int) -> tuple[list[RunState], int]: ...  # (the runs advanced, images seen)

    def end_epoch(self, epoch: int) -> None: ...


class OneRun:
    """One run: its trainer's step over its batches (under torchrun, this process's share of them)."""

    def __init__(self, state: RunState, batches: EpochBatches) -> None:
        self.states, self.batches = [state], batches

    def units(self, epoch: int) -> Iterable[Any]:
        return self.batches.epoch(epoch)

    def __len__(self) -> int:
        return len(self.batches)

    def advance(self, batch: Any, epoch: int) -> tuple[list[RunState], int]:
        """``batch``: a tensor of images, or a tuple of them (unpaired A, B)."""
        state = self.states[0]
        state.step += 1
        state.readback.add(state.step, epoch, state.trainer.train_step(batch, state.step))
        broadcast_buffers(state.trainer.models)
        return self.states, len(batch[0]) if isinstance(batch, (tuple, list)) else batch.shape[0]

    def end_epoch(self, epoch: int) -> None:
        self.states[0].trainer.end_epoch(epoch)


# ---- the end of an epoch: one ordered list of hooks, each given a run's state (rank 0 only) ----


def cadence(state: RunState, epoch: int) -> None:
    """Whether this epoch refreshes the curves, the page and TensorBoard: after the first and the last epoch, and
    otherwise at most every ``curves_every`` seconds (drawing them costs more than a small epoch's steps), but not
    when the epochs left should take less than that: the last epoch's refresh comes sooner."""
    now, run = time.monotonic(), state.cfg.run
    state.clock = state.clock or (epoch, now)
    first, since = state.clock
    left = (now - since) / (epoch - first) * (run.epochs - epoch) if epoch > first else math.inf
    periodic = now - state.refreshed >= run.curves_every and left >= run.curves_every
    state.refresh_due = epoch in (1, run.epochs) or periodic
    if state.refresh_due:
        state.refreshed = now


def pictures(state: RunState, epoch: int) -> None:
    """The family's grids, the collapse check and its warnings (may add rows: held-out scores)."""
    state.trainer.report(epoch, state.run, state.history)


def curves(state: RunState, epoch: int) -> None:
    """The family's learning curves, on the refresh cadence but not after the first epoch (a few points, and the
    plotting library's start-up paid before the run has much to show; the page leaves them out until drawn)."""
    if not state.refresh_due or (epoch == 1 < state.cfg.run.epochs and state.cfg.run.curves_every > 0):
        return
    cfg = state.cfg
    record = family_for(cfg)
    for name, panels in record.curves.items():
        plot_curves(state.history, panels, state.run.plot(name), window=cfg.run.smooth_window, unsmoothed=record.unsmoothed)


def scores(state: RunState, epoch: int) -> None:
    """IS/KID during training (``--eval-every``); a lower KID than the best so far marks the epoch for best.pt."""
    state.improved = False
    evaluator = state.evaluator
    if evaluator is not None and evaluator.due(epoch, state.cfg.run.epochs):
        score = evaluator(state.trainer, epoch, state.run, state.history)[evaluator.best_metric]
        state.improved = state.best is None or score < state.best
        state.best = score if state.improved else state.best


def history(state: RunState, epoch: int) -> None:
    state.history.flush()


LATEST_EVERY = 10.0  # seconds: latest.pt at most this often between the epochs that always write it


def checkpoints(state: RunState, epoch: int) -> None:
    """The kept epoch checkpoint and best.pt first, latest.pt last: a kill in the middle of these writes leaves
    latest.pt at an earlier epoch, so a resume trains from there again and writes its kept checkpoints anew.
    latest.pt is written after the first epoch this process trains, the last, a kept or best one, and otherwise once
    ``LATEST_EVERY`` seconds have passed since the last: a kill loses at most one epoch or those seconds of
    training (after every half-second epoch of a small folder, the writes were a few per cent of the run)."""
    cfg = state.cfg
    kept = epoch % cfg.run.checkpoint_every == 0 or epoch == cfg.run.epochs
    now = time.monotonic()
    if not (kept or state.improved or now - state.saved >= LATEST_EVERY):
        return
    state.saved = now
    checkpoint = {
        "genlab_version": __version__,
        "config": config_to_dict(cfg),
        "epoch": epoch,
        "step": state.step,
        "trainer": state.trainer.state_dict(),
        "rng": rng_state(),
        "best": state.best,
    }
    if kept:
        save_atomic(checkpoint, state.run.epoch_checkpoint(epoch))
    if state.improved:
        save_atomic(checkpoint, state.run.checkpoints / "best.pt")
    save_atomic(checkpoint, state.run.latest)


def page(state: RunState, epoch: int) -> None:
    """The report page and TensorBoard (now, or on the background writer), on the refresh cadence."""
    if not state.refresh_due:
        return
    rows, status = list(state.history.rows), "finished" if epoch == state.cfg.run.epochs else "running"
    write(lambda: write_run_report(state.run, rows=rows, state=status))
    if state.board is not None:
        board = state.board
        write(lambda: board.log_epoch(rows, epoch))


END_OF_EPOCH: list[Callable[[RunState, int], None]] = [cadence, pictures, curves, scores, history, checkpoints, page]


# ---- the loop ----


@contextlib.contextmanager
def running(states: list[RunState], *, write_configs: bool = False) -> Iterator[None]:
    """Every run's lock held (rank 0), its TensorBoard log open; with ``write_configs`` (a resume) each config.json
    is written only once every lock is held, so a refused resume changes no file. Pages of runs that stop early
    (an interrupt, a kill signal turned exception, a failure) stop saying "running"."""
    writing = [state for state in states if state.main]  # rank 0 writes the run folders
    training = False
    try:
        with contextlib.ExitStack() as stack:
            for state in writing:
                stack.enter_context(training_lock(state.run))
            for state in writing:
                if write_configs:
                    save_config(state.cfg, state.run.config_path)
                    state.run.diverged_path.unlink(missing_ok=True)  # training goes on from the last good checkpoint
                if state.cfg.run.tensorboard:
                    state.board = TensorBoardLog(state.run, logged_rows=len(state.history.rows))
                    stack.callback(state.board.close)
            training = True
            yield
    except BaseException:
        for state in writing if training else ():
            mark_stopped(state.run)
        raise


SHOW_PROGRESS = True  # per-epoch progress bars (the demo's worker processes turn them off: their parent shows one)


def fit(stepper: Stepper, *, start_epoch: int, epochs: int, async_writes: bool = False, desc: str = "epoch") -> None:
    """Train epochs start_epoch+1 .. epochs (numbered from 1) of every run of ``stepper``; the caller holds the runs
    (``running``). Pictures, pages and TensorBoard events are written on a background thread with ``async_writes``."""
    states = stepper.states
    show = SHOW_PROGRESS and any(state.main for state in states)
    with background_writes(async_writes):
        for epoch in range(start_epoch + 1, epochs + 1):
            started, seen = time.perf_counter(), 0
            bar = tqdm(stepper.units(epoch), total=len(stepper), desc=f"{desc} {epoch}/{epochs}", unit="step", mininterval=0.5, disable=not show)
            for unit in bar:
                advanced, images = stepper.advance(unit, epoch)
                seen += images
                due = [state.readback.read() for state in advanced if state.readback.due()]
                if due:
                    _show(bar, due[0], seen / max(time.perf_counter() - started, 1e-9))
            last = [state.readback.read() for state in states]  # the epoch's last steps
            _show(bar, last[0], seen / max(time.perf_counter() - started, 1e-9))
            bar.close()
            stepper.end_epoch(epoch)
            for state in states:
                if state.main:
                    for hook in END_OF_EPOCH:
                        hook(state, epoch)


def _show(bar: tqdm, numbers: dict[str, float], rate: float) -> None:
    if numbers:
        losses = {k: f"{v:.3f}" for k, v in numbers.items() if k.endswith("loss")}
        bar.set_postfix({**losses, "img/s": f"{rate:.0f}"}, refresh=False)


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
