"""Scores during training (``eval_every``): IS and KID of generated images on a chosen network.

Each evaluation adds a row (``is_mean``, ``is_std``, ``kid_mean``, ``kid_std``) to
history.csv and redraws ``plots/scores.png``; the loop keeps ``checkpoints/best.pt``
at the lowest KID. A score that worsens three evaluations in a row is reported as
a possible collapse.
"""

from __future__ import annotations

import warnings
from typing import Any

from genlab.data.images import GenlabWarning
from genlab.data.transforms import to_uint8
from genlab.sampling import generate
from genlab.scoring import EVAL_DATASETS, features_of, open_source
from genlab.metrics.feature_extractors import extract, make_extractor
from genlab.metrics.inception_score import inception_score_from_logits
from genlab.metrics.kid import kernel_inception_distance
from genlab.reporting.curves import plot_curves
from genlab.run_dir import History, RunDir

DATA_TO_REFERENCE = {"builtin": "builtin", "cifar10": "cifar10-train"}


def reference_for(cfg: Any) -> str:
    if cfg.eval_reference != "auto":
        return cfg.eval_reference
    return DATA_TO_REFERENCE.get(cfg.data, cfg.data)


class TrainingEvaluator:
    best_metric = "kid_mean"  # lower is better

    def __init__(self, cfg: Any) -> None:
        self.every, self.n, self.seed = cfg.eval_every, cfg.eval_n, cfg.seed
        self.extractor = make_extractor(cfg.eval_network, device=cfg.device)
        reference = reference_for(cfg)
        source = open_source(reference, n=50_000, batch_size=100, device=cfg.device, data_root=cfg.data_root)
        self.reference = features_of(source, self.extractor, "reference features")
        self.reference_name = reference if reference in EVAL_DATASETS else source.description

    def due(self, epoch: int, last_epoch: int) -> bool:
        return epoch % self.every == 0 or epoch == last_epoch

    def __call__(self, trainer: Any, epoch: int, run: RunDir, history: History) -> dict[str, float]:
        images = (to_uint8(x) for x in generate(trainer.model, self.n, seed=self.seed))
        ours = extract(self.extractor, images, total=self.n, desc="scoring")
        is_mean, is_std = inception_score_from_logits(ours.logits, splits=min(10, self.n))
        size = min(1000, self.n, self.reference.pool.shape[0])
        kid_mean, kid_std = kernel_inception_distance(ours.pool, self.reference.pool, subsets=50, subset_size=size)
        scores = {"is_mean": is_mean, "is_std": is_std, "kid_mean": kid_mean, "kid_std": kid_std}
        history.append({"step": history.rows[-1]["step"], "epoch": epoch, **scores})
        plot_curves(
            history,
            {f"Inception Score ({self.extractor.name})": ["is_mean"], f"KID vs {self.reference_name} ({self.extractor.name})": ["kid_mean"]},
            run.plots / "scores.png",
            window=1,
            unsmoothed=("is_mean", "kid_mean"),
        )
        self._warn_if_falling(history)
        return scores

    @staticmethod
    def _warn_if_falling(history: History) -> None:
        _, values = history.column("is_mean")
        last = values[-4:]
        if len(last) == 4 and all(a > b for a, b in zip(last, last[1:])):
            warnings.warn(
                f"the Inception Score fell for 3 evaluations in a row ({', '.join(f'{v:.3f}' for v in last)}): "
                "a sign of mode collapse; look at the sample grids and keep checkpoints/best.pt",
                GenlabWarning,
                stacklevel=2,
            )
