"""Bookkeeping on a cadence: the page after the first and last epoch and at most every curves_every seconds between,
the curves likewise but not after the first epoch; grids every sample_every epochs and always the first and last;
latest.pt after the first and last epoch, with kept checkpoints, and otherwise at most every LATEST_EVERY seconds."""

import pytest
import torch

from genlab.checkpoint import load_checkpoint
from genlab.training import loop
from genlab.training.run import train


@pytest.mark.parametrize("every, pages, curves", [(1e6, [1, 5], [5]), (0.0, [1, 2, 3, 4, 5], [1, 2, 3, 4, 5])])
def test_the_page_and_curves_follow_the_refresh_cadence(tiny_dcgan, tmp_path, monkeypatch, every, pages, curves):
    seen = {"page": [], "curves": []}
    monkeypatch.setattr(loop, "write_run_report", lambda run, rows, state: seen["page"].append(int(rows[-1]["epoch"])))
    drawn = loop.plot_curves
    monkeypatch.setattr(loop, "plot_curves", lambda history, *a, **k: (seen["curves"].append(int(history.rows[-1]["epoch"])), drawn(history, *a, **k)))
    run = train(tiny_dcgan(epochs=5, curves_every=every, sample_every=2), tmp_path / "run", quiet=True)
    assert seen["page"] == pages and sorted(set(seen["curves"])) == curves
    assert sorted(p.name for p in run.images.glob("fake_image-*.png")) == [f"fake_image-{e:03d}.png" for e in (1, 2, 4, 5)]
    assert (run.plots / "losses.png").is_file()


def test_tensorboard_gets_the_grids_of_the_epochs_between_refreshes(tiny_dcgan, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = train(tiny_dcgan(epochs=4, curves_every=1e6, tensorboard=True), tmp_path / "run", quiet=True)
    events = EventAccumulator(str(run.root / "tensorboard"), size_guidance={"images": 0}).Reload()
    assert [e.step for e in events.Images("images/fake_image")] == [4, 8, 12, 16]  # each epoch's grid at its last step
    assert len(events.Scalars("d_loss")) == 16


@pytest.mark.parametrize("every, latest", [(1e6, [1, 5]), (0.0, [1, 2, 3, 4, 5])])
def test_latest_checkpoint_after_the_first_and_last_epoch_and_at_most_every_latest_every_seconds(
    tiny_dcgan, tmp_path, monkeypatch, every, latest
):
    written = []
    save = loop.save_atomic
    monkeypatch.setattr(loop, "LATEST_EVERY", every)
    monkeypatch.setattr(loop, "save_atomic", lambda checkpoint, path: (written.append((path.name, checkpoint["epoch"])), save(checkpoint, path)))
    run = train(tiny_dcgan(epochs=5, checkpoint_every=3), tmp_path / "run", quiet=True)
    kept = [("epoch-0003.pt", 3), ("epoch-0005.pt", 5)]  # the kept ones always, each followed by latest.pt
    assert [w for w in written if w[0] != "latest.pt"] == kept
    assert [epoch for name, epoch in written if name == "latest.pt"] == sorted({*latest, 3})
    assert load_checkpoint(run.latest)["epoch"] == 5


def test_a_run_stopped_after_a_skipped_latest_resumes_from_the_one_before_and_ends_as_if_never_stopped(
    tiny_dcgan, tmp_path, monkeypatch, break_step
):
    import genlab.training.dcgan as dcgan_training
    from genlab.training.run import resume

    monkeypatch.setattr(loop, "LATEST_EVERY", 1e6)  # latest.pt only after the first and the last epoch
    cfg = tiny_dcgan(epochs=4, checkpoint_every=1000)
    straight = train(cfg, tmp_path / "straight", quiet=True)
    break_step(dcgan_training.DCGANTrainer, 13)  # in epoch 4 (4 steps an epoch): epochs 2 and 3 wrote no latest.pt
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "stopped", quiet=True)
    break_step.mend()
    assert load_checkpoint(tmp_path / "stopped" / "checkpoints" / "latest.pt")["epoch"] == 1
    resumed = resume(tmp_path / "stopped", quiet=True)
    ours, theirs = load_checkpoint(resumed.latest)["trainer"]["models"], load_checkpoint(straight.latest)["trainer"]["models"]
    for net in theirs:
        for name, value in theirs[net].items():
            torch.testing.assert_close(ours[net][name], value, rtol=0, atol=0, msg=f"{net}.{name}")
    assert resumed.history_path.read_text() == straight.history_path.read_text()


@pytest.mark.parametrize("epochs, refreshed", [(8, [1, 4, 8]), (10, [1, 4, 7, 10]), (3, [1, 3])])
def test_no_periodic_refresh_when_the_run_should_end_sooner_than_curves_every(monkeypatch, epochs, refreshed):
    """Epochs of 10 s, curves at most every 30 s: epoch 7 of 8 would refresh 10 s before the last epoch does."""
    from types import SimpleNamespace

    from genlab.config import RunOptions

    state = SimpleNamespace(cfg=SimpleNamespace(run=RunOptions(epochs=epochs, curves_every=30.0)), clock=None, refreshed=-float("inf"), refresh_due=False)
    due, now = [], [0.0]
    monkeypatch.setattr(loop, "time", SimpleNamespace(monotonic=lambda: now[0]))  # the loop's clock only
    for epoch in range(1, epochs + 1):
        now[0] = 10.0 * epoch
        loop.cadence(state, epoch)
        due += [epoch] if state.refresh_due else []
    assert due == refreshed
