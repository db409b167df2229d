"""Memorisation: nearest training neighbours of samples and the data-copying test (Meehan et al. 2020)."""

import json

import pytest
import torch
from PIL import Image

from genlab.cli import main
from genlab.data.run_data import image_data
from genlab.data.transforms import to_model_range
from genlab.nearest import COPYING_Z, copy_check, mann_whitney_z, nearest
from genlab.trained import load_model
from genlab.training.run import train


def test_nearest_finds_the_k_closest_rows_in_blocks(monkeypatch):
    import genlab.nearest as module

    monkeypatch.setattr(module, "CHUNK", 3)  # several blocks
    reference = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [0.0, 2.0]])
    queries = torch.tensor([[0.9, 0.1], [4.0, 4.0], [0.0, 1.8], [0.1, 0.0], [9.0, 9.0]])
    dist, index = nearest(queries, reference, 2)
    assert index.tolist() == [[1, 0], [2, 3], [3, 0], [0, 1], [2, 3]]
    torch.testing.assert_close(dist, torch.cdist(queries, reference).sort(dim=1).values[:, :2])


def test_the_z_score_is_that_of_scipys_mann_whitney_u():
    from scipy.stats import mannwhitneyu

    torch.manual_seed(0)
    x, y = torch.randn(200), torch.randn(300) + 0.3
    x[:10] = y[:10]  # ties
    u = mannwhitneyu(x.numpy(), y.numpy(), method="asymptotic").statistic  # pairs with x > y, ties a half
    assert mann_whitney_z(x, y) == pytest.approx((u - 200 * 300 / 2) / (200 * 300 * 501 / 12) ** 0.5, rel=1e-9)
    assert mann_whitney_z(x, y) < -3 and mann_whitney_z(y, x) > 3
    assert abs(mann_whitney_z(torch.randn(500), torch.randn(500))) < 3


def test_samples_that_are_training_images_are_called_copies_and_fresh_ones_are_not():
    torch.manual_seed(0)
    training, unseen = torch.randn(300, 8), torch.randn(200, 8)
    copies = training[torch.randint(0, 300, (400,))] + 1e-3 * torch.randn(400, 8)
    check = copy_check(copies, training, unseen)
    assert check.copying and check.z < COPYING_Z and "may be copying its data" in check.describe()[-1]
    fresh = copy_check(torch.randn(400, 8), training, unseen)
    assert not fresh.copying and abs(fresh.z) < 3 and len(fresh.describe()) == 3


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from genlab.config import build_config

    cfg = build_config("dcgan", preset="smoke", overrides=dict(width=8, z_dim=16, batch_size=16, limit=64, epochs=3, device="cpu", data="builtin", grid_size=4))
    return train(cfg, tmp_path_factory.mktemp("near") / "run", quiet=True).root


def test_a_generator_that_returns_training_images_is_flagged(trained_run, tmp_path, monkeypatch, capsys):
    import genlab.nearest as module

    cfg = load_model(trained_run, "latest", "cpu").cfg
    training = to_model_range(image_data(cfg)[0].images, torch.device("cpu"))
    copier = lambda model, n, seed, batch_size=256: iter([training[torch.arange(n) % len(training)]])  # noqa: E731
    monkeypatch.setattr(module, "generate", copier)
    assert main(["neighbours", str(trained_run), "--out", str(tmp_path / "copies.png"), "-n", "4", "--k", "3", "--score-n", "200"]) == 0
    out = capsys.readouterr().out
    assert "genlab: warning: the samples sit systematically closer to training images than unseen real images do" in out
    saved = json.loads((tmp_path / "copies.json").read_text())
    assert saved["copying"] and saved["sample_nearest"]["median"] == pytest.approx(0, abs=1e-3)
    assert saved["held_out"] == 297 and saved["space"] == "builtin features"  # the built-in digits' test split
    # each row: the sample, then its 3 neighbours; a copied image's first neighbour is itself
    assert Image.open(tmp_path / "copies.png").size == (2 + 4 * 34, 2 + 4 * 34)


def test_a_trained_generator_is_not_flagged_in_features_or_pixels(trained_run, tmp_path, capsys):
    for extra in ([], ["--pixels"]):
        out = tmp_path / f"near{len(extra)}.png"
        assert main(["neighbours", str(trained_run), "--out", str(out), "--score-n", "300", *extra]) == 0
        assert "warning" not in capsys.readouterr().out
        saved = json.loads(out.with_suffix(".json").read_text())
        assert not saved["copying"] and saved["mann_whitney_z"] > COPYING_Z and saved["samples"] == 300
        assert Image.open(out).size == (2 + 6 * 34, 2 + 16 * 34)  # 16 rows of a sample and 5 neighbours


def test_neighbours_needs_unseen_images_and_a_sampler(tmp_path, capsys):
    from genlab.config import build_config

    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(20):
        Image.new("RGB", (16, 16), (i * 10, 0, 0)).save(folder / f"{i}.png")
    cfg = build_config("dcgan", preset="smoke", overrides=dict(width=8, z_dim=8, batch_size=10, epochs=1, device="cpu", data=str(folder), image_size=16))
    run = train(cfg, tmp_path / "run", quiet=True).root
    assert main(["neighbours", str(run), "--out", str(tmp_path / "n.png")]) == 2
    err = capsys.readouterr().err
    assert f"the run trained on every image of {folder}, so none are unseen; give --held-out FOLDER" in err
    assert main(["neighbours", str(run), "--out", str(tmp_path / "n.png"), "--held-out", str(folder), "--score-n", "20", "-n", "2"]) == 0
