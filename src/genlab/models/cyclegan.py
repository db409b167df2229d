"""CycleGAN networks (Zhu et al. 2017; spec section 2, Table 2 of seed 000).

ResNet generator, 6 residual blocks (at 256x256):
    ReflectionPad(3), Conv(64, k7) , IN, ReLU          (256,256,3)  -> (256,256,64)
    Conv(128, k3, s2, p1), IN, ReLU                     -> (128,128,128)
    Conv(256, k3, s2, p1), IN, ReLU                     -> (64,64,256)
    6 x [ReflectionPad(1), Conv(256, k3), IN, ReLU, ReflectionPad(1), Conv(256, k3), IN] + skip
    ConvTranspose(128, k3, s2, p1, output_padding 1), IN, ReLU   -> (128,128,128)
    ConvTranspose(64, k3, s2, p1, output_padding 1), IN, ReLU    -> (256,256,64)
    ReflectionPad(3), Conv(3, k7), Tanh                 -> (256,256,3)
70x70 PatchGAN discriminator:
    Conv(64, k4, s2, p1), LeakyReLU(0.2)                (256,256,3) -> (128,128,64)
    Conv(128, k4, s2, p1), IN, LeakyReLU(0.2)           -> (64,64,128)
    Conv(256, k4, s2, p1), IN, LeakyReLU(0.2)           -> (32,32,256)
    Conv(512, k4, s1, p1), IN, LeakyReLU(0.2)           -> (31,31,512)
    Conv(1, k4, s1, p1)                                 -> (30,30,1) logits

Every convolution has a bias; InstanceNorm has no affine parameters (as in the
reference implementation), so G = 7,837,699 and D = 2,764,737 parameters. Any
image size divisible by 4 works (64, 128, 256, ...). With fewer stride-2 layers
(``n_layers``, the reference's ``--n_layers_D``) the discriminator judges smaller
patches: 34x34 with 2, 16x16 with 1.
"""

from __future__ import annotations

from torch import Tensor, nn


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    def __init__(self, *, channels: int = 3, width: int = 64, n_blocks: int = 6) -> None:
        super().__init__()
        w = width
        self.down = nn.Sequential(
            nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(channels, w, 7), _norm(w), nn.ReLU()),  # (N, 64, H, W)
            nn.Sequential(nn.Conv2d(w, 2 * w, 3, 2, 1), _norm(2 * w), nn.ReLU()),  # (N, 128, H/2, W/2)
            nn.Sequential(nn.Conv2d(2 * w, 4 * w, 3, 2, 1), _norm(4 * w), nn.ReLU()),  # (N, 256, H/4, W/4)
        )
        self.blocks = nn.Sequential(*[ResidualBlock(4 * w) for _ in range(n_blocks)])  # (N, 256, H/4, W/4)
        self.up = nn.Sequential(
            nn.Sequential(nn.ConvTranspose2d(4 * w, 2 * w, 3, 2, 1, output_padding=1), _norm(2 * w), nn.ReLU()),  # H/2
            nn.Sequential(nn.ConvTranspose2d(2 * w, w, 3, 2, 1, output_padding=1), _norm(w), nn.ReLU()),  # H
            nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(w, channels, 7), nn.Tanh()),  # (N, 3, H, W)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.up(self.blocks(self.down(x)))


def patch_size(n_layers: int) -> int:
    """The side of the input patch each output logit sees: 70 for 3 stride-2 layers (the 70x70 PatchGAN), 34, 16."""
    size = 1
    for stride in (1, 1, *[2] * n_layers):  # back from the output: two stride-1 layers, then the stride-2 ones
        size = (size - 1) * stride + 4
    return size


class PatchDiscriminator(nn.Module):
    """One logit per overlapping patch: (N, 1, 30, 30) at 256x256 with 3 stride-2 layers (70x70 patches, the default);
    ``n_layers`` as the reference implementation's ``--n_layers_D``: 1 gives 16x16 patches, 2 gives 34x34."""

    def __init__(self, *, channels: int = 3, width: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        w = width
        layers = [nn.Sequential(nn.Conv2d(channels, w, 4, 2, 1), nn.LeakyReLU(0.2))]  # (N, 64, H/2, W/2)
        for n in range(1, n_layers + 1):  # H/4, H/8 with the default's 3, then one of stride 1: H/8 - 1
            stride, c_in, c_out = 2 if n < n_layers else 1, w * min(2 ** (n - 1), 8), w * min(2**n, 8)
            layers.append(nn.Sequential(nn.Conv2d(c_in, c_out, 4, stride, 1), _norm(c_out), nn.LeakyReLU(0.2)))
        layers.append(nn.Conv2d(w * min(2**n_layers, 8), 1, 4, 1, 1))  # H/8 - 2 logits with the default's 3
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)
