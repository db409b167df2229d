import json

import pytest

from genlab.config import build_config, config_from_dict, config_to_dict, load_config, save_config
from genlab.errors import GenlabError


def test_default_is_the_paper_preset_for_gan():
    cfg = build_config("dcgan", overrides={"device": "cpu"})
    assert (cfg.run.preset, cfg.loss, cfg.optimizer, cfg.lr, cfg.beta1, cfg.beta2) == ("paper", "gan", "adam", 2e-4, 0.5, 0.999)
    assert cfg.batch_size == 128 and cfg.n_critic == 1


@pytest.mark.parametrize(
    "loss, expected",
    [
        ("gan", dict(optimizer="adam", lr=2e-4, beta1=0.5, beta2=0.999, batch_size=128, n_critic=1)),
        ("lsgan", dict(optimizer="adam", lr=2e-4, beta1=0.5, beta2=0.999, batch_size=128, n_critic=1)),
        ("wgan", dict(optimizer="rmsprop", lr=5e-5, batch_size=64, n_critic=5, clip_value=0.01)),
        ("wgan-gp", dict(optimizer="adam", lr=1e-4, beta1=0.0, beta2=0.9, batch_size=64, n_critic=5, gp_weight=10.0)),
    ],
)
def test_paper_preset_per_loss(loss, expected):
    cfg = build_config("dcgan", preset="paper", overrides={"loss": loss, "device": "cpu"})
    assert {k: getattr(cfg, k) for k in expected} == expected


@pytest.mark.parametrize("loss", ["gan", "lsgan", "wgan", "wgan-gp"])
def test_assignment_preset_is_the_same_for_every_loss(loss):
    cfg = build_config("dcgan", preset="assignment", overrides={"loss": loss, "device": "cpu"})
    assert (cfg.optimizer, cfg.lr, cfg.beta1, cfg.beta2, cfg.batch_size, cfg.n_critic, cfg.run.epochs) == (
        "adam", 2e-4, 0.5, 0.999, 64, 1, 200,
    )


def test_precedence_defaults_preset_file_flags(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('loss = "wgan"\nlr = 1e-3\nbatch_size = 32\nepochs = 7\n')
    cfg = build_config("dcgan", preset="paper", config_file=toml, overrides={"batch_size": 16, "device": "cpu"})
    assert cfg.loss == "wgan"  # file picks the loss, so the preset is WGAN's
    assert cfg.optimizer == "rmsprop" and cfg.n_critic == 5  # from the preset
    assert cfg.lr == 1e-3 and cfg.run.epochs == 7  # file beats preset
    assert cfg.batch_size == 16  # flag beats file


def test_toml_section_for_family_and_int_to_float(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text("[dcgan]\nlr = 1\n")
    cfg = build_config("dcgan", config_file=toml, overrides={"device": "cpu"})
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float)


def test_unknown_setting_is_a_clear_error(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text("learning_rate = 0.1\n")
    with pytest.raises(GenlabError, match=r"unknown setting\(s\) \['learning_rate'\]"):
        build_config("dcgan", config_file=toml)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"loss": "hinge"}, "unknown loss 'hinge'; choose one of"),
        ({"critic_norm": "spectral"}, "unknown critic norm 'spectral'"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"image_size": 48}, "power of two"),
    ],
)
def test_bad_values(overrides, message):
    with pytest.raises(GenlabError, match=message):
        build_config("dcgan", overrides=overrides)


def test_unknown_preset_and_family():
    with pytest.raises(GenlabError, match=r"unknown preset 'fast'; choose one of \['assignment', 'paper', 'smoke'\]"):
        build_config("dcgan", preset="fast")
    with pytest.raises(GenlabError, match="unknown model family"):
        build_config("stylegan")


def test_auto_values_are_resolved(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path))
    cfg = build_config("dcgan")
    assert cfg.run.device in ("cpu", "cuda") and cfg.input.data_root == str(tmp_path)


def test_config_round_trip(tmp_path):
    cfg = build_config("dcgan", preset="smoke", overrides={"loss": "wgan-gp", "device": "cpu"})
    save_config(cfg, tmp_path / "config.json")
    data = json.loads((tmp_path / "config.json").read_text())
    assert data["family"] == "dcgan" and data["loss"] == "wgan-gp"
    assert load_config(tmp_path / "config.json") == cfg
    assert config_from_dict(config_to_dict(cfg)) == cfg


def test_every_choice_is_its_registry():
    # The config's Literal types are the only place the names are declared; each registry implements exactly them.
    from typing import get_args

    from genlab.config import CriticNorm, CycleLoss, InitName, Likelihood, LossName, NetworkName, OptimizerName, PAPER_DEFAULTS
    from genlab.losses.adversarial import ADVERSARIAL_LOSSES
    from genlab.losses.elbo import LIKELIHOODS
    from genlab.metrics.feature_extractors import FEATURE_EXTRACTORS
    from genlab.models.dcgan import CRITIC_NORMS
    from genlab.models.init import INITS
    from genlab.training.cyclegan import TARGET_LOSSES
    from genlab.training.dcgan import OPTIMIZERS

    pairs = [
        (LossName, ADVERSARIAL_LOSSES), (LossName, PAPER_DEFAULTS), (CriticNorm, CRITIC_NORMS), (InitName, INITS),
        (OptimizerName, OPTIMIZERS), (Likelihood, LIKELIHOODS), (NetworkName, FEATURE_EXTRACTORS), (CycleLoss, TARGET_LOSSES),
    ]
    for names, registry in pairs:
        assert sorted(get_args(names)) == sorted(registry)


def test_config_is_frozen_and_replace_makes_a_changed_copy():
    import dataclasses

    from genlab.config import replace

    cfg = build_config("dcgan", preset="smoke", overrides={"device": "cpu"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 1.0
    changed = replace(cfg, lr=1, seed=7, amp="off")
    assert (changed.lr, changed.run.seed, changed.speed.amp) == (1.0, 7, False)
    assert (cfg.lr, cfg.run.seed) == (2e-4, 0)
    with pytest.raises(GenlabError, match=r"unknown setting\(s\) \['speed'\]"):
        replace(cfg, speed=None)


def test_speed_switches_resolve_to_booleans_and_take_on_off_auto():
    cfg = build_config("dcgan", overrides={"device": "cpu", "amp": "on", "channels_last": "auto"})
    assert cfg.speed.amp is True and cfg.speed.channels_last is False  # auto is off on the CPU
    with pytest.raises(GenlabError, match=r"setting amp='fast' is not a switch; choose one of \['auto', 'on', 'off'\]"):
        build_config("dcgan", overrides={"amp": "fast"})


def test_old_config_json_with_on_off_strings_still_loads():
    cfg = build_config("dcgan", overrides={"device": "cpu"})
    data = {**config_to_dict(cfg), "amp": "off", "channels_last": "on"}
    loaded = config_from_dict(data)
    assert loaded.speed.amp is False and loaded.speed.channels_last is True


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"lr": float("nan")}, r"lr must be a finite number above 0 \(got nan\)"),
        ({"lr": -1}, r"lr must be a finite number above 0 \(got -1.0\)"),
        ({"beta2": 1.0}, r"beta2 must be in \[0, 1\) \(got 1.0\)"),
        ({"seed": -1}, r"seed must be 0 or more \(got -1\)"),
        ({"gp_weight": -10}, r"gp_weight must be 0 or more"),
        ({"z_dim": 0}, r"z_dim must be at least 1 \(got 0\)"),
    ],
)
def test_numbers_out_of_range_are_one_line_errors(overrides, message):
    with pytest.raises(GenlabError, match=message):
        build_config("dcgan", overrides={"device": "cpu", **overrides})


def test_cuda_graphs_stay_off_until_measured_and_need_cuda():
    cfg = build_config("dcgan", overrides={"device": "cpu"})
    assert cfg.speed.cuda_graphs is False
    with pytest.raises(GenlabError, match=r"cuda_graphs needs a CUDA device \(the run is on cpu\); leave out --cuda-graphs"):
        build_config("dcgan", overrides={"device": "cpu", "cuda_graphs": True})
    assert build_config("dcgan", overrides={"device": "cpu", "cuda_graphs": True}, resolved=False).speed.cuda_graphs is True
