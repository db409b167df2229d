"""Learning-rate schedules, as multiplicative factors per epoch."""

from __future__ import annotations


def linear_decay_factor(epoch_index: int, *, epochs: int, decay_epochs: int) -> float:
    """CycleGAN's rule: constant for ``epochs - decay_epochs`` epochs, then linear towards 0.

    ``epoch_index`` counts finished epochs (0 during the first). As in the reference
    implementation, the factor during epoch E (from 1) is 1 - max(0, E - constant) / (decay_epochs + 1),
    reaching 1 / (decay_epochs + 1) in the last epoch.
    """
    if decay_epochs <= 0:
        return 1.0
    constant = epochs - decay_epochs
    return 1.0 - max(0, epoch_index + 1 - constant) / float(decay_epochs + 1)
