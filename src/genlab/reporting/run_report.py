"""A run's own report: ``RUN_DIR/report.html`` and ``RUN_DIR/report.md``, the page a student hands in.

It assembles what the run folder holds: the resolved config, the preprocessing in words, the
architecture tables, the learning curves, the sample grids of every epoch (a slider, and a
first / middle / last strip), translations both ways (CycleGAN), reconstructions, prior samples
and the held-out negative ELBO (VAE), the scores (training-time IS/KID with the best epoch marked,
and every ``evaluate`` result found in the folder with its protocol) and a diagnostics section in
plain words. The training loop rewrites it after every epoch; ``genlab report RUN_DIR --html``
writes it on demand.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from genlab.config import Config, CycleGANConfig, VAEConfig, data_label, family_of, field_help, flatten, learning_rates
from genlab.data.builtin import DRAWN_PAIRS, DRAWN_SETS
from genlab.errors import GenlabWarning
from genlab.files import write_text
from genlab.family import Family, family_for, resolve_ref
from genlab.reporting import html as h
from genlab.reporting.architecture import ArchitectureTable, load_architecture
from genlab.reporting.document import Code, Document, Figure, Figures, Items, Links, Paragraph, Section, Slider, Table, to_html, to_markdown
from genlab.run_dir import ANALYSES, History, RunDir
from genlab.data.run_data import training_reference
from genlab.reporting.diagnostics import Finding, findings, per_epoch_mean

STATES = ("running", "finished", "stopped early", "diverged", "not started")
RELOAD_SECONDS = 30  # a running run's page reloads itself this often


def evaluations(run: RunDir) -> list[tuple[str, dict[str, Any]]]:
    """(file name, result) of every ``evaluate`` result saved in the run folder."""
    results = []
    for path in sorted(run.root.glob("evaluation*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = None
        metrics = data.get("metrics") if isinstance(data, dict) else None
        if isinstance(metrics, dict) and all(_is_number(v) for v in metrics.values()):
            results.append((path.name, data))
        else:
            warnings.warn(f"skipped {path}: not an evaluate result with numeric metrics", GenlabWarning, stacklevel=2)
    return results


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class RunSummary:
    """What a run folder says about its run, read without loading a model."""

    run: RunDir
    cfg: Config
    rows: list[dict[str, float]]
    state: str
    epochs_done: int
    diverged: dict[str, Any] | None

    @property
    def record(self) -> Family:
        return family_for(self.cfg)

    @property
    def family(self) -> str:
        return self.record.name

    @property
    def title(self) -> str:
        return self.record.run_title(self.cfg)

    @property
    def variant(self) -> str:
        """What tells the run apart in its family, and the preset, e.g. ``wgan-gp / assignment``."""
        variant = self.record.variant(self.cfg)
        return f"{variant} / {self.cfg.run.preset}" if variant else self.cfg.run.preset

    def column(self, name: str) -> list[tuple[float, float, float]]:
        """(step, epoch, value) where the column has a finite value (each column read once: the page is rewritten
        after every epoch, from histories of 100,000s of rows)."""
        if name not in self._cache:
            self._cache[name] = [
                (row["step"], row.get("epoch", 0.0), row[name]) for row in self.rows if name in row and math.isfinite(row[name])
            ] if name in self._names else []
        return self._cache[name]

    @cached_property
    def _cache(self) -> dict[str, list[tuple[float, float, float]]]:
        return {}

    @cached_property
    def _names(self) -> set[str]:
        """The columns the history has."""
        names: set[str] = set()
        for row in self.rows:
            names.update(row)
        return names

    @cached_property
    def last_losses(self) -> dict[str, float]:
        for row in reversed(self.rows):
            values = {k: row[k] for k in self.record.key_columns if k in row}
            if values:
                return values
        return {}

    @cached_property
    def steps(self) -> int:
        return int(self.rows[-1]["step"]) if self.rows else 0  # rows are in step order

    @cached_property
    def best_epoch(self) -> int | None:
        """The epoch of the lowest training-time KID (what best.pt keeps)."""
        kid = self.column("kid_mean")
        return int(min(kid, key=lambda r: r[2])[1]) if kid else None

    @cached_property
    def best(self) -> str:
        """The best score in a few words ("" when the run has none)."""
        if self.best_epoch is not None:
            kid = min(self.column("kid_mean"), key=lambda r: r[2])
            is_mean = [v for _, e, v in self.column("is_mean") if e == kid[1]]
            return f"KID {kid[2]:.4g}" + (f" (IS {is_mean[0]:.2f})" if is_mean else "") + f" at epoch {int(kid[1])}"
        val = self.column("val_nelbo")
        if val:
            step, epoch, value = min(val, key=lambda r: r[2])
            return f"held-out -ELBO {value:.1f} at epoch {int(epoch)}"
        for _, result in reversed(self.evaluations):
            if "is_mean" in result["metrics"]:
                return f"IS {result['metrics']['is_mean']:.2f} ({result['protocol'].get('network', '?')} network)"
        return ""

    @cached_property
    def evaluations(self) -> list[tuple[str, dict[str, Any]]]:
        return evaluations(self.run)

    @cached_property
    def variety(self) -> str:
        """Precision, recall and coverage as "P 0.61 R 0.42 C 0.55": from the newest evaluate result that has them,
        else the last evaluation during training; "" when the run has none."""
        keys = ("precision", "recall", "coverage")
        for _, result in reversed(self.evaluations):
            found = {k: result["metrics"][k] for k in keys if k in result["metrics"]}
            if found:
                break
        else:
            found = {k: column[-1][2] for k in keys if (column := self.column(k))}
        return " ".join(f"{k[0].upper()} {v:.2f}" for k, v in found.items())

    @cached_property
    def grids(self) -> dict[str, list[tuple[int, Path]]]:
        return self.run.grids(self.record.grid_kinds)

    def last_grids(self) -> list[tuple[str, Path]]:
        """(caption, file) of the last grid of each kind."""
        return [(f"{self.record.grid_kinds.get(kind, kind)}, epoch {grids[-1][0]}", grids[-1][1]) for kind, grids in self.grids.items()]


def summarize(run_dir: str | Path | RunDir, *, rows: list[dict[str, float]] | None = None, state: str | None = None) -> RunSummary:
    """The summary of a run folder (``rows``: its history when the caller holds it; ``state``: when the caller knows it)."""
    run = run_dir if isinstance(run_dir, RunDir) else RunDir.open(run_dir)
    cfg = run.config()
    if rows is None:
        rows = History.load(run.history_path, up_to_step=math.inf).rows
    diverged = None
    if run.diverged_path.is_file():
        try:
            diverged = json.loads(run.diverged_path.read_text())
        except (OSError, ValueError):
            diverged = None
        if not isinstance(diverged, dict) or not isinstance(diverged.get("epoch", 0), int):
            diverged = {"message": "training stopped on a NaN or infinite number"}
    epochs = [int(row["epoch"]) for row in rows if "epoch" in row]
    done = max(epochs, default=0)
    if diverged is not None:
        done = min(done, int(diverged.get("epoch", done + 1)) - 1)
    if state is None:
        state = _state(run, cfg, done, diverged)
    return RunSummary(run, cfg, rows, state, done, diverged)


def _state(run: RunDir, cfg: Config, done: int, diverged: dict | None) -> str:
    if run.trainer_pid() is not None:
        return "running"
    if diverged is not None:
        return "diverged"
    if done >= cfg.run.epochs:
        return "finished"
    return "stopped early" if done else "not started"


# ---- preprocessing, schedule and diagnostics in words ----


def _source_in_words(cfg: Config) -> str:
    data, size = cfg.input.data, cfg.image_size
    if data_label(cfg) != data:  # a CycleGAN's two domain folders
        return "two image folders"
    if data == "builtin":
        return f"the built-in handwritten digits (8x8 scans), resized once to {size}x{size} (bilinear, antialiased)"
    if data == "cifar10":
        return "the CIFAR-10 training images (32x32)" + ("" if size == 32 else f", resized to {size}x{size} (bilinear, antialiased)")
    if data in DRAWN_SETS or data in DRAWN_PAIRS:
        return f"the built-in drawn set {data!r}, drawn at {size}x{size}"
    return f"the images of {data}"


def _limit(cfg: Config, each: str = "") -> list[str]:
    return [f"Only the first {cfg.input.limit:,} images{each} are used."] if cfg.input.limit else []


def image_preprocessing(cfg: Config) -> list[str]:
    """A family that trains on single images: the source, the crop and resize of a folder's images, the limit."""
    sentences = [f"Data: {_source_in_words(cfg)}."]
    if cfg.input.data not in ("builtin", "cifar10", *DRAWN_SETS):
        crop = f"a centre square of {cfg.crop_size} pixels" if getattr(cfg, "crop_size", 0) else (
            f"the centre square of {getattr(cfg, 'crop_fraction', 1.0):g} of the shorter side"
        )
        sentences.append(f"Each image: {crop}, resized to {cfg.image_size}x{cfg.image_size} (bicubic), converted to RGB.")
    return sentences + _limit(cfg)


def generic_preprocessing(cfg: Config) -> list[str]:
    return image_preprocessing(cfg) + [
        "Pixels are scaled from [0, 255] to [-1, 1], the range of the generator's Tanh output. No augmentation."
    ]


def vae_preprocessing(cfg: VAEConfig) -> list[str]:
    return image_preprocessing(cfg) + [
        f"{cfg.holdout:.0%} of the images are held out (a seeded split) for the held-out ELBO and the reconstructions.",
        f"Pixels in [0, 1] are the targets of the {cfg.likelihood} likelihood"
        + (f" (sigma {cfg.sigma:g})" if cfg.likelihood == "gaussian" else "")
        + "; the encoder sees them scaled to [-1, 1].",
    ]


def cyclegan_preprocessing(cfg: CycleGANConfig) -> list[str]:
    domains = f" (A: {cfg.domain_a}, B: {cfg.domain_b})" if cfg.domain_a or cfg.domain_b else ""
    train = {
        "resize_crop": f"each training image is resized to {cfg.load_size}x{cfg.load_size} and a random {cfg.image_size}x{cfg.image_size} crop is taken",
        "resize": f"each training image is resized to {cfg.image_size}x{cfg.image_size}",
        "none": f"training images are used as they are (all {cfg.image_size}x{cfg.image_size})",
    }[cfg.preprocess]
    flip = ", then flipped left-right with probability 1/2" if cfg.flip and cfg.preprocess != "none" else " (no flips)"
    test = "as they are" if cfg.preprocess == "none" else f"resized to {cfg.image_size}x{cfg.image_size}, no crop or flip"
    return [
        f"Data: {_source_in_words(cfg)}{domains}, two unpaired domains: each A image meets a B image drawn independently.",
        *_limit(cfg, " of each domain"),
        f"Training: {train}{flip}.",
        f"Test images (translations, scores): {test}.",
        "Pixels are scaled from [0, 255] to [-1, 1], the range of the generators' Tanh output.",
    ]


def preprocessing(cfg: Config) -> list[str]:
    """What happens to an image between the disk and the network, one sentence each (the family's own words)."""
    return resolve_ref(family_for(cfg).preprocessing or generic_preprocessing)(cfg)


def _rates(cfg: Config) -> str:
    """``Learning rate 0.0002``, or the two of a two-time-scale run."""
    lr_g, lr_d = learning_rates(cfg)
    if lr_g == lr_d:
        return f"Learning rate {lr_g:g}"
    return f"Learning rates {lr_g:g} for the generator and {lr_d:g} for the discriminator (two time-scales)"


def constant_schedule(cfg: Config) -> str:
    optimiser = getattr(cfg, "optimizer", "adam")
    betas = f", betas {cfg.beta1:g}, {cfg.beta2:g}" if optimiser == "adam" and hasattr(cfg, "beta1") else ""
    return f"{_rates(cfg)}, constant ({optimiser}{betas})."


def cyclegan_schedule(cfg: CycleGANConfig) -> str:
    constant = max(cfg.run.epochs - cfg.decay_epochs, 0)
    if not cfg.decay_epochs:
        return f"{_rates(cfg)}, constant for all {cfg.run.epochs} epochs."
    return (
        f"{_rates(cfg)} for the first {constant} epochs, then decayed linearly to 0 over the last "
        f"{cfg.decay_epochs} (Adam, betas {cfg.beta1:g}, {cfg.beta2:g})."
    )


def schedule(cfg: Config) -> str:
    """The learning-rate schedule in words."""
    return resolve_ref(family_for(cfg).schedule or constant_schedule)(cfg)


# ---- the page ----


def _strip(grids: list[tuple[int, Path]]) -> list[tuple[int, Path]]:
    """First, middle and last (fewer when there are fewer)."""
    picks = sorted({0, (len(grids) - 1) // 2, len(grids) - 1})
    return [grids[i] for i in picks]


def _fmt(value: float) -> str:
    return f"{value:.4g}"


# the columns of the scores during training: history column(s), header; shown when the run has them
TRAINING_SCORES = (
    (("is_mean", "is_std"), "Inception Score"), (("kid_mean", "kid_std"), "KID"), (("fid",), "FID"),
    (("precision",), "precision"), (("recall",), "recall"), (("density",), "density"), (("coverage",), "coverage"),
)


def _score_cell(values: dict[str, float], columns: tuple[str, ...]) -> str:
    if columns[0] not in values:
        return ""
    if columns[0] == "is_mean":
        return f"{values['is_mean']:.3f} ± {values.get('is_std', 0.0):.3f}"
    if columns[0] == "kid_mean":
        return f"{values['kid_mean']:.4g} ± {values.get('kid_std', 0.0):.2g}"
    return f"{values[columns[0]]:.4g}" if columns[0] == "fid" else f"{values[columns[0]]:.3f}"


def _score_rows(summary: RunSummary) -> tuple[list[str], list[list[str]], int | None]:
    """(headers, rows, the best row) of the scores during training: a column per score the run took."""
    by_epoch: dict[int, dict[str, float]] = {}
    for columns, _ in TRAINING_SCORES:
        for name in columns:
            for _, epoch, value in summary.column(name):
                by_epoch.setdefault(int(epoch), {})[name] = value
    shown = [(columns, title) for columns, title in TRAINING_SCORES if any(columns[0] in s for s in by_epoch.values())]
    rows, marked = [], None
    for i, (epoch, s) in enumerate(sorted(by_epoch.items())):
        best = epoch == summary.best_epoch
        marked = i if best else marked
        rows.append([str(epoch), *[_score_cell(s, columns) for columns, _ in shown], "best (best.pt)" if best else ""])
    return ["epoch", *[title for _, title in shown], ""], rows, marked


def _elbo_rows(summary: RunSummary) -> list[list[str]]:
    by_epoch: dict[int, dict[str, float]] = {}
    for name in ("val_nelbo", "val_recon", "val_kl"):
        for _, epoch, value in summary.column(name):
            by_epoch.setdefault(int(epoch), {})[name] = value
    train = per_epoch_mean(summary, "nelbo")
    return [
        [str(e), _fmt(train[e]) if e in train else "", _fmt(s.get("val_nelbo", math.nan)), _fmt(s.get("val_recon", math.nan)), _fmt(s.get("val_kl", math.nan))]
        for e, s in sorted(by_epoch.items())
    ]


def _evaluation_rows(summary: RunSummary) -> list[list[str]]:
    """A row per evaluate result: each score with the real-against-real ceiling beside it when it was measured."""
    rows = []
    for name, result in summary.evaluations:
        m, p = result["metrics"], result.get("protocol", {})
        real = (result.get("ceiling") or {}).get("metrics", {})
        beside = lambda key, text: text + (f" (real {real[key]:{'.3f' if key != 'kid_mean' else '.4g'}})" if key in real else "")  # noqa: E731
        scores = []
        if "is_mean" in m:
            scores.append(beside("is_mean", f"IS {m['is_mean']:.3f} ± {m.get('is_std', 0.0):.3f}"))
        if "fid" in m:
            scores.append(beside("fid", f"FID {m['fid']:.3f}"))
        if "kid_mean" in m:
            scores.append(beside("kid_mean", f"KID {m['kid_mean']:.4g} ± {m.get('kid_std', 0.0):.2g}"))
        scores += [beside(key, f"{key} {m[key]:.3f}") for key in ("precision", "recall", "density", "coverage") if key in m]
        protocol = ", ".join(f"{k} {p[k]}" for k in ("network", "n", "splits", "checkpoint", "reference") if k in p)
        if real:
            protocol += f"; real: {result['ceiling']['source']} ({result['ceiling']['n']:,} images)"
        rows.append([name, "; ".join(scores), protocol])
    return rows


def _analysis_figures(run: RunDir) -> list[Figure]:
    """The pictures of genlab interpolate and genlab neighbours saved in the run folder, with what they show."""
    rel = lambda p: h.relative(p, run.root)  # noqa: E731
    figures = []
    for name, caption in ANALYSES.items():
        for path in (run.analysis(name), run.analysis(name).with_suffix(".gif")):
            if path.is_file():
                figures.append(Figure(rel(path), caption + _neighbours_verdict(path)))
    return figures


def _neighbours_verdict(path: Path) -> str:
    numbers = path.with_suffix(".json")
    if path.stem != "neighbours" or not numbers.is_file():
        return ""
    try:
        saved = json.loads(numbers.read_text())
        return (
            f"; in {saved['space']}, median nearest-training distance {saved['sample_nearest']['median']:.3g} for samples, "
            f"{saved['held_out_nearest']['median']:.3g} for unseen real images (Mann-Whitney z {saved['mann_whitney_z']:+.1f}: "
            + ("the model may be copying its data)" if saved["copying"] else "no sign of copying)")
        )
    except (ValueError, KeyError, TypeError):
        return f" ({numbers.name} is damaged)"


def _reference(cfg: Config) -> str:
    """The real images the training-time KID compares with."""
    if cfg.scores.eval_reference != "auto":
        return cfg.scores.eval_reference
    return "the real test images of A" if family_for(cfg).pairs else training_reference(cfg)


def _config_rows(cfg: Config) -> list[list[str]]:
    helps = {"family": "the model family", **field_help(type(cfg))}
    return [[name, str(value), helps[name]] for name, value in {"family": family_of(cfg), **flatten(cfg)}.items()]


def run_document(summary: RunSummary) -> Document:
    """The run's report page as data: the run in one line, diagnostics, preprocessing, curves, pictures by epoch,
    scores, architecture and config."""
    run, cfg = summary.run, summary.cfg
    rel = lambda p: h.relative(p, run.root)  # noqa: E731
    head = (
        f"{summary.title} on {data_label(cfg)}, {cfg.image_size}x{cfg.image_size}, preset {cfg.run.preset}: "
        f"{summary.state}, {summary.epochs_done} of {cfg.run.epochs} epochs, {summary.steps:,} steps"
    )
    losses = ", ".join(f"{k} {_fmt(v)}" for k, v in summary.last_losses.items())
    running = summary.state == "running"
    doc = Document(f"{summary.title}: {run.root.name}", summary.title, refresh=RELOAD_SECONDS if running else None)
    doc.blocks += [
        Paragraph(head + "." + (f" Last: {losses}." if losses else "") + (f" Best: {summary.best}." if summary.best else "")),
        Links([("history.csv", "./history.csv"), ("config.json", "./config.json")], before="Numbers and settings: "),
        Paragraph("Run folder:", code=str(run.root)),
    ]
    written = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    if running:
        every = f"at most every {cfg.run.curves_every:g} s" if cfg.run.curves_every else "after every epoch"
        doc.blocks.append(Paragraph(
            f"Written after epoch {summary.epochs_done}, {written}. While the run trains this page and its curves are "
            f"rewritten {every} (and after the last epoch), and the page reloads every {RELOAD_SECONDS} s."
        ))
    else:
        doc.blocks.append(Paragraph(f"Written after epoch {summary.epochs_done}, {written}."))
    found = [*findings(summary), Finding("ok", schedule(cfg))]
    doc.blocks.append(Section("Diagnostics", [Items([(f.level, f.text) for f in found])]))
    doc.blocks.append(Section("Preprocessing", [Paragraph(sentence) for sentence in preprocessing(cfg)]))
    plots = run.plot_files()
    if plots:
        note = f"; {summary.record.curves_note}" if summary.record.curves_note else ""
        doc.blocks.append(Section("Learning curves", [
            Paragraph(
                f"Raw values faint, moving average bold (window {cfg.run.smooth_window} steps){note}."
                + (f" While the run trains they are redrawn at most every {cfg.run.curves_every:g} s, and always after its last epoch."
                   if cfg.run.curves_every else "")
            ),
            *[Figure(rel(p), p.stem, kind="curve") for p in plots],
        ]))
    if summary.grids:
        pictures = Section("Pictures by epoch")
        for kind, grids in summary.grids.items():
            pictures.blocks.append(Section(summary.record.grid_kinds.get(kind, kind), [
                Figures([Figure(rel(p), f"epoch {e}") for e, p in _strip(grids)]),
                Slider(kind, [(e, rel(p)) for e, p in grids], label=f"every {kind} grid"),
            ], level=3))
        doc.blocks.append(pictures)
    analyses = _analysis_figures(run)
    if analyses:
        doc.blocks.append(Section("Latent walks and neighbours", [Figures([f]) for f in analyses]))
    headers, scores, best_row = _score_rows(summary)
    elbo, evaluated = _elbo_rows(summary), _evaluation_rows(summary)
    if scores or elbo or evaluated:
        section = Section("Scores")
        if scores:
            headers = [f"KID vs {_reference(cfg)}" if title == "KID" else title for title in headers]
            section.blocks.append(Table(
                headers, scores, numeric=tuple(range(1, len(headers) - 1)),
                marked=[best_row] if best_row is not None else [],
                caption=f"During training ({cfg.scores.eval_network} network, {cfg.scores.eval_n:,} images every {cfg.scores.eval_every} epochs):",
            ))
        if elbo:
            section.blocks.append(Table(
                ["epoch", "train -ELBO (mean)", "held-out -ELBO", "held-out reconstruction", "held-out KL"], elbo, numeric=(1, 2, 3, 4),
                caption="Negative ELBO in nats per image (lower is better):",
            ))
        if evaluated:
            section.blocks.append(Table(["file", "scores", "protocol"], evaluated, caption="Results of genlab evaluate in this folder:"))
        doc.blocks.append(section)
    tables = load_architecture(run.root)
    if tables:
        doc.blocks.append(Section("Architecture", [
            Section(t.title, [Table(ArchitectureTable.HEADERS, t.cells(), numeric=(4,))], level=3) for t in tables
        ]))
    elif (run.root / "architecture.md").is_file():  # a run saved before the tables were kept as data
        doc.blocks.append(Section("Architecture", [Code((run.root / "architecture.md").read_text())]))
    doc.blocks.append(Section("Config", [Table(["setting", "value", "meaning"], _config_rows(cfg))]))
    return doc


def write_run_report(run_dir: str | Path | RunDir, *, rows: list[dict[str, float]] | None = None, state: str | None = None) -> Path:
    """Write ``report.html`` and ``report.md`` into the run folder (one document, rendered twice); returns the page."""
    summary = summarize(run_dir, rows=rows, state=state)
    doc = run_document(summary)
    page = summary.run.root / "report.html"
    write_text(page, to_html(doc))
    write_text(summary.run.root / "report.md", to_markdown(doc))
    return page
