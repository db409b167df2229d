"""The proof that a family is one record: a toy fourth family, written here and registered, trains, resumes
exactly, samples, is scored, gets a report page and a row in ``genlab runs``, with no edit anywhere else."""

import json
from dataclasses import dataclass, field

import pytest
import torch
from torch import Tensor, nn

from genlab.cli import main
from genlab.config import (
    AT_LEAST_ONE, NOT_NEGATIVE, POSITIVE, POWER_OF_TWO, InputOptions, RunOptions, ScoreOptions, SpeedOptions, build_config, setting,
)
from genlab.data.run_data import image_data
from genlab.data.transforms import to_model_range
from genlab.family import FAMILIES, Family, register
from genlab.reporting.architecture import ArchitectureTable, LayerRow
from genlab.reporting.grids import save_grid
from genlab.run_dir import History, RunDir
from genlab.scoring import Protocol, evaluate
from genlab.training.run import resume, train


@dataclass(frozen=True)
class MeanImageConfig:
    """A generator of one learnt image plus a little noise, fitted to the batches' mean."""

    image_size: int = setting(8, "image side in pixels", POWER_OF_TWO)
    noise: float = setting(0.1, "the samples' spread around the learnt image", NOT_NEGATIVE)
    lr: float = setting(0.5, "learning rate of plain SGD", POSITIVE)
    batch_size: int = setting(16, "images per step", AT_LEAST_ONE)
    run: RunOptions = field(default_factory=lambda: RunOptions(epochs=2, grid_size=4))
    input: InputOptions = field(default_factory=InputOptions)
    speed: SpeedOptions = field(default_factory=SpeedOptions)
    scores: ScoreOptions = field(default_factory=ScoreOptions)


class MeanImage:
    def __init__(self, cfg: MeanImageConfig) -> None:
        self.cfg = cfg
        self.net = nn.Module()
        self.net.image = nn.Parameter(torch.zeros(3, cfg.image_size, cfg.image_size))

    @property
    def networks(self) -> dict[str, nn.Module]:
        return {"image": self.net}

    def latent(self, n: int, generator: torch.Generator) -> Tensor:
        return torch.randn(n, 3, self.cfg.image_size, self.cfg.image_size, generator=generator)

    @torch.no_grad()
    def sample(self, z: Tensor) -> Tensor:
        return (self.net.image + self.cfg.noise * z).clamp(-1, 1)

    def architecture(self) -> list[ArchitectureTable]:
        return [ArchitectureTable("Mean image", [LayerRow("image", "Parameter", (), tuple(self.net.image.shape), self.net.image.numel())])]


class MeanImageTrainer:
    def __init__(self, cfg: MeanImageConfig, extra: object = None) -> None:
        self.cfg, self.model = cfg, MeanImage(cfg)
        self.optimizer = torch.optim.SGD(self.model.net.parameters(), lr=cfg.lr)
        self.optimizers = [self.optimizer]

    @property
    def models(self) -> dict[str, nn.Module]:
        return self.model.networks

    def train_step(self, batch: Tensor, step: int) -> dict[str, Tensor]:
        loss = (self.model.net.image - to_model_range(batch).mean(0)).square().sum() / 2  # gradient: image - batch mean
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return {"mse_loss": loss.detach()}

    def end_epoch(self, epoch: int) -> None:
        pass

    def report(self, epoch: int, run: RunDir, history: History) -> None:
        if self.cfg.run.grid_due(epoch):
            z = self.model.latent(self.cfg.run.grid_size, torch.Generator().manual_seed(0))
            save_grid(self.model.sample(z), run.images / f"mean-{epoch:03d}.png")

    def state_dict(self) -> dict:
        return {"models": {"image": self.model.net.state_dict()}, "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.net.load_state_dict(state["models"]["image"])
        self.optimizer.load_state_dict(state["optimizer"])


def _register() -> Family:
    if "meanimage" in FAMILIES:
        return FAMILIES["meanimage"]
    return register(Family(
        name="meanimage", title="Mean image", help="generator of the mean image", config=MeanImageConfig,
        presets={"default": lambda user: {}}, preset_help={"default": "SGD 0.5, batch 16, 8x8"},
        model=MeanImage, trainer=MeanImageTrainer, data=image_data, key_columns=("mse_loss",),
        grid_kinds={"mean": "the learnt image plus noise"},
    ))


@pytest.fixture(scope="module")
def family():
    record = _register()
    yield record
    FAMILIES.pop("meanimage")


SETTINGS = dict(data="builtin", limit=64, device="cpu")


def test_a_fourth_family_trains_resumes_samples_is_scored_and_reported(family, tmp_path, capsys):
    straight = train(build_config("meanimage", overrides={**SETTINGS, "epochs": 3}), tmp_path / "runs" / "straight", quiet=True)
    first = train(build_config("meanimage", overrides={**SETTINGS, "epochs": 1}), tmp_path / "runs" / "resumed", quiet=True)
    resume(first.root, {"epochs": 3}, quiet=True)
    a = torch.load(straight.latest, weights_only=True)["trainer"]["models"]["image"]["image"]
    b = torch.load(first.latest, weights_only=True)["trainer"]["models"]["image"]["image"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)  # resumed exactly
    digits_mean = to_model_range(image_data(build_config("meanimage", overrides=SETTINGS))[0].images).mean(0)
    assert (a - digits_mean).abs().mean() < 0.1 < digits_mean.abs().mean()  # it learnt the mean image

    assert main(["sample", str(straight.root), "-n", "6", "--out", str(tmp_path / "grid.png")]) == 0
    scored = evaluate(str(straight.root), Protocol(network="builtin", n=20, splits=1))
    assert scored.metrics["is_mean"] == pytest.approx(scored.metrics["is_mean"]) and scored.protocol["checkpoint"] == "latest"

    page = (straight.root / "report.md").read_text()
    assert page.startswith("# Mean image\n") and "finished, 3 of 3 epochs" in page and "### the learnt image plus noise" in page
    assert "Learning rate 0.5, constant" in page and "mse_loss" in page and "| total |  |  |  | 192 |" in page
    capsys.readouterr()
    assert main(["runs", str(tmp_path / "runs"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["run"], r["family"], r["epochs"], r["state"]) for r in rows] == [
        ("resumed", "meanimage", "3/3", "finished"), ("straight", "meanimage", "3/3", "finished"),
    ]
    assert rows[0]["last losses"].startswith("mse_loss ")
    assert main(["train", "meanimage", "--noise", "-1", "--out", str(tmp_path / "bad")]) == 2  # its own flags and rules
    assert "noise must be 0 or more (got -1.0)" in capsys.readouterr().err
    assert main(["train", "meanimage", "--out", str(tmp_path / "runs" / "cli"), "--data", "builtin", "--limit", "32", "--epochs", "1", "--device", "cpu"]) == 0
    assert "genlab: training Mean image (preset default) on builtin" in capsys.readouterr().out
