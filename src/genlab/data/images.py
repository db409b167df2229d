"""Image datasets: a folder of image files (lazy) and images held in memory (uint8 NCHW)."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from genlab.data.transforms import pil_to_uint8_tensor, to_rgb
from genlab.errors import GenlabError, GenlabWarning  # noqa: F401 (GenlabWarning: re-exported)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".ppm")


def list_images(folder: str | Path) -> list[Path]:
    """Image files under ``folder`` (recursively), sorted; a clear error if there are none."""
    folder = Path(folder).expanduser()
    if folder.is_symlink() and not folder.exists():
        raise GenlabError(f"image folder {folder} is a symbolic link that leads nowhere (a loop or a missing target); give the real folder")
    if not folder.exists():
        raise GenlabError(f"image folder {folder} does not exist; check the path")
    if not folder.is_dir():
        raise GenlabError(f"{folder} is not a folder; give a folder that holds image files")
    # a link with an image's name that leads nowhere (a loop, a missing target) is listed, and counted as unreadable;
    # a pipe, socket or device with an image's name (directly or through a link) is skipped: reading it could block
    files, special = [], 0
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        if p.is_file() or (p.is_symlink() and not p.exists()):
            files.append(p)
        elif not p.is_dir():
            special += 1
    warn_skipped(special, folder, "file(s) that are not regular files (pipes, sockets, devices)")
    if not files:
        raise GenlabError(
            f"image folder {folder} holds no images ({', '.join(IMAGE_EXTENSIONS)}); put image files in it"
        )
    return files


# what opening or decoding a broken image file raises; a decompression bomb (an image of hundreds of megapixels,
# PIL's limit) is refused before it is decoded
UNREADABLE = (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError)


def open_rgb(path: Path) -> Image.Image:
    """The image of a file, decoded whole and converted to 8-bit RGB (16-bit, CMYK, palette, grey and alpha too)."""
    with Image.open(path) as image:
        return to_rgb(image)


def _readable(path: Path, *, decode: bool = False) -> bool:
    """Whether the header (or with ``decode`` the whole image: a truncated file has a good header) reads."""
    try:
        with Image.open(path) as image:
            if decode:
                image.load()
        return True
    except UNREADABLE:
        return False


def warn_skipped(count: int, folder: Path | str, what: str = "unreadable image file(s)") -> None:
    if count:
        warnings.warn(f"skipped {count} {what} in {folder}", GenlabWarning, stacklevel=3)


class ImageFolder(Dataset):
    """Every readable image under a folder, as uint8 CHW RGB tensors after ``transform`` (PIL -> PIL).

    Files whose header cannot be read are skipped with one warning that counts them; with ``decode`` every image is
    read whole once first (a progress bar), so that a truncated file is skipped too, not met halfway through training.
    """

    def __init__(
        self, folder: str | Path, transform: Callable[[Image.Image], Image.Image] | None = None, *, decode: bool = False
    ) -> None:
        self.folder = Path(folder).expanduser()
        candidates = list_images(self.folder)
        check = tqdm(candidates, desc=f"checking {self.folder.name}", unit="img", leave=False) if decode else candidates
        self.files = [p for p in check if _readable(p, decode=decode)]
        warn_skipped(len(candidates) - len(self.files), self.folder)
        if not self.files:
            raise GenlabError(f"no readable images in {self.folder}; every image file there failed to open")
        self.transform = transform

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> Image.Image:
        try:
            image = open_rgb(self.files[index])
        except UNREADABLE as e:
            raise GenlabError(f"{self.files[index]} cannot be read ({e}); remove or replace the file") from None
        return self.transform(image) if self.transform else image

    def __getitem__(self, index: int) -> Tensor:
        return pil_to_uint8_tensor(self.load(index))


def fingerprint(dataset: Dataset) -> str:
    """What identifies a dataset's images for a cache: each file's path, size and modification time for image
    folders (through subsets and wrappers, with the subset's indices), the name for in-memory images (built-in and
    checksummed datasets, whose content is fixed)."""
    digest = hashlib.sha1()
    while True:
        if isinstance(dataset, torch.utils.data.Subset):
            digest.update(repr(list(dataset.indices)).encode())
            dataset = dataset.dataset
        elif isinstance(getattr(dataset, "images", None), Dataset):
            dataset = dataset.images
        else:
            break
    if isinstance(dataset, ImageFolder):
        for path in dataset.files:
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    else:
        digest.update(str(getattr(dataset, "name", type(dataset).__name__)).encode())
    return digest.hexdigest()[:16]


class InMemoryImages(Dataset):
    """uint8 NCHW images (and optional integer labels) held in one tensor."""

    def __init__(self, images: Tensor, labels: Tensor | None = None, *, name: str = "images") -> None:
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"expected uint8 NCHW images, got {images.dtype} {tuple(images.shape)}")
        self.images = images
        self.labels = labels
        self.name = name

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> Tensor:
        return self.images[index]

    def __getitems__(self, indices: list[int]) -> Tensor:
        return self.images[torch.as_tensor(indices)]


def load_folder(folder: str | Path, transform: Callable[[Image.Image], Image.Image] | None = None) -> InMemoryImages:
    """Decode every image of a folder once (a progress bar) into memory; files that fail to read or decode (a bad
    header, a truncated body, no permission) are skipped with one warning that counts them."""
    folder = Path(folder).expanduser()
    images, failed = [], 0
    for path in tqdm(list_images(folder), desc=f"loading {folder.name}", unit="img", leave=False):
        try:
            image = open_rgb(path)
        except UNREADABLE:
            failed += 1
            continue
        images.append(pil_to_uint8_tensor(transform(image) if transform else image))
    warn_skipped(failed, folder)
    if not images:
        raise GenlabError(f"no readable images in {folder}; every image file there failed to open")
    sizes = {tuple(t.shape) for t in images}
    if len(sizes) > 1:
        raise GenlabError(f"images in {folder} have different sizes {sorted(sizes)[:3]}; give a transform that resizes")
    return InMemoryImages(torch.stack(images), name=str(folder))
