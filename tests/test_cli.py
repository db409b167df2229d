import subprocess
import sys

import pytest
import torch
from PIL import Image

from genlab.cli import main
from genlab.config import RESUMABLE, flatten, load_config


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_sample_and_resume_through_the_command_line(capsys, tmp_path):
    out = tmp_path / "run"
    code, stdout, _ = run_cli(
        capsys, "train", "dcgan", "--loss", "lsgan", "--preset", "smoke", "--data", "builtin", "--out", str(out),
        "--epochs", "1", "--width", "8", "--z-dim", "16", "--limit", "32", "--batch-size", "16", "--device", "cpu",
        "--no-gen-last-norm",
    )
    assert code == 0
    lines = stdout.splitlines()
    assert lines[0] == (
        f"genlab: training DCGAN (lsgan loss, preset smoke) on builtin (32 training images, 32x32) for 1 epochs on cpu "
        f"(speed options: none) into {out}"
    )
    assert lines[1].startswith("genlab: tip: the training images are grey; --grey")  # the digits are
    assert lines[2].startswith(f"genlab: finished {out}: 1 epochs, 2 steps in ") and "; last losses: d_loss " in lines[2]
    assert lines[-2] == f"  pictures: {out}/images/  curves: {out}/plots/  numbers: {out}/history.csv"
    assert lines[-1] == (
        f"  next: genlab sample {out} -n 64 --out grid.png | genlab evaluate {out} | genlab train --resume {out} --epochs 2"
    )
    assert "gen_last_norm" not in stdout  # the full config is in config.json (and on screen with --verbose)
    assert (out / "images" / "fake_image-001.png").is_file()

    code, stdout, _ = run_cli(capsys, "train", "--resume", str(out), "--epochs", "2")
    assert code == 0 and (out / "images" / "fake_image-002.png").is_file()
    assert f"genlab: finished {out}: 2 epochs, 4 steps in " in stdout


    code, _, _ = run_cli(capsys, "sample", str(out), "-n", "9", "--out", str(tmp_path / "grid.png"), "--device", "cpu")
    assert code == 0 and Image.open(tmp_path / "grid.png").size == (2 + 3 * 34, 2 + 3 * 34)

    code, _, _ = run_cli(capsys, "sample", str(out), "-n", "5", "--out", str(tmp_path / "many"), "--checkpoint", "1")
    assert code == 0
    files = sorted((tmp_path / "many").glob("*.png"))
    assert [f.name for f in files] == [f"{i:06d}.png" for i in range(5)]
    assert Image.open(files[0]).size == (32, 32)


def test_verbose_prints_the_config_and_the_architecture(capsys, tmp_path):
    code, stdout, _ = run_cli(
        capsys, "train", "dcgan", "--preset", "smoke", "--out", str(tmp_path / "v"), "--epochs", "1", "--width", "8",
        "--z-dim", "16", "--limit", "32", "--batch-size", "16", "--device", "cpu", "--no-gen-last-norm", "--verbose",
    )
    assert code == 0 and "gen_last_norm     False" in stdout and "DCGAN generator" in stdout


def test_config_file_through_the_command_line(capsys, tmp_path):
    toml = tmp_path / "cfg.toml"
    toml.write_text('preset = "smoke"\nloss = "wgan"\nwidth = 8\nz_dim = 16\nlimit = 32\nbatch_size = 16\nepochs = 1\n')
    code, stdout, _ = run_cli(
        capsys, "train", "dcgan", "--config", str(toml), "--out", str(tmp_path / "r"), "--device", "cpu", "--verbose"
    )
    assert code == 0 and "optimizer         rmsprop" in stdout


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "dcgan", "--loss", "hinge", "--out", "x"], "unknown loss 'hinge'; choose one of ['gan', 'lsgan', 'wgan', 'wgan-gp']"),
        (["train", "dcgan", "--preset", "fast", "--out", "x"], "unknown preset 'fast'; choose one of"),
        (["train", "dcgan", "--data", "imagenet", "--out", "x", "--device", "cpu"], "unknown dataset 'imagenet'"),
        (["train", "dcgan", "--device", "gpu0", "--out", "x"], "unknown device 'gpu0'"),
        (["train", "dcgan", "--data", "/no/such/folder", "--out", "x", "--device", "cpu"], "image folder /no/such/folder does not exist"),
        (["train", "--resume", "/no/such/run"], "is not a genlab run folder"),
        (["sample", "/no/such/run", "--out", "x.png"], "is not a genlab run folder"),
        (["train"], "name a model family to train"),
    ],
)
def test_bad_input_gives_one_line_error(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.startswith("genlab: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_cuda_asked_without_gpu(capsys, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    code, _, err = run_cli(capsys, "train", "dcgan", "--device", "cuda", "--out", str(tmp_path / "x"))
    assert code == 2 and "no CUDA GPU is available; use --device cpu" in err


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "genlab", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("genlab ")


def test_vae_train_sample_reconstruct_describe(capsys, tmp_path):
    faces = tmp_path / "faces"
    faces.mkdir()
    rng = torch.Generator().manual_seed(0)
    for i in range(40):
        pixels = torch.randint(0, 256, (60, 50, 3), generator=rng, dtype=torch.uint8).numpy()
        Image.fromarray(pixels).save(faces / f"{i:03d}.jpg")
    out = tmp_path / "vae"
    code, stdout, _ = run_cli(
        capsys, "train", "vae", "--preset", "smoke", "--data", str(faces), "--out", str(out), "--epochs", "1",
        "--batch-size", "8", "--crop-fraction", "0.8", "--image-size", "32", "--device", "cpu", "--verbose",
    )
    assert code == 0 and "| **total** |" in stdout and "crop_fraction     0.8" in stdout
    assert (out / "images" / "recon-001.png").is_file()
    code, _, _ = run_cli(capsys, "sample", str(out), "-n", "4", "--out", str(tmp_path / "prior.png"))
    assert code == 0 and Image.open(tmp_path / "prior.png").size == (2 + 2 * 34, 2 + 2 * 34)
    code, _, _ = run_cli(capsys, "reconstruct", str(out), "--input", str(faces), "--output", str(tmp_path / "pairs.png"), "-n", "8")
    assert code == 0 and Image.open(tmp_path / "pairs.png").size == (2 + 8 * 34, 2 + 2 * 34)
    code, stdout, _ = run_cli(capsys, "describe", str(out))
    assert code == 0 and "| decoder.6 |" in stdout


def test_reconstruct_needs_a_vae(capsys, tmp_path):
    out = tmp_path / "gan"
    run_cli(capsys, "train", "dcgan", "--preset", "smoke", "--out", str(out), "--epochs", "1", "--width", "8",
            "--limit", "32", "--batch-size", "16", "--device", "cpu")
    code, _, err = run_cli(capsys, "reconstruct", str(out), "--input", str(tmp_path), "--output", "x.png")
    assert code == 2 and "is not a VAE run" in err


def _all_parsers(parser, path=("genlab",)):
    import argparse

    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _all_parsers(sub, path + (name,))


def test_every_flag_has_help_with_its_default_and_choices():
    import argparse

    from genlab.cli import build_parser
    from genlab.config import field_help
    from genlab.family import FAMILIES

    HELP = {name: text for family in FAMILIES.values() for name, text in field_help(family.config).items()}

    missing, no_default, no_choices = [], [], []
    for path, parser in _all_parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
                continue
            where = f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
            if not (action.help or "").strip():
                missing.append(where)
                continue
            is_setting = path[-1] in ("dcgan", "vae", "cyclegan") and action.dest in HELP  # defaults come from the config
            shows_default = action.default not in (None, False, argparse.SUPPRESS) or is_setting
            if action.option_strings and shows_default and "default" not in action.help:
                no_default.append(where)
            if action.dest in ("loss", "critic_norm", "init", "amp", "preprocess", "eval_network") and "one of" not in action.help:
                no_choices.append(where)
    assert missing == [] and no_default == [] and no_choices == []


def test_train_help_lists_the_presets_and_fits_two_screens(capsys):
    with pytest.raises(SystemExit):
        main(["train", "dcgan", "--help"])
    text = capsys.readouterr().out
    assert "  assignment  the homework's: Adam 2e-4" in text and "  paper       each loss its paper's optimiser" in text
    assert "--lr X                learning rate (default: 0.0002)" in text
    assert "RESUME_EPOCHS" not in text and len(text.splitlines()) <= 110


@pytest.mark.parametrize("argv", [
    ["train", "dcgan", "--loss", "wgangp", "--out", "x"],
    ["train", "vae", "--device", "gpu0", "--out", "x"],
    ["train", "cyclegan", "--test-fraction", "2", "--out", "x"],
    ["evaluate", "runs/does-not-exist"],
])
def test_usage_errors_answer_before_torch_is_imported(argv):
    code = (
        "import sys\nfrom genlab.cli import main\n"
        f"status = main({argv!r})\n"
        "print(status, 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["2", "False"], done.stderr
    assert done.stderr.startswith("genlab: error: ") and len(done.stderr.strip().splitlines()) == 1


def test_resume_refuses_what_defines_the_run_and_takes_what_may_change(capsys, tmp_path):
    run = tmp_path / "run"
    tiny = ["--preset", "smoke", "--limit", "32", "--width", "8", "--z-dim", "8", "--batch-size", "16", "--grid-size", "4", "--device", "cpu"]
    assert main(["train", "dcgan", "--out", str(run), "--epochs", "1", *tiny]) == 0
    before = (run / "config.json").read_text()
    capsys.readouterr()

    assert main(["train", "--resume", str(run), "dcgan", "--loss", "lsgan", "--batch-size", "32", "--epochs", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "genlab: error: --resume cannot change what defines a run: loss (run: 'gan', given: 'lsgan'), batch_size "
        f"(run: 16, given: 32); only {', '.join(sorted(RESUMABLE & set(flatten(load_config(run / 'config.json')))))} may "
        "change. To train with other settings, start a new run with --out NEW_DIR"
    )
    assert (run / "config.json").read_text() == before  # nothing written
    assert main(["train", "--resume", str(run), "vae", "--epochs", "2"]) == 2
    assert capsys.readouterr().err.strip() == f"genlab: error: {run} is a dcgan run, not vae; resume it with: genlab train --resume {run}"

    # the run's own values of defining settings are accepted; the changeable ones take effect and are recorded
    assert main(["train", "--resume", str(run), "dcgan", "--loss", "gan", "--batch-size", "16", "--epochs", "2", "--lr", "1e-4", "--sample-every", "2"]) == 0
    cfg = load_config(run / "config.json")
    assert (cfg.run.epochs, cfg.lr, cfg.run.sample_every, cfg.loss, cfg.batch_size) == (2, 1e-4, 2, "gan", 16)
    state = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)
    assert state["epoch"] == 2
    assert {group["lr"] for group in state["trainer"]["optimizers"]["generator"]["param_groups"]} == {1e-4}


def test_epochs_before_or_after_the_family_mean_the_same(capsys, tmp_path):
    tiny = ["--preset", "smoke", "--device", "cpu", "--limit", "32", "--batch-size", "16", "--width", "8", "--z-dim", "8", "--image-size", "16"]
    assert main(["train", "--epochs", "1", "--lr", "0.001", "dcgan", "--out", str(tmp_path / "before"), *tiny]) == 0
    before = load_config(tmp_path / "before" / "config.json")
    assert (before.run.epochs, before.lr) == (1, 0.001)  # not the preset's 2 epochs, not silently
    assert main(["train", "--epochs", "3", "dcgan", "--epochs", "1", "--out", str(tmp_path / "twice"), *tiny]) == 2
    assert "--epochs is given twice (3 before dcgan, 1 after it); give it once" in capsys.readouterr().err
    assert not (tmp_path / "twice").exists()
