"""Features of real images, cached on disk: ``$GENLAB_CACHE/stats`` (default ``~/.cache/genlab/stats``).

The key holds what identifies the images (dataset or folder path and file count, N,
resize), the network and its weights' sha256, so a changed input never reuses a stale file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genlab.files import replacing
from genlab.metrics.feature_extractors import FeatureExtractor, Features, extract


def cache_dir() -> Path:
    return Path(os.environ.get("GENLAB_CACHE") or Path.home() / ".cache" / "genlab").expanduser() / "stats"


def cached_features(
    extractor: FeatureExtractor, batches: Callable[[], Iterator[Tensor]], *, n: int, key: str | None, name: str, desc: str
) -> Features:
    """The features of ``n`` images (uint8 batches); with a ``key`` they are read from, or written to, the cache."""
    cache = None
    if key is not None:
        full_key = "|".join([key, extractor.name, extractor.weights_sha256, extractor.resize])
        digest = hashlib.sha1(full_key.encode()).hexdigest()[:16]
        cache = cache_dir() / f"{extractor.name}-{Path(name).name}-{n}-{digest}.npz"
        if cache.is_file():
            with np.load(cache) as data:
                return Features(torch.from_numpy(data["logits"]), torch.from_numpy(data["pool"]))
    features = extract(extractor, batches(), total=n, desc=desc)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with replacing(cache, ".npz") as tmp:
            np.savez(tmp, logits=features.logits.numpy(), pool=features.pool.numpy())
    return features
