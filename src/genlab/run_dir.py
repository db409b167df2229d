"""A run folder and what it holds.

    RUN_DIR/config.json          the resolved config
    RUN_DIR/history.csv          one row per step: step, epoch, and every number the step returns
    RUN_DIR/images/              sample grids (fake_image-001.png, ...)
    RUN_DIR/plots/               learning curves (losses.png)
    RUN_DIR/checkpoints/         latest.pt every epoch, epoch-NNNN.pt periodically
    RUN_DIR/architecture.md      the networks as tables
    RUN_DIR/report.html, .md     the run's report page, rewritten after every epoch
    RUN_DIR/diverged.json        only after training stopped on a NaN/inf
"""

from __future__ import annotations

import csv
import math
import os
import re
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from genlab.config import load_config, save_config
from genlab.errors import GenlabError, GenlabWarning
from genlab.files import write_with


GRID_FILE = re.compile(r"(?P<kind>[A-Za-z0-9_]+)-(?P<epoch>\d{3,})\.png")  # images/KIND-NNN.png
PLOTS = ("losses", "elbo", "scores")  # plots/NAME.png, in reading order
# what the analysis commands write into a run folder by default, and the report page shows: file, caption
ANALYSES = {
    "interpolation.png": "latent walks (genlab interpolate): each row a spherical interpolation between two latents",
    "traversal.png": "latent traversal (genlab interpolate --traverse): one latent dimension per row, from -3 to +3",
    "between.png": "a walk between two encoded images (genlab interpolate --between), the images at its ends",
    "neighbours.png": "memorisation (genlab neighbours): each sample, then its nearest training images",
}


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    @property
    def history_path(self) -> Path:
        return self.root / "history.csv"

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    def analysis(self, name: str) -> Path:
        """Where an analysis command writes by default (``interpolation.png``, ``neighbours.png``, ...)."""
        return self.root / name

    @property
    def diverged_path(self) -> Path:
        """Written when training stops on a NaN/inf (what, where); removed when the run is resumed."""
        return self.root / "diverged.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def latest(self) -> Path:
        return self.checkpoints / "latest.pt"

    @property
    def lock_path(self) -> Path:
        """Holds the PID of the process training the run (see ``training_lock``)."""
        return self.root / ".lock"

    def trainer_pid(self) -> int | None:
        """The PID of the live process training this run, or None (no lock, or a dead owner's)."""
        try:
            pid = int(self.lock_path.read_text().strip() or 0)
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def grid(self, kind: str, epoch: int) -> Path:
        """``images/KIND-NNN.png``: the grid of one kind (fake_image, recon, fakeA2B, ...) after an epoch."""
        return self.images / f"{kind}-{epoch:03d}.png"

    def grids(self, kinds: Iterable[str] = ()) -> dict[str, list[tuple[int, Path]]]:
        """Grid kind -> (epoch, file) in epoch order, for every grid of the run (``kinds`` first, in their order)."""
        found: dict[str, list[tuple[int, Path]]] = {}
        if self.images.is_dir():
            for path in self.images.iterdir():
                match = GRID_FILE.fullmatch(path.name)
                if match:
                    found.setdefault(match["kind"], []).append((int(match["epoch"]), path))
        order = {kind: i for i, kind in enumerate(kinds)}
        return {kind: sorted(found[kind]) for kind in sorted(found, key=lambda k: (order.get(k, len(order)), k))}

    def plot(self, name: str) -> Path:
        """``plots/NAME.png``: losses, elbo, scores."""
        return self.plots / f"{name}.png"

    def plot_files(self) -> list[Path]:
        """The run's curves, in the order a reader wants them."""
        order = [f"{name}.png" for name in PLOTS]
        found = sorted(self.plots.glob("*.png")) if self.plots.is_dir() else []
        return sorted(found, key=lambda p: (order.index(p.name) if p.name in order else len(order), p.name))

    def epoch_checkpoint(self, epoch: int) -> Path:
        return self.checkpoints / f"epoch-{epoch:04d}.pt"

    @classmethod
    def create(cls, root: str | Path, cfg: Any) -> RunDir:
        """A new run folder; refuses one that holds a run with a checkpoint (never overwrites a trained model). A run
        killed before its first checkpoint holds no model: it is started again in the same folder."""
        run = cls(Path(root).expanduser())
        if run.config_path.exists():
            if any(run.checkpoints.glob("*.pt")) if run.checkpoints.is_dir() else False:
                raise GenlabError(
                    f"{run.root} already holds a run; continue it with --resume {run.root} or choose another --out"
                )
            pid = run.trainer_pid()  # a lock whose owner died (a kill -9 in epoch 1) is stale: the run starts again
            if pid is not None and pid != os.getpid():
                raise GenlabError(f"{run.root} is being trained by another genlab process (PID {pid}); choose another --out")
            warnings.warn(
                f"{run.root} holds a run that never finished an epoch (no checkpoint); starting it again there",
                GenlabWarning,
                stacklevel=2,
            )
            run.history_path.unlink(missing_ok=True)
        for folder in (run.images, run.plots, run.checkpoints):
            folder.mkdir(parents=True, exist_ok=True)
        save_config(cfg, run.config_path)
        return run

    @classmethod
    def open(cls, root: str | Path) -> RunDir:
        run = cls(Path(root).expanduser())
        if not run.config_path.is_file():
            raise GenlabError(f"{run.root} is not a genlab run folder (no config.json); give the --out of a training run")
        return run

    def config(self) -> Any:
        return load_config(self.config_path)

    def checkpoint(self, which: str = "latest") -> Path:
        """``latest``, ``best``, ``epoch-N``/``N``, or a path to a .pt file."""
        if which in ("latest", "best"):
            path = self.checkpoints / f"{which}.pt"
        elif re.fullmatch(r"(epoch-)?\d+", which):
            path = self.epoch_checkpoint(int(which.removeprefix("epoch-")))
        else:
            path = Path(which)
        if not path.is_file():
            have = sorted(p.stem for p in self.checkpoints.glob("*.pt")) if self.checkpoints.is_dir() else []
            raise GenlabError(f"no checkpoint {which!r} in {self.root}; available: {have or 'none (train first)'}")
        return path


class History:
    """Rows of numbers per step, mirrored to history.csv (appended; rewritten when a new column appears)."""

    def __init__(self, path: Path, rows: list[dict[str, float]] | None = None) -> None:
        self.path = path
        self.rows: list[dict[str, float]] = rows or []
        self._written = 0
        self._columns: list[str] = []
        self._stale = bool(self.rows)  # loaded rows: the file is rewritten (truncated to them) on the first flush

    @classmethod
    def load(cls, path: Path, *, up_to_step: int) -> History:
        """The rows of an earlier run up to its checkpoint's step (later rows were not checkpointed)."""
        rows = []
        if path.is_file():
            with path.open(newline="") as f:
                for line, raw in enumerate(csv.DictReader(f), start=2):
                    try:
                        row = {k: float(v) for k, v in raw.items() if k is not None and v not in ("", None)}
                    except (TypeError, ValueError):
                        bad = next(k for k, v in raw.items() if k is not None and v not in ("", None) and not _is_float(v))
                        raise GenlabError(
                            f"{path} line {line}: column {bad!r} holds {raw[bad]!r}, not a number; fix or remove that row"
                        ) from None
                    if row.get("step", math.inf) <= up_to_step:
                        rows.append(row)
        return cls(path, rows)

    def append(self, row: dict[str, float]) -> None:
        self.rows.append(row)

    def column(self, name: str) -> tuple[list[float], list[float]]:
        """(steps, values) where the column has a finite value."""
        steps, values = [], []
        for row in self.rows:
            value = row.get(name)
            if value is not None and math.isfinite(value):
                steps.append(row["step"])
                values.append(value)
        return steps, values

    def flush(self) -> None:
        """Write new rows (only the process that owns the run folder calls this)."""
        if self._stale:
            self._stale = False
            self._rewrite()
            return
        pending = self.rows[self._written :]
        if not pending:
            return
        columns = list(self._columns)
        for row in pending:
            columns += [k for k in row if k not in columns]
        if columns != self._columns:
            self._columns = columns
            self._rewrite()
            return
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, self._columns).writerows(_formatted(pending))
        self._written = len(self.rows)

    def _rewrite(self) -> None:
        for row in self.rows:
            self._columns += [k for k in row if k not in self._columns]
        def write(f: IO[str]) -> None:
            writer = csv.DictWriter(f, self._columns)
            writer.writeheader()
            writer.writerows(_formatted(self.rows))

        write_with(self.path, write)
        self._written = len(self.rows)


def _is_float(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _formatted(rows: list[dict[str, float]]) -> list[dict[str, Any]]:
    return [{k: (int(v) if k in ("step", "epoch") else f"{v:.6g}") for k, v in row.items()} for row in rows]


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


@contextmanager
def training_lock(run: RunDir) -> Iterator[int]:
    """One trainer per run folder: ``RUN_DIR/.lock`` holds the owner's PID while it trains. A lock whose process is
    gone (a kill -9) is stale and taken over; leftover temporary files of killed writes are removed then. Yields how
    many temporaries were removed."""
    lock = run.lock_path
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            pid = run.trainer_pid()
            if pid is not None and pid != os.getpid():
                raise GenlabError(
                    f"{run.root} is being trained by another genlab process (PID {pid}); wait for it to finish, or stop it "
                    "and resume once it has"
                ) from None
            lock.unlink(missing_ok=True)
    else:  # pragma: no cover - another process took the stale lock between our two tries
        raise GenlabError(f"{run.root} is being taken over by another genlab process; try again")
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    try:
        stale = [*run.checkpoints.glob(".*.tmp*"), *run.root.glob(".*.tmp*")]
        for path in stale:
            path.unlink(missing_ok=True)
        yield len(stale)
    finally:
        lock.unlink(missing_ok=True)
