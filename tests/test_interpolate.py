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


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("vae") / "run"
    assert main(["train", "vae", "--out", str(run), *TINY, "--latent-dim", "6", "--width", "4", "--data", "toonfaces"]) == 0
    return run


def test_a_vae_walks_between_two_encoded_images(vae_run, tmp_path, capsys):
    from genlab.data.run_data import image_data

    model = load_model(vae_run, "latest", "cpu")
    faces = image_data(model.cfg)[0].images[:2]
    for i, face in enumerate(faces):
        Image.fromarray(face.permute(1, 2, 0).numpy()).save(tmp_path / f"{i}.png")
    out = tmp_path / "between.png"
    assert main(["interpolate", str(vae_run), "--between", str(tmp_path / "0.png"), str(tmp_path / "1.png"), "--steps", "4", "--out", str(out), "--device", "cpu"]) == 0
    grid = np.asarray(Image.open(out), dtype=int)
    mu, _ = model.model.posterior(faces)
    walk = model.model.sample(slerp(mu[0], mu[1], torch.linspace(0, 1, 4)))
    expected = grid_image(torch.cat([faces[:1].float() / 127.5 - 1, walk, faces[1:].float() / 127.5 - 1]), nrow=6)
    assert np.abs(grid - np.asarray(expected, dtype=int)).max() <= 1  # image A, the walk from its mean to B's, image B
    assert main(["interpolate", str(vae_run), "--between", str(tmp_path / "0.png"), str(tmp_path / "x.png"), "--out", str(out)]) == 2
    assert "--between: " in capsys.readouterr().err


def test_a_vae_traverses_its_most_used_latent_dimensions(vae_run, tmp_path, capsys):
    import json

    from genlab.data.run_data import image_data
    from genlab.sampling import latent_usage

    out = tmp_path / "traverse.png"
    assert main(["interpolate", str(vae_run), "--traverse", "--rows", "3", "--steps", "5", "--out", str(out), "--device", "cpu"]) == 0
    model = load_model(vae_run, "latest", "cpu")
    training = image_data(model.cfg)[0].images
    mu, logvar = model.model.posterior(training)
    kl = (0.5 * (mu**2 + logvar.exp() - 1 - logvar)).mean(0)  # KL(q(z_j | x) || N(0, 1)) per dimension
    torch.testing.assert_close(latent_usage(model.model, training), kl)
    saved = json.loads(out.with_suffix(".json").read_text())
    assert [r["dimension"] for r in saved["rows"]] == kl.argsort(descending=True)[:3].tolist()
    assert saved["rows"][0]["kl_nats"] == pytest.approx(kl.max().item(), rel=1e-5)
    base = mu[saved["image"]]
    latents = base.repeat(15, 1)
    for row, r in enumerate(saved["rows"]):
        latents[row * 5 : row * 5 + 5, r["dimension"]] = torch.linspace(-3, 3, 5)
    expected = grid_image(model.model.sample(latents), nrow=5)
    assert np.abs(np.asarray(Image.open(out), dtype=int) - np.asarray(expected, dtype=int)).max() <= 1


def test_between_and_traverse_need_an_encoder(tmp_path, capsys):
    run = tmp_path / "dcgan"
    assert main(["train", "dcgan", "--out", str(run), *TINY, "--width", "8", "--z-dim", "8"]) == 0
    capsys.readouterr()
    assert main(["interpolate", str(run), "--traverse", "--out", str(tmp_path / "t.png")]) == 2
    assert "has no encoder; --between and --traverse need a VAE run" in capsys.readouterr().err
