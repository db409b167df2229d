"""Scores during training (``eval_every``): IS, KID and any of FID, precision, recall, density and
coverage (``eval_metrics``) of generated images on a chosen network (for a CycleGAN: of its test set
of B translated to A, against the real test set of A).

Each evaluation adds a row (``is_mean``, ``is_std``, ``kid_mean``, ``kid_std``, ``fid``, ``precision``,
...) to history.csv and redraws ``plots/scores.png``; the loop keeps ``checkpoints/best.pt`` at the
lowest KID. An IS that falls three evaluations in a row is reported as a possible collapse.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

from genlab.config import Config, metric_list
from genlab.family import family_for
from genlab.errors import GenlabWarning
from genlab.data.run_data import test_domains
from genlab.data.transforms import to_uint8
from genlab.metrics.feature_extractors import extract, make_extractor
from genlab.metrics.inception_score import inception_score_from_logits
from genlab.reporting.curves import plot_curves
from genlab.run_dir import History, RunDir
from genlab.sampling import generate
from genlab.data.run_data import training_reference
from genlab.reporting.diagnostics import FALLS_TO_WARN, fell_in_a_row
from genlab.scoring import EVAL_DATASETS, PRDC, Protocol, compared_with_real, features_of, open_source

# the panels of plots/scores.png: title, columns
SCORE_PANELS = (("Inception Score", ("is_mean",)), ("KID", ("kid_mean",)), ("FID", ("fid",)), ("precision / recall / density / coverage", PRDC))

def reference_for(cfg: Config) -> str:
    return cfg.scores.eval_reference if cfg.scores.eval_reference != "auto" else training_reference(cfg)


class TrainingEvaluator:
    best_metric = "kid_mean"  # lower is better

    def __init__(self, cfg: Config) -> None:
        self.every = cfg.scores.eval_every
        n = cfg.scores.eval_n
        self.inputs = None  # CycleGAN: the test set of B, scored translated to A (the assignment's protocol)
        pairs = family_for(cfg).pairs
        if pairs:
            test_a, test_b = test_domains(cfg)
            self.inputs = torch.stack([test_b[i] for i in range(min(n, len(test_b)))])
            n = len(self.inputs)
        # the scoring protocol of every evaluation of the run (KID over 50 subsets, to stay quick)
        self.protocol = Protocol(
            network=cfg.scores.eval_network, n=n, splits=min(10, n), seed=cfg.run.seed, reference=reference_for(cfg), kid_subsets=50,
        )
        self.n, self.seed = n, cfg.run.seed
        self.metrics = metric_list(cfg.scores.eval_metrics)
        self.extractor = make_extractor(self.protocol.network, device=cfg.run.device)
        if pairs and cfg.scores.eval_reference == "auto":
            real_a = torch.stack([test_a[i] for i in range(len(test_a))])
            self.reference = extract(self.extractor, [real_a], total=len(real_a), desc="reference features")
            self.reference_name = "real test A"
        else:
            reference = self.protocol.reference
            source = open_source(reference, n=self.protocol.reference_n, batch_size=100, device=cfg.run.device, data_root=cfg.input.data_root)
            self.reference = features_of(source, self.extractor, "reference features")
            self.reference_name = reference if reference in EVAL_DATASETS else source.description

    def _images(self, model: Any) -> Iterator[Tensor]:
        """uint8 batches: samples from the prior, or the CycleGAN test set of B translated to A."""
        if self.inputs is None:
            return (to_uint8(x) for x in generate(model, self.n, seed=self.seed))
        return (to_uint8(model.translate(self.inputs[i : i + 100], "b2a")).cpu() for i in range(0, self.n, 100))

    def due(self, epoch: int, last_epoch: int) -> bool:
        return epoch % self.every == 0 or epoch == last_epoch

    def __call__(self, trainer: Any, epoch: int, run: RunDir, history: History) -> dict[str, float]:
        ours = extract(self.extractor, self._images(trainer.model), total=self.n, desc="scoring")
        p = self.protocol
        scores: dict[str, float] = {}
        if "is" in self.metrics:
            scores["is_mean"], scores["is_std"] = inception_score_from_logits(ours.logits, splits=p.splits, seed=p.shuffle_seed)
        size = min(p.kid_subset_size, self.n, self.reference.pool.shape[0])
        scores.update(compared_with_real(ours.pool, self.reference.pool, self.metrics, kid_subsets=p.kid_subsets, kid_subset_size=size, seed=p.shuffle_seed))
        history.append({"step": history.rows[-1]["step"], "epoch": epoch, **scores})
        panels = {
            f"{title} ({self.extractor.name}{'' if title == 'Inception Score' else f' vs {self.reference_name}'})": [c for c in columns if c in scores]
            for title, columns in SCORE_PANELS
        }
        plot_curves(
            history, {title: columns for title, columns in panels.items() if columns}, run.plot("scores"), window=1,
            unsmoothed=tuple(scores),
        )
        self._warn_if_falling(history)
        return scores

    @staticmethod
    def _warn_if_falling(history: History) -> None:
        _, values = history.column("is_mean")
        if fell_in_a_row(values):
            last = values[-FALLS_TO_WARN - 1 :]
            warnings.warn(
                f"the Inception Score fell for {FALLS_TO_WARN} evaluations in a row ({', '.join(f'{v:.3f}' for v in last)}): "
                "a sign of mode collapse; look at the sample grids and keep checkpoints/best.pt",
                GenlabWarning,
                stacklevel=2,
            )
