"""Named image sources: every one ends as uint8 NCHW images at the model's size.

``builtin`` (offline digits), the drawn sets (``toonfaces``, ``animefaces``, ``seasons-summer``,
``seasons-winter``; offline), ``cifar10`` (downloaded on first use), or a path to any folder of
images (resized on the shorter side and centre-cropped).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from genlab.data.builtin import DRAWN_SETS, builtin_digits, drawn_images
from genlab.data.cifar10 import load_cifar10
from genlab.data.images import InMemoryImages, load_folder
from genlab.data.transforms import center_crop_resize, resize_tensor_images
from genlab.errors import GenlabError

Source = Callable[[str, str, int, int], InMemoryImages]  # (data_root, split, image_size, limit) -> images

NAMED_SOURCES: dict[str, Source] = {
    # The digits are 8x8: upsampled once, straight to the model's size (not through 32x32).
    "builtin": lambda data_root, split, size, limit: builtin_digits(split, size=size),
    "cifar10": lambda data_root, split, size, limit: load_cifar10(data_root, split),
    # drawn at the model's size, only as many as used: toonfaces, animefaces, seasons-summer, seasons-winter
    **{
        name: (lambda data_root, split, size, limit, name=name: drawn_images(name, split, size, data_root=data_root, count=limit or None))
        for name in DRAWN_SETS
    },
}


def load_images(
    source: str,
    *,
    image_size: int,
    data_root: str,
    split: str = "train",
    limit: int = 0,
    crop_size: int = 0,
    crop_fraction: float = 1.0,
) -> InMemoryImages:
    """Images of a named source or a folder, at image_size x image_size, the first ``limit`` of them.

    Folder images are centre-cropped (``crop_size`` pixels or ``crop_fraction`` of the shorter side)
    and resized; named sources are resized as they are.
    """
    if source in NAMED_SOURCES:
        images = NAMED_SOURCES[source](data_root, split, image_size, limit)
    elif Path(source).expanduser().exists() or "/" in source or source.startswith("."):
        crop = dict(crop_size=crop_size, crop_fraction=crop_fraction)
        images = load_folder(source, transform=lambda image: center_crop_resize(image, image_size, **crop))
    else:
        raise GenlabError(
            f"unknown dataset {source!r}; choose one of {sorted(NAMED_SOURCES)} or give the path of an image folder"
        )
    tensor, labels = images.images, images.labels
    if limit:
        tensor, labels = tensor[:limit], (labels[:limit] if labels is not None else None)
    return InMemoryImages(resize_tensor_images(tensor, image_size), labels, name=images.name)
