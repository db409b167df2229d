"""The Inception Score report (the assignment's ``inception_score.txt``) and its JSON twin.

One line per run, named by its model (GAN, LSGAN, WGAN, WGAN-GP for DCGAN runs;
CycleGAN, scored on its test set translated B->A; VAE), the run folder that produced it, the protocol, and a real-data row (the
same protocol on real images) as the ceiling to compare with.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from genlab.config import Config
from genlab.family import family_for
from genlab.errors import GenlabError
from genlab.files import check_output
from genlab.metrics.diversity import collapse_check
from genlab.scoring import (
    PRDC, PROTOCOLS, Evaluation, Protocol, attach_ceiling, collapse_warnings, compared_with_real, evaluate, flag_collapse, translates,
)
from genlab.metrics.feature_extractors import FeatureExtractor, make_extractor
from genlab.run_dir import RunDir

def model_label(cfg: Config) -> str:
    """``GAN (DCGAN)`` (the assignment's names: the loss first), ``VAE``, ``CycleGAN``."""
    family = family_for(cfg)
    name = family.variant_name(cfg)
    return f"{name} ({family.title})" if name else family.title


@dataclass(frozen=True)
class Scorer:
    """Scores of runs and image sources under one protocol, with one extractor for every row."""

    protocol: Protocol
    extractor: FeatureExtractor
    batch_size: int
    device: str

    def __call__(self, source: str) -> Evaluation:
        """The IS of ``source`` (its features kept for comparisons)."""
        return evaluate(source, self.protocol, metrics=("is",), batch_size=self.batch_size, device=self.device, extractor=self.extractor)

    def compare(self, e: Evaluation, run_dir: str, real: Evaluation, real_name: str, metrics: Sequence[str], *, ceiling: bool) -> None:
        """Add to a run's evaluation the collapse check and ``metrics`` against the ``real`` row, in the same
        features, and with ``ceiling`` the same numbers of real images the run never saw (``scoring.attach_ceiling``)."""
        flag_collapse(e, collapse_check(e.features.pool, real.features.pool))
        e.metrics.update(compared_with_real(e.features.pool, real.features.pool, metrics))
        if not metrics:
            return
        e.protocol.update(reference=real.source, reference_n=real.protocol["n"])
        if ceiling:
            p = dataclasses.replace(self.protocol, reference=real_name)
            attach_ceiling(e, run_dir, ("is", *metrics), p, real.features, self.extractor, batch_size=self.batch_size, cyclegan=translates(run_dir))


def inception_scorer(protocol: Protocol, *, batch_size: int, device: str) -> Scorer:
    """IS of a run or image source under one protocol, with one extractor for every row."""
    return Scorer(protocol, make_extractor(protocol.network, protocol.weights, device=device), batch_size, device)


def write_report(
    runs: list[str | Path],
    out: str | Path,
    protocol: Protocol = PROTOCOLS["paper"],
    *,
    real: str | None = None,
    batch_size: int = 100,
    device: str = "cpu",
    variety: Sequence[str] = (),
    ceiling: bool = False,
) -> tuple[Path, Path]:
    """Write ``out`` (text) and ``out`` with .json; returns both paths. ``variety``: any of precision, recall,
    density, coverage, each run's against the ``real`` images in the same features, added to its line; with
    ``ceiling``, each run's JSON row also has them for as many real images as it never trained on."""
    unknown = sorted(set(variety) - set(PRDC))
    if unknown:
        raise GenlabError(f"unknown metric(s) {unknown} for the report lines; choose from {list(PRDC)} (IS is always there)")
    if variety and real is None:
        raise GenlabError(f"{', '.join(variety)} compare each run with real images; give --real (a dataset name or an image folder)")
    if ceiling and not variety:
        raise GenlabError(f"the ceiling is real images' own {', '.join(PRDC)}; name some of them in --metrics (with --real)")
    score = inception_scorer(protocol, batch_size=batch_size, device=device)
    rows: list[tuple[str, str, Evaluation]] = []
    for run_dir in runs:
        run = RunDir.open(run_dir)
        rows.append((model_label(run.config()), str(run.root), score(str(run.root))))
    if real is not None:
        real_row = score(real)
        for _, run_dir, e in rows:  # the collapse check of every run against the real images, in the same features
            score.compare(e, run_dir, real_row, real, variety, ceiling=ceiling)
        rows.append((f"real images ({real})", real, real_row))

    width = max(len(label) for label, _, _ in rows)
    stamp = rows[0][2].protocol
    lines = [
        f"{label + ':':<{width + 1}} Inception Score : {e.metrics['is_mean']:.4f} ± {e.metrics['is_std']:.4f}   [{source}, N = {e.protocol['n']}"
        + (f", diversity {e.metrics['diversity']:.2f}" if "diversity" in e.metrics else "")
        + "".join(f", {name} {e.metrics[name]:.3f}" for name in variety if name in e.metrics)
        + "]"
        for label, source, e in rows
    ]
    lines += [f"warning: {w}" for _, _, e in rows for w in collapse_warnings(e.warnings)]
    lines += [
        "",
        f"protocol: network {stamp['network']} (weights sha256 {stamp['weights_sha256'][:16]}...), "
        f"resize {stamp['resize']}, {stamp['splits']} splits, "
        f"shuffle seed {stamp['shuffle_seed']}, {protocol.checkpoint} checkpoint"
        + ("; diversity: mean pairwise feature distance relative to the real images' (about 1 for real data; "
           "below 0.5, or over 20% near-duplicates, flags a collapse)" if real is not None else "")
        + (f"; {', '.join(variety)} against the real images ({real}), neighbourhoods of 3 (precision, recall) and 5 "
           "(density, coverage)" if variety else ""),
    ]
    out = check_output(out)
    check_output(out.with_suffix(".json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    twin = out.with_suffix(".json")
    twin.write_text(
        # "run": the run folder (or real-data source) of the line; "source": what was scored, as the evaluation says
        json.dumps([{"model": label, "run": source, **e.to_dict()} for label, source, e in rows], indent=2) + "\n"
    )
    return out, twin


ASSIGNMENT_ORDER = ("GAN (DCGAN)", "LSGAN (DCGAN)", "WGAN (DCGAN)", "WGAN-GP (DCGAN)", "CycleGAN")


def write_assignment_handin(
    runs: list[str | Path],
    out: str | Path,
    protocol: Protocol = PROTOCOLS["assignment"],
    *,
    batch_size: int = 100,
    device: str = "cpu",
) -> Path:
    """The assignment's hand-in layout under ``out``; returns ``out/inception_score.txt``.

        results/<loss>/images/fake_image-EEE.png     for each DCGAN run (gan, lsgan, wgan, wgan-gp)
        results/cyclegan/images/fakeA2B-EEE.png, fakeB2A-EEE.png
        inception_score.txt                          "GAN (DCGAN): Inception Score : 4.5063", one line per model,
                                                     then the run folder of each line and the protocol
    """
    import shutil

    out = Path(out)
    score = inception_scorer(protocol, batch_size=batch_size, device=device)
    scored: dict[str, tuple[str, Evaluation]] = {}
    for run_dir in runs:
        run = RunDir.open(run_dir)
        cfg = run.config()
        label = model_label(cfg)
        if label not in ASSIGNMENT_ORDER:
            raise GenlabError(f"{run.root} is a {label} run; the hand-in takes DCGAN and CycleGAN runs")
        if label in scored:
            raise GenlabError(f"two runs for {label} ({scored[label][0]} and {run.root}); give one run per model")
        kind = "cyclegan" if label == "CycleGAN" else cfg.loss
        images = out / "results" / kind / "images"
        images.mkdir(parents=True, exist_ok=True)
        kinds = ("fakeA2B", "fakeB2A") if kind == "cyclegan" else ("fake_image",)
        for grid_kind, grids in run.grids().items():
            for _, grid in grids if grid_kind in kinds else ():
                shutil.copy2(grid, images / grid.name)
        scored[label] = (str(run.root), score(str(run.root)))
    ordered = [label for label in ASSIGNMENT_ORDER if label in scored]
    lines = [f"{label}: Inception Score : {scored[label][1].metrics['is_mean']:.4f}" for label in ordered]
    lines += ["", "runs:"] + [f"  {label}: {scored[label][0]}" for label in ordered]
    stamp = scored[ordered[0]][1].protocol
    lines += [
        "",
        f"protocol: network {stamp['network']} (weights sha256 {stamp['weights_sha256'][:16]}...), resize {stamp['resize']}, "
        f"{stamp['splits']} split(s); DCGAN: {protocol.n:,} generated images; CycleGAN: its test set translated B->A",
    ]
    text = out / "inception_score.txt"
    text.write_text("\n".join(lines) + "\n")
    return text
