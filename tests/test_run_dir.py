"""The run folder's lock: one trainer per run, stale locks and killed writes' leftovers cleaned up."""

import os
import subprocess
import sys

import pytest

from genlab.config import build_config
from genlab.errors import GenlabError
from genlab.run_dir import RunDir, training_lock
from genlab.training.run import resume, train


def test_a_second_trainer_is_refused_while_the_first_holds_the_lock(tmp_path):
    run = RunDir.create(tmp_path / "run", build_config("dcgan", preset="smoke", overrides={"device": "cpu"}))
    with training_lock(run):
        assert (run.root / ".lock").read_text() == str(os.getpid())
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            (run.root / ".lock").write_text(str(sleeper.pid))  # as if another process owned it
            with pytest.raises(GenlabError, match=rf"is being trained by another genlab process \(PID {sleeper.pid}\)"):
                with training_lock(run):
                    pass
        finally:
            sleeper.kill()
            sleeper.wait()
    assert not (run.root / ".lock").exists()


def test_a_stale_lock_is_taken_over_and_killed_writes_are_cleaned(tiny_dcgan, tmp_path):
    run = train(tiny_dcgan(epochs=1), tmp_path / "run", quiet=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (run.root / ".lock").write_text(str(dead.pid))  # a trainer killed with kill -9
    leftovers = [run.checkpoints / ".latest.pt.abc123.tmp", run.checkpoints / ".epoch-0002.pt.x.tmp"]
    for path in leftovers:
        path.write_bytes(b"half a checkpoint")
    resume(run.root, {"epochs": 2}, quiet=True)
    assert not any(path.exists() for path in leftovers)
    assert not (run.root / ".lock").exists() and run.epoch_checkpoint(2).is_file()
    assert not list(run.root.glob(".config.json.*.tmp"))  # the config is written atomically too


def test_a_run_killed_before_its_first_checkpoint_starts_again_in_its_folder(tiny_dcgan, tmp_path):
    from genlab.data.images import GenlabWarning

    cfg = tiny_dcgan(epochs=1)
    half = RunDir.create(tmp_path / "run", cfg)  # what a kill during the first epoch leaves: a config, no checkpoint
    half.history_path.write_text("step,epoch,d_loss\n1,1,0.5\n")
    with pytest.raises(GenlabError, match=r"has no checkpoint yet .*start it again in the same folder: genlab train dcgan --out"):
        resume(half.root, quiet=True)
    with pytest.warns(GenlabWarning, match="never finished an epoch"):
        run = train(cfg, tmp_path / "run", quiet=True)
    assert run.latest.is_file()
    with pytest.raises(GenlabError, match="already holds a run; continue it with --resume"):
        train(cfg, tmp_path / "run", quiet=True)  # now it holds a model: never overwritten
