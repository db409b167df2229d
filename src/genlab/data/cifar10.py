"""CIFAR-10 (Krizhevsky 2009): the python archive, downloaded on first use.

Layout under the data root: ``cifar10/cifar-10-python.tar.gz`` and the unpacked
``cifar10/cifar-10-batches-py/``. A ``cifar-10-batches-py`` folder directly in the
data root (torchvision's layout) is used as it is.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

try:
    from numpy._core import multiarray as np_multiarray
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as np_multiarray  # type: ignore[no-redef]

from genlab.data.download import check_hash, download, extract
from genlab.data.images import InMemoryImages
from genlab.errors import GenlabError

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
BATCHES = "cifar-10-batches-py"
SPLIT_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
# The published md5 of every unpacked file (as torchvision checks them): an unpacked folder is verified file by file.
BATCH_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}


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


class _ArraysOnly(pickle.Unpickler):
    """Unpickles dicts, lists, numbers, bytes and numpy arrays, and nothing that could run code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): np_multiarray._reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): np_multiarray._reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # bytes, as Python 3 writes them at pickle protocol 2
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not CIFAR-10 data")
        return self.ALLOWED[module, name]


def read_batch(path: Path, md5: str | None) -> tuple[np.ndarray, list[int]]:
    """One unpacked batch file, checked against its published md5 (when given) and read as plain arrays."""
    hint = f"delete {path.parent} and run again to download and unpack CIFAR-10 anew"
    if not path.is_file():
        raise GenlabError(f"{path} is missing from the unpacked CIFAR-10 folder; {hint}")
    if md5 is not None and not check_hash(path, md5=md5):
        raise GenlabError(f"{path} does not match CIFAR-10's published checksum (damaged or replaced); {hint}")
    try:
        with open(path, "rb") as f:
            batch = _ArraysOnly(f, encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = [int(label) for label in batch[b"labels"]]
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise GenlabError(f"{path} is not a CIFAR-10 batch ({type(e).__name__}: {str(e)[:120]}); {hint}") from None
    if len(labels) != data.shape[0]:
        raise GenlabError(f"{path} holds {data.shape[0]} images but {len(labels)} labels; {hint}")
    return data, labels


def load_cifar10(
    data_root: str | Path, split: str = "train", *, batch_md5: dict[str, str] | None = BATCH_MD5, **fetch_kwargs: Any
) -> InMemoryImages:
    """A split of CIFAR-10 as uint8 images with labels; ``batch_md5`` None skips the per-file checksums (the reading
    is restricted to arrays either way)."""
    if split not in SPLIT_FILES:
        raise GenlabError(f"unknown CIFAR-10 split {split!r}; choose one of {sorted(SPLIT_FILES)}")
    folder = fetch_cifar10(data_root, **fetch_kwargs)
    arrays, labels = [], []
    for name in SPLIT_FILES[split]:
        data, batch_labels = read_batch(folder / name, None if batch_md5 is None else batch_md5[name])
        arrays.append(data)
        labels.extend(batch_labels)
    images = torch.from_numpy(np.concatenate(arrays))
    return InMemoryImages(images, torch.tensor(labels, dtype=torch.long), name=f"cifar10-{split}")
