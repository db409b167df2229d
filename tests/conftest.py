import os
import warnings

# one thread per test process (tests run in parallel, one worker per core; the processes they start inherit it)
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from genlab.config import build_config


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    torch.set_num_threads(1)
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


class StepBreaker:
    """``break_step(cls, step)``: ``cls.train_step`` raises KeyboardInterrupt (as a kill would) at ``step``;
    with ``nan="d_loss"`` that number of the step becomes NaN instead. ``break_step.mend()`` puts the real steps back."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch, self.originals = monkeypatch, []

    def __call__(self, cls: type, step: int, *, nan: str | None = None) -> None:
        original = cls.train_step
        self.originals.append((cls, original))

        def broken(trainer, batch, at):
            if at == step and nan is None:
                raise KeyboardInterrupt
            out = original(trainer, batch, at)
            if at == step:
                out[nan] = torch.tensor(float("nan"))
            return out

        self.monkeypatch.setattr(cls, "train_step", broken)

    def mend(self) -> None:
        for cls, original in reversed(self.originals):
            self.monkeypatch.setattr(cls, "train_step", original)
        self.originals.clear()


@pytest.fixture
def break_step(monkeypatch):
    return StepBreaker(monkeypatch)
