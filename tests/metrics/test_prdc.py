"""Precision, recall, density, coverage: analytic answers and torch-fidelity's precision/recall on the same features."""

import pytest
import torch

from genlab.metrics.prdc import density_coverage, neighbour_radii, prdc, precision_recall


def features(n: int, d: int = 16, seed: int = 0, shift: float = 0.0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed)) + shift


def test_identical_sets_are_perfect_and_density_counts_each_ball_k_plus_one_times():
    x = features(300)
    scores = prdc(x, x.clone(), chunk=64)  # blocks smaller than the sets: the chunking is exercised
    assert scores["precision"] == scores["recall"] == scores["coverage"] == 1.0
    assert scores["density"] == pytest.approx(6 / 5)  # each real ball holds its own point and its 5 nearest: (k+1)/k


def test_disjoint_far_apart_sets_score_zero():
    scores = prdc(features(200), features(200, seed=1, shift=100.0))
    assert scores == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_a_set_collapsed_onto_one_real_point_is_precise_but_covers_nothing():
    real = features(500)
    fake = real[:1].repeat(500, 1)
    precision, recall = precision_recall(real, fake)
    density, coverage = density_coverage(real, fake)
    assert precision == 1.0 and recall == pytest.approx(1 / 500)  # only the point itself is inside a zero-radius ball
    assert coverage < 0.03 and density > 0


def test_radii_are_the_kth_nearest_other_point():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    torch.testing.assert_close(neighbour_radii(x, 1, chunk=2), torch.tensor([1.0, 1.0, 2.0, 4.0]))
    torch.testing.assert_close(neighbour_radii(x, 2, chunk=3), torch.tensor([3.0, 2.0, 3.0, 6.0]))


def test_precision_and_recall_agree_with_torch_fidelity():
    from torch_fidelity.metric_prc import calculate_precision_recall_full

    real, fake = features(400, seed=2), features(300, seed=3, shift=0.4)
    ours = precision_recall(real, fake, chunk=128)
    theirs = calculate_precision_recall_full(fake, real, neighborhood=3)  # torch-fidelity: generated first
    assert ours == pytest.approx(theirs, abs=1e-6)  # the same counts (theirs is a float32 mean; one point is 1/300)
    assert 0.2 < ours[0] < 0.95 and 0.2 < ours[1] < 0.95  # a shifted set: neither perfect nor empty


def test_evaluate_reports_them_against_a_reference(tmp_path, capsys):
    import json

    from genlab.cli import main

    out = tmp_path / "prdc.json"
    assert main(["evaluate", "builtin-test", "--network", "builtin", "--metrics", "precision,recall,density,coverage",
                 "--reference", "builtin", "--n", "297", "--reference-n", "600", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    metrics = result["metrics"]
    assert sorted(metrics) == ["coverage", "density", "diversity", "duplicates", "precision", "recall"]
    # held-out real digits against training digits: the real-against-real ceiling, high on all four
    assert metrics["precision"] > 0.7 and metrics["recall"] > 0.7 and metrics["coverage"] > 0.7 and 0.7 < metrics["density"] < 1.5
    assert result["protocol"]["prdc_neighbours"] == {"precision_recall": 3, "density_coverage": 5}
    run = tmp_path / "run"
    assert main(["train", "dcgan", "--preset", "smoke", "--data", "builtin", "--limit", "64", "--batch-size", "16", "--width", "8",
                 "--z-dim", "8", "--image-size", "16", "--epochs", "1", "--device", "cpu", "--out", str(run)]) == 0
    assert main(["evaluate", str(run), "--network", "builtin", "--metrics", "is,precision,recall,density,coverage", "--n", "64",
                 "--splits", "1"]) == 0  # against the run's own training digits, by default
    saved = json.loads((run / "evaluation-builtin.json").read_text())
    assert saved["protocol"]["reference"] == "builtin" and 0 <= saved["metrics"]["recall"] <= 1
    assert main(["report", str(run), "--html"]) == 0
    page = (run / "report.md").read_text()
    real = saved["ceiling"]["metrics"]  # 64 held-out digits (the run never saw them) against the same reference
    assert saved["ceiling"]["n"] == 64 and "never trained on" in saved["ceiling"]["source"]
    assert real["precision"] > 0.7 and real["recall"] > 0.5 and real["is_mean"] > 5
    m = saved["metrics"]
    assert f"precision {m['precision']:.3f} (real {real['precision']:.3f}); recall {m['recall']:.3f} (real {real['recall']:.3f})" in page
    assert main(["evaluate", "builtin-test", "--network", "builtin", "--metrics", "recall"]) == 2
    assert "give --reference" in capsys.readouterr().err
