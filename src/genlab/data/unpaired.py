"""Two unpaired image domains for CycleGAN (spec section 2).

``UnpairedImages`` is unpaired by construction: index i walks domain A (in the
loader's shuffled order) while the B image is drawn independently, from a
generator seeded by (seed, epoch, i); the length is max(|A|, |B|). There is no
option to pair them.

Preprocessing as in the reference implementation: training images are resized
to ``load_size`` (square), randomly cropped to ``image_size`` and flipped
horizontally at random; test images are resized to ``image_size``. ``none``
uses images as they are (they must all be ``image_size``).

Layouts: ``ROOT/trainA trainB [testA testB]`` (the CycleGAN datasets), or any
two folders with a seeded held-out fraction for testing; ``builtin`` gives two
renderings of disjoint halves of the built-in digits; ``seasons`` (summer/winter
landscapes) and ``toonfaces2anime`` (cartoon/anime faces) are drawn from code at
the model's size, A and B from independent parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from genlab.data.builtin import DRAWN_PAIRS, builtin_digits, drawn_images
from genlab.data.images import ImageFolder, InMemoryImages
from genlab.data.cyclegan_datasets import CYCLEGAN_DATASETS, fetch_cyclegan_dataset
from genlab.errors import GenlabError

PREPROCESS = ("resize_crop", "resize", "none")
# Domain B of the built-in pair: dark blue ink on a cream background (domain A is white on black).
BUILTIN_B_INK, BUILTIN_B_PAPER = (30, 60, 160), (245, 235, 210)


@dataclass(frozen=True)
class Domains:
    train_a: Dataset
    train_b: Dataset
    test_a: Dataset
    test_b: Dataset


def resize_square(image: Tensor, size: int) -> Tensor:
    """uint8 CHW -> uint8 CHW at size x size (bicubic, antialiased when shrinking)."""
    if image.shape[-2:] == (size, size):
        return image
    out = F.interpolate(image[None].float(), size=(size, size), mode="bicubic", align_corners=False, antialias=True)
    return out[0].round().clamp(0, 255).to(torch.uint8)


def train_transform(image: Tensor, *, preprocess: str, load_size: int, crop_size: int, flip: bool, generator: torch.Generator) -> Tensor:
    if preprocess == "none":
        return image
    if preprocess == "resize":
        image = resize_square(image, crop_size)
    else:
        image = resize_square(image, load_size)
        top, left = (int(torch.randint(load_size - crop_size + 1, (), generator=generator)) for _ in range(2))
        image = image[:, top : top + crop_size, left : left + crop_size]
    if flip and torch.rand((), generator=generator).item() < 0.5:
        image = image.flip(-1)
    return image


def test_transform(image: Tensor, *, preprocess: str, crop_size: int) -> Tensor:
    return image if preprocess == "none" else resize_square(image, crop_size)


class DomainImages(Dataset):
    """One domain's images after the test preprocessing (fixed, no randomness)."""

    def __init__(self, images: Dataset, *, preprocess: str, crop_size: int) -> None:
        self.images, self.preprocess, self.crop_size = images, preprocess, crop_size

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Tensor:
        return test_transform(self.images[index], preprocess=self.preprocess, crop_size=self.crop_size)


class UnpairedImages(Dataset):
    """(a, b) uint8 pairs: a = A[i mod |A|], b = B[j] with j drawn independently of i."""

    def __init__(
        self, domain_a: Dataset, domain_b: Dataset, *, seed: int, preprocess: str = "resize_crop",
        load_size: int = 286, crop_size: int = 256, flip: bool = True,
    ) -> None:
        self.domain_a, self.domain_b, self.seed, self.epoch = domain_a, domain_b, seed, 0
        self.options = dict(preprocess=preprocess, load_size=load_size, crop_size=crop_size, flip=flip)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return max(len(self.domain_a), len(self.domain_b))

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        generator = torch.Generator().manual_seed(((self.seed * 1_000_003 + self.epoch) * 10_000_019 + index) % 2**63)
        b_index = int(torch.randint(len(self.domain_b), (), generator=generator))
        a = train_transform(self.domain_a[index % len(self.domain_a)], generator=generator, **self.options)
        b = train_transform(self.domain_b[b_index], generator=generator, **self.options)
        return a, b


def builtin_domains() -> Domains:
    """A: white-on-black digits; B: blue-on-cream digits; A and B from disjoint halves, never paired."""

    def render(images: InMemoryImages, rendering: str) -> InMemoryImages:
        x = images.images.float() / 255  # ink amount in [0, 1]
        if rendering == "b":
            ink = torch.tensor(BUILTIN_B_INK).view(1, 3, 1, 1).float()
            paper = torch.tensor(BUILTIN_B_PAPER).view(1, 3, 1, 1).float()
            x = (paper + (ink - paper) * x[:, :1]) / 255
        return InMemoryImages(x.mul(255).round().to(torch.uint8), name=f"builtin-{rendering}")

    train, test = builtin_digits("train"), builtin_digits("test")
    half = lambda images, start: InMemoryImages(images.images[start::2], images.labels[start::2])  # noqa: E731
    return Domains(
        render(half(train, 0), "a"), render(half(train, 1), "b"), render(half(test, 0), "a"), render(half(test, 1), "b")
    )


def _holdout(folder: ImageFolder, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    n = len(folder)
    if n < 2:
        raise GenlabError(f"{folder.folder} has {n} readable image: a domain needs at least 2 (one to train on, one to test); add images")
    n_test = max(1, round(n * fraction))
    if n_test >= n:
        raise GenlabError(f"{folder.folder} has {n} images: too few to hold {fraction:.0%} out for testing; lower --test-fraction")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 7)).tolist()
    return torch.utils.data.Subset(folder, order[n_test:]), torch.utils.data.Subset(folder, order[:n_test])


def _folder(path: Path, role: str, decode: bool) -> ImageFolder:
    if not path.is_dir():
        raise GenlabError(f"{role} folder {path} does not exist; {_LAYOUT_HINT}")
    return ImageFolder(path, decode=decode)


_LAYOUT_HINT = "a CycleGAN dataset holds trainA/ trainB/ (testA/ testB/), or give two folders with --domain-a DIR --domain-b DIR"


def open_domains(
    data: str, *, domain_a: str = "", domain_b: str = "", test_fraction: float = 0.05, seed: int = 0, data_root: str = "",
    decode: bool = True, size: int = 256, limit: int = 0,
) -> Domains:
    """The four domains (a drawn pair at ``size``, only its first ``limit`` training images). With ``decode`` (for training, which reads images lazily) every image is read whole once
    first, so that a broken file is skipped up front instead of stopping an epoch halfway; without it only headers
    are checked (for scoring and translating, where a broken file is a one-line error)."""
    if domain_a or domain_b:
        if not (domain_a and domain_b):
            raise GenlabError("give both --domain-a DIR and --domain-b DIR")
        a, b = _folder(Path(domain_a).expanduser(), "domain A", decode), _folder(Path(domain_b).expanduser(), "domain B", decode)
        (train_a, test_a), (train_b, test_b) = _holdout(a, test_fraction, seed), _holdout(b, test_fraction, seed + 1)
        return Domains(train_a, train_b, test_a, test_b)
    if data == "builtin":
        return builtin_domains()
    if data in DRAWN_PAIRS:
        return drawn_domains(data, size=size, data_root=data_root, limit=limit)
    root = Path(data).expanduser()
    if data in CYCLEGAN_DATASETS and not root.exists():
        root = fetch_cyclegan_dataset(data, data_root)
    if not root.is_dir():
        raise GenlabError(f"dataset folder {root} does not exist; download one with 'genlab download NAME' or {_LAYOUT_HINT}")
    if not (root / "trainA").is_dir() or not (root / "trainB").is_dir():
        raise GenlabError(f"{root} has no trainA/ and trainB/ folders; {_LAYOUT_HINT}")
    train_a, train_b = _folder(root / "trainA", "trainA", decode), _folder(root / "trainB", "trainB", decode)
    if (root / "testA").is_dir() and (root / "testB").is_dir():
        return Domains(train_a, train_b, _folder(root / "testA", "testA", decode), _folder(root / "testB", "testB", decode))
    (train_a, test_a), (train_b, test_b) = _holdout(train_a, test_fraction, seed), _holdout(train_b, test_fraction, seed + 1)
    return Domains(train_a, train_b, test_a, test_b)


def check_sizes(domains: Domains, *, preprocess: str, crop_size: int) -> None:
    """With no resizing every image must be crop_size; name the first file that is not."""
    if preprocess != "none":
        return
    for name in ("train_a", "train_b", "test_a", "test_b"):
        dataset = getattr(domains, name)
        base = dataset.dataset if isinstance(dataset, torch.utils.data.Subset) else dataset
        if isinstance(base, ImageFolder):
            from PIL import Image

            for path in base.files:
                with Image.open(path) as image:
                    if image.size[0] < crop_size or image.size[1] < crop_size:
                        raise GenlabError(
                            f"{path} is {image.size[0]}x{image.size[1]}, smaller than --image-size {crop_size}; "
                            "use --preprocess resize_crop or a smaller --image-size"
                        )
        elif dataset[0].shape[-1] != crop_size:
            raise GenlabError(f"the {name} images are {dataset[0].shape[-1]} px, not --image-size {crop_size}; use --preprocess resize")


def drawn_domains(name: str, *, size: int, data_root: str, limit: int = 0) -> Domains:
    """A drawn pair (``seasons``, ``toonfaces2anime``): each domain's own training images (the first ``limit`` of them
    when it is set: no more are drawn) and test images, drawn at ``size``."""
    a, b, count = DRAWN_PAIRS[name]
    count = min(count, limit) if limit else count
    train = dict(split="train", size=size, data_root=data_root, count=count)
    test = dict(split="test", size=size, data_root=data_root)
    return Domains(drawn_images(a, **train), drawn_images(b, **train), drawn_images(a, **test), drawn_images(b, **test))
