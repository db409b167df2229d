"""Batches in an order fixed by (seed, epoch), so a resumed run sees exactly the same batches."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, default_collate

from genlab.data.images import InMemoryImages
from genlab.errors import GenlabError


def epoch_permutation(n: int, *, seed: int, epoch: int) -> Tensor:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


class EpochBatches:
    """uint8 NCHW batches of ``batch_size`` (the last partial batch is dropped).

    With ``world_size`` processes, every epoch's permutation is the same on all of them and
    process ``rank`` takes every world_size-th index of it (a distributed sampler).
    """

    def __init__(
        self, dataset: Dataset, batch_size: int, *, seed: int, workers: int = 0, rank: int = 0, world_size: int = 1,
        device: torch.device | str | None = None,
    ) -> None:
        n = len(dataset) // world_size
        if n < batch_size:
            raise GenlabError(
                f"the dataset has {n} images per process, fewer than one batch of {batch_size}; lower --batch-size or add images"
            )
        self.dataset, self.batch_size, self.seed, self.workers = dataset, batch_size, seed, workers
        self.rank, self.world_size = rank, world_size
        if device is not None and isinstance(dataset, InMemoryImages):  # uint8 on the device: no loader to starve it
            self.dataset = InMemoryImages(dataset.images.to(device), dataset.labels, name=dataset.name)

    def __len__(self) -> int:
        return len(self.dataset) // self.world_size // self.batch_size

    def epoch(self, epoch: int) -> Iterator[Tensor]:
        if hasattr(self.dataset, "set_epoch"):  # per-epoch randomness of the dataset itself (unpaired B, crops)
            self.dataset.set_epoch(epoch)
        order = epoch_permutation(len(self.dataset), seed=self.seed, epoch=epoch)[self.rank :: self.world_size]
        chunks = order[: len(self) * self.batch_size].view(len(self), self.batch_size)
        if isinstance(self.dataset, InMemoryImages):
            chunks = chunks.to(self.dataset.images.device)
            for indices in chunks:
                yield self.dataset.images[indices]
            return
        loader = DataLoader(
            self.dataset, batch_sampler=chunks.tolist(), num_workers=self.workers, collate_fn=default_collate
        )
        yield from loader


def split_holdout(images: InMemoryImages, fraction: float, *, seed: int) -> tuple[InMemoryImages, InMemoryImages | None]:
    """A seeded random split into (train, held-out); ``fraction`` of the images are held out (at least one if > 0)."""
    n = len(images)
    n_out = max(1, round(n * fraction)) if fraction > 0 else 0
    if n_out >= n:
        raise GenlabError(f"holding out {fraction:.0%} of {n} images leaves none to train on; lower --holdout")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 104729))
    pick = lambda idx: InMemoryImages(  # noqa: E731
        images.images[idx], images.labels[idx] if images.labels is not None else None, name=images.name
    )
    return pick(order[n_out:]), (pick(order[:n_out]) if n_out else None)
