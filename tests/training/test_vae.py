import csv
import math

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from genlab.config import build_config
from genlab.errors import GenlabError
from genlab.losses.elbo import bernoulli_nll, bits_per_dim, gaussian_kl, gaussian_nll, negative_elbo
from genlab.models.vae import ConvVAE
from genlab.checkpoint import load_checkpoint
from genlab.trained import describe
from genlab.training.run import resume, train
from genlab.training.vae import VAETrainer


@pytest.fixture
def tiny_vae():
    def make(**overrides):
        # drawn cartoon faces (colour, structure), the seed's VAE data in miniature
        values = dict(device="cpu", data="toonfaces", limit=96, batch_size=32, holdout=1 / 6, epochs=2, grid_size=4)
        values.update(overrides)
        return build_config("vae", preset="smoke", overrides=values)

    return make


def test_kl_is_zero_at_the_prior():
    assert gaussian_kl(torch.zeros(3, 8), torch.zeros(3, 8)).tolist() == [0.0, 0.0, 0.0]


def test_kl_closed_form():
    mu, logvar = torch.tensor([[1.0, -2.0]]), torch.tensor([[math.log(4.0), 0.0]])
    # 1/2 sum (sigma^2 + mu^2 - 1 - log sigma^2): (4 + 1 - 1 - log 4)/2 + (1 + 4 - 1 - 0)/2
    expected = (4 - math.log(4)) / 2 + 4 / 2
    assert gaussian_kl(mu, logvar).item() == pytest.approx(expected)


def test_bernoulli_nll_closed_form():
    logits, x = torch.tensor([[0.0, 2.0]]), torch.tensor([[1.0, 0.0]])
    p = torch.sigmoid(logits)
    expected = -(torch.log(p[0, 0]) + torch.log(1 - p[0, 1]))
    assert bernoulli_nll(logits, x).item() == pytest.approx(expected.item())
    assert bernoulli_nll(torch.zeros(1, 5), torch.ones(1, 5)).item() == pytest.approx(5 * math.log(2))


def test_gaussian_nll_closed_form():
    logits, x = torch.zeros(1, 2), torch.tensor([[0.5, 0.7]])  # mean 0.5
    sigma = 0.1
    expected = sum((xi - 0.5) ** 2 / (2 * sigma**2) + math.log(sigma) + 0.5 * math.log(2 * math.pi) for xi in (0.5, 0.7))
    assert gaussian_nll(logits, x, sigma).item() == pytest.approx(expected)
    ref = -torch.distributions.Normal(torch.full((2,), 0.5), sigma).log_prob(x[0]).sum()
    assert gaussian_nll(logits, x, sigma).item() == pytest.approx(ref.item())


def test_negative_elbo_terms_and_beta():
    logits, x = torch.randn(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    mu, logvar = torch.randn(2, 5), torch.randn(2, 5)
    terms = negative_elbo(logits, x, mu, logvar, beta=0.5)
    torch.testing.assert_close(terms.nelbo, terms.recon + terms.kl)
    torch.testing.assert_close(terms.loss, terms.recon + 0.5 * terms.kl)
    torch.testing.assert_close(terms.recon, F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / 2)
    assert bits_per_dim(3072 * math.log(2), 3072) == pytest.approx(1.0)


@pytest.mark.parametrize("size", [32, 64, 128])
def test_vae_shapes_follow_the_image_size(size):
    vae = ConvVAE(image_size=size, latent_dim=12, width=8)
    logits, mu, logvar = vae(torch.randn(2, 3, size, size))
    assert logits.shape == (2, 3, size, size) and mu.shape == (2, 12) and logvar.shape == (2, 12)
    assert vae.decode(torch.randn(3, 12)).shape == (3, 3, size, size)


def test_default_vae_parameter_count():
    vae = ConvVAE()  # 64x64, latent 128, width 32: 4 stride-2 layers each way
    convs = 3 * 32 * 16 + 32 * 64 * 16 + 64 * 128 * 16 + 128 * 256 * 16
    bns = 2 * (32 + 64 + 128 + 256)
    linear = (4096 * 256 + 256) + (128 * 4096 + 4096)
    deconvs = 256 * 128 * 16 + 128 * 64 * 16 + 64 * 32 * 16 + (32 * 3 * 16 + 3)
    debns = 2 * (128 + 64 + 32)
    assert sum(p.numel() for p in vae.parameters()) == convs + bns + linear + deconvs + debns


def test_reparameterisation_is_differentiable_and_seeded():
    mu, logvar = torch.zeros(4, 3, requires_grad=True), torch.zeros(4, 3, requires_grad=True)
    z = ConvVAE.reparameterize(mu, logvar, generator=torch.Generator().manual_seed(0))
    z.sum().backward()
    assert mu.grad is not None and logvar.grad is not None
    again = ConvVAE.reparameterize(mu, logvar, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(z, again)


def test_a_few_steps_on_a_fixed_batch_lower_the_loss(tiny_vae):
    trainer = VAETrainer(tiny_vae(lr=3e-3))
    batch = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    losses = [trainer.train_step(batch, step)["loss"].item() for step in range(1, 16)]
    assert losses[-1] < losses[0]


def test_a_run_writes_every_output_and_resumes_exactly(tiny_vae, tmp_path):
    run = train(tiny_vae(), tmp_path / "run", quiet=True)
    assert "| **total** |" in (run.root / "architecture.md").read_text()
    for epoch in (1, 2):
        recon = Image.open(run.images / f"recon-{epoch:03d}.png")
        assert recon.size == (2 + 8 * 34, 2 + 1 * 34)  # 4 pairs in one row of 8
        assert (run.images / f"prior-{epoch:03d}.png").is_file()
    assert (run.plots / "elbo.png").is_file()
    with run.history_path.open() as f:
        rows = list(csv.DictReader(f))
    train_rows = [r for r in rows if r["nelbo"]]
    val_rows = [r for r in rows if r["val_nelbo"]]
    assert len(train_rows) == 4 and len(val_rows) == 2  # 80 training images / 32 = 2 steps per epoch
    assert float(val_rows[0]["val_bpd"]) == pytest.approx(float(val_rows[0]["val_nelbo"]) / (3072 * math.log(2)), rel=1e-4)

    half = train(tiny_vae(epochs=1), tmp_path / "half", quiet=True)
    resume(half.root, {"epochs": 2}, quiet=True)
    a = load_checkpoint(run.latest)["trainer"]["models"]["vae"]
    b = load_checkpoint(half.latest)["trainer"]["models"]["vae"]
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=0)
    with half.history_path.open() as f:
        assert list(csv.DictReader(f)) == rows


def test_beta_not_one_warns_that_the_loss_is_not_the_elbo(tiny_vae):
    with pytest.warns(UserWarning, match="not the negative ELBO"):
        VAETrainer(tiny_vae(beta=0.5))


def test_holdout_bounds(tiny_vae, tmp_path):
    with pytest.raises(GenlabError, match="holdout must be between 0 and 1"):
        tiny_vae(holdout=1.5)
    with pytest.raises(GenlabError, match="leaves none to train on"):
        train(tiny_vae(holdout=1.0), tmp_path / "r", quiet=True)


def test_describe_a_family_and_a_run(tiny_vae, tmp_path):
    table = describe("vae")
    assert "| to_posterior | `Linear(in_features=4096, out_features=256, bias=True)` | 4096 | 256 | 1,048,832 |" in table
    dcgan = describe("dcgan")
    assert "| **total** | | | | **1,707,910** |" in dcgan and "| **total** | | | | **663,425** |" in dcgan
    run = train(tiny_vae(epochs=1), tmp_path / "run", quiet=True)
    assert "3x32x32" in describe(str(run.root))


def test_the_vae_trains_at_64_px_on_cartoon_faces(tiny_vae, tmp_path):
    """The seed's task at the VAE table's 64x64: colour faces, reconstruction pairs and prior samples written."""
    cfg = tiny_vae(image_size=64, latent_dim=8, width=8, limit=40, batch_size=8, holdout=0.2, epochs=1)
    run = train(cfg, tmp_path / "run", quiet=True)
    pairs = Image.open(run.images / "recon-001.png")
    assert pairs.mode == "RGB" and pairs.size[0] == 2 + 8 * 66  # 8 images of 64 px and 2 px gaps per row
    state = load_checkpoint(run.latest)
    assert state["step"] == 4 and state["config"]["data"] == "toonfaces" and state["config"]["image_size"] == 64
    assert (run.images / "prior-001.png").is_file()
