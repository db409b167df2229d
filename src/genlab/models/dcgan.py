"""DCGAN generator and discriminator for 32x32 images (spec section 1, Table 1 of seed 000).

Generator, z as (N, 256, 1, 1):
    (1,1,256) -> (4,4,256) -> (8,8,128) -> (16,16,64) -> (32,32,3)
    ConvTranspose k4 (s1 p0, then s2 p1), BatchNorm, ReLU; the last layer BatchNorm + Tanh.
Discriminator:
    (32,32,3) -> (16,16,64) -> (8,8,128) -> (4,4,256) -> (1,1,1)
    Conv k4 s2 p1, BatchNorm, LeakyReLU(0.2); the last Conv k4 s1 p0 gives one logit.

Bias choice: convolutions followed by a normalisation layer have no bias (the
normalisation's shift makes it redundant); the discriminator's last convolution,
and the generator's last one when no BatchNorm follows it, have one unless
``last_bias=False`` (the assignment's skeleton has no convolution bias anywhere). With the defaults the parameter counts are
G = 1,707,910 and D = 663,425.

Other power-of-two sizes add or remove a stride-2 layer: widths double per layer
away from the image, so 64x64 gives the DCGAN paper's 512-256-128-64 generator.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from genlab.config import CriticNorm, stages_to
from genlab.registry import choose


def _stages(image_size: int) -> int:
    """Number of stride-2 layers between 4x4 and the image size."""
    stages = stages_to(image_size)
    if stages is None:
        raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
    return stages


def _batch_norm(channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels)


def _layer_norm(channels: int) -> nn.Module:
    # Normalises each sample over (C, H, W), with a per-channel scale and shift.
    return nn.GroupNorm(1, channels)


def _no_norm(channels: int) -> nn.Module:
    return nn.Identity()


CRITIC_NORMS: dict[CriticNorm, Callable[[int], nn.Module]] = {"batch": _batch_norm, "layer": _layer_norm, "none": _no_norm}


class RepeatChannels(nn.Module):
    """(N, 1, H, W) -> (N, channels, H, W), the one channel in each."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x: Tensor) -> Tensor:
        return x.expand(-1, self.channels, -1, -1)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


class DCGANGenerator(nn.Module):
    def __init__(
        self,
        *,
        z_dim: int = 256,
        image_size: int = 32,
        width: int = 64,
        channels: int = 3,
        last_norm: bool = True,
        last_bias: bool = True,
        grey: bool = False,
    ) -> None:
        """``grey``: the last layer draws one channel, repeated ``channels`` times (grey images cannot get colour
        speckle, and the rest of the pipeline still sees ``channels`` channels)."""
        super().__init__()
        stages = _stages(image_size)
        widths = [width * 2 ** (stages - 1 - i) for i in range(stages)]  # 32x32: [256, 128, 64]
        self.z_dim = z_dim
        layers = [_up(z_dim, widths[0], stride=1, padding=0)]  # (N, 256, 4, 4)
        layers += [_up(c_in, c_out, stride=2, padding=1) for c_in, c_out in zip(widths, widths[1:])]
        drawn = 1 if grey else channels
        last = [nn.ConvTranspose2d(widths[-1], drawn, 4, 2, 1, bias=last_bias and not last_norm)]
        if last_norm:
            last.append(nn.BatchNorm2d(drawn))
        last.append(nn.Tanh())
        if grey:
            last.append(RepeatChannels(channels))
        layers.append(nn.Sequential(*last))  # (N, 3, 32, 32)
        self.layers = nn.ModuleList(layers)

    def forward(self, z: Tensor) -> Tensor:
        x = z.view(z.shape[0], self.z_dim, 1, 1)
        for layer in self.layers:
            x = layer(x)
        return x


class DCGANDiscriminator(nn.Module):
    """Returns one logit per image, shape (N,)."""

    def __init__(
        self,
        *,
        image_size: int = 32,
        width: int = 64,
        channels: int = 3,
        norm: str = "batch",
        last_bias: bool = True,
    ) -> None:
        super().__init__()
        make_norm = choose(CRITIC_NORMS, norm, "critic normalisation")
        stages = _stages(image_size)
        widths = [width * 2**i for i in range(stages)]  # 32x32: [64, 128, 256]
        layers = []
        for c_in, c_out in zip([channels, *widths], widths):
            layers.append(
                nn.Sequential(
                    nn.Conv2d(c_in, c_out, 4, 2, 1, bias=norm == "none"),
                    make_norm(c_out),
                    nn.LeakyReLU(0.2),
                )
            )  # halves H and W: (N, 64, 16, 16) -> (N, 128, 8, 8) -> (N, 256, 4, 4)
        layers.append(nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=last_bias))  # (N, 1, 1, 1)
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x.view(x.shape[0])


def _up(c_in: int, c_out: int, *, stride: int, padding: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 4, stride, padding, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    )
