"""Speed options on the CPU: resolved once, recorded, and none of them breaks a CPU run."""

import json

import pytest
import torch

from genlab.config import build_config
from genlab.training.dcgan import DCGANTrainer
from genlab.training.run import train


def test_auto_resolves_to_off_on_the_cpu_and_is_saved(tiny_dcgan, tmp_path):
    cfg = tiny_dcgan(epochs=1)
    speed = cfg.speed
    assert (speed.amp, speed.channels_last, speed.fused_optimizer, speed.data_on_device, speed.async_writes, speed.compile) == (
        False, False, False, False, False, False,
    )
    run = train(cfg, tmp_path / "run", quiet=True)
    saved = json.loads(run.config_path.read_text())
    assert saved["amp"] is False and saved["channels_last"] is False


def test_auto_resolves_to_on_for_cuda_and_a_given_switch_wins(monkeypatch):
    from genlab import config

    monkeypatch.setattr(config, "resolve_device", lambda name: "cuda")  # as on a machine with a GPU
    cfg = config.build_config("dcgan", overrides={"data": "builtin", "channels_last": False})
    speed = cfg.speed
    assert (speed.amp, speed.fused_optimizer, speed.data_on_device, speed.async_writes) == (True, True, True, True)
    assert speed.channels_last is False and speed.compile is False and speed.cuda_graphs is False


def _first_conv_dtypes_and_formats(trainer, network):
    """Record the (input dtype, output dtype, input is channels-last) of ``network``'s first convolution per call."""
    seen = []
    conv = next(m for m in network.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)))
    conv.register_forward_hook(
        lambda module, inputs, output: seen.append(
            (inputs[0].dtype, output.dtype, inputs[0].is_contiguous(memory_format=torch.channels_last))
        )
    )
    return seen


@pytest.mark.parametrize("amp, expected", [("on", torch.bfloat16), ("off", torch.float32)])
def test_amp_runs_the_forward_passes_in_bf16(amp, expected):
    cfg = build_config("dcgan", preset="smoke", overrides=dict(device="cpu", width=8, z_dim=16, loss="wgan-gp", amp=amp))
    trainer = DCGANTrainer(cfg)
    seen = _first_conv_dtypes_and_formats(trainer, trainer.disc)
    out = trainer.train_step(torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8), 5)  # n_critic 5: G steps too
    # D(real), D(fake), the penalty's D(x_hat) (kept fp32 on purpose), then D(G(z)) for the generator step
    assert [output for _, output, _ in seen] == [expected, expected, torch.float32, expected]
    assert out["d_loss"].dtype == torch.float32 and out["gp"].dtype == torch.float32  # the objective stays fp32
    assert all(p.dtype == torch.float32 for p in trainer.disc.parameters())


@pytest.mark.parametrize("family", ["dcgan", "vae", "cyclegan"])
def test_bf16_autocast_channels_last_and_device_data_on_the_cpu(family, tmp_path):
    small = {
        "dcgan": dict(width=8, z_dim=16, batch_size=16, limit=32, loss="wgan-gp"),
        "vae": dict(batch_size=16, limit=48),
        "cyclegan": dict(width=4, n_blocks=1, batch_size=2, limit=4, decay_epochs=0),
    }[family]
    cfg = build_config(family, preset="smoke", overrides=dict(
        device="cpu", epochs=1, amp="on", channels_last="on", data_on_device="on", **small
    ))
    run = train(cfg, tmp_path / family, quiet=True)
    state = torch.load(run.latest, weights_only=True)
    for name, model_state in state["trainer"]["models"].items():
        assert all(torch.isfinite(v).all() for v in model_state.values() if v.is_floating_point()), name
        assert all(v.dtype != torch.bfloat16 for v in model_state.values()), "weights stay fp32 under autocast"


@pytest.mark.parametrize("channels_last", ["on", "off"])
def test_channels_last_models_and_inputs(channels_last):
    cfg = build_config("dcgan", preset="smoke", overrides=dict(device="cpu", width=8, channels_last=channels_last))
    trainer = DCGANTrainer(cfg)
    weight = trainer.disc.layers[1][0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last) == (channels_last == "on")
    seen = _first_conv_dtypes_and_formats(trainer, trainer.disc)
    trainer.train_step(torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8), 1)
    assert seen[0][2] == (channels_last == "on")  # the real batch reaches the critic in the asked-for layout


def test_compile_is_in_place_and_keeps_checkpoint_names():
    cfg = build_config("dcgan", preset="smoke", overrides=dict(device="cpu", width=8, compile=True))
    trainer = DCGANTrainer(cfg)
    assert trainer.gen._compiled_call_impl is not None and trainer.disc._compiled_call_impl is not None
    assert all(not key.startswith("_orig_mod") for key in trainer.state_dict()["models"]["generator"])


@pytest.mark.slow
def test_a_compiled_step_equals_the_eager_step_on_the_cpu():
    batch = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    outs = []
    for compile in (False, True):
        cfg = build_config("dcgan", preset="smoke", overrides=dict(device="cpu", width=8, z_dim=16, compile=compile))
        outs.append(DCGANTrainer(cfg).train_step(batch, 1))
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        torch.testing.assert_close(outs[1][name], outs[0][name], rtol=1e-4, atol=1e-5)


def test_async_writes_produce_the_same_files(tiny_dcgan, tmp_path):
    sync_run = train(tiny_dcgan(epochs=2), tmp_path / "sync", quiet=True)
    async_run = train(tiny_dcgan(epochs=2, async_writes="on"), tmp_path / "async", quiet=True)
    for name in ("images/fake_image-001.png", "images/fake_image-002.png"):
        assert (sync_run.root / name).read_bytes() == (async_run.root / name).read_bytes()
    assert (async_run.plots / "losses.png").stat().st_size > 1000


def test_a_failed_background_write_surfaces_on_the_training_thread():
    from genlab.reporting.writer import background_writes, write

    def broken():
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        with background_writes(True):
            write(broken)


def test_gradient_averaging_takes_the_mean_of_every_replica(monkeypatch):
    """The optimiser pre-step hook averages each gradient over the replicas: with a second replica simulated by the
    all-reduce (it adds that replica's flat gradients), every gradient becomes the mean of the two exactly."""
    from genlab.training import runtime

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    model(torch.randn(5, 3)).square().sum().backward()
    ours = [p.grad.clone() for p in model.parameters()]
    theirs = [torch.randn_like(g) for g in ours]
    monkeypatch.setattr(runtime.dist, "all_reduce", lambda flat: flat.add_(torch.cat([t.reshape(-1) for t in theirs])))
    monkeypatch.setattr(runtime.dist, "get_world_size", lambda: 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    runtime._average_gradients(optimizer, (), {})
    for p, a, b in zip(model.parameters(), ours, theirs):
        torch.testing.assert_close(p.grad, (a + b) / 2, rtol=0, atol=1e-7)
