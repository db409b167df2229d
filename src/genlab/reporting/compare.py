"""``genlab runs``: the run folders under a folder as a table, and a comparison page of them.

The page (``runs.html`` / ``runs.md``, with ``runs.json`` and ``runs-curves.png``) overlays the runs'
learning curves on one figure, puts their last grids side by side, and gives each run a section
with its state, numbers, pictures and a link to its own report. The demo's ``index.html`` is one
of these pages.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from genlab.config import data_label
from genlab.errors import GenlabError
from genlab.files import write_text
from genlab.reporting import html as h
from genlab.reporting.document import Code, Document, Figure, Figures, Links, Paragraph, Section, Table, to_html, to_markdown
from genlab.reporting.curves import moving_average
from genlab.reporting.run_report import RunSummary, summarize
from genlab.run_dir import RunDir

SKIPPED = {"checkpoints", "images", "plots", "tensorboard", "scores"}  # folders inside a run, never runs themselves
MAX_DEPTH = 4


def find_runs(root: str | Path) -> list[RunDir]:
    """The run folders at or under ``root`` (up to MAX_DEPTH levels down), in path order."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise GenlabError(f"{root} is not a folder; give a run folder or a folder of runs")
    if (root / "config.json").is_file():
        return [RunDir(root)]
    found = []
    for folder, subfolders, files in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        if "config.json" in files and folder != str(root):
            found.append(RunDir(Path(folder)))
            subfolders.clear()  # a run's own folders hold no runs
            continue
        subfolders[:] = sorted(d for d in subfolders if d not in SKIPPED and not d.startswith(".")) if depth < MAX_DEPTH else []
    return sorted(found, key=lambda run: run.root)


def summaries(root: str | Path, *, only: Sequence[str] | None = None) -> list[RunSummary]:
    """The summaries of the runs under ``root``; ``only``: glob patterns their paths relative to ``root`` must match."""
    runs = []
    for run in find_runs(root):
        if only and not any(fnmatch.fnmatch(_relative_name(run.root, Path(root).expanduser()), pattern) for pattern in only):
            continue
        try:
            runs.append(summarize(run))
        except (GenlabError, KeyError, TypeError, ValueError):  # a config.json of something else, or of a newer genlab
            continue
    return runs


def _relative_name(folder: Path, root: Path) -> str:
    name = Path(os.path.relpath(folder, root)).as_posix()
    return folder.name if name == "." else name


def _name(summary: RunSummary, root: Path) -> str:
    return _relative_name(summary.run.root, root)


def _data(data: str) -> str:
    """A dataset name, or a folder's last two parts."""
    return data if "/" not in data else "/".join(Path(data).parts[-2:])


def _losses(summary: RunSummary) -> str:
    return ", ".join(f"{k} {v:.3g}" for k, v in summary.last_losses.items())


def table_rows(runs: Sequence[RunSummary], root: Path) -> list[dict[str, str]]:
    return [
        {
            "run": _name(s, root),
            "family": s.family,
            "loss / preset": s.variant,
            "data": " <-> ".join(_data(part) for part in data_label(s.cfg).split(" <-> ")),
            "epochs": f"{s.epochs_done}/{s.cfg.run.epochs}",
            "last losses": _losses(s) or "-",
            "best": s.best or "-",
            "precision / recall / coverage": s.variety or "-",
            "state": s.state,
        }
        for s in runs
    ]


def format_table(rows: list[dict[str, str]]) -> str:
    """Columns padded to their widest cell."""
    if not rows:
        return "no genlab runs found"
    headers = list(rows[0])
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in headers}
    line = lambda cells: "  ".join(str(c).ljust(widths[k]) for k, c in zip(headers, cells)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line("-" * widths[k] for k in headers), *(line(r.values()) for r in rows)])


def overlay_curves(runs: Sequence[RunSummary], root: Path, path: Path) -> Path | None:
    """One figure: a panel per family and key column (and the training-time IS), every run one smoothed line."""
    panels: dict[str, list[tuple[str, list[float], list[float], int]]] = {}
    for s in runs:
        columns = [*s.record.key_columns[:2], "val_nelbo", "is_mean"]
        for column in columns:
            points = s.column(column)
            if not points:
                continue
            title = f"{s.family}: {column}" if column != "is_mean" else "Inception Score during training"
            window = 1 if column in ("val_nelbo", "is_mean") else s.cfg.run.smooth_window
            panels.setdefault(title, []).append((_name(s, root), [p[0] for p in points], [p[2] for p in points], window))
    if not panels:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = min(3, len(panels))
    rows = (len(panels) + cols - 1) // cols
    fig = Figure(figsize=(5.5 * cols, 3.8 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    names = sorted({name for series in panels.values() for name, *_ in series})
    colours = {name: f"C{i % 10}" for i, name in enumerate(names)}
    for ax, (title, series) in zip(axes, panels.items()):
        for name, steps, values, window in series:
            marker = "o" if window == 1 else None
            ax.plot(steps, moving_average(values, window), color=colours[name], linewidth=1.6, marker=marker, markersize=3, label=name)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=7)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    return path


@dataclass(frozen=True)
class Extra:
    """What a page adds to a run's section (the demo: what was trained, its scores, chosen pictures)."""

    title: str = ""
    lines: tuple[str, ...] = ()
    score: str = ""
    pictures: tuple[tuple[str, Path], ...] = field(default=())


def write_comparison(
    out: str | Path,
    runs: Sequence[RunSummary],
    *,
    name: str = "runs",
    title: str = "genlab runs",
    intro: str = "",
    preamble: Sequence[tuple[str, str]] = (),
    extras: Mapping[Path, Extra] | None = None,
) -> Path:
    """Write ``out/NAME.html``, ``NAME.md``, ``NAME.json`` and ``NAME-curves.png`` for ``runs``; returns the page.

    ``preamble``: (heading, preformatted text) blocks shown before the runs (the demo's score report).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    extras = extras or {}
    rel = lambda p: h.relative(p, out)  # noqa: E731
    rows = table_rows(runs, out)
    (out / f"{name}.json").write_text(json.dumps(rows, indent=2) + "\n")
    curves = overlay_curves(runs, out, out / f"{name}-curves.png")

    doc = Document(title, title, [Paragraph(intro)] if intro else [])
    if rows:
        doc.blocks.append(Table(list(rows[0]), [list(r.values()) for r in rows]))
    else:
        doc.blocks.append(Paragraph("no genlab runs found"))
    doc.blocks += [Section(heading, [Code(text.rstrip())]) for heading, text in preamble]
    if curves is not None:
        doc.blocks.append(Section("Learning curves, overlaid", [Figure(rel(curves), "every run's curves (moving averages)", kind="curve")]))
    last = [(s, s.last_grids()[0]) for s in runs if s.grids]
    if last:
        doc.blocks.append(Section("Last samples side by side", [Figures([Figure(rel(p), f"{_name(s, out)}: {caption}") for s, (caption, p) in last])]))
    for s in runs:
        extra = extras.get(s.run.root, Extra())
        facts = (
            f"run folder {_name(s, out)}; {s.state}, {s.epochs_done} of {s.cfg.run.epochs} epochs ({s.steps:,} steps) on "
            f"{data_label(s.cfg)}, {s.cfg.image_size}x{s.cfg.image_size}, {s.variant}"
            + (f"; last {_losses(s)}" if s.last_losses else "") + (f"; best {s.best}" if s.best else "")
        )
        report = s.run.root / "report.html"
        pictures = extra.pictures or tuple(s.last_grids()) + tuple((p.name, p) for p in s.run.plot_files())
        doc.blocks.append(Section(extra.title or f"{_name(s, out)}: {s.title}", [
            Paragraph(facts + "."),
            *([Links([("its report", rel(report))])] if report.is_file() else []),
            *[Paragraph(line) for line in extra.lines],
            *([Paragraph(extra.score, css="scores")] if extra.score else []),
            Figures([Figure(rel(p), caption) for caption, p in pictures if p.is_file()]),
        ]))
    page = out / f"{name}.html"
    write_text(page, to_html(doc))
    write_text(out / f"{name}.md", to_markdown(doc))
    return page

