import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.errors import GenlabError
from genlab.training import dcgan as dcgan_training
from genlab.training.graphs import GraphedSteps
from genlab.checkpoint import load_checkpoint
from genlab.training.run import resume, train


def test_a_run_writes_every_output(tiny_dcgan, tmp_path):
    cfg = tiny_dcgan(loss="wgan-gp")
    run = train(cfg, tmp_path / "run", quiet=True)
    assert json.loads(run.config_path.read_text())["loss"] == "wgan-gp"
    for epoch in (1, 2):
        grid = Image.open(run.images / f"fake_image-{epoch:03d}.png")
        assert grid.size == (2 + 2 * 34, 2 + 2 * 34)  # 4 images of 32 px, 2 per row, padding 2
    assert (run.plots / "losses.png").stat().st_size > 1000
    assert run.latest.is_file() and run.epoch_checkpoint(1).is_file() and run.epoch_checkpoint(2).is_file()
    with run.history_path.open() as f:
        all_rows = list(csv.DictReader(f))
    rows = [r for r in all_rows if r["d_loss"]]
    assert len(rows) == 8  # 64 images / 16 per batch * 2 epochs
    assert {"step", "epoch", "d_loss", "g_loss", "gp", "d_real", "d_fake"} <= set(rows[0])
    # one collapse-check row after each epoch, at the epoch's last step
    checks = [r for r in all_rows if r["diversity"]]
    assert [(r["step"], r["epoch"]) for r in checks] == [("4", "1"), ("8", "2")]
    # n_critic = 5: the generator steps on steps 5, 10, ...
    assert [r["g_loss"] != "" for r in rows] == [s % 5 == 0 for s in range(1, 9)]


def test_checkpoint_is_plain_data(tiny_dcgan, tmp_path):
    run = train(tiny_dcgan(epochs=1), tmp_path / "run", quiet=True)
    state = torch.load(run.latest, weights_only=True)
    assert state["epoch"] == 1 and state["step"] == 4
    assert state["config"]["family"] == "dcgan"
    assert set(state["trainer"]["models"]) == {"generator", "discriminator"}
    assert {"torch"} <= set(state["rng"]) and "noise_rng" in state["trainer"]
    assert not list(run.checkpoints.glob("*.tmp"))


@pytest.mark.parametrize("loss", ["gan", "lsgan", "wgan", "wgan-gp"])
def test_resume_gives_identical_weights(tiny_dcgan, tmp_path, loss):
    straight = train(tiny_dcgan(loss=loss, epochs=2), tmp_path / "straight", quiet=True)
    half = train(tiny_dcgan(loss=loss, epochs=1), tmp_path / "half", quiet=True)
    resume(half.root, {"epochs": 2}, quiet=True)
    a = load_checkpoint(straight.latest)["trainer"]
    b = load_checkpoint(half.latest)["trainer"]
    for name in ("generator", "discriminator"):
        for key, value in a["models"][name].items():
            torch.testing.assert_close(b["models"][name][key], value, rtol=0, atol=0)
    torch.testing.assert_close(
        b["optimizers"]["generator"]["state"][0]["exp_avg" if loss != "wgan" else "square_avg"],
        a["optimizers"]["generator"]["state"][0]["exp_avg" if loss != "wgan" else "square_avg"],
        rtol=0, atol=0,
    )
    with half.history_path.open() as f, straight.history_path.open() as g:
        assert list(csv.DictReader(f)) == list(csv.DictReader(g))


def test_wgan_clipping_holds_after_training(tiny_dcgan, tmp_path):
    run = train(tiny_dcgan(loss="wgan", epochs=1), tmp_path / "run", quiet=True)
    disc = load_checkpoint(run.latest)["trainer"]["models"]["discriminator"]
    for name, value in disc.items():
        if value.is_floating_point() and "running" not in name:
            assert value.abs().max().item() <= 0.01 + 1e-9, name


@pytest.mark.parametrize("log_every", [1, 3, 50])  # read every step, mid-epoch, or only at the epoch's end
def test_diverged_training_stops_and_keeps_the_last_checkpoint(log_every, tiny_dcgan, tmp_path, break_step):
    break_step(dcgan_training.DCGANTrainer, 6, nan="d_loss")
    with pytest.raises(GenlabError, match=r"d_loss became nan at step 6 \(epoch 2\); the last good checkpoint .*latest.pt is intact"):
        train(tiny_dcgan(loss="gan", epochs=3, log_every=log_every), tmp_path / "run", quiet=True)
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")
    assert state["epoch"] == 1 and state["step"] == 4
    with (tmp_path / "run" / "history.csv").open() as f:
        losses = [int(row["step"]) for row in csv.DictReader(f) if row["d_loss"]]
    assert losses == [1, 2, 3, 4, 5]  # every good step, none after the bad one


def test_the_history_does_not_depend_on_how_often_numbers_are_read_back(tiny_dcgan, tmp_path):
    every_step = train(tiny_dcgan(epochs=2, log_every=1), tmp_path / "one", quiet=True)
    batched = train(tiny_dcgan(epochs=2, log_every=3), tmp_path / "three", quiet=True)
    assert (every_step.history_path).read_text() == (batched.history_path).read_text()
    assert len(every_step.history_path.read_text().splitlines()) == 1 + 8 + 2  # header, 8 steps, 2 diversity rows


def test_existing_run_is_never_overwritten(tiny_dcgan, tmp_path):
    train(tiny_dcgan(epochs=1), tmp_path / "run", quiet=True)
    with pytest.raises(GenlabError, match="already holds a run; continue it with --resume"):
        train(tiny_dcgan(epochs=1), tmp_path / "run", quiet=True)


def test_resume_of_a_finished_run_asks_for_more_epochs(tiny_dcgan, tmp_path):
    run = train(tiny_dcgan(epochs=1), tmp_path / "run", quiet=True)
    with pytest.raises(GenlabError, match="already finished 1 epochs; pass --epochs N"):
        resume(run.root, quiet=True)


def test_bad_data_fails_before_a_run_folder_is_made(tiny_dcgan, tmp_path):
    with pytest.raises(GenlabError, match="does not exist"):
        train(tiny_dcgan(data=str(tmp_path / "missing")), tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()


def test_training_lowers_the_discriminator_loss_on_fixed_data(tiny_dcgan):
    # With the generator frozen, the GAN discriminator step is plain logistic regression on a fixed batch.
    cfg = tiny_dcgan(loss="gan", n_critic=1000)
    trainer = dcgan_training.DCGANTrainer(cfg)
    batch = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    losses = [trainer.train_step(batch, step)["d_loss"].item() for step in range(1, 30)]
    assert losses[-1] < losses[0] * 0.5


def test_resume_with_a_new_learning_rate(tiny_dcgan, tmp_path):
    run = train(tiny_dcgan(epochs=1), tmp_path / "run", quiet=True)
    resume(run.root, {"epochs": 2, "lr": 1e-5}, quiet=True)
    state = load_checkpoint(run.latest)["trainer"]["optimizers"]
    assert state["generator"]["param_groups"][0]["lr"] == 1e-5
    assert state["discriminator"]["param_groups"][0]["lr"] == 1e-5
    assert json.loads(run.config_path.read_text())["lr"] == 1e-5


def test_scores_during_training_keep_best_and_survive_resume(tiny_dcgan, tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    run = train(tiny_dcgan(epochs=2, eval_every=1, eval_n=40), tmp_path / "run", quiet=True)
    with run.history_path.open() as f:
        scored = [r for r in csv.DictReader(f) if r["is_mean"]]
    assert [int(r["epoch"]) for r in scored] == [1, 2]
    kids = [float(r["kid_mean"]) for r in scored]
    best = load_checkpoint(run.checkpoints / "best.pt")
    assert best["best"] == pytest.approx(min(kids), rel=1e-5)
    assert best["epoch"] == 1 + kids.index(min(kids))
    assert (run.plots / "scores.png").is_file()
    resume(run.root, {"epochs": 3}, quiet=True)
    assert load_checkpoint(run.latest)["best"] <= min(kids)


def test_eval_metrics_during_training_equal_genlab_evaluate_on_the_same_checkpoint(tiny_dcgan, tmp_path, monkeypatch):
    from genlab.scoring import evaluate, protocol

    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    metrics = "kid,fid,precision,recall,density,coverage"
    run = train(tiny_dcgan(epochs=1, eval_every=1, eval_n=40, eval_metrics=metrics), tmp_path / "run", quiet=True)
    with run.history_path.open() as f:
        (scored,) = [r for r in csv.DictReader(f) if r["kid_mean"]]
    assert scored.get("is_mean", "") == ""  # is was left out
    again = evaluate(str(run.root), protocol("paper", network="builtin", n=40, splits=4), metrics=("fid", "precision", "recall", "density", "coverage"))
    for name in ("fid", "precision", "recall", "density", "coverage"):
        assert float(scored[name]) == pytest.approx(again.metrics[name], rel=1e-4, abs=1e-6), name


def test_eval_metrics_are_checked_before_training(tiny_dcgan, tmp_path):
    with pytest.raises(GenlabError, match="eval_metrics must be a comma-separated list of is, kid, fid, .* that includes kid"):
        train(tiny_dcgan(eval_every=1, eval_metrics="is,fid"), tmp_path / "a", quiet=True)
    with pytest.raises(GenlabError, match="eval_metrics must be .*got is,kid,ssim"):
        train(tiny_dcgan(eval_every=1, eval_metrics="is,kid,ssim"), tmp_path / "b", quiet=True)
    with pytest.raises(GenlabError, match="IS needs a classifier's logits; eval_network dinov2 gives features only"):
        train(tiny_dcgan(eval_every=1, eval_network="dinov2"), tmp_path / "c", quiet=True)
    assert not any((tmp_path / name).exists() for name in "abc")


def test_falling_score_warns_of_collapse(tmp_path):
    from genlab.training.evaluation import TrainingEvaluator
    from genlab.run_dir import History

    history = History(tmp_path / "h.csv", [{"step": i, "epoch": i, "is_mean": v} for i, v in enumerate([5, 4, 3, 2], 1)])
    with pytest.warns(UserWarning, match="fell for 3 evaluations in a row"):
        TrainingEvaluator._warn_if_falling(history)


def test_discriminator_winning_warns(tiny_dcgan, tmp_path):
    from genlab.run_dir import History, RunDir

    trainer = dcgan_training.DCGANTrainer(tiny_dcgan(loss="gan"))
    history = History(tmp_path / "h.csv", [{"step": 1, "epoch": 1, "d_loss": 1e-4, "g_loss": 9.0}])
    run = RunDir(tmp_path)
    with pytest.warns(UserWarning, match="discriminator loss sat near 0 in epoch 1"):
        trainer.report(1, run, history)


def test_small_images_are_enlarged_in_grids():
    from genlab.reporting.grids import grid_image

    images = torch.rand(4, 3, 16, 16) * 2 - 1
    grid = grid_image(images, nrow=2)
    assert grid.size == (2 + 2 * 34, 2 + 2 * 34)  # 16 px drawn at 32 px (x2, nearest neighbour)
    pixels = torch.from_numpy(np.array(grid)).permute(2, 0, 1)
    tile = pixels[:, 2:34, 2:34]
    torch.testing.assert_close(tile[:, ::2, ::2], tile[:, 1::2, 1::2])  # each source pixel a 2x2 block
    assert grid_image(torch.zeros(2, 3, 32, 32)).size == (2 + 2 * 34, 36)  # 32 px and larger: as they are


def test_a_full_disk_at_the_save_is_one_line_and_leaves_no_temporary(tmp_path, monkeypatch):
    import errno

    import genlab.checkpoint
    from genlab.checkpoint import save_atomic

    save_atomic({"step": 1}, tmp_path / "latest.pt")

    def full(obj, f):
        f.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(genlab.checkpoint.torch, "save", full)
    with pytest.raises(GenlabError, match=r"no space left on the disk while writing .*latest.pt; the earlier checkpoints are intact"):
        save_atomic({"step": 2}, tmp_path / "latest.pt")
    assert torch.load(tmp_path / "latest.pt", weights_only=True) == {"step": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.pt"]


@pytest.mark.parametrize("trained_before", [0, 2])  # a fresh run, or a resumed one whose optimisers hold state
@pytest.mark.parametrize("loss", ["gan", "wgan-gp"])
def test_graph_warm_up_steps_leave_no_trace(loss, trained_before, tiny_dcgan):
    """What capturing a CUDA graph does around its warm-up (save, train a few steps, write back in place), checked on the
    CPU: the next step equals a fresh trainer's, weights, BatchNorm statistics and optimiser state alike."""
    batch = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    warmed, fresh = dcgan_training.DCGANTrainer(tiny_dcgan(loss=loss)), dcgan_training.DCGANTrainer(tiny_dcgan(loss=loss))
    for step in range(1, trained_before + 1):
        warmed.train_step(batch, step), fresh.train_step(batch, step)
    graphs = GraphedSteps(warmed._update, [warmed.gen, warmed.disc], [warmed.opt_g, warmed.opt_d])
    saved = graphs._save()
    real = torch.rand(16, 3, 32, 32) * 2 - 1
    for _ in range(3):  # the warm-up trains
        warmed._update(True, real, torch.randn(16, 16, 1, 1), torch.rand(16, 1, 1, 1))
    assert any(not torch.equal(a, b) for a, b in zip(warmed.gen.parameters(), fresh.gen.parameters()))
    graphs._restore(saved)
    for step in range(trained_before + 1, trained_before + 3):
        a, b = warmed.train_step(batch, step), fresh.train_step(batch, step)
        for name in b:
            torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    for net in ("generator", "discriminator"):
        for (name, x), y in zip(warmed.models[net].state_dict().items(), fresh.models[net].state_dict().values()):
            torch.testing.assert_close(x, y, rtol=0, atol=0, msg=f"{net}.{name}")


def test_the_grey_tip_is_given_for_grey_data_and_a_three_channel_generator_only():
    from genlab.config import build_config, replace
    from genlab.training.run import grey_tip

    grey = [torch.full((3, 8, 8), v, dtype=torch.uint8) for v in range(40)]
    coloured = grey[:20] + [torch.stack([torch.zeros(8, 8), torch.ones(8, 8), torch.zeros(8, 8)]).to(torch.uint8)] * 20
    dcgan = build_config("dcgan", preset="smoke", overrides=dict(device="cpu"))
    assert "--grey" in grey_tip(dcgan, grey)
    assert grey_tip(replace(dcgan, grey=True), grey) is None
    assert grey_tip(dcgan, coloured) is None  # the sampled images spread over the data reach the coloured half
    assert grey_tip(build_config("vae", preset="smoke", overrides=dict(device="cpu")), grey) is None  # no grey setting
