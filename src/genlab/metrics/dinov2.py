"""The DINOv2 vision transformer (Oquab et al. 2023) as a feature network, built from its published weights.

The published ``dinov2_vit*14_pretrain.pth`` files are plain state dicts, so they are read with
``weights_only=True`` into this module; nothing from the network's own repository is imported or run.
Its shape (width, depth, heads, patch size, position grid, layer scale) is read from the tensors.
The output is what DINOv2's hub models return: the class token after the last LayerNorm.

The position embeddings, learnt on a 37 x 37 grid (518 px), are resampled to the input's grid as
DINOv2 does it: bicubic, ``align_corners=False``, with a scale factor of ``(grid + 0.1) / 37``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

HEAD_WIDTH = 64  # every DINOv2 ViT has heads of 64 channels
INTERPOLATE_OFFSET = 0.1  # DINOv2's guard against a float landing just below the grid size


class Block(nn.Module):
    def __init__(self, width: int, heads: int, hidden: int, layer_scale: bool) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width, eps=1e-6)
        self.attn = nn.Module()
        self.attn.qkv = nn.Linear(width, 3 * width)
        self.attn.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.mlp = nn.Sequential()
        self.mlp.fc1 = nn.Linear(width, hidden)
        self.mlp.act = nn.GELU()
        self.mlp.fc2 = nn.Linear(hidden, width)
        if layer_scale:
            self.ls1, self.ls2 = nn.Module(), nn.Module()
            self.ls1.gamma = nn.Parameter(torch.ones(width))
            self.ls2.gamma = nn.Parameter(torch.ones(width))

    def scale(self, name: str, x: Tensor) -> Tensor:
        return x * getattr(self, name).gamma if hasattr(self, name) else x

    def attention(self, x: Tensor) -> Tensor:
        n, tokens, width = x.shape
        q, k, v = self.attn.qkv(x).view(n, tokens, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.attn.proj(out.transpose(1, 2).reshape(n, tokens, width))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.scale("ls1", self.attention(self.norm1(x)))
        return x + self.scale("ls2", self.mlp(self.norm2(x)))


class DinoV2(nn.Module):
    """A DINOv2 ViT shaped like ``state`` (its tensors are loaded by the caller)."""

    def __init__(self, state: dict[str, Tensor]) -> None:
        super().__init__()
        width = state["cls_token"].shape[-1]
        depth = len({key.split(".")[1] for key in state if key.startswith("blocks.")})
        proj = state["patch_embed.proj.weight"]
        self.patch = proj.shape[-1]
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(proj.shape[1], width, self.patch, stride=self.patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.zeros_like(state["pos_embed"]))
        self.mask_token = nn.Parameter(torch.zeros(1, width))  # used in training only; kept so the file loads strictly
        hidden = state["blocks.0.mlp.fc1.weight"].shape[0]
        self.blocks = nn.ModuleList(Block(width, width // HEAD_WIDTH, hidden, "blocks.0.ls1.gamma" in state) for _ in range(depth))
        self.norm = nn.LayerNorm(width, eps=1e-6)

    def position_embeddings(self, rows: int, cols: int) -> Tensor:
        grid = math.isqrt(self.pos_embed.shape[1] - 1)
        if (rows, cols) == (grid, grid):
            return self.pos_embed
        cls, patches = self.pos_embed[:, :1], self.pos_embed[:, 1:].float()
        patches = patches.reshape(1, grid, grid, -1).permute(0, 3, 1, 2)
        scale = ((rows + INTERPOLATE_OFFSET) / grid, (cols + INTERPOLATE_OFFSET) / grid)
        patches = F.interpolate(patches, scale_factor=scale, mode="bicubic", align_corners=False)
        assert patches.shape[-2:] == (rows, cols)
        return torch.cat([cls, patches.flatten(2).transpose(1, 2).to(cls.dtype)], dim=1)

    def forward(self, x: Tensor) -> Tensor:
        rows, cols = x.shape[-2] // self.patch, x.shape[-1] // self.patch
        tokens = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1) + self.position_embeddings(rows, cols)
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)[:, 0]
