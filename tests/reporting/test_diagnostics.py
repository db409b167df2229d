"""Recall and coverage beside the collapse check: the verdicts agree, disagree, or warn alone."""

from dataclasses import dataclass, field
from typing import Any

import pytest

from genlab.reporting.diagnostics import LOW_VARIETY_ALONE, _variety_findings, low_variety


@dataclass
class Summary:
    columns: dict[str, list[float]] = field(default_factory=dict)
    evaluations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def column(self, name):
        return [(float(e), float(e), v) for e, v in enumerate(self.columns.get(name, []), 1)]


def evaluation(recall, coverage, real=None, precision=None):
    result = {"metrics": {"recall": recall, "coverage": coverage}}
    if real:
        result["ceiling"] = {"metrics": {"recall": real[0], "coverage": real[1]}}
    if precision is not None:  # (the samples', the real images')
        result["metrics"]["precision"] = precision[0]
        if real:
            result["ceiling"]["metrics"]["precision"] = precision[1]
    return ("evaluation-builtin.json", result)


def test_low_is_below_half_the_ceiling_or_a_quarter_without_one():
    assert low_variety(0.39, 0.8) and not low_variety(0.41, 0.8)
    assert low_variety(LOW_VARIETY_ALONE - 0.01, None) and not low_variety(LOW_VARIETY_ALONE, None)


@pytest.mark.parametrize("diversity, recall, level, words", [
    (0.2, 0.05, "warning", "Recall 0.05 and coverage 0.05 in evaluation-builtin.json (real images: 0.90, 0.70) agree with the collapse check"),
    (0.2, 0.85, "warning", "The collapse check and recall 0.85 and coverage 0.85 in evaluation-builtin.json (real images: 0.90, 0.70) disagree"),
    (0.9, 0.05, "warning", "recall below half the real images' own, so the samples miss much of the data's variety"),
    (0.9, 0.85, "ok", "the samples reach much of the real images' variety"),
])
def test_recall_and_coverage_beside_the_collapse_check(diversity, recall, level, words):
    summary = Summary({"diversity": [diversity], "duplicates": [0.0]}, [evaluation(recall, recall, real=(0.9, 0.7))])
    (finding,) = _variety_findings(summary)
    assert finding.level == level and words in finding.text


def test_low_coverage_with_a_good_recall_is_said_not_warned():
    summary = Summary({"diversity": [0.9], "duplicates": [0.0]}, [evaluation(0.73, 0.25, real=(0.78, 0.57))])
    (finding,) = _variety_findings(summary)
    assert finding.level == "ok" and "coverage is low, as it is when samples are less realistic than the data" in finding.text


def test_training_time_scores_are_used_when_no_evaluate_result_has_them():
    summary = Summary({"diversity": [0.9], "duplicates": [0.0], "recall": [0.6, 0.1], "coverage": [0.5, 0.2]})
    (finding,) = _variety_findings(summary)
    assert finding.text.startswith("Recall 0.10 and coverage 0.20 at the last evaluation during training: recall below 0.25")
    assert _variety_findings(Summary({"diversity": [0.9]})) == []


@pytest.mark.parametrize("precision, words", [
    ((0.03, 0.84), "Recall 0.01 and coverage 0.07 in evaluation-builtin.json (real images: 0.95, 0.92), and precision 0.03 "
                   "(real images: 0.84): most samples lie outside every real image's neighbourhood"),
    ((0.57, 0.87), "recall below half the real images' own, so the samples miss much of the data's variety"),  # realistic enough
    (None, "recall below half the real images' own, so the samples miss much of the data's variety"),  # not measured
])
def test_low_recall_with_low_precision_says_the_samples_are_unlike_the_data(precision, words):
    """The demo's summer<->winter CycleGAN after 300 steps: precision 0.03, recall 0.01 (real 0.84, 0.95)."""
    summary = Summary({"diversity": [0.53], "duplicates": [0.0]}, [evaluation(0.01, 0.07, real=(0.95, 0.92), precision=precision)])
    (finding,) = _variety_findings(summary)
    assert finding.level == "warning" and words in finding.text
