import numpy as np
import pytest
import torch
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric

from genlab.errors import GenlabError
from genlab.metrics.fid import FeatureStats, feature_statistics, fid_from_stats, frechet_distance
from genlab.metrics.inception_score import inception_score, inception_score_from_logits
from genlab.metrics.kid import kernel_inception_distance


def test_is_is_one_when_every_image_has_the_same_distribution():
    probs = torch.softmax(torch.randn(1, 7), dim=1).expand(50, 7)
    mean, std = inception_score(probs, splits=5)
    assert mean == pytest.approx(1.0) and std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [2, 10, 1000])
def test_is_is_k_for_k_equally_used_one_hot_classes(k):
    probs = torch.eye(k).repeat(3, 1)  # every class used 3 times
    mean, _ = inception_score(probs, splits=1)
    assert mean == pytest.approx(k)


def test_is_splits_use_the_marginal_within_each_split():
    # two splits, each holding one class only: within a split p(y) equals p(y|x), so IS = 1 per split
    probs = torch.cat([torch.eye(2)[[0] * 4], torch.eye(2)[[1] * 4]])
    assert inception_score(probs, splits=2, shuffle=False)[0] == pytest.approx(1.0)
    assert inception_score(probs, splits=1, shuffle=False)[0] == pytest.approx(2.0)


def test_is_fewer_images_than_splits_is_a_clear_error():
    with pytest.raises(GenlabError, match="3 images cannot make 10 splits"):
        inception_score(torch.eye(3), splits=10)


def test_is_matches_torch_fidelity():
    logits = torch.randn(1000, 1008) * 3
    ours = inception_score_from_logits(logits, splits=10, seed=2020)
    theirs = isc_features_to_metric(logits, splits=10, shuffle=True, rng_seed=2020)
    assert ours[0] == pytest.approx(theirs["inception_score_mean"], rel=1e-6)
    assert ours[1] == pytest.approx(theirs["inception_score_std"], rel=1e-6)


def test_fid_of_identical_statistics_is_zero():
    stats = feature_statistics(torch.randn(500, 16))
    assert fid_from_stats(stats, stats) == pytest.approx(0.0, abs=1e-8)


def test_fid_with_equal_covariances_is_the_squared_mean_distance():
    sigma = np.cov(np.random.default_rng(0).normal(size=(200, 8)), rowvar=False)
    mu1, mu2 = np.zeros(8), np.arange(8.0)
    assert frechet_distance(mu1, sigma, mu2, sigma) == pytest.approx(float(mu2 @ mu2), rel=1e-6)


def test_fid_of_two_known_gaussians():
    # diagonal covariances: FID = |mu1-mu2|^2 + sum (s1 + s2 - 2 sqrt(s1 s2))
    s1, s2 = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    expected = 1.0 + (1 + 9 - 2 * 3) + (4 + 1 - 2 * 2)
    assert frechet_distance(np.zeros(2), s1, np.array([1.0, 0.0]), s2) == pytest.approx(expected)


def test_fid_matches_torch_fidelity():
    a, b = torch.randn(600, 32, dtype=torch.float64), torch.randn(700, 32, dtype=torch.float64) * 1.3 + 0.2
    ours = fid_from_stats(feature_statistics(a), feature_statistics(b))
    theirs = fid_statistics_to_metric(fid_features_to_statistics(a), fid_features_to_statistics(b), verbose=False)
    assert ours == pytest.approx(theirs["frechet_inception_distance"], rel=1e-4)


def test_statistics_cache_round_trip(tmp_path):
    stats = feature_statistics(torch.randn(50, 4))
    stats.save(tmp_path / "ref.npz")
    loaded = FeatureStats.load(tmp_path / "ref.npz")
    np.testing.assert_array_equal(loaded.mu, stats.mu)
    np.testing.assert_array_equal(loaded.sigma, stats.sigma)
    assert loaded.n == 50


def test_kid_is_near_zero_for_the_same_distribution_and_matches_torch_fidelity():
    a, b = torch.randn(300, 64, dtype=torch.float64), torch.randn(300, 64, dtype=torch.float64) + 0.5
    ours = kernel_inception_distance(a, b, subsets=20, subset_size=100, seed=3)
    theirs = kid_features_to_metric(a, b, kid_subsets=20, kid_subset_size=100, rng_seed=3, verbose=False,
                                    kid_kernel="poly", kid_kernel_poly_degree=3, kid_kernel_poly_gamma=None, kid_kernel_poly_coef0=1)
    assert ours[0] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-4)
    assert ours[1] == pytest.approx(theirs["kernel_inception_distance_std"], rel=1e-4)
    same = kernel_inception_distance(a, a.clone(), subsets=20, subset_size=100)
    assert abs(same[0]) < 0.1 * ours[0]


def test_kid_subset_larger_than_data():
    with pytest.raises(GenlabError, match="lower --kid-subset-size"):
        kernel_inception_distance(torch.randn(10, 4), torch.randn(10, 4), subset_size=50)
