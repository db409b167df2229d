"""TensorBoard logging (``--tensorboard``, the ``genlab[tensorboard]`` extra): every history column as a scalar and
each epoch's grids as images, under ``RUN_DIR/tensorboard/``, written by rank 0 only.

View with ``tensorboard --logdir RUN_DIR/tensorboard`` (or a folder of runs).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from genlab.errors import GenlabError
from genlab.run_dir import GRID_FILE, RunDir

MISSING = "--tensorboard needs the tensorboard package; install it with: pip install 'genlab[tensorboard]'"


def require_tensorboard() -> None:
    """One line naming the extra when the package is missing (checked before a run starts)."""
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise GenlabError(MISSING) from None


class TensorBoardLog:
    def __init__(self, run: RunDir, *, logged_rows: int = 0) -> None:
        require_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        self.run = run
        self.writer: Any = SummaryWriter(log_dir=str(run.root / "tensorboard"))
        self.logged = logged_rows  # history rows already in TensorBoard (a resumed run's earlier rows)
        self.epochs_logged: int | None = None  # the last epoch whose grids are in TensorBoard (None: from this epoch)

    def log_epoch(self, rows: list[dict[str, float]], epoch: int) -> None:
        """The rows not logged yet as scalars at their steps, and the grids of every epoch since the last call (up to
        ``epoch``) as images at each epoch's last step."""
        last_step: dict[int, int] = {}
        for row in rows[self.logged :]:
            step = int(row["step"])
            last_step[int(row.get("epoch", epoch))] = step
            for name, value in row.items():
                if name not in ("step", "epoch") and math.isfinite(value):
                    self.writer.add_scalar(name, value, step)
        self.logged = len(rows)
        first = epoch if self.epochs_logged is None else self.epochs_logged + 1
        for shown in range(first, epoch + 1):
            for path in sorted(self.run.images.glob(f"*-{shown:03d}.png")):
                match = GRID_FILE.fullmatch(path.name)
                if match:
                    step = last_step.get(shown, int(rows[-1]["step"]) if rows else 0)
                    self.writer.add_image(f"images/{match['kind']}", _pixels(path), step, dataformats="HWC")
        self.epochs_logged = epoch
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))
