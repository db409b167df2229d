"""Is a generator copying its training images? Nearest training neighbours of its samples.

``genlab neighbours RUN`` draws each of ``n`` samples beside its ``k`` nearest training images
(in a network's feature space, or with ``pixels`` in pixel space) and compares two distributions:
the distance from each of ``score_n`` samples to its nearest training image, and the same for real
images the run never trained on (its held-out images). A model that generalises puts its samples
about as far from the training set as unseen real images are, or further; a model that copies puts
them closer. The comparison is the data-copying test of Meehan, Chaudhuri and Dasgupta (AISTATS
2020) over one cell: the Mann-Whitney U statistic of the two sets of distances as a z-score, which
is about 0 for a model that generalises, positive for one whose samples are further, and strongly
negative (below ``COPYING_Z``) for one that copies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from genlab.data.run_data import image_data, unseen_images
from genlab.data.transforms import to_model_range, to_uint8
from genlab.errors import GenlabError
from genlab.families import Sampler
from genlab.files import check_output, write_json
from genlab.metrics.feature_extractors import extract, make_extractor
from genlab.reporting.grids import save_grid
from genlab.sampling import generate
from genlab.run_dir import RunDir
from genlab.trained import load_model

COPYING_Z = -3.0  # one-sided p of about 0.0013 when the samples are no closer than unseen images
CHUNK = 1024


def nearest(queries: Tensor, reference: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """(distances, indices) of each query's ``k`` nearest reference rows (Euclidean), in blocks of queries."""
    k = min(k, len(reference))
    dists, index = [], []
    for start in range(0, len(queries), CHUNK):
        d = torch.cdist(queries[start : start + CHUNK].double(), reference.double())
        values, which = d.topk(k, dim=1, largest=False)
        dists.append(values)
        index.append(which)
    return torch.cat(dists).float(), torch.cat(index)


def mann_whitney_z(ours: Tensor, theirs: Tensor) -> float:
    """The z-score of the Mann-Whitney U statistic counting pairs where ``ours`` exceeds ``theirs`` (ties
    count a half): about 0 when both come from one distribution, negative when ``ours`` is smaller."""
    from scipy.stats import rankdata

    m, n = len(ours), len(theirs)
    ranks = rankdata(torch.cat([ours, theirs]).double().numpy())  # ties share their mean rank
    u = float(ranks[:m].sum()) - m * (m + 1) / 2
    return (u - m * n / 2) / math.sqrt(m * n * (m + n + 1) / 12)


@dataclass
class CopyCheck:
    """The nearest-training distances of the samples and of unseen real images, and the verdict."""

    samples: Tensor  # (m,)
    held_out: Tensor  # (n,)
    z: float

    @property
    def copying(self) -> bool:
        return self.z < COPYING_Z

    @staticmethod
    def quantiles(values: Tensor) -> dict[str, float]:
        """The 10 %, 50 % and 90 % quantiles of distances."""
        q = torch.quantile(values.double(), torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)).tolist()
        return dict(zip(("p10", "median", "p90"), q))

    def said(self, values: Tensor) -> str:
        q = self.quantiles(values)
        return f"10% {q['p10']:.4g}, median {q['median']:.4g}, 90% {q['p90']:.4g}"

    def describe(self) -> list[str]:
        lines = [
            f"nearest-training distance of {len(self.samples):,} samples:        {self.said(self.samples)}",
            f"nearest-training distance of {len(self.held_out):,} unseen real images: {self.said(self.held_out)}",
            f"Mann-Whitney z = {self.z:+.2f} (about 0: as far as unseen images; above: further; below {COPYING_Z:g}: closer)",
        ]
        if self.copying:
            lines.append(
                "warning: the samples sit systematically closer to training images than unseen real images do; "
                "the model may be copying its data (look at the neighbours grid)"
            )
        return lines


def copy_check(samples: Tensor, training: Tensor, held_out: Tensor) -> CopyCheck:
    """Nearest-training distances of sample and unseen-image features (rows), compared."""
    ours, _ = nearest(samples, training, 1)
    theirs, _ = nearest(held_out, training, 1)
    return CopyCheck(ours[:, 0], theirs[:, 0], mann_whitney_z(ours[:, 0], theirs[:, 0]))


@dataclass
class Neighbours:
    check: CopyCheck
    space: str
    path: Path  # the grid
    json_path: Path  # the numbers

    def to_dict(self) -> dict:
        quantiles = self.check.quantiles
        return {
            "space": self.space, "grid": self.path.name, "samples": len(self.check.samples), "held_out": len(self.check.held_out),
            "sample_nearest": quantiles(self.check.samples), "held_out_nearest": quantiles(self.check.held_out),
            "mann_whitney_z": self.check.z, "copying_below": COPYING_Z, "copying": self.check.copying,
        }


def neighbours(
    run_dir: str | Path, out: str | Path | None = None, *, network: str | None = None, pixels: bool = False, n: int = 16, k: int = 5,
    score_n: int = 1000, seed: int = 0, held_out: str | None = None, checkpoint: str = "latest", device: str = "cpu",
) -> Neighbours:
    """Draw ``n`` samples beside their ``k`` nearest training images into ``out`` (default: ``RUN_DIR/neighbours.png``,
    where the report page looks) and compare ``score_n`` samples' nearest-training distances with those of unseen
    real images."""
    if n < 1 or k < 1 or score_n < 2:
        raise GenlabError(f"-n and --k must be at least 1 and --score-n at least 2 (got {n}, {k} and {score_n})")
    out = check_output(out if out is not None else RunDir(Path(run_dir).expanduser()).analysis("neighbours.png"))
    trained = load_model(run_dir, checkpoint, device)
    cfg, model = trained.cfg, trained.model
    if not isinstance(model, Sampler):
        raise GenlabError(f"{run_dir} holds a translation model, which draws no samples of its own; check a DCGAN or VAE run")
    training, _ = image_data(cfg)
    unseen = unseen_images(cfg, held_out)
    samples = torch.cat([to_uint8(x).cpu() for x in generate(model, max(n, score_n), seed=seed)])
    if pixels:
        space = "pixels"
        embed = lambda images: to_model_range(images, torch.device("cpu")).flatten(1)  # noqa: E731
    else:
        extractor = make_extractor(network or cfg.scores.eval_network, device=device)
        space = f"{extractor.name} features"
        embed = lambda images: extract(  # noqa: E731
            extractor, (images[i : i + 100] for i in range(0, len(images), 100)), total=len(images), desc="features"
        ).pool
    train_features = embed(training.images)
    sample_features = embed(samples)
    check = copy_check(sample_features[:score_n], train_features, embed(unseen.images))
    _, index = nearest(sample_features[:n], train_features, k)
    rows = [torch.cat([samples[i : i + 1], training.images[index[i]]]) for i in range(n)]
    path = save_grid(to_model_range(torch.cat(rows), torch.device("cpu")), out, nrow=index.shape[1] + 1)
    found = Neighbours(check, space, path, check_output(path.with_suffix(".json")))
    write_json(found.json_path, found.to_dict())
    return found
