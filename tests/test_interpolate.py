"""Latent walks: spherical interpolation, and genlab interpolate for a DCGAN and a VAE (a grid or a GIF)."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.cli import main
from genlab.reporting.grids import grid_image
from genlab.sampling import slerp
from genlab.trained import load_model

TINY = ["--preset", "smoke", "--device", "cpu", "--epochs", "1", "--limit", "64", "--batch-size", "16", "--image-size", "16"]


def test_slerp_follows_the_great_circle():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    path = slerp(a, b, torch.linspace(0, 1, 5))
    torch.testing.assert_close(path[0], a) and torch.testing.assert_close(path[-1], b)
    torch.testing.assert_close(path.norm(dim=1), torch.ones(5))  # a straight line would dip to 0.707 halfway
    torch.testing.assert_close(path[2], torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]))
    same = slerp(a, a * 2, torch.tensor([0.0, 0.5, 1.0]))  # parallel: the straight line
    torch.testing.assert_close(same[1], a * 1.5)


@pytest.mark.parametrize("family, extra", [("dcgan", ["--width", "8", "--z-dim", "8"]), ("vae", ["--latent-dim", "4", "--width", "4", "--data", "toonfaces"])])
def test_interpolate_draws_rows_of_walks_whose_ends_are_the_end_latents(family, extra, tmp_path, capsys):
    run = tmp_path / family
    assert main(["train", family, "--out", str(run), *TINY, *extra]) == 0
    assert main(["interpolate", str(run), "--steps", "5", "--rows", "3", "--seed", "7", "--out", str(tmp_path / "walk.png"), "--device", "cpu"]) == 0
    grid = Image.open(tmp_path / "walk.png")
    assert grid.size == grid_image(torch.zeros(15, 3, 16, 16), nrow=5).size  # 3 rows of 5
    model = load_model(run, "latest", "cpu").model
    ends = model.latent(6, torch.Generator().manual_seed(7))
    walks = torch.cat([slerp(ends[2 * r], ends[2 * r + 1], torch.linspace(0, 1, 5)) for r in range(3)])
    torch.testing.assert_close(model.sample(walks[[0, 4]]), model.sample(ends[:2]), rtol=0, atol=1e-5)  # the walk's two ends
    expected = np.asarray(grid_image(model.sample(walks), nrow=5), dtype=int)
    assert np.abs(np.asarray(grid, dtype=int) - expected).max() <= 1  # row r walks from latent 2r to 2r+1, left to right
    assert main(["interpolate", str(run), "--steps", "4", "--rows", "2", "--gif", "--out", str(tmp_path / "walk.gif"), "--device", "cpu"]) == 0
    with Image.open(tmp_path / "walk.gif") as gif:
        assert gif.n_frames == 4 + 2  # there and back
    capsys.readouterr()


def test_a_translation_model_has_no_latent_to_walk(tmp_path, capsys):
    run = tmp_path / "cyclegan"
    assert main(["train", "cyclegan", "--out", str(run), "--preset", "smoke", "--device", "cpu", "--epochs", "1", "--data", "seasons",
                 "--limit", "8", "--width", "4", "--n-blocks", "1"]) == 0
    capsys.readouterr()
    assert main(["interpolate", str(run), "--out", str(tmp_path / "w.png"), "--device", "cpu"]) == 2
    assert "holds a translation model, which has no latent space to walk" in capsys.readouterr().err
    assert main(["interpolate", str(run), "--steps", "1", "--out", str(tmp_path / "w.png")]) == 2
    assert "--steps must be at least 2" in capsys.readouterr().err
