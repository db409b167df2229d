"""genlab: train, sample and evaluate classic image generative models.

The DCGAN family (GAN, LSGAN, WGAN, WGAN-GP losses), CycleGAN and a convolutional VAE, with one training loop,
run folders, checkpoints, reports and the scores papers report (Inception Score, FID, KID). From Python:

    import genlab
    run = genlab.train("dcgan", out="runs/gan", preset="smoke", data="builtin")
    genlab.grid(run.model.sample(64, seed=0))

The functions below are loaded on first use, so that ``import genlab`` (and the command line's usage errors) never
waits for torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from genlab import families as _families  # noqa: F401 - registers the built-in families (no torch import)
from genlab.errors import GenlabError, GenlabWarning

__version__ = "0.1.0"

if TYPE_CHECKING:
    from genlab.api import Model, Rows, Run, RunList, evaluate, grid, interpolate, load, neighbours, runs, sweep, train
    from genlab.scoring import Evaluation

_API = {
    "train": "genlab.api", "sweep": "genlab.api", "load": "genlab.api", "runs": "genlab.api", "evaluate": "genlab.api",
    "grid": "genlab.api", "neighbours": "genlab.api", "interpolate": "genlab.api", "Run": "genlab.api", "RunList": "genlab.api", "Model": "genlab.api", "Rows": "genlab.api",
    "Evaluation": "genlab.scoring",
}

__all__ = [
    "GenlabError", "GenlabWarning", "__version__",
    "train", "sweep", "load", "runs", "evaluate", "neighbours", "interpolate", "grid", "Run", "RunList", "Model", "Rows", "Evaluation",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'genlab' has no attribute {name!r}")
