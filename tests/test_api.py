"""genlab from Python: the same runs as the command line, as objects; no exit, no stray output, no global draws."""

import pytest
import torch

import genlab
from genlab.training import dcgan as dcgan_training

TINY = dict(data="builtin", limit=64, batch_size=16, width=8, z_dim=16, image_size=16, grid_size=4, device="cpu")


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    before = torch.get_rng_state()
    first = genlab.train("dcgan", out=root / "gan", preset="smoke", epochs=2, **TINY)
    genlab.train("dcgan", out=root / "lsgan", preset="smoke", loss="lsgan", epochs=2, **TINY)
    assert torch.equal(torch.get_rng_state(), before)  # training leaves the global generator as it was
    return root, first


def test_train_returns_a_run_with_its_config_history_state_and_model(runs_dir, capsys):
    root, run = runs_dir
    assert isinstance(run, genlab.Run) and run.path == root / "gan"
    assert run.config.loss == "gan" and run.config.run.epochs == 2 and run.state == "finished"
    assert [row["step"] for row in run.history if "g_loss" in row] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert len(run.history.column("d_loss")) == 8
    images = run.model.sample(6, seed=3)
    assert images.dtype == torch.uint8 and images.shape == (6, 3, 16, 16)
    torch.testing.assert_close(run.model.sample(6, seed=3), images, rtol=0, atol=0)  # the same latents, the same images
    assert not torch.equal(run.model.sample(6, seed=4), images)
    picture = genlab.grid(images)
    assert picture.size == (2 + 3 * 34, 2 + 2 * 34)  # 3 x 2 tiles of 16 px shown at 32 px, 2 px apart
    with pytest.raises(genlab.GenlabError, match="does not translate"):
        run.model.translate(images)
    assert capsys.readouterr().out == ""  # nothing printed unasked


def test_resume_evaluate_load_and_runs(runs_dir, capsys):
    root, run = runs_dir
    resumed = genlab.train(resume=run.path, epochs=3)
    assert resumed.config.run.epochs == 3 and max(resumed.history.column("epoch")) == 3
    result = genlab.evaluate(resumed, metrics=("is", "kid"), network="builtin", n=32, splits=2, reference="builtin-test", kid_subset_size=16)
    assert isinstance(result, genlab.Evaluation) and result.protocol["network"] == "builtin" and result.protocol["n"] == 32
    assert 1.0 <= result.metrics["is_mean"] <= 28.0 and "kid_mean" in result.metrics
    assert "<table>" in result._repr_html_() and "is_mean" in result._repr_html_()
    assert genlab.load(root / "gan" / "checkpoints" / "epoch-0002.pt").model.checkpoint.endswith("epoch-0002.pt")
    found = genlab.runs(root)
    assert [r.path.name for r in found] == ["gan", "lsgan"]
    table = found._repr_html_()
    assert "<table>" in table and "lsgan / smoke" in table
    page = resumed._repr_html_()
    assert "DCGAN (GAN loss)" in page and "finished, 3 of 3 epochs" in page and "data:image/png;base64," in page
    assert capsys.readouterr().out == ""


def test_neighbours_and_latent_walks_from_python(runs_dir, capsys):
    root, run = runs_dir
    before = torch.get_rng_state()
    found = genlab.neighbours(run, n=2, k=3, score_n=50)
    assert found.path == root / "gan" / "neighbours.png" and found.json_path.is_file()
    assert len(found.check.samples) == 50 and len(found.check.held_out) == 297 and not found.check.copying
    walk = genlab.interpolate(run.path, steps=4, rows=2)
    assert walk == root / "gan" / "interpolation.png" and walk.is_file()
    with pytest.raises(genlab.GenlabError, match="need a VAE run"):
        genlab.interpolate(run, traverse=True)
    assert torch.equal(torch.get_rng_state(), before) and capsys.readouterr().out == ""


def test_errors_are_raised_as_genlab_errors_not_exits(tmp_path):
    with pytest.raises(genlab.GenlabError, match="unknown loss 'wgangp'"):
        genlab.train("dcgan", out=tmp_path / "r", loss="wgangp")
    with pytest.raises(genlab.GenlabError, match="is not a genlab run folder"):
        genlab.load(tmp_path)
    with pytest.raises(genlab.GenlabError, match="resume= continues a run as it was set up"):
        genlab.train("dcgan", resume=tmp_path)
    assert not (tmp_path / "r").exists()


def test_an_interrupted_run_in_a_notebook_cell_resumes(tmp_path, break_step):
    break_step(dcgan_training.DCGANTrainer, 6)  # the stop button in the second epoch
    with pytest.raises(KeyboardInterrupt):
        genlab.train("dcgan", out=tmp_path / "run", preset="smoke", epochs=2, **TINY)
    break_step.mend()
    assert genlab.load(tmp_path / "run").state == "stopped early"
    assert genlab.train(resume=tmp_path / "run").state == "finished"


def test_a_sweep_from_python(tmp_path):
    members = genlab.sweep(["gan", "wgan"], [0, 1], out=tmp_path / "sweep", preset="smoke", epochs=1, **TINY)
    assert [m.path.name for m in members] == ["gan-s0", "gan-s1", "wgan-s0", "wgan-s1"]
    assert members[2].config.optimizer == "rmsprop" and members[2].config.n_critic == 5  # its own loss's settings


USAGE = '''
from pathlib import Path

import genlab
from torch import Tensor


def tour(out: Path) -> float:
    run: genlab.Run = genlab.train("dcgan", out=out / "gan", preset="smoke", data="builtin", epochs=1)
    images: Tensor = run.model.sample(16, seed=0)
    genlab.grid(images).save(out / "grid.png")
    result: genlab.Evaluation = genlab.evaluate(run, metrics=("is",), network="builtin", n=100)
    steps: list[float] = run.history.column("step")
    found: list[genlab.Run] = genlab.runs(out)
    again: genlab.Run = genlab.load(out / "gan")
    return result.metrics["is_mean"] + len(steps) + len(found) + again.config.run.epochs
'''

MYPY = """
[mypy]
strict = True
follow_imports = silent
[mypy-torch.*,torchvision.*,PIL.*,numpy.*,scipy.*,sklearn.*,matplotlib.*,tqdm.*,torch_fidelity.*]
follow_imports = skip
"""


def test_the_api_type_checks_under_mypy_strict(tmp_path):
    import subprocess
    import sys

    pytest.importorskip("mypy")
    (tmp_path / "mypy.ini").write_text(MYPY)
    (tmp_path / "use_api.py").write_text(USAGE)
    (tmp_path / "misuse.py").write_text(USAGE.replace("run.model.sample(16, seed=0)", "run.model.sample('sixteen')"))
    check = lambda name: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--cache-dir", str(tmp_path / "cache"), name],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    good = check("use_api.py")
    assert good.returncode == 0, good.stdout
    bad = check("misuse.py")
    assert bad.returncode == 1 and 'Argument 1 to "sample" of "Model" has incompatible type "str"' in bad.stdout
