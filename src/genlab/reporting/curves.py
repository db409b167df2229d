"""Learning curves as PNG: raw values faint, moving average bold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from genlab.reporting.writer import write
from genlab.run_dir import History


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
    The data are copied now; the figure is drawn now or by the background writer.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {title: [(column, *history.column(column)) for column in columns] for title, columns in panels.items()}
    write(lambda: _draw(data, path, window=window, xlabel=xlabel, unsmoothed=tuple(unsmoothed)))
    return path


def _draw(data, path: Path, *, window: int, xlabel: str, unsmoothed: tuple[str, ...]) -> None:
    # matplotlib's object API (no pyplot state), so drawing is safe off the main thread
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6 * len(data), 4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(data), squeeze=False)
    for ax, (title, series) in zip(axes[0], data.items()):
        for i, (column, steps, values) in enumerate(series):
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
