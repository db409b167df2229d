"""The built-in dataset: real handwritten digits that work offline.

Provenance: the 1,797 8x8 grey-level digits (values 0..16) that scikit-learn
ships as ``sklearn.datasets.load_digits`` (a copy of the test set of the UCI ML
hand-written digits data, Alpaydin & Kaynak 1998, 43 writers), so nothing is
downloaded. genlab scales them to [0, 255], upsamples them bilinearly to 32x32
(or the model's size) and repeats the grey channel to RGB: white digits on
black. A fixed permutation (seed 0) puts 1,500 images in ``train`` and the
remaining 297 in ``test``; labels (0-9) are kept.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genlab.data.images import InMemoryImages
from genlab.errors import GenlabError

BUILTIN_TRAIN_SIZE = 1500
BUILTIN_NATIVE_SIZE = 32


def builtin_digits(split: str = "train", *, size: int = BUILTIN_NATIVE_SIZE) -> InMemoryImages:
    from sklearn.datasets import load_digits

    if split not in ("train", "test", "all"):
        raise GenlabError(f"unknown built-in split {split!r}; choose one of ['all', 'test', 'train']")
    digits = load_digits()
    grey = torch.from_numpy(digits.images).float().div(16.0).unsqueeze(1)  # (1797, 1, 8, 8) in [0, 1]
    labels = torch.from_numpy(digits.target).long()
    order = torch.randperm(grey.shape[0], generator=torch.Generator().manual_seed(0))
    if split == "train":
        order = order[:BUILTIN_TRAIN_SIZE]
    elif split == "test":
        order = order[BUILTIN_TRAIN_SIZE:]
    up = F.interpolate(grey[order], size=(size, size), mode="bilinear", align_corners=False)
    images = up.mul(255).round().clamp(0, 255).to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
    return InMemoryImages(images, labels[order], name=f"builtin-{split}")
