"""Every verdict genlab gives about a run, and every threshold behind one, in one place.

The numbers come from training (history.csv) and scoring; what they mean is decided here, once: a collapsed
sample batch, a discriminator that wins, an Inception Score falling several evaluations in a row. The trainers'
warnings, the scores' warnings and the report page's diagnostics all ask these functions.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from genlab.losses.adversarial import ADVERSARIAL_LOSSES
from genlab.metrics.diversity import Collapse

# Collapse: samples whose mean pairwise distance is below half the real images', or with more than a fifth of them
# near-copies of another sample, look collapsed (flat, or one image repeated).
MIN_DIVERSITY = 0.5
MAX_DUPLICATES = 0.2
COLLAPSE_WARNING = "the samples look collapsed"
# GAN/LSGAN: a discriminator loss whose mean over an epoch is below this leaves the generator almost no gradient
DISCRIMINATOR_WINS = 1e-2
FALLS_TO_WARN = 3  # evaluations in a row with a lower Inception Score: a sign of mode collapse
# Recall (or coverage) below half the real images' own (their real-against-real ceiling), or below LOW_VARIETY_ALONE
# when no ceiling was measured: the samples miss much of the data's variety (a warning for recall; coverage alone
# also falls with unrealistic samples)
LOW_VARIETY_SHARE = 0.5
LOW_VARIETY_ALONE = 0.25


def collapsed(check: Collapse) -> bool:
    return check.diversity < MIN_DIVERSITY or check.duplicates > MAX_DUPLICATES


def describe_collapse(check: Collapse) -> str:
    return (
        f"sample diversity {check.diversity:.3f} of real images' (collapse below {MIN_DIVERSITY}), "
        f"{check.duplicates:.0%} near-duplicates (collapse above {MAX_DUPLICATES:.0%}), {check.n} samples"
    )


def discriminator_wins(mean_d_loss: float) -> bool:
    return mean_d_loss < DISCRIMINATOR_WINS


def fell_in_a_row(scores: Sequence[float]) -> bool:
    """Did the last FALLS_TO_WARN scores each fall below the one before?"""
    last = scores[-FALLS_TO_WARN - 1 :]
    return len(last) == FALLS_TO_WARN + 1 and all(a > b for a, b in zip(last, last[1:]))


class History(Protocol):
    """What the run-level verdicts read: a run's config, state and history columns (a report's RunSummary)."""

    cfg: Any
    state: str
    epochs_done: int
    steps: int
    run: Any
    diverged: dict[str, Any] | None
    best_epoch: int | None
    evaluations: list[tuple[str, dict[str, Any]]]  # genlab evaluate's results in the run folder, oldest first

    def column(self, name: str) -> list[tuple[float, float, float]]: ...


@dataclass(frozen=True)
class Finding:
    level: str  # ok | warning | problem
    text: str


def per_epoch_mean(summary: History, column: str) -> dict[int, float]:
    means = {}
    for epoch, rows in itertools.groupby(summary.column(column), key=operator.itemgetter(1)):  # the rows are in epoch order
        values = [value for _, _, value in rows]
        means[int(epoch)] = sum(values) / len(values)
    return means


def findings(summary: History) -> list[Finding]:
    """What the numbers say, in plain words: divergence, a winning discriminator, collapse, falling scores, schedule."""
    cfg, found = summary.cfg, []
    if summary.diverged is not None:
        found.append(Finding("problem", f"Training diverged: {summary.diverged.get('message', 'a NaN or infinite number')}"))
    state = {
        "running": f"Training is running: {summary.epochs_done} of {cfg.run.epochs} epochs done.",
        "finished": f"Training finished all {cfg.run.epochs} epochs ({summary.steps:,} steps).",
        "stopped early": f"Training stopped after {summary.epochs_done} of {cfg.run.epochs} epochs; continue it with "
        f"genlab train --resume {summary.run.root}.",
        "not started": "No epoch has finished yet.",
    }.get(summary.state)
    if state:
        found.append(Finding("ok" if summary.state in ("running", "finished") else "warning", state))
    loss = ADVERSARIAL_LOSSES.get(getattr(cfg, "loss", None))  # a DCGAN's adversarial loss
    if loss is not None and not loss.wasserstein:
        won = [e for e, mean in sorted(per_epoch_mean(summary, "d_loss").items()) if discriminator_wins(mean)]
        if won:
            found.append(Finding(
                "warning",
                f"The discriminator wins: its loss sat near 0 (mean below {DISCRIMINATOR_WINS:g}) in epoch"
                f"{'s' if len(won) > 1 else ''} {_epochs(won)}, so the generator got almost no gradient there.",
            ))
        elif summary.column("d_loss"):
            found.append(Finding("ok", "The discriminator never won outright: its loss stayed away from 0 in every epoch."))
    if loss is not None and loss.wasserstein:
        real, fake = per_epoch_mean(summary, "d_real"), per_epoch_mean(summary, "d_fake")
        distance = {e: real[e] - fake[e] for e in real if e in fake}  # E[D(x)] - E[D(G(z))], the penalty left out
        if distance:
            first, last = min(distance), max(distance)
            found.append(Finding(
                "ok",
                f"The critic's estimate of the Wasserstein distance, E[D(x)] - E[D(G(z))], was {distance[last]:.3g} in epoch {last}"
                + (f" against {distance[first]:.3g} in epoch {first}" if last != first else "")
                + "; it falls as the samples approach the data (its scale is the critic's own).",
            ))
    found += _collapse_findings(summary)
    found += _variety_findings(summary)
    scores = [v for _, _, v in summary.column("is_mean")]
    if any(fell_in_a_row(scores[: i + 1]) for i in range(len(scores))):
        found.append(Finding(
            "warning", f"The Inception Score fell for {FALLS_TO_WARN} evaluations in a row: a sign of mode collapse; best.pt keeps the best epoch."
        ))
    if summary.best_epoch is not None:
        found.append(Finding("ok", f"The lowest KID during training came at epoch {summary.best_epoch} (checkpoints/best.pt)."))
    return found


def _collapse_checks(summary: History) -> tuple[dict[int, float], dict[int, float]]:
    """The per-epoch collapse check's (diversity, duplicates) by epoch."""
    by_epoch = lambda column: {int(e): v for _, e, v in summary.column(column)}  # noqa: E731
    return by_epoch("diversity"), by_epoch("duplicates")


def _collapse_findings(summary: History) -> list[Finding]:
    diversity, duplicates = _collapse_checks(summary)
    if not diversity:
        return []
    flat = [e for e in sorted(diversity) if collapsed(Collapse(diversity[e], duplicates.get(e, 0.0), n=0))]
    last = max(diversity)
    numbers = f"diversity {diversity[last]:.2f} of the real images' and {duplicates.get(last, 0.0):.0%} near-duplicates in epoch {last}"
    if not flat:
        return [Finding("ok", f"No sign of mode collapse: the samples stayed varied ({numbers}).")]
    if last in flat:
        return [Finding(
            "problem",
            f"The samples look collapsed (flat, or one image repeated) in epoch{'s' if len(flat) > 1 else ''} {_epochs(flat)}: "
            f"{numbers} (collapse below {MIN_DIVERSITY} or above {MAX_DUPLICATES:.0%}). Look at the grids; try more steps, "
            "another loss or another preset.",
        )]
    if flat == list(range(min(diversity), min(diversity) + len(flat))) and flat[0] == min(diversity):
        return [Finding(  # every model starts out flat
            "ok",
            f"The samples were flat at the start (epoch{'s' if len(flat) > 1 else ''} {_epochs(flat)}), as every model's "
            f"are, then became varied and stayed so: {numbers}.",
        )]
    return [Finding(
        "warning",
        f"The samples looked collapsed in epoch{'s' if len(flat) > 1 else ''} {_epochs(flat)} and recovered: {numbers}.",
    )]


def low_variety(value: float, ceiling: float | None) -> bool:
    return value < (LOW_VARIETY_SHARE * ceiling if ceiling is not None else LOW_VARIETY_ALONE)


def _latest_variety(summary: History) -> tuple[dict[str, float], dict[str, float], str] | None:
    """(precision/recall/coverage, the real images' own, where they come from): the newest evaluate result that has
    recall or coverage, else the last evaluation during training."""
    for name, result in reversed(summary.evaluations):
        metrics = result.get("metrics", {})
        if any(k in metrics for k in ("recall", "coverage")):
            found = {k: v for k, v in metrics.items() if k in ("precision", "recall", "coverage")}
            ceiling = (result.get("ceiling") or {}).get("metrics", {})
            return found, {k: v for k, v in ceiling.items() if k in found}, f"in {name}"
    found = {k: values[-1] for k in ("precision", "recall", "coverage") if (values := [v for _, _, v in summary.column(k)])}
    return (found, {}, "at the last evaluation during training") if "recall" in found or "coverage" in found else None


def _variety_findings(summary: History) -> list[Finding]:
    """Recall and coverage (do the samples reach every part of the data?) beside the collapse check."""
    latest = _latest_variety(summary)
    if latest is None:
        return []
    values, ceiling, where = latest
    precision, real_precision = values.pop("precision", None), ceiling.pop("precision", None)
    numbers = " and ".join(f"{k} {v:.2f}" for k, v in values.items()) + f" {where}"
    if ceiling:
        numbers += " (real images: " + ", ".join(f"{ceiling[k]:.2f}" for k in values if k in ceiling) + ")"
    low = [k for k, v in values.items() if low_variety(v, ceiling.get(k))]
    # coverage also falls when samples are merely unrealistic (outside every real neighbourhood), so alone it is
    # reported, not warned about; recall (the real images the samples' neighbourhoods reach) is the variety signal
    low_recall = "recall" in low
    diversity, duplicates = _collapse_checks(summary)
    last = max(diversity) if diversity else None
    flagged = last is not None and collapsed(Collapse(diversity[last], duplicates.get(last, 0.0), n=0))
    if flagged and low:
        return [Finding("warning", f"{numbers[0].upper()}{numbers[1:]} agree with the collapse check: the samples cover little of the real images' variety.")]
    if flagged:
        return [Finding(
            "warning",
            f"The collapse check and {numbers} disagree: the check measures the spread of 64 samples in pixels, "
            "recall and coverage the share of real images the samples reach in the network's features; look at the grids.",
        )]
    if low_recall and precision is not None and low_variety(precision, real_precision):
        return [Finding(
            "warning",
            f"{numbers[0].upper()}{numbers[1:]}, and precision {precision:.2f}"
            + (f" (real images: {real_precision:.2f})" if real_precision is not None else "")
            + ": most samples lie outside every real image's neighbourhood in the network's features, so they look "
            "unlike the real images (blurred or off the data) and reach few of them; look at the grids.",
        )]
    if low_recall:
        return [Finding(
            "warning",
            f"{numbers[0].upper()}{numbers[1:]}: recall below "
            + ("half the real images' own" if "recall" in ceiling else f"{LOW_VARIETY_ALONE}")
            + ", so the samples miss much of the data's variety although the collapse check passed.",
        )]
    if low:
        return [Finding(
            "ok",
            f"{numbers[0].upper()}{numbers[1:]}: recall says the samples reach much of the real images' variety; coverage "
            "is low, as it is when samples are less realistic than the data (it counts real neighbourhoods that hold a sample).",
        )]
    return [Finding("ok", f"{numbers[0].upper()}{numbers[1:]}: the samples reach much of the real images' variety.")]


def _epochs(epochs: list[int]) -> str:
    """1-4, 7, 9-10"""
    spans: list[list[int]] = []
    for e in epochs:
        if spans and e == spans[-1][1] + 1:
            spans[-1][1] = e
        else:
            spans.append([e, e])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


