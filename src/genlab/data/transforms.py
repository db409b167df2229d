"""Conversions at the edges: uint8 <-> model range [-1, 1], and resizing."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor


def to_model_range(
    images: Tensor, device: torch.device | str | None = None, memory_format: torch.memory_format = torch.contiguous_format
) -> Tensor:
    """uint8 [0, 255] NCHW -> float32 [-1, 1] NCHW (on ``device``, in ``memory_format``)."""
    images = images.to(device, non_blocking=True) if device is not None else images
    return images.float().div_(127.5).sub_(1.0).contiguous(memory_format=memory_format)


def to_uint8(images: Tensor) -> Tensor:
    """float [-1, 1] -> uint8 [0, 255], rounding to the nearest level."""
    return images.detach().float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)


def resize_tensor_images(images: Tensor, size: int) -> Tensor:
    """Resize uint8 NCHW images to size x size (bilinear, antialiased when shrinking)."""
    if images.shape[-2:] == (size, size):
        return images
    resized = F.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return resized.round().clamp(0, 255).to(torch.uint8)


def center_crop_resize(image: Image.Image, size: int, *, crop_size: int = 0, crop_fraction: float = 1.0) -> Image.Image:
    """Crop the centre square (``crop_size`` pixels, else ``crop_fraction`` of the shorter side), resize to size x size.

    Bicubic resampling; with the defaults this is "resize the shorter side, crop the centre".
    """
    w, h = image.size
    side = min(crop_size, w, h) if crop_size else max(1, round(min(w, h) * crop_fraction))
    left, top = (w - side) // 2, (h - side) // 2
    image = image.crop((left, top, left + side, top + side))
    return image if side == size else image.resize((size, size), Image.BICUBIC)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL image as 8-bit RGB. 16-bit (and 32-bit integer) grey is scaled to 8 bits first: a plain
    convert("RGB") clips it, so every 16-bit image would turn white."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        import numpy as np

        values = np.asarray(image, dtype=np.float64)
        scale = 257.0 if image.mode.startswith("I;16") or values.max(initial=0) > 255 else 1.0
        image = Image.fromarray(np.clip(np.round(values / scale), 0, 255).astype(np.uint8), "L")
    return image.convert("RGB")


def pil_to_uint8_tensor(image: Image.Image) -> Tensor:
    """PIL RGB image -> uint8 CHW tensor."""
    import numpy as np

    array = np.asarray(to_rgb(image), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()
