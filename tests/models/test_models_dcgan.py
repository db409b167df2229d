import pytest
import torch
from torch import nn

from genlab.config import build_config
from genlab.models.dcgan import DCGANDiscriminator, DCGANGenerator
from genlab.families.dcgan import build_discriminator, build_generator


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_generator_layer_shapes_match_table():
    gen = DCGANGenerator()
    x = torch.randn(2, 256, 1, 1)
    expected = [(2, 256, 4, 4), (2, 128, 8, 8), (2, 64, 16, 16), (2, 3, 32, 32)]
    assert len(gen.layers) == 4
    for layer, shape in zip(gen.layers, expected):
        x = layer(x)
        assert tuple(x.shape) == shape


def test_discriminator_layer_shapes_match_table():
    disc = DCGANDiscriminator()
    x = torch.randn(2, 3, 32, 32)
    expected = [(2, 64, 16, 16), (2, 128, 8, 8), (2, 256, 4, 4), (2, 1, 1, 1)]
    assert len(disc.layers) == 4
    for layer, shape in zip(disc.layers, expected):
        x = layer(x)
        assert tuple(x.shape) == shape
    assert disc(torch.randn(5, 3, 32, 32)).shape == (5,)


def test_parameter_counts_of_the_table():
    # Bias-free convolutions where BatchNorm follows; a bias on the last D convolution.
    assert n_params(DCGANGenerator()) == 1_707_910
    assert n_params(DCGANDiscriminator()) == 663_425
    assert n_params(DCGANDiscriminator(last_bias=False)) == 663_424


def test_layer_types_and_order():
    gen, disc = DCGANGenerator(), DCGANDiscriminator()
    assert [type(m) for m in gen.layers[0]] == [nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU]
    assert [type(m) for m in gen.layers[3]] == [nn.ConvTranspose2d, nn.BatchNorm2d, nn.Tanh]
    first = gen.layers[0][0]
    assert (first.kernel_size, first.stride, first.padding) == ((4, 4), (1, 1), (0, 0))
    assert [type(m) for m in disc.layers[0]] == [nn.Conv2d, nn.BatchNorm2d, nn.LeakyReLU]
    assert disc.layers[0][2].negative_slope == 0.2
    last = disc.layers[3]
    assert (last.kernel_size, last.stride, last.padding) == ((4, 4), (1, 1), (0, 0))


def test_generator_without_last_batchnorm():
    gen = DCGANGenerator(last_norm=False)
    assert [type(m) for m in gen.layers[3]] == [nn.ConvTranspose2d, nn.Tanh]
    assert gen.layers[3][0].bias is not None
    assert n_params(gen) == 1_707_910 - 6 + 3


def test_generator_last_bias_switch():
    # With BatchNorm before the Tanh the last convolution never has a bias; without it, only when asked.
    assert n_params(DCGANGenerator(last_bias=False)) == 1_707_910
    gen = DCGANGenerator(last_norm=False, last_bias=False)
    assert gen.layers[3][0].bias is None
    assert n_params(gen) == 1_707_910 - 6


def test_a_grey_generator_draws_one_channel_shown_as_three():
    gen = DCGANGenerator(grey=True)
    # the last convolution 64 -> 1 instead of 64 -> 3 (2 x 64 x 4 x 4 weights fewer), its BatchNorm 1 channel (4 fewer)
    assert n_params(gen) == 1_707_910 - 2 * 64 * 16 - 4
    x = gen(torch.randn(4, 256))
    assert x.shape == (4, 3, 32, 32) and gen.layers[3][0].out_channels == 1
    torch.testing.assert_close(x, x[:, :1].expand(-1, 3, -1, -1), rtol=0, atol=0)
    cfg = build_config("dcgan", preset="smoke", overrides=dict(grey=True, device="cpu"))
    assert build_generator(cfg).layers[-1][0].out_channels == 1


@pytest.mark.parametrize("norm, norm_type", [("layer", nn.GroupNorm), ("none", nn.Identity)])
def test_selectable_critic_normalisation(norm, norm_type):
    disc = DCGANDiscriminator(norm=norm)
    assert all(isinstance(block[1], norm_type) for block in disc.layers[:3])
    assert all((block[0].bias is not None) == (norm == "none") for block in disc.layers[:3])
    assert disc(torch.randn(3, 3, 32, 32)).shape == (3,)


def test_layer_norm_normalises_each_sample():
    norm = DCGANDiscriminator(norm="layer").layers[0][1]
    x = torch.randn(4, 64, 16, 16) * 3 + 2
    y = norm(x)
    torch.testing.assert_close(y.mean(dim=(1, 2, 3)), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(dim=(1, 2, 3), unbiased=False), torch.ones(4), atol=1e-3, rtol=0)


def test_other_image_size_adds_layers():
    gen, disc = DCGANGenerator(image_size=64), DCGANDiscriminator(image_size=64)
    images = gen(torch.randn(2, 256, 1, 1))
    assert images.shape == (2, 3, 64, 64)
    assert disc(images).shape == (2,)
    assert gen.layers[0][0].out_channels == 512


def test_tanh_range():
    out = DCGANGenerator()(torch.randn(8, 256, 1, 1) * 10)
    assert out.min() >= -1 and out.max() <= 1


def test_normal_init_statistics():
    cfg = build_config("dcgan", overrides={"device": "cpu"})
    torch.manual_seed(0)
    gen = build_generator(cfg)
    weight = gen.layers[1][0].weight
    assert weight.mean().item() == pytest.approx(0.0, abs=1e-3)
    assert weight.std().item() == pytest.approx(0.02, rel=0.02)
    bn = gen.layers[1][1]
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert bn.weight.std().item() == pytest.approx(0.02, rel=0.3)
    torch.testing.assert_close(bn.bias, torch.zeros_like(bn.bias))


def test_pytorch_default_init_keeps_constructor_weights():
    cfg = build_config("dcgan", overrides={"device": "cpu", "init": "pytorch"})
    torch.manual_seed(3)
    disc = build_discriminator(cfg)
    torch.manual_seed(3)
    plain = DCGANDiscriminator()
    for a, b in zip(disc.parameters(), plain.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # PyTorch's default BatchNorm init is weight 1, bias 0.
    torch.testing.assert_close(disc.layers[0][1].weight, torch.ones(64))
