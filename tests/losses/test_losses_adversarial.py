import math

import pytest
import torch
from torch import nn

from genlab.losses.adversarial import (
    ADVERSARIAL_LOSSES,
    clip_weights_,
    get_loss,
    gradient_penalty,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
)
from genlab.errors import GenlabError
from genlab.models.dcgan import DCGANDiscriminator


def test_gan_loss_is_log2_at_zero_logits():
    gan = get_loss("gan")
    zeros = torch.zeros(7)
    assert gan.discriminator_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))
    assert gan.generator_loss(zeros).item() == pytest.approx(math.log(2))


def test_gan_loss_matches_closed_form_on_logits():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sig = torch.sigmoid
    expected_d = -(torch.log(sig(real)).mean() + torch.log(1 - sig(fake)).mean())
    expected_g = -torch.log(sig(fake)).mean()
    gan = get_loss("gan")
    torch.testing.assert_close(gan.discriminator_loss(real, fake), expected_d)
    torch.testing.assert_close(gan.generator_loss(fake), expected_g)


def test_gan_loss_is_stable_for_large_logits():
    gan = get_loss("gan")
    loss = gan.discriminator_loss(torch.tensor([200.0]), torch.tensor([-200.0]))
    assert torch.isfinite(loss) and loss.item() == pytest.approx(0.0, abs=1e-6)


def test_lsgan_is_zero_at_perfect_outputs():
    assert lsgan_discriminator_loss(torch.ones(4), torch.zeros(4)).item() == 0.0
    assert lsgan_generator_loss(torch.ones(4)).item() == 0.0


def test_lsgan_values():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([1.0, 3.0])
    # 1/2 [mean((r-1)^2) + mean(f^2)] = 1/2 [1 + 5] = 3
    assert lsgan_discriminator_loss(real, fake).item() == pytest.approx(3.0)
    assert lsgan_generator_loss(fake).item() == pytest.approx((0 + 4) / 2)


def test_wasserstein_losses():
    wgan = get_loss("wgan")
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.5, 0.5])
    assert wgan.discriminator_loss(real, fake).item() == pytest.approx(0.5 - 2.0)
    assert wgan.generator_loss(fake).item() == pytest.approx(-0.5)
    assert wgan.clips_weights and not wgan.uses_gradient_penalty
    assert get_loss("wgan-gp").uses_gradient_penalty and not get_loss("wgan-gp").clips_weights


class LinearCritic(nn.Module):
    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x):
        return (x.flatten(1) * self.weight.flatten()).sum(1)


def test_gradient_penalty_is_zero_for_unit_norm_linear_critic():
    w = torch.randn(3, 4, 4)
    critic = LinearCritic(w / w.norm())
    real, fake = torch.randn(6, 3, 4, 4), torch.randn(6, 3, 4, 4)
    gp = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(0))
    assert gp.item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_of_linear_critic_is_norm_minus_one_squared():
    w = torch.randn(3, 4, 4)
    critic = LinearCritic(w)
    real, fake = torch.randn(6, 3, 4, 4), torch.randn(6, 3, 4, 4)
    gp = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(0))
    lam = 10.0
    assert (lam * gp).item() == pytest.approx(lam * (w.norm().item() - 1) ** 2, rel=1e-5)


def test_gradient_penalty_uses_one_eps_per_sample_and_per_sample_norm():
    # Critic D(x) = sum_i c_i x_i^2 / 2 has gradient c * x; with real = fake the
    # interpolation is the same point whatever eps, so GP is exactly known per sample.
    class Quadratic(nn.Module):
        def forward(self, x):
            return 0.5 * x.square().flatten(1).sum(1) * 3.0

    x = torch.randn(5, 2, 3, 3)
    gp = gradient_penalty(Quadratic(), x, x.clone(), generator=torch.Generator().manual_seed(1))
    expected = ((3.0 * x).flatten(1).norm(dim=1) - 1).square().mean()
    torch.testing.assert_close(gp, expected)


def test_gradient_penalty_gradient_flows_to_critic():
    critic = LinearCritic(torch.randn(3, 4, 4))
    gp = gradient_penalty(critic, torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4))
    gp.backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


def test_gradient_penalty_is_fp32_under_autocast():
    critic = DCGANDiscriminator(width=8)
    x = torch.randn(4, 3, 32, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        gp = gradient_penalty(critic, x, torch.randn_like(x))
    assert gp.dtype == torch.float32


def test_clipping_bounds_every_critic_parameter():
    disc = DCGANDiscriminator(width=8)
    with torch.no_grad():
        for p in disc.parameters():
            p.normal_(0, 1)
    clip_weights_(disc, 0.01)
    for p in disc.parameters():
        assert p.abs().max().item() <= 0.01
    # BatchNorm's weight was clipped too.
    assert disc.layers[0][1].weight.abs().max().item() == pytest.approx(0.01)


def test_unknown_loss_lists_choices():
    with pytest.raises(GenlabError, match="choose one of"):
        get_loss("hinge")
    assert sorted(ADVERSARIAL_LOSSES) == ["gan", "lsgan", "wgan", "wgan-gp"]
