"""The collapse check during training: the fixed sample batch against a fixed batch of real images.

After every epoch the generator's (or the VAE prior's) fixed batch is compared with as
many real images, in pixel space (``genlab.metrics.diversity``). The two numbers go
into history.csv (``diversity``, ``duplicates``). Every model starts out flat, so a
warning that names the run, the epoch and the numbers is given when the samples
look collapsed (flat, or one image repeated) and

- they looked healthy at the check before: the run collapsed;
- or they have looked collapsed for PATIENCE_STEPS training steps: the run never took off;
- or it is the run's last epoch.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from genlab.data.run_data import COLLAPSE_SAMPLES as SAMPLES, fixed_real_batch  # noqa: F401 (re-exported)
from genlab.errors import GenlabWarning
from genlab.data.transforms import to_model_range
from genlab.metrics.diversity import Collapse, collapse_check
from genlab.reporting.diagnostics import collapsed, describe_collapse
from genlab.run_dir import History, RunDir

PATIENCE_STEPS = 1000


class CollapseMonitor:
    def __init__(self, real: Tensor) -> None:
        if real.shape[0] < 2:
            raise ValueError("the collapse check needs at least 2 real images")
        self.real = to_model_range(real).cpu()
        self.healthy_before = False  # did the previous check pass?
        self.flat_since: float | None = None  # the step of the first check of the current collapsed stretch
        self.told_flat = False

    def __call__(self, samples: Tensor, *, epoch: int, run: RunDir, history: History, last: bool = False) -> Collapse:
        result = collapse_check(samples.detach().float().cpu(), self.real)
        step = history.rows[-1]["step"]
        history.append({"step": step, "epoch": epoch, **result.to_dict()})
        if not collapsed(result):
            self.healthy_before, self.flat_since, self.told_flat = True, None, False
            return result
        collapsed_now = self.healthy_before
        self.healthy_before = False
        self.flat_since = step if self.flat_since is None else self.flat_since
        never_took_off = step - self.flat_since >= PATIENCE_STEPS and not self.told_flat
        if collapsed_now or never_took_off or last:
            self.told_flat = self.told_flat or never_took_off
            why = "after looking healthy" if collapsed_now else f"since step {int(self.flat_since)}"
            warnings.warn(
                f"{run.root}, epoch {epoch} (step {int(step)}): the samples look collapsed {why}: {describe_collapse(result)}; "
                "look at the sample grid, and try more steps, another loss or the preset the README suggests",
                GenlabWarning,
                stacklevel=2,
            )
        return result
