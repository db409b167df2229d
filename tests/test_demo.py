import csv
import json
import warnings

import pytest

from genlab.data.images import GenlabWarning
from genlab.demo import MARKER, SCORING, _prepare, demo_dcgan_config, run_demo
from genlab.errors import GenlabError
from genlab.training.run import train


def test_demo_trains_every_loss_and_writes_one_page(tmp_path):
    page = run_demo(tmp_path / "demo", epochs=1)
    html = page.read_text()
    for loss in ("gan", "lsgan", "wgan", "wgan-gp"):
        run = tmp_path / "demo" / f"dcgan-{loss}"
        assert (run / "images" / "fake_image-001.png").is_file()
        assert (run / "plots" / "losses.png").is_file()
        assert f"src='./dcgan-{loss}/images/fake_image-001.png'" in html
        assert f"href='./dcgan-{loss}/report.html'" in html and (run / "report.html").is_file()
    assert "dcgan-wgan-gp/plots/losses.png" in (tmp_path / "demo" / "index.md").read_text()
    assert "src='./vae-toonfaces/images/recon-001.png'" in html and "src='./vae-toonfaces/plots/elbo.png'" in html
    assert (tmp_path / "demo" / "vae-toonfaces" / "images" / "prior-001.png").is_file()
    for task in ("seasons", "toonfaces2anime"):  # both directions of both translation tasks
        assert f"src='./cyclegan-{task}/images/fakeB2A-001.png'" in html and f"src='./cyclegan-{task}/images/fakeA2B-001.png'" in html
    report = (tmp_path / "demo" / "inception_score.txt").read_text().splitlines()
    assert [line.split(":")[0] for line in report if " Inception Score " in line] == [
        "GAN (DCGAN)", "LSGAN (DCGAN)", "WGAN (DCGAN)", "WGAN-GP (DCGAN)", "real images (builtin-test)",
        "CycleGAN", "real images (seasons-summer-test)",
        "CycleGAN", "VAE", "real images (toonfaces-test)",
    ]
    assert "Scores (inception_score.txt)" in html and (tmp_path / "demo" / "inception_score.json").is_file()
    # every run's own line: what was trained and its scores beside its own real images'
    assert html.count("<p class='scores'>Inception Score ") == 7
    assert html.count("; real images (builtin-test) ") == 4 and html.count("; real images (seasons-summer-test) ") == 1
    assert html.count("; real images (toonfaces-test) ") == 2
    assert "Trained: 23 steps of batch 64 (1 epochs), 16x16, preset assignment, gan loss, " in html
    # under each short CycleGAN run, what to expect of its pictures and where to see more (not under --full's)
    assert html.count("What to expect from a run this short") == 2 and html.count("genlab demo --full trains 2,500 steps per task") == 2
    from genlab.demo import _cyclegan_jobs

    assert [job.expect for job in _cyclegan_jobs(tmp_path / "full", None, "cpu", full=True)] == ["", ""]
    # the faces' discriminators judge 34x34 patches, the landscapes' the default 70x70
    assert [json.loads((tmp_path / "demo" / f"cyclegan-{task}" / "config.json").read_text())["disc_layers"] for task in ("seasons", "toonfaces2anime")] == [3, 2]
    # a comparison page: the curves overlaid on one figure, the last grids side by side, the table as JSON
    assert "src='./index-curves.png'" in html and (tmp_path / "demo" / "index-curves.png").is_file()
    assert "Last samples side by side" in html
    table = json.loads((tmp_path / "demo" / "index.json").read_text())
    assert [row["run"] for row in table] == [
        "dcgan-gan", "dcgan-lsgan", "dcgan-wgan", "dcgan-wgan-gp", "cyclegan-seasons", "cyclegan-toonfaces2anime", "vae-toonfaces",
    ]
    assert {row["state"] for row in table} == {"finished"} and {row["epochs"] for row in table} == {"1/1"}
    # every run's score is in its own folder and on its own report page too
    scored = {row["run"]: row["metrics"]["is_mean"] for row in json.loads((tmp_path / "demo" / "inception_score.json").read_text()) if "run" in row and "real" not in row["model"]}
    for row in table:
        run = tmp_path / "demo" / row["run"]
        saved = json.loads((run / "evaluation-builtin.json").read_text())
        assert saved["metrics"]["is_mean"] == scored[str(run)] and saved["protocol"]["network"] == "builtin"
        assert row["best"].endswith("(builtin network)") or row["best"].startswith("held-out -ELBO")
        assert "evaluation-builtin.json" in (run / "report.html").read_text()
        # precision, recall and coverage against its real images, with the real-against-real ceiling
        assert set(saved["ceiling"]["metrics"]) >= {"precision", "recall", "coverage"} and saved["ceiling"]["n"] >= 2
        assert row["precision / recall / coverage"] == " ".join(f"{k[0].upper()} {saved['metrics'][k]:.2f}" for k in ("precision", "recall", "coverage"))
    assert html.count(" (real against real: ") == 7
    # one pass scores each run: its recall is its samples' against the real row's features, the ceiling the
    # training digits' against the same features (the digits' test split is the reference)
    from genlab.metrics.prdc import precision_recall
    from genlab.scoring import evaluate

    gan = json.loads((tmp_path / "demo" / "dcgan-gan" / "evaluation-builtin.json").read_text())
    ours = evaluate(str(tmp_path / "demo" / "dcgan-gan"), SCORING).features.pool
    real = evaluate("builtin-test", SCORING).features.pool
    assert gan["metrics"]["recall"] == pytest.approx(precision_recall(real, ours)[1])
    assert gan["protocol"]["reference_n"] == len(real) == 297 and gan["ceiling"]["source"].endswith("real training images")
    # one latent walk of a DCGAN and one of the VAE, on the page and on their report pages
    for run in ("dcgan-wgan-gp", "vae-toonfaces"):
        assert f"src='./{run}/interpolation.png'" in html and "interpolation.png" in (tmp_path / "demo" / run / "report.html").read_text()


def test_training_two_runs_at_a_time_gives_what_one_after_another_gives(tmp_path):
    """The demo's worker processes (one torch thread each) against the same jobs in this process (the tests run
    with one thread): the same histories, byte for byte."""
    import torch

    from genlab.demo import _cyclegan_jobs, _dcgan_jobs, _vae_jobs, train_jobs

    assert torch.get_num_threads() == 1
    made = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        jobs = [*_dcgan_jobs(out, 1, "cpu")[2:], *_cyclegan_jobs(out, 1, "cpu", False)[:1], *_vae_jobs(out, 1, "cpu", False)]
        entries = train_jobs(jobs, workers)
        assert [e.title for e in entries] == [j.title for j in jobs]  # the jobs' order, whatever finished first
        made[workers] = {e.run.root.name: e.run.history_path.read_bytes() for e in entries}
        assert all((e.run.root / "checkpoints" / "latest.pt").is_file() for e in entries)
    assert made[1].keys() == made[2].keys() and len(made[1]) == 4
    for name in made[1]:
        assert made[1][name] == made[2][name], name


def test_demo_replaces_only_its_own_earlier_output(tmp_path):
    out = tmp_path / "demo"
    _prepare(out)
    (out / "dcgan-gan").mkdir()
    _prepare(out)
    assert (out / MARKER).is_file() and not (out / "dcgan-gan").exists()


def test_demo_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(GenlabError, match="is not a genlab demo folder"):
        run_demo(tmp_path / "mine", epochs=1)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


@pytest.mark.slow  # a quality check of the demo's settings (20 epochs each): python -m pytest -m slow
@pytest.mark.parametrize("loss", ["wgan", "wgan-gp"])  # the two losses whose demo samples used to stay flat grey
def test_demo_settings_leave_the_flat_start_within_20_epochs(loss, tmp_path):
    cfg = demo_dcgan_config(loss, epochs=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenlabWarning)  # no collapse warning, not even at the last epoch
        run = train(cfg, tmp_path / loss, quiet=True)
    with run.history_path.open() as f:
        diversity = [float(row["diversity"]) for row in csv.DictReader(f) if row["diversity"]]
    assert len(diversity) == 20
    assert diversity[0] < 0.5 < diversity[-1]  # flat after one epoch, spread out like real digits at the end
