"""Bookkeeping on a cadence: the page after the first and last epoch and at most every curves_every seconds between,
the curves likewise but not after the first epoch; grids every sample_every epochs and always the first and last."""

import pytest

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
