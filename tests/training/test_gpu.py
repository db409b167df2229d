"""Checks that need a CUDA device (``pytest -m gpu``; skipped by default and without CUDA).

bf16 autocast against fp32 for a few steps of each family (the WGAN-GP penalty stays fp32 and finite),
channels-last and CUDA-graph steps against eager ones, a sweep against runs trained alone, and NCCL data
parallelism in a process group of one.
"""

import socket

import pytest
import torch

from genlab.checkpoint import load_checkpoint
from genlab.config import build_config, replace
from genlab.training.cyclegan import CycleGANTrainer
from genlab.training.dcgan import DCGANTrainer
from genlab.training.run import resume, train
from genlab.training.sweep import train_sweep
from genlab.training.vae import VAETrainer

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

@pytest.fixture
def exact_float32(monkeypatch):
    """Comparisons of two ways to compute one step: no TF32 (cuDNN uses it for convolutions by default)."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    yield
    torch.set_float32_matmul_precision(precision)


# Adam turns a last-bit difference in a near-zero gradient into up to lr (2e-4) per step: weights are compared to 1e-3
WEIGHTS = dict(rtol=1e-3, atol=1e-3)

OFF = dict(amp=False, channels_last=False, fused_optimizer=False, data_on_device=False, async_writes=False, cuda_graphs=False)


def dcgan(**overrides):
    values = dict(data="builtin", width=16, z_dim=32, batch_size=32, limit=256, grid_size=4, device="cuda", epochs=1, **OFF)
    return build_config("dcgan", preset="smoke", overrides={**values, **overrides})


def uint8_batch(n=32, size=32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=generator)


def losses_over(trainer, steps, batch):
    return [{k: float(v) for k, v in trainer.train_step(batch, step).items()} for step in range(1, steps + 1)]


@pytest.mark.parametrize("loss", ["gan", "lsgan", "wgan", "wgan-gp"])
def test_bf16_autocast_follows_fp32_for_a_few_dcgan_steps(loss):
    batch = uint8_batch().cuda()
    fp32 = losses_over(DCGANTrainer(dcgan(loss=loss)), 5, batch)
    bf16 = losses_over(DCGANTrainer(dcgan(loss=loss, amp=True)), 5, batch)
    for a, b in zip(fp32, bf16):
        for name in a:
            assert torch.isfinite(torch.tensor(b[name])), name
            assert b[name] == pytest.approx(a[name], rel=0.05, abs=1e-2), name
    if loss == "wgan-gp":
        assert all(row["gp"] >= 0 for row in bf16)


def test_bf16_autocast_follows_fp32_for_the_vae_and_cyclegan():
    vae = dict(data="toonfaces", limit=64, batch_size=16, holdout=0.25, device="cuda", **OFF)
    batch = uint8_batch(16, 32).cuda()
    a = losses_over(VAETrainer(build_config("vae", preset="smoke", overrides=vae)), 3, batch)
    b = losses_over(VAETrainer(build_config("vae", preset="smoke", overrides={**vae, "amp": True})), 3, batch)
    for x, y in zip(a, b):
        assert y["nelbo"] == pytest.approx(x["nelbo"], rel=0.02)
    cycle = dict(data="seasons", limit=8, batch_size=2, width=8, n_blocks=2, device="cuda", **OFF)
    pair = (uint8_batch(2, 32, 1).cuda(), uint8_batch(2, 32, 2).cuda())
    a = losses_over(CycleGANTrainer(build_config("cyclegan", preset="smoke", overrides=cycle)), 3, pair)
    b = losses_over(CycleGANTrainer(build_config("cyclegan", preset="smoke", overrides={**cycle, "amp": True})), 3, pair)
    for x, y in zip(a, b):
        assert y["g_loss"] == pytest.approx(x["g_loss"], rel=0.05)


def assert_same_models(a, b):
    """The latest checkpoints of two run folders hold the same weights (to WEIGHTS)."""
    ours, theirs = (load_checkpoint(run.latest)["trainer"]["models"] for run in (a, b))
    for net in ours:
        for name, value in ours[net].items():
            torch.testing.assert_close(theirs[net][name], value, **WEIGHTS, msg=f"{net}.{name}")


def _weights(trainer):
    return {f"{net}.{k}": v.detach().float().cpu() for net, model in trainer.models.items() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("speed", [{"channels_last": True}, {"cuda_graphs": True}, {"cuda_graphs": True, "fused_optimizer": True}])
@pytest.mark.parametrize("loss", ["gan", "wgan", "wgan-gp"])
def test_channels_last_and_cuda_graph_steps_equal_eager_steps(loss, speed, exact_float32):
    batches = [uint8_batch(seed=i).cuda() for i in range(6)]
    eager, fast = DCGANTrainer(dcgan(loss=loss, n_critic=2)), DCGANTrainer(dcgan(loss=loss, n_critic=2, **speed))
    for step, batch in enumerate(batches, 1):  # both kinds of step: critic only, critic and generator
        a, b = eager.train_step(batch, step), fast.train_step(batch, step)
        for name in a:
            torch.testing.assert_close(b[name].float(), a[name].float(), rtol=1e-3, atol=1e-3, msg=name)
    wa, wb = _weights(eager), _weights(fast)
    for name in wa:
        torch.testing.assert_close(wb[name], wa[name], **WEIGHTS, msg=name)


def test_cuda_graph_runs_resume_and_recapture(tmp_path, exact_float32):
    straight = train(dcgan(loss="wgan-gp", epochs=2, cuda_graphs=True), tmp_path / "straight", quiet=True)
    train(dcgan(loss="wgan-gp", epochs=1, cuda_graphs=True), tmp_path / "resumed", quiet=True)
    resumed = resume(tmp_path / "resumed", {"epochs": 2}, quiet=True)
    assert_same_models(straight, resumed)


def test_a_sweep_on_the_gpu_equals_runs_trained_alone(tmp_path, exact_float32):
    runs = train_sweep([replace(dcgan(loss="gan"), seed=seed) for seed in (0, 1, 2)], tmp_path / "sweep", quiet=True)
    for seed, run in enumerate(runs):
        alone = train(replace(dcgan(loss="gan"), seed=seed), tmp_path / f"alone-{seed}", quiet=True)
        assert_same_models(alone, run)


def test_nccl_data_parallelism_in_a_group_of_one(monkeypatch, exact_float32):
    """NCCL carries the gradient averaging (one flat all-reduce per optimiser step): a lone replica over NCCL steps as a
    run without it (the averaging itself, over two replicas, is tested on the CPU in test_runtime.py)."""
    import torch.distributed as dist

    from genlab.training.runtime import _average_gradients

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for name, value in {"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}.items():
        monkeypatch.setenv(name, value)
    batches = [uint8_batch(seed=i).cuda() for i in range(4)]
    alone = DCGANTrainer(dcgan(loss="wgan-gp"))
    dist.init_process_group("nccl", device_id=torch.device("cuda", 0))
    try:
        assert dist.get_backend() == "nccl"
        replica = DCGANTrainer(dcgan(loss="wgan-gp"))
        for optimizer in replica.optimizers.values():
            optimizer.register_step_pre_hook(_average_gradients)
        for step, batch in enumerate(batches, 1):
            alone.train_step(batch, step)
            replica.train_step(batch, step)
        torch.cuda.synchronize()
    finally:
        dist.destroy_process_group()
    wa, wb = _weights(alone), _weights(replica)
    for name in wa:
        torch.testing.assert_close(wb[name], wa[name], **WEIGHTS, msg=name)
