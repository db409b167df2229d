"""Image grids and single images saved as PNG (images in [-1, 1], NCHW)."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor
from torchvision.utils import make_grid

from genlab.data.transforms import to_uint8
from genlab.reporting.writer import write


MIN_SHOWN = 32  # images smaller than this are enlarged (nearest neighbour, by a whole factor) so a grid can be seen


def grid_image(images: Tensor, *, nrow: int | None = None, padding: int = 2) -> Image.Image:
    nrow = nrow or max(1, int(math.ceil(math.sqrt(images.shape[0]))))
    pixels = to_uint8(images.cpu())
    factor = math.ceil(MIN_SHOWN / min(pixels.shape[-2:]))
    if factor > 1:
        pixels = pixels.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)
    grid = make_grid(pixels, nrow=nrow, padding=padding, pad_value=255)
    return Image.fromarray(grid.permute(1, 2, 0).numpy())


def save_grid(images: Tensor, path: str | Path, *, nrow: int | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = grid_image(images, nrow=nrow)  # made now; encoded and written now or by the background writer
    write(lambda: image.save(path))
    return path


def save_images(images: Tensor, folder: str | Path, *, start: int = 0) -> list[Path]:
    """One PNG per image: 000000.png, 000001.png, ..."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(to_uint8(images.cpu())):
        path = folder / f"{start + i:06d}.png"
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(path)
        paths.append(path)
    return paths


def interleave(*rows: Tensor) -> Tensor:
    """Stack equally sized batches so image i of each appears side by side: a0 b0 a1 b1 ..."""
    return torch.stack(rows, dim=1).flatten(0, 1)
