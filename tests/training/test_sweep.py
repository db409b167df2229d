"""Many DCGAN runs as one stacked model: the same weights as runs trained alone, resumable as a sweep or alone."""

import csv
import json

import pytest
import torch

from genlab.checkpoint import load_checkpoint
from genlab.cli import main
from genlab.config import build_config, replace, sweep_configs
from genlab.reporting.compare import find_runs
from genlab.training import sweep as sweep_module
from genlab.training.run import resume, train
from genlab.training.sweep import resume_sweep, train_sweep


def base(**overrides):
    values = dict(data="builtin", image_size=16, width=8, z_dim=16, batch_size=16, limit=64, grid_size=4, device="cpu", epochs=2)
    return build_config("dcgan", preset="smoke", overrides={**values, **overrides})


def members(losses, seeds, **overrides):
    """A sweep's configs, each built as a lone run with its loss and seed."""
    return sweep_configs(lambda extra: base(**{**overrides, **extra}), losses, seeds)


def weights(run_dir):
    state = load_checkpoint(run_dir / "checkpoints" / "latest.pt")["trainer"]
    return state


def assert_same_state(a, b, *, exact=False):
    tolerance = dict(rtol=0, atol=0) if exact else dict(rtol=1e-4, atol=1e-5)
    for net in ("generator", "discriminator"):
        for name, value in a["models"][net].items():
            torch.testing.assert_close(b["models"][net][name], value, **tolerance, msg=f"{net}.{name}")
        for index, entries in a["optimizers"][net]["state"].items():
            for key, value in entries.items():
                torch.testing.assert_close(b["optimizers"][net]["state"][index][key], value, **tolerance, msg=f"{net} optimiser {key}")
    assert torch.equal(a["noise_rng"], b["noise_rng"])  # each member drew exactly what it would alone


def history(run_dir):
    with (run_dir / "history.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("loss", ["gan", "wgan", "wgan-gp"])  # BCE; clipping; the penalty's double backward
def test_three_batched_seeds_equal_three_runs_trained_alone(loss, tmp_path):
    runs = train_sweep(members([loss], [0, 1, 2]), tmp_path / "sweep", quiet=True)
    assert [r.root.name for r in runs] == [f"{loss}-s0", f"{loss}-s1", f"{loss}-s2"]
    for seed, run in enumerate(runs):
        alone = train(replace(base(loss=loss), seed=seed), tmp_path / f"alone-{seed}", quiet=True)
        assert_same_state(weights(alone.root), weights(run.root))
        ours, theirs = history(run.root), history(alone.root)
        assert [r["step"] for r in ours] == [r["step"] for r in theirs] and list(ours[0]) == list(theirs[0])
        for row_a, row_b in zip(ours, theirs):
            for key, value in row_b.items():
                if value:
                    assert float(row_a[key]) == pytest.approx(float(value), rel=1e-3, abs=1e-4), key
        assert json.loads((run.root / "config.json").read_text())["seed"] == seed
        assert (run.root / "report.html").is_file() and (run.root / "images" / "fake_image-002.png").is_file()


def test_a_grey_sweep_member_equals_the_grey_run_trained_alone(tmp_path):
    runs = train_sweep(members(["lsgan"], [0, 1], grey=True), tmp_path / "sweep", quiet=True)
    alone = train(replace(base(loss="lsgan", grey=True), seed=1), tmp_path / "alone", quiet=True)
    assert_same_state(weights(alone.root), weights(runs[1].root))
    assert weights(runs[1].root)["models"]["generator"]["layers.2.0.weight"].shape[1] == 1


def test_losses_interleave_and_every_member_is_an_ordinary_run(tmp_path):
    runs = train_sweep(members(["gan", "lsgan"], [3, 4]), tmp_path / "sweep", quiet=True)
    assert [r.root.name for r in find_runs(tmp_path / "sweep")] == ["gan-s3", "gan-s4", "lsgan-s3", "lsgan-s4"]
    lsgan = replace(base(loss="lsgan"), seed=4)
    alone = train(lsgan, tmp_path / "alone", quiet=True)
    assert_same_state(weights(alone.root), weights(runs[3].root))
    # a member goes on alone, exactly as a run trained alone would
    resume(runs[3].root, {"epochs": 3}, quiet=True)
    resume(alone.root, {"epochs": 3}, quiet=True)
    assert_same_state(weights(alone.root), weights(runs[3].root))


def test_a_sweep_stopped_and_resumed_continues_every_member_exactly(tmp_path, break_step):
    straight = train_sweep(members(["gan", "wgan-gp"], [0, 1], epochs=3), tmp_path / "straight", quiet=True)
    # stop in the middle of epoch 2 (after epoch 1's checkpoints), as a kill would
    break_step(sweep_module.LossGroup, 6)
    with pytest.raises(KeyboardInterrupt):
        train_sweep(members(["gan", "wgan-gp"], [0, 1], epochs=3), tmp_path / "stopped", quiet=True)
    break_step.mend()
    assert load_checkpoint(tmp_path / "stopped" / "gan-s0" / "checkpoints" / "latest.pt")["epoch"] == 1
    for member in ("gan-s0", "wgan-gp-s1"):  # the pages say where training stopped, not "running"
        page = (tmp_path / "stopped" / member / "report.html").read_text()
        assert "stopped early, 1 of 3 epochs" in page and "http-equiv='refresh'" not in page
    resumed = resume_sweep(tmp_path / "stopped", quiet=True)
    for a, b in zip(straight, resumed):
        assert_same_state(weights(a.root), weights(b.root), exact=True)
        assert history(a.root) == history(b.root)


def test_sweep_command_line(tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["train", "dcgan", "--preset", "smoke", "--data", "builtin", "--limit", "64", "--batch-size", "16", "--width", "8", "--image-size", "16",
            "--z-dim", "16", "--epochs", "1", "--device", "cpu", "--out", str(out)]
    assert main([*args, "--loss", "gan,lsgan", "--seeds", "0,1"]) == 0
    assert "genlab: finished the sweep" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["gan-s0", "gan-s1", "lsgan-s0", "lsgan-s1", "sweep.json"]
    assert main([*args, "--loss", "gan,lsgan", "--seeds", "0,1"]) == 2
    assert f"{out} already holds a sweep; continue it with --resume {out}" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--epochs", "2"]) == 0
    assert load_checkpoint(out / "lsgan-s1" / "checkpoints" / "latest.pt")["epoch"] == 2
    for bad, message in (
        (["--loss", "gan,wgn"], "unknown loss 'wgn'"),
        (["--seeds", "0,x"], "--seeds takes whole numbers separated by commas"),
        (["--seeds", "0,1", "--seed", "3"], "give either --seed (one run) or --seeds (a sweep), not both"),
        (["--loss", "gan,gan", "--seeds", "0"], "a sweep lists each loss and each seed once"),
    ):
        assert main([*args[:-1], str(tmp_path / "other"), *bad]) == 2
        assert message in capsys.readouterr().err


def test_every_member_of_a_sweep_logs_to_its_own_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = train_sweep(members(["gan"], [0, 1], tensorboard=True), tmp_path / "sweep", quiet=True)
    for run in runs:
        events = EventAccumulator(str(run.root / "tensorboard"), size_guidance={"scalars": 0, "images": 0}).Reload()
        logged = [(e.step, e.value) for e in events.Scalars("d_loss")]
        expected = [(int(r["step"]), float(r["d_loss"])) for r in history(run.root) if r.get("d_loss")]
        assert [s for s, _ in logged] == [s for s, _ in expected] == list(range(1, 9))
        assert [v for _, v in logged] == pytest.approx([v for _, v in expected], rel=1e-5)
        assert [e.step for e in events.Images("images/fake_image")] == [4, 8]
