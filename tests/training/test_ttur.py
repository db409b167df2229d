"""Two learning rates (TTUR, Heusel et al. 2017): --lr-g and --lr-d, defaulting to --lr, resumable, on the page."""

import json

import pytest

from genlab.config import build_config, learning_rates
from genlab.training.cyclegan import CycleGANTrainer
from genlab.training.dcgan import DCGANTrainer
from genlab.training.run import resume, train


def rates(trainer):
    return trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]


@pytest.mark.parametrize("preset", ["paper", "assignment", "smoke"])
def test_both_rates_follow_lr_unless_given_and_presets_are_unchanged(preset):
    for loss in ("gan", "wgan", "wgan-gp"):
        cfg = build_config("dcgan", preset=preset, overrides={"loss": loss, "device": "cpu"})
        assert (cfg.lr_g, cfg.lr_d) == (0.0, 0.0) and learning_rates(cfg) == (cfg.lr, cfg.lr)
        assert rates(DCGANTrainer(cfg)) == (cfg.lr, cfg.lr)
    cfg = build_config("dcgan", preset=preset, overrides={"lr_g": 1e-4, "lr_d": 4e-4, "device": "cpu"})
    assert rates(DCGANTrainer(cfg)) == (1e-4, 4e-4)


def test_cyclegan_takes_two_rates_under_its_schedule():
    cfg = build_config("cyclegan", preset="smoke", overrides={"lr_d": 1e-3, "device": "cpu", "data": "seasons"})
    assert rates(CycleGANTrainer(cfg)) == (cfg.lr, 1e-3)


def test_two_rates_are_recorded_resumable_and_on_the_page(tmp_path):
    tiny = dict(data="builtin", limit=32, batch_size=16, width=8, z_dim=8, image_size=16, grid_size=4, device="cpu", epochs=1)
    run = train(build_config("dcgan", preset="smoke", overrides={**tiny, "lr_g": 1e-4, "lr_d": 4e-4}), tmp_path / "run", quiet=True)
    saved = json.loads(run.config_path.read_text())
    assert (saved["lr_g"], saved["lr_d"]) == (1e-4, 4e-4)
    assert "Learning rates 0.0001 for the generator and 0.0004 for the discriminator (two time-scales)" in (run.root / "report.md").read_text()
    resume(run.root, {"epochs": 2, "lr_d": 2e-4}, quiet=True)
    assert json.loads(run.config_path.read_text())["lr_d"] == 2e-4
    assert "0.0002 for the discriminator" in (run.root / "report.md").read_text()
