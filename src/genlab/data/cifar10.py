"""CIFAR-10 (Krizhevsky 2009): the python archive, downloaded on first use.

Layout under the data root: ``cifar10/cifar-10-python.tar.gz`` and the unpacked
``cifar10/cifar-10-batches-py/``. A ``cifar-10-batches-py`` folder directly in the
data root (torchvision's layout) is used as it is.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from genlab.data.download import download, extract
from genlab.data.images import InMemoryImages
from genlab.errors import GenlabError

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
BATCHES = "cifar-10-batches-py"
SPLIT_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


def _batches_folder(data_root: Path) -> Path | None:
    for candidate in (data_root / "cifar10" / BATCHES, data_root / BATCHES):
        if (candidate / "batches.meta").is_file():
            return candidate
    return None


def fetch_cifar10(data_root: str | Path, *, url: str = CIFAR10_URL, md5: str | None = CIFAR10_MD5) -> Path:
    """Return the unpacked batches folder, downloading and unpacking the archive if needed."""
    data_root = Path(data_root)
    found = _batches_folder(data_root)
    if found is not None:
        return found
    folder = data_root / "cifar10"
    hint = (
        f"download {CIFAR10_ARCHIVE} from {CIFAR10_URL} and put it in {folder} "
        f"(or set --data-root / $GENLAB_DATA to a folder that has it)"
    )
    archive = download(url, folder / CIFAR10_ARCHIVE, md5=md5, manual_hint=hint)
    extract(archive, folder)
    found = _batches_folder(data_root)
    if found is None:
        raise GenlabError(f"{archive} did not unpack to {folder / BATCHES}; delete it and try again")
    return found


def load_cifar10(data_root: str | Path, split: str = "train", **fetch_kwargs) -> InMemoryImages:
    if split not in SPLIT_FILES:
        raise GenlabError(f"unknown CIFAR-10 split {split!r}; choose one of {sorted(SPLIT_FILES)}")
    folder = fetch_cifar10(data_root, **fetch_kwargs)
    arrays, labels = [], []
    for name in SPLIT_FILES[split]:
        with open(folder / name, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        arrays.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.extend(batch[b"labels"])
    images = torch.from_numpy(np.concatenate(arrays))
    return InMemoryImages(images, torch.tensor(labels, dtype=torch.long), name=f"cifar10-{split}")
