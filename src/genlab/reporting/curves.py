"""Learning curves as PNG: raw values faint, moving average bold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from genlab.training.run_dir import History


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing mean over the last ``window`` values (fewer at the start)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0 or window <= 1:
        return x
    cumsum = np.concatenate([[0.0], np.cumsum(x)])
    idx = np.arange(1, x.size + 1)
    lo = np.maximum(0, idx - window)
    return (cumsum[idx] - cumsum[lo]) / (idx - lo)


def plot_curves(
    history: History,
    panels: Mapping[str, Sequence[str]],
    path: str | Path,
    *,
    window: int,
    xlabel: str = "step",
    unsmoothed: Sequence[str] = (),
) -> Path:
    """One panel per entry (title -> history columns), each column raw and smoothed.

    Columns in ``unsmoothed`` (e.g. held-out scores once per epoch) are drawn as a line with markers.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for ax, (title, columns) in zip(axes[0], panels.items()):
        for i, column in enumerate(columns):
            steps, values = history.column(column)
            if not steps:
                continue
            color = f"C{i}"
            if column in unsmoothed:
                ax.plot(steps, values, color=color, marker="o", markersize=3, linewidth=1.5, label=column)
                continue
            ax.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
            ax.plot(steps, moving_average(values, window), color=color, linewidth=1.8, label=f"{column} (avg {window})")
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
