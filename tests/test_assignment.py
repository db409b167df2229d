"""The assignment's setting, written out: first-step oracles, the protocol and the hand-in layout."""

import copy
import re

import pytest
import torch
import torch.nn.functional as F

from genlab.cli import main
from genlab.config import build_config
from genlab.models.dcgan import DCGANDiscriminator
from genlab.training.cyclegan import CycleGANTrainer
from genlab.families.dcgan import build_discriminator, build_generator
from genlab.training.dcgan import DCGANTrainer
from genlab.training.run import train


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def test_assignment_network_choices():
    cfg = build_config("dcgan", preset="assignment", overrides={"device": "cpu"})
    assert (cfg.init, cfg.disc_last_bias, cfg.critic_norm, cfg.n_critic, cfg.gen_last_norm) == ("pytorch", False, "batch", 1, True)
    disc = build_discriminator(cfg)
    assert all(m.bias is None for m in disc.modules() if isinstance(m, (torch.nn.Conv2d,)))
    assert sum(p.numel() for p in disc.parameters()) == 663_424
    gen = build_generator(cfg)
    assert all(m.bias is None for m in gen.modules() if isinstance(m, torch.nn.ConvTranspose2d))
    assert sum(p.numel() for p in gen.parameters()) == 1_707_910


def test_assignment_without_last_generator_norm_has_no_bias():
    # The handout's later revision drops the BatchNorm before the Tanh; its skeleton still has no convolution bias.
    cfg = build_config("dcgan", preset="assignment", overrides={"device": "cpu", "gen_last_norm": False})
    gen = build_generator(cfg)
    assert all(m.bias is None for m in gen.modules() if isinstance(m, torch.nn.ConvTranspose2d))
    assert sum(p.numel() for p in gen.parameters()) == 1_707_910 - 6  # the last BatchNorm's weight and bias go
    cycle = build_config("cyclegan", preset="assignment", overrides={"device": "cpu"})
    assert (cycle.pool_size, cycle.decay_epochs, cycle.halve_d_loss, cycle.init, cycle.preprocess, cycle.flip, cycle.batch_size) == (
        0, 0, False, "pytorch", "none", False, 1,
    )
    assert cycle.lambda_cycle == 10 and cycle.lambda_cycle * cycle.lambda_identity == 5


@pytest.mark.parametrize("loss", ["gan", "lsgan", "wgan", "wgan-gp"])
def test_first_step_oracle_dcgan(loss):
    cfg = build_config("dcgan", preset="assignment", overrides={"loss": loss, "device": "cpu", "batch_size": 8})
    trainer = DCGANTrainer(cfg)
    batch = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    real = batch.float() / 127.5 - 1
    noise = torch.Generator().set_state(trainer.noise.get_state())
    z = torch.randn(8, 256, 1, 1, generator=noise)
    gen, disc = copy.deepcopy(trainer.gen), copy.deepcopy(trainer.disc)
    fake = gen(z)
    d_real, d_fake = disc(real), disc(fake.detach())
    # discriminator loss before its first step, as the skeleton writes it
    if loss == "gan":
        d_expected = bce(d_real, 1.0) + bce(d_fake, 0.0)
    elif loss == "lsgan":
        d_expected = 0.5 * (F.mse_loss(d_real, torch.ones_like(d_real)) + F.mse_loss(d_fake, torch.zeros_like(d_fake)))
    else:
        d_expected = -d_real.mean() + d_fake.mean()
    if loss == "wgan-gp":
        eps = torch.rand(8, 1, 1, 1, generator=noise)
        xhat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
        (grad,) = torch.autograd.grad(disc(xhat).sum(), xhat)
        d_expected = d_expected + 10 * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()

    out = trainer.train_step(batch, 1)
    torch.testing.assert_close(out["d_loss"], d_expected.detach(), rtol=0, atol=1e-6)

    # generator loss after the discriminator's first step (and clipping), on the same fake images
    disc_after = copy.deepcopy(trainer.disc)
    if loss == "wgan":
        assert all(p.abs().max() <= 0.01 for p in disc_after.parameters())
    g_logits = disc_after(fake.detach())
    g_expected = {
        "gan": bce(g_logits, 1.0),
        "lsgan": F.mse_loss(g_logits, torch.ones_like(g_logits)),
        "wgan": -g_logits.mean(),
        "wgan-gp": -g_logits.mean(),
    }[loss]
    torch.testing.assert_close(out["g_loss"], g_expected.detach(), rtol=0, atol=1e-6)


def test_first_step_oracle_cyclegan():
    cfg = build_config("cyclegan", preset="assignment", overrides=dict(device="cpu", image_size=32, width=8, n_blocks=2))
    trainer = CycleGANTrainer(cfg)
    gen = torch.Generator().manual_seed(2)
    a = torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8, generator=gen)
    b = torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8, generator=gen)
    ra, rb = a.float() / 127.5 - 1, b.float() / 127.5 - 1
    g_ab, g_ba = copy.deepcopy(trainer.gen_a2b), copy.deepcopy(trainer.gen_b2a)
    d_a, d_b = copy.deepcopy(trainer.disc_a), copy.deepcopy(trainer.disc_b)
    mse = lambda x, t: F.mse_loss(x, torch.full_like(x, t))  # noqa: E731
    with torch.no_grad():
        fake_b, fake_a = g_ab(ra), g_ba(rb)
        g_expected = (
            mse(d_b(fake_b), 1.0) + mse(d_a(fake_a), 1.0)
            + 10 * (F.l1_loss(g_ba(fake_b), ra) + F.l1_loss(g_ab(fake_a), rb))
            + 5 * (F.l1_loss(g_ab(rb), rb) + F.l1_loss(g_ba(ra), ra))
        )
        # the discriminators step after both generators, on the fakes made before the generator step,
        # with no pool and no halving; they are unchanged by the generator step
        d_a_expected = mse(d_a(ra), 1.0) + mse(d_a(fake_a), 0.0)
        d_b_expected = mse(d_b(rb), 1.0) + mse(d_b(fake_b), 0.0)
    out = trainer.train_step((a, b), 1)
    torch.testing.assert_close(out["g_loss"], g_expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(out["d_a_loss"], d_a_expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(out["d_b_loss"], d_b_expected, rtol=0, atol=1e-6)


def test_protocol_flags(capsys, tmp_path):
    code = main(["evaluate", "builtin-test", "--protocol", "assignment", "--network", "builtin", "--out", str(tmp_path / "e.json")])
    assert code == 0
    out = capsys.readouterr().out
    assert re.search(r"protocol\.splits\s+1\n", out) and re.search(r"protocol\.n\s+297\n", out)
    assert main(["evaluate", "builtin-test", "--protocol", "exam"]) == 2
    assert "unknown protocol 'exam'; choose one of ['assignment', 'paper']" in capsys.readouterr().err


def test_hand_in_layout(tmp_path, capsys):
    runs = []
    for loss in ("gan", "wgan-gp"):
        cfg = build_config("dcgan", preset="smoke", overrides=dict(loss=loss, width=8, z_dim=16, limit=32, batch_size=16, epochs=2, device="cpu"))
        runs.append(str(train(cfg, tmp_path / loss, quiet=True).root))
    cfg = build_config("cyclegan", preset="smoke", overrides=dict(limit=4, width=4, n_blocks=1, epochs=1, decay_epochs=0, device="cpu"))
    runs.append(str(train(cfg, tmp_path / "cg", quiet=True).root))
    code = main(["report", "--assignment", *runs, "--out", str(tmp_path / "hand-in"), "--network", "builtin", "--n", "40", "--device", "cpu"])
    assert code == 0
    hand_in = tmp_path / "hand-in"
    assert sorted(p.name for p in (hand_in / "results" / "gan" / "images").iterdir()) == ["fake_image-001.png", "fake_image-002.png"]
    assert (hand_in / "results" / "wgan-gp" / "images" / "fake_image-002.png").is_file()
    assert sorted(p.name for p in (hand_in / "results" / "cyclegan" / "images").iterdir()) == ["fakeA2B-001.png", "fakeB2A-001.png"]
    lines = (hand_in / "inception_score.txt").read_text().splitlines()
    assert [line.split(": Inception Score : ")[0] for line in lines[:3]] == ["GAN (DCGAN)", "WGAN-GP (DCGAN)", "CycleGAN"]
    assert all(len(line.split(" : ")[1]) == 6 for line in lines[:3])  # four decimals, e.g. 4.5063
    assert f"  GAN (DCGAN): {runs[0]}" in lines


@pytest.mark.network
def test_cifar10_train_scores_9_7197_under_the_assignment_protocol(tmp_path):
    from genlab.config import resolve_data_root
    from genlab.scoring import Protocol, evaluate

    result = evaluate("cifar10-train", Protocol(network="torchvision", n=50_000, splits=1), batch_size=200,
                      device="cuda" if torch.cuda.is_available() else "cpu", data_root=resolve_data_root("auto"))
    assert result.metrics["is_mean"] == pytest.approx(9.7197, abs=1e-3)


def test_discriminator_without_last_bias_is_pure_table():
    assert DCGANDiscriminator(last_bias=False).layers[3].bias is None
