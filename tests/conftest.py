import warnings

import pytest
import torch

from genlab.config import build_config


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    yield


@pytest.fixture
def tiny_dcgan():
    """A DCGAN config that trains in well under a second per epoch on the built-in data."""

    def make(**overrides):
        values = dict(width=8, z_dim=16, batch_size=16, limit=64, epochs=2, grid_size=4, device="cpu", data="builtin")
        values.update(overrides)
        return build_config("dcgan", preset="smoke", overrides=values)

    return make


@pytest.fixture
def no_warnings_as_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        yield
