"""The collapse check: known distances, a constant generator flagged, real images left alone."""

import warnings

import pytest
import torch
from torch import nn

from genlab.config import build_config
from genlab.data.builtin import builtin_digits
from genlab.data.images import GenlabWarning
from genlab.data.transforms import to_model_range
from genlab.metrics.diversity import collapse_check, mean_pairwise_distance, nearest_neighbour_distances
from genlab.training.collapse import PATIENCE_STEPS, CollapseMonitor, fixed_real_batch
from genlab.training.dcgan import DCGANTrainer
from genlab.run_dir import History, RunDir
from genlab.reporting.diagnostics import collapsed


def test_mean_pairwise_distance_known_answer():
    # A 3-4-5 right triangle: the three distances are 3, 4 and 5.
    points = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    assert mean_pairwise_distance(points) == pytest.approx(4.0)
    torch.testing.assert_close(nearest_neighbour_distances(points), torch.tensor([3.0, 3.0, 4.0], dtype=torch.float64))


def test_constant_samples_are_collapsed():
    real = to_model_range(builtin_digits("test").images[:64])
    constant = torch.full_like(real, -0.2)
    check = collapse_check(constant, real)
    assert check.diversity == pytest.approx(0.0, abs=1e-6)
    assert check.duplicates == 1.0
    assert collapsed(check)


def test_one_repeated_image_is_collapsed_by_its_duplicates():
    real = to_model_range(builtin_digits("test").images[:64])
    two_images = torch.cat([real[:1].expand(32, -1, -1, -1), real[1:2].expand(32, -1, -1, -1)])
    check = collapse_check(two_images, real)
    assert check.duplicates == 1.0 and collapsed(check)


def test_real_images_are_not_collapsed():
    test = to_model_range(builtin_digits("test").images)
    check = collapse_check(test[:148], test[148:296])
    assert check.diversity == pytest.approx(1.0, abs=0.1)
    assert check.duplicates < 0.05
    assert not collapsed(check)


def _history() -> History:
    history = History.__new__(History)
    history.rows = [{"step": 10.0, "epoch": 1.0, "d_loss": 1.0}]
    return history


def _monitor() -> CollapseMonitor:
    train = builtin_digits("train")
    batch = fixed_real_batch(train, 64, seed=0)
    assert batch.shape == (64, 3, 32, 32) and batch.dtype == torch.uint8
    torch.testing.assert_close(batch, fixed_real_batch(train, 64, seed=0))  # the same batch every epoch
    return CollapseMonitor(batch)


def _quietly(monitor: CollapseMonitor, samples, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenlabWarning)
        return monitor(samples, **kwargs)


def test_monitor_warns_when_a_healthy_run_collapses(tmp_path):
    monitor, history, run = _monitor(), _history(), RunDir(tmp_path / "run-x")
    real = to_model_range(builtin_digits("test").images[:64])
    assert not collapsed(_quietly(monitor, real, epoch=2, run=run, history=history))
    with pytest.warns(GenlabWarning, match=r"run-x, epoch 3 \(step 10\): the samples look collapsed after looking healthy: "
                      r"sample diversity 0\.000 of real images' \(collapse below 0\.5\), 100% near-duplicates"):
        monitor(torch.zeros(64, 3, 32, 32), epoch=3, run=run, history=history)
    assert history.rows[-1]["epoch"] == 3 and history.rows[-1]["duplicates"] == 1.0
    assert history.rows[-1]["diversity"] == pytest.approx(0.0, abs=1e-6)


def test_monitor_lets_a_run_start_flat_but_not_stay_flat(tmp_path):
    monitor, history, run = _monitor(), _history(), RunDir(tmp_path / "run-y")
    flat = torch.zeros(64, 3, 32, 32)
    for epoch, step in ((1, 10.0), (2, 500.0)):  # every run starts flat: no warning yet
        history.rows[-1]["step"] = step
        assert collapsed(_quietly(monitor, flat, epoch=epoch, run=run, history=history))
    history.rows[-1]["step"] = 10.0 + PATIENCE_STEPS
    with pytest.warns(GenlabWarning, match=r"run-y, epoch 3 \(step 1010\): the samples look collapsed since step 10"):
        monitor(flat, epoch=3, run=run, history=history)
    history.rows[-1]["step"] = 2000.0
    _quietly(monitor, flat, epoch=4, run=run, history=history)  # told once
    with pytest.warns(GenlabWarning, match="run-y, epoch 5"):
        monitor(flat, epoch=5, run=run, history=history, last=True)  # and again at the end of the run


class ConstantGenerator(nn.Module):
    def __init__(self, z_dim: int) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.value = nn.Parameter(torch.tensor(0.1))

    def forward(self, z):
        return self.value.expand(z.shape[0], 3, 32, 32)


def test_dcgan_report_flags_a_constant_generator(tmp_path):
    cfg = build_config("dcgan", preset="smoke", overrides={"device": "cpu", "grid_size": 36})
    real = builtin_digits("train").images[:36]
    trainer = DCGANTrainer(cfg, real)
    trainer.model.gen = ConstantGenerator(cfg.z_dim)
    run = RunDir.create(tmp_path / "const", cfg)
    history = History(run.history_path, [{"step": 1.0, "epoch": 2.0, "d_loss": 1.0, "g_loss": 1.0}])
    with pytest.warns(GenlabWarning, match=r"const, epoch 2 \(step 1\): the samples look collapsed"):
        trainer.report(cfg.run.epochs, run, history)  # the last epoch
    assert history.rows[-1]["diversity"] == pytest.approx(0.0, abs=1e-6)
