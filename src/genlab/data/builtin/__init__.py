"""The built-in datasets: nothing to download, everything works offline.

- ``builtin``: 1,797 real handwritten digits (``digits``), for the DCGANs;
- ``seasons``: summer and winter landscapes drawn from code (``seasons``), the CycleGAN summer<->winter task;
- ``toonfaces`` and ``animefaces``: cartoon and anime character faces composed from parts (``toonfaces``,
  ``animefaces``), the VAE and cartoon<->animation tasks.

The drawn sets are deterministic: the same name, size and index give the same image on every machine. A split is
drawn once (with a progress bar) and kept under ``DATA_ROOT/builtin/`` as one ``.npz``; later runs read that file.
Training images are indices 0..N-1 and test images start at ``TEST_START``, so the two never share a scene or face.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from genlab.data.builtin import animefaces, seasons, toonfaces
from genlab.data.builtin.digits import BUILTIN_NATIVE_SIZE, BUILTIN_TRAIN_SIZE, builtin_digits
from genlab.data.images import InMemoryImages
from genlab.errors import GenlabError
from genlab.files import replacing

__all__ = [
    "BUILTIN_NATIVE_SIZE", "BUILTIN_TRAIN_SIZE", "DRAWN_PAIRS", "DRAWN_SETS", "DrawnSet", "builtin_digits", "drawn_images", "write_pair_folders",
]

TEST_START = 1_000_000
CACHE_VERSION = 1  # raised whenever a drawing changes, so that old cached renders are not used


@dataclass(frozen=True)
class DrawnSet:
    """A set drawn from code: ``draw(indices, size)`` gives (uint8 N x H x W x 3 images, int labels)."""

    draw: Callable[[range, int], tuple[np.ndarray, np.ndarray]]
    train: int  # training images
    test: int  # test images
    max_size: int


DRAWN_SETS: dict[str, DrawnSet] = {
    # labels: hair colour group (faces), scene kind (seasons)
    "toonfaces": DrawnSet(toonfaces.render, 10_000, 1_000, 500),
    "animefaces": DrawnSet(animefaces.render, 10_000, 1_000, 500),
    "seasons-summer": DrawnSet(lambda i, s: seasons.render("summer", i, s), 1_000, 100, 256),
    "seasons-winter": DrawnSet(lambda i, s: seasons.render("winter", i, s), 1_000, 100, 256),
}

# CycleGAN pairs of drawn sets: name -> (domain A, domain B, training images per domain).
DRAWN_PAIRS: dict[str, tuple[str, str, int]] = {
    "seasons": ("seasons-summer", "seasons-winter", 1_000),
    "toonfaces2anime": ("toonfaces", "animefaces", 1_000),
}
MIN_SIZE = 8


def _cache_path(data_root: str | Path, name: str, split: str, count: int, size: int) -> Path:
    return Path(data_root).expanduser() / "builtin" / f"{name}-{split}-{count}-{size}px-v{CACHE_VERSION}.npz"


def drawn_images(name: str, split: str, size: int, *, data_root: str | Path, count: int | None = None) -> InMemoryImages:
    """The first ``count`` (default: all) images of a split ('train' or 'test') of a drawn set, at size x size."""
    drawn = DRAWN_SETS[name]
    if split not in ("train", "test"):
        raise GenlabError(f"unknown split {split!r} of {name}; choose 'train' or 'test'")
    if not MIN_SIZE <= size <= drawn.max_size:
        raise GenlabError(f"{name} is drawn at {MIN_SIZE} to {drawn.max_size} px, not {size}; choose an image size in that range")
    total = drawn.train if split == "train" else drawn.test
    count = total if count is None else min(count, total)
    path = _cache_path(data_root, name, split, count, size)
    if path.is_file():
        with np.load(path) as cached:
            images, labels = cached["images"], cached["labels"]
    else:
        start, chunks = (0 if split == "train" else TEST_START), []
        with tqdm(total=count, desc=f"drawing {name} ({split}, {size}px)", unit="img", leave=False) as bar:
            for first in range(start, start + count, 100):
                chunks.append(drawn.draw(range(first, min(first + 100, start + count)), size))
                bar.update(len(chunks[-1][1]))
        images, labels = np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])
        _save_cache(path, images, labels)
    tensor = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()
    return InMemoryImages(tensor, torch.from_numpy(labels), name=f"{name}-{split}")


def _save_cache(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Written whole then renamed; an unwritable data root only costs drawing again next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path, ".npz") as tmp:
            np.savez_compressed(tmp, images=images, labels=labels)
    except OSError as e:
        warnings.warn(f"could not keep the drawn images in {path.parent} ({e}); they will be drawn again next time", stacklevel=3)


def write_pair_folders(name: str, data_root: str | Path, size: int = 256) -> Path:
    """A drawn pair as a CycleGAN dataset folder of PNG files, ``DATA_ROOT/NAME/{trainA,trainB,testA,testB}/``, for
    commands that read folders (``genlab translate --input DATA_ROOT/seasons/testB``) and for other tools."""
    a, b, count = DRAWN_PAIRS[name]
    root = Path(data_root).expanduser() / name
    for folder, set_name, split in (("trainA", a, "train"), ("trainB", b, "train"), ("testA", a, "test"), ("testB", b, "test")):
        images = drawn_images(set_name, split, size, data_root=data_root, count=count if split == "train" else None).images
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(tqdm(images, desc=f"writing {name}/{folder}", unit="img", leave=False)):
            Image.fromarray(image.permute(1, 2, 0).numpy()).save(root / folder / f"{i:05d}.png")
    return root
