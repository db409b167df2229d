"""Report pages: a run's report.html/.md, genlab runs and its comparison page, TensorBoard, and both pages in a browser."""

import builtins
import csv
import json
import os
import re

import pytest
import torch

from genlab.cli import main
from genlab.config import build_config, flatten
from genlab.errors import GenlabError
from genlab.reporting.compare import find_runs, summaries, table_rows, write_comparison
from genlab.reporting.diagnostics import findings as diagnostics
from genlab.reporting.run_report import summarize, write_run_report
from genlab.run_dir import RunDir
from genlab.training import dcgan as dcgan_training
from genlab.training.run import resume, train

from browser import Page, find_browser


def tiny(family, **overrides):
    values = {
        "dcgan": dict(data="builtin", width=8, z_dim=16, batch_size=16, limit=64, grid_size=4),
        "vae": dict(data="toonfaces", limit=96, batch_size=32, holdout=1 / 6, grid_size=4),
        "cyclegan": dict(data="seasons", limit=8, batch_size=2, decay_epochs=1, width=4, n_blocks=1, grid_size=2),
    }[family]
    return build_config(family, preset="smoke", overrides={**values, "device": "cpu", "epochs": 2, **overrides})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three finished runs, one per family; the DCGAN scored every epoch."""
    root = tmp_path_factory.mktemp("runs")
    torch.manual_seed(0)
    train(tiny("dcgan", epochs=3, eval_every=1, eval_n=64), root / "dcgan-gan", quiet=True)
    train(tiny("vae"), root / "vae", quiet=True)
    train(tiny("cyclegan"), root / "cyclegan", quiet=True)
    (root / "notes").mkdir()  # not a run
    return root


def history(run_dir):
    with (run_dir / "history.csv").open() as f:
        return list(csv.DictReader(f))


def test_every_epoch_rewrites_the_report_with_everything_the_run_holds(runs):
    run = runs / "dcgan-gan"
    page = (run / "report.html").read_text()
    md = (run / "report.md").read_text()
    for epoch in (1, 2, 3):  # every epoch's grid listed, in the page and its markdown twin
        assert f"href='./images/fake_image-{epoch:03d}.png'" in page and f"[{epoch}](./images/fake_image-{epoch:03d}.png)" in md
    assert "finished, 3 of 3 epochs, 12 steps" in page
    assert "src='./plots/losses.png'" in page and "src='./plots/scores.png'" in page
    # the scores table: one row per evaluation, the lowest KID marked as best.pt's epoch
    kid = {int(r["epoch"]): float(r["kid_mean"]) for r in history(run) if r.get("kid_mean")}
    assert sorted(kid) == [1, 2, 3]
    best = min(kid, key=kid.get)
    marked = re.findall(r"<tr class=best><td class=num>(\d+)</td>|<tr class=best><td>(\d+)</td>", page)
    assert [int(a or b) for a, b in marked] == [best]
    assert f"The lowest KID during training came at epoch {best} (checkpoints/best.pt)." in page
    # the architecture as tables, every setting of config.json, the preprocessing in words
    assert page.count("<h3>DCGAN generator</h3>") == 1 and "<td>ConvTranspose2d(16, 32" in page
    cfg = RunDir(run).config()
    for name in flatten(cfg):
        assert f"<tr><td>{name}</td>" in page
    assert "the built-in handwritten digits (8x8 scans), resized once to 32x32" in page
    assert "Learning rate 0.0002, constant (adam, betas 0.5, 0.999)." in page
    assert "<script>" in page and "http" not in re.sub(r"<a href='[^']*'", "", page).replace("https://", "")
    assert "http-equiv='refresh'" not in page  # a finished run's page stays still; a running one's reloads itself
    running = write_run_report(RunDir(run), state="running").read_text()
    assert "<meta http-equiv='refresh' content='30'>" in running and "the page reloads every 30 s" in running
    assert "Written after epoch 3, " in running and "rewritten at most every 30 s (and after the last epoch)" in running
    write_run_report(RunDir(run))


def test_vae_and_cyclegan_reports_show_their_own_pictures_and_numbers(runs):
    vae = (runs / "vae" / "report.html").read_text()
    for kind in ("recon", "prior"):
        assert f"href='./images/{kind}-001.png'" in vae and f"href='./images/{kind}-002.png'" in vae
    held_out = [r for r in history(runs / "vae") if r.get("val_nelbo")]
    assert len(held_out) == 2 and f"{float(held_out[-1]['val_nelbo']):.4g}" in vae
    assert "held-out -ELBO" in vae and "17% of the images are held out" in vae
    cycle = (runs / "cyclegan" / "report.html").read_text()
    for kind in ("fakeA2B", "fakeB2A"):  # both translation directions
        assert f"href='./images/{kind}-002.png'" in cycle
    assert "each training image is resized to 36x36 and a random 32x32 crop is taken, then flipped left-right with probability 1/2" in cycle
    assert "then decayed linearly to 0 over the last 1" in cycle


def test_diagnostics_name_a_forced_collapse_and_a_winning_discriminator(tmp_path, monkeypatch):
    """A generator forced to draw one flat image: the page says collapsed, in words, with the numbers."""
    original = dcgan_training.DCGANTrainer.report

    def flat(self, epoch, run, history):
        self.model.sample = lambda z: torch.zeros(z.shape[0], 3, 32, 32)
        original(self, epoch, run, history)

    monkeypatch.setattr(dcgan_training.DCGANTrainer, "report", flat)
    with pytest.warns(UserWarning):
        run = train(tiny("dcgan", epochs=2), tmp_path / "flat", quiet=True)
    page = (run.root / "report.html").read_text()
    assert "<li class='problem'>The samples look collapsed (flat, or one image repeated) in epochs 1-2: diversity 0.00" in page
    # a discriminator that won: its loss near 0 in epoch 2 (the history as such a run writes it)
    rows = [dict(r) for r in summarize(run).rows]
    for row in rows:
        if row.get("epoch") == 2 and "d_loss" in row:
            row["d_loss"] = 1e-3
    text = " ".join(f.text for f in diagnostics(summarize(run, rows=rows)))
    assert "The discriminator wins: its loss sat near 0 (mean below 0.01) in epoch 2" in text
    # an Inception Score falling three evaluations in a row, then recovering: still named
    scored = rows + [{"step": 8.0, "epoch": 2.0, "is_mean": v} for v in (3.0, 2.5, 2.0, 1.5, 2.2)]
    text = " ".join(f.text for f in diagnostics(summarize(run, rows=scored)))
    assert "The Inception Score fell for 3 evaluations in a row" in text
    steady = rows + [{"step": 8.0, "epoch": 2.0, "is_mean": v} for v in (3.0, 2.5, 2.6, 2.0, 2.2)]
    assert "fell" not in " ".join(f.text for f in diagnostics(summarize(run, rows=steady)))


def test_a_diverged_run_says_so_and_resuming_clears_it(tmp_path, break_step):
    break_step(dcgan_training.DCGANTrainer, 6, nan="d_loss")
    with pytest.raises(GenlabError):
        train(tiny("dcgan", epochs=3, log_every=3), tmp_path / "run", quiet=True)
    run = RunDir(tmp_path / "run")
    summary = summarize(run)
    assert (summary.state, summary.epochs_done) == ("diverged", 1)
    assert "Training diverged: training stopped: d_loss became nan at step 6 (epoch 2)" in (run.root / "report.html").read_text()
    break_step.mend()
    resume(run.root, quiet=True)
    assert not run.diverged_path.exists() and summarize(run).state == "finished"


def test_an_interrupted_run_page_says_stopped_early(tmp_path, break_step):
    break_step(dcgan_training.DCGANTrainer, 6)
    with pytest.raises(KeyboardInterrupt):
        train(tiny("dcgan", epochs=3), tmp_path / "run", quiet=True)
    page = (tmp_path / "run" / "report.html").read_text()
    assert "stopped early, 1 of 3 epochs, 4 steps" in page and "http-equiv='refresh'" not in page
    assert "continue it with genlab train --resume" in page


def test_runs_finds_every_run_and_tells_its_state(runs, tmp_path):
    found = [r.root.name for r in find_runs(runs)]
    assert found == ["cyclegan", "dcgan-gan", "vae"]
    rows = {r["run"]: r for r in table_rows(summaries(runs), runs)}
    assert rows["dcgan-gan"]["loss / preset"] == "gan / smoke" and rows["dcgan-gan"]["epochs"] == "3/3"
    assert rows["dcgan-gan"]["best"].startswith("KID ") and rows["vae"]["best"].startswith("held-out -ELBO ")
    assert {r["state"] for r in rows.values()} == {"finished"}
    # stopped early: fewer epochs done than planned, nobody training; running: a live process holds the lock
    early = train(tiny("dcgan", epochs=1), tmp_path / "early", quiet=True)
    config = json.loads(early.config_path.read_text())
    early.config_path.write_text(json.dumps({**config, "epochs": 5}))
    assert (summarize(early).state, summarize(early).epochs_done) == ("stopped early", 1)
    (early.root / ".lock").write_text(str(os.getpid()))
    assert summarize(early).state == "running"
    (early.root / ".lock").write_text("999999999")  # a dead trainer's lock
    assert summarize(early).state == "stopped early"


def test_runs_command_prints_the_table_and_writes_the_comparison_page(runs, capsys):
    assert main(["runs", str(runs), "--html"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["run", "family", "loss", "/", "preset", "data", "epochs", "last", "losses", "best", "precision", "/", "recall", "/", "coverage", "state"]
    assert [line.split()[0] for line in lines[2:5]] == ["cyclegan", "dcgan-gan", "vae"]
    page = (runs / "runs.html").read_text()
    assert "src='./runs-curves.png'" in page and (runs / "runs-curves.png").is_file()
    for name, grid in (("dcgan-gan", "fake_image-003"), ("vae", "prior-002"), ("cyclegan", "fakeA2B-002")):
        assert f"src='./{name}/images/{grid}.png'" in page and f"href='./{name}/report.html'" in page
    assert json.loads((runs / "runs.json").read_text())[1]["run"] == "dcgan-gan"
    assert main(["runs", str(runs), "--json"]) == 0
    assert [r["family"] for r in json.loads(capsys.readouterr().out)] == ["cyclegan", "dcgan", "vae"]
    assert main(["runs", str(runs), "--json", "--only", "dcgan-*,vae"]) == 0
    assert [r["run"] for r in json.loads(capsys.readouterr().out)] == ["dcgan-gan", "vae"]
    assert main(["runs", str(runs), "--html", "--only", "nothing-*"]) == 2
    assert "match --only nothing-*" in capsys.readouterr().err


def test_evaluate_results_in_the_folder_are_listed_with_their_protocol(runs, capsys):
    run = runs / "dcgan-gan"
    assert main(["evaluate", str(run), "--metrics", "is,fid,kid", "--network", "builtin", "--n", "64", "--splits", "2",
                 "--reference", "builtin-test", "--kid-subset-size", "32", "--kid-subsets", "5", "--device", "cpu"]) == 0
    capsys.readouterr()
    result = json.loads((run / "evaluation-builtin.json").read_text())
    page = write_run_report(RunDir(run)).read_text()
    m, real = result["metrics"], result["ceiling"]["metrics"]
    # the reference is the held-out digits, so the real-against-real ceiling is the training digits against them
    assert result["ceiling"]["source"] == "builtin: real training images" and result["ceiling"]["n"] == 64
    assert (
        f"<td>evaluation-builtin.json</td><td>IS {m['is_mean']:.3f} ± {m['is_std']:.3f} (real {real['is_mean']:.3f}); "
        f"FID {m['fid']:.3f} (real {real['fid']:.3f}); KID {m['kid_mean']:.4g} ± {m['kid_std']:.2g} (real {real['kid_mean']:.4g})</td>"
        "<td>network builtin, n 64, splits 2, checkpoint latest, reference builtin-test; real: builtin: real training images (64 images)"
    ) in page
    (run / "evaluation-builtin.json").unlink()
    write_run_report(RunDir(run))


def test_report_html_command_and_bad_folders(runs, tmp_path, capsys):
    (runs / "vae" / "report.html").unlink()
    assert main(["report", str(runs / "vae"), "--html"]) == 0
    assert (runs / "vae" / "report.html").is_file()
    assert main(["report", str(tmp_path), "--html"]) == 2
    assert "is not a genlab run folder" in capsys.readouterr().err
    assert main(["runs", str(tmp_path), "--html"]) == 2
    assert "no genlab run folders under" in capsys.readouterr().err
    assert main(["runs", str(tmp_path / "missing")]) == 2


def test_tensorboard_gets_every_history_column_and_each_epochs_grids(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = train(tiny("dcgan", epochs=2, tensorboard=True), tmp_path / "tb", quiet=True)
    events = EventAccumulator(str(run.root / "tensorboard"), size_guidance={"scalars": 0, "images": 0}).Reload()
    rows = history(run.root)
    for column in ("g_loss", "d_loss", "d_real", "d_fake", "diversity"):
        logged = [(e.step, e.value) for e in events.Scalars(column)]
        expected = [(int(r["step"]), float(r[column])) for r in rows if r.get(column)]
        assert [s for s, _ in logged] == [s for s, _ in expected]
        torch.testing.assert_close(torch.tensor([v for _, v in logged]), torch.tensor([v for _, v in expected]), rtol=1e-5, atol=1e-6)
    assert [e.step for e in events.Images("images/fake_image")] == [4, 8]  # one grid per epoch, at its last step
    # a resumed run adds only what is new
    resume(run.root, {"epochs": 3}, quiet=True)
    events = EventAccumulator(str(run.root / "tensorboard"), size_guidance={"scalars": 0, "images": 0}).Reload()
    assert [e.step for e in events.Scalars("g_loss")] == list(range(1, 13))


def test_tensorboard_without_the_package_is_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name == "tensorboard" or name.startswith("tensorboard.") or name == "torch.utils.tensorboard":
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    code = main(["train", "dcgan", "--preset", "smoke", "--data", "builtin", "--limit", "32", "--epochs", "1", "--tensorboard",
                 "--device", "cpu", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ["genlab: error: --tensorboard needs the tensorboard package; install it with: pip install 'genlab[tensorboard]'"]
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    path = find_browser()
    if path is None:
        pytest.skip("no Chromium here (Debian: apt-get install chromium; .ci/run installs it)")
    pytest.importorskip("websocket", reason="websocket-client is a test dependency: pip install -e '.[test]'")
    page = Page(path, tmp_path_factory.mktemp("profile"))
    yield page
    page.close()


@pytest.mark.parametrize("page_name", ["dcgan-gan/report.html", "cyclegan/report.html", "vae/report.html", "runs.html"])
def test_pages_load_in_a_browser_with_every_image(page_name, runs, browser, tmp_path):
    if page_name == "runs.html":
        write_comparison(runs, summaries(runs), title="three runs")
    browser.open((runs / page_name).as_uri())
    images = browser.images()
    assert images, "the page shows no pictures"
    assert [src for src, complete, width in images if not (complete and width > 0)] == []
    assert browser.errors() == []
    if page_name != "runs.html":  # the epoch slider swaps in the first epoch's grid, and it loads
        src = browser.evaluate(
            "(() => {const s = document.querySelector('input.epochs'); s.value = 0; s.dispatchEvent(new Event('input'));"
            " const img = document.getElementById(s.dataset.img);"
            " return new Promise(r => {const done = () => r([img.getAttribute('src'), img.naturalWidth,"
            " document.getElementById(s.dataset.label).textContent]); img.complete ? done() : (img.onload = done);});})()"
        )
        assert src[0].endswith("-001.png") and src[1] > 0 and src[2] == "epoch 1"
        assert browser.errors() == []
    shot = browser.screenshot(tmp_path / "page.png")
    assert shot.stat().st_size > 10_000
