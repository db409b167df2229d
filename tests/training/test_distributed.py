"""Two processes on the CPU (gloo), launched by torchrun: replicas stay identical, rank 0 alone writes."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

from genlab.data.loader import EpochBatches
from genlab.data.builtin import builtin_digits

HERE = Path(__file__).parent


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
               "--master-port", str(port), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[:4000] + "\n...\n" + result.stderr[-1500:]
    return result


def test_two_processes_hold_identical_weights_and_one_run_folder(tmp_path):
    torchrun(str(HERE / "distributed_worker.py"), str(tmp_path), cwd=tmp_path)
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for name in rank0:
        for key, value in rank0[name].items():
            torch.testing.assert_close(rank1[name][key], value, rtol=0, atol=0)
    # the weights moved (the replicas trained), and they match rank 0's checkpoint
    saved = torch.load(tmp_path / "run" / "checkpoints" / "latest.pt", weights_only=True)["trainer"]["models"]
    for key, value in rank0["generator"].items():
        torch.testing.assert_close(saved["generator"][key], value, rtol=0, atol=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rank0.pt", "rank1.pt", "run"]
    assert saved["generator"]["layers.0.1.running_mean"].abs().sum() > 0


def test_train_and_resume_under_torchrun(tmp_path):
    out = tmp_path / "run"
    common = ["--preset", "smoke", "--width", "8", "--z-dim", "16", "--batch-size", "8", "--limit", "64", "--device", "cpu"]
    torchrun("-m", "genlab", "train", "dcgan", *common, "--epochs", "1", "--out", str(out), cwd=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    with (out / "history.csv").open() as f:
        assert len(f.readlines()) == 1 + 4 + 1  # 64 images / 2 processes / 8 per batch, and the collapse check's row
    torchrun("-m", "genlab", "train", "--resume", str(out), "--epochs", "2", cwd=tmp_path)
    state = torch.load(out / "checkpoints" / "latest.pt", weights_only=True)
    assert state["epoch"] == 2 and state["step"] == 8


def test_each_process_takes_its_own_share_of_every_epoch():
    images = builtin_digits("test")
    shares = [list(EpochBatches(images, 10, seed=0, rank=r, world_size=2).epoch(3)) for r in (0, 1)]
    assert len(shares[0]) == len(shares[1]) == 297 // 2 // 10
    flat = [torch.cat(s).flatten(1) for s in shares]
    # no image in both shares
    both = (flat[0][:, None, :] == flat[1][None, :, :]).all(-1)
    assert not both.any()
