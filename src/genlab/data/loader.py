"""Batches in an order fixed by (seed, epoch), so a resumed run sees exactly the same batches."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from genlab.data.images import InMemoryImages
from genlab.errors import GenlabError


def epoch_permutation(n: int, *, seed: int, epoch: int) -> Tensor:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


class EpochBatches:
    """uint8 NCHW batches of ``batch_size`` (the last partial batch is dropped)."""

    def __init__(self, dataset: Dataset, batch_size: int, *, seed: int, workers: int = 0) -> None:
        n = len(dataset)
        if n < batch_size:
            raise GenlabError(
                f"the dataset has {n} images, fewer than one batch of {batch_size}; lower --batch-size or add images"
            )
        self.dataset, self.batch_size, self.seed, self.workers = dataset, batch_size, seed, workers

    def __len__(self) -> int:
        return len(self.dataset) // self.batch_size

    def epoch(self, epoch: int) -> Iterator[Tensor]:
        order = epoch_permutation(len(self.dataset), seed=self.seed, epoch=epoch)
        chunks = order[: len(self) * self.batch_size].view(len(self), self.batch_size)
        if isinstance(self.dataset, InMemoryImages):
            for indices in chunks:
                yield self.dataset.images[indices]
            return
        loader = DataLoader(
            self.dataset, batch_sampler=chunks.tolist(), num_workers=self.workers, collate_fn=torch.stack
        )
        yield from loader
