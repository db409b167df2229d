"""``genlab demo``: every family trained briefly on the built-in data, on one page.

It runs the real training code on the seed tasks in miniature (four DCGAN losses on
the digits; CycleGAN summer <-> winter on ``seasons`` and cartoon <-> anime on
``toonfaces2anime``; the VAE on ``toonfaces``; settings measured by
benchmarks/bench_quality.py to learn within a few CPU minutes), scores every run
with the built-in network beside its own real images, and writes ``OUT/index.html``
and ``OUT/index.md``, a comparison page of its runs (as ``genlab runs OUT --html`` writes):
the runs' curves overlaid, their last grids side by side, and per run what was trained
(steps, size, preset, wall time), its scores, its first and last pictures, its curves
and a link to its own report page.
Re-running it replaces its own earlier output.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from genlab.config import CYCLEGAN_PRESETS, Config, DCGANConfig, build_config
from genlab.errors import GenlabError
from genlab.reporting.compare import Extra, write_comparison
from genlab.reporting.run_report import summarize, write_run_report
from genlab.handin import write_report
from genlab.sampling import interpolate
from genlab.scoring import Protocol, collapse_warnings
from genlab.training import loop
from genlab.training.run import train
from genlab.run_dir import History, RunDir

MARKER = ".genlab-demo"
SCORING = Protocol(network="builtin", n=1000, splits=10)  # every run: 1,000 images on the built-in network
VARIETY = ("precision", "recall", "coverage")  # beside the Inception Score: fidelity, and how much of the data is reached
DEMO_LOSSES = ("gan", "lsgan", "wgan", "wgan-gp")
# The digits are 8x8 at heart, so the demo's DCGANs train at 16x16 (a quarter of the pixels of 32x32, so about
# four times the steps in the same minutes) on a generator and critic of width 32 without BatchNorm in the critic
# or before the Tanh, with the assignment's optimiser (Adam 2e-4, one critic step per generator step).
# Chosen by benchmarks/bench_quality.py: see the README's "Which preset for which loss".
DEMO_EPOCHS = 60
DEMO_DCGAN = dict(
    data="builtin", image_size=16, width=32, critic_norm="none", gen_last_norm=False, init="normal",
    batch_size=64, checkpoint_every=1000, smooth_window=20, grid_size=36, sample_every=5,
)
# What each loss needs beyond that: weight clipping leaves a critic without normalisation too weak to
# guide the generator (flat grey samples), so WGAN's critic keeps the paper's BatchNorm, and WGAN trains with its
# paper's RMSprop (at 2e-4), a latent of 32 and a clip of 0.015 (built-in IS 5.60, 5.56, 5.62 over seeds 0-2,
# recall 0.39, 0.38, 0.41 against the test digits; with the clip of 0.01 5.54, 5.47, 5.63 and recall 0.34, 0.46,
# 0.41; with Adam and a latent of 256 5.15, 5.09, 5.51; one thread). WGAN-GP uses its paper's Adam betas (0, 0.9),
# which with one critic step per generator step beat (0.5, 0.999), and so do GAN and LSGAN here (5.84 and 5.81
# against 5.30 and 5.44 with (0.5, 0.999); WGAN's clipped critic did worse with them, 4.63 against 5.15).
# The digits are grey: GAN, LSGAN and WGAN-GP draw one channel shown as three (their three-channel samples carried
# purple and green speckle; grey: 5.81, 5.72, 5.92 against 5.84, 5.81, 5.82). WGAN's samples have no speckle
# without it, and drawing grey lowered its recall (0.41, 0.34, 0.25 over seeds 0-2).
DEMO_LOSS_SETTINGS: dict[str, dict[str, object]] = {
    "gan": {"beta1": 0.0, "beta2": 0.9, "grey": True},
    "lsgan": {"beta1": 0.0, "beta2": 0.9, "grey": True},
    "wgan": {"critic_norm": "batch", "optimizer": "rmsprop", "z_dim": 32, "clip_value": 0.015},
    "wgan-gp": {"beta1": 0.0, "beta2": 0.9, "grey": True},
}


def demo_dcgan_config(loss: str, *, epochs: int | None = None, device: str = "cpu") -> DCGANConfig:
    """The demo's DCGAN run for one loss: the assignment preset with the demo's network and data."""
    overrides = {**DEMO_DCGAN, **DEMO_LOSS_SETTINGS[loss], "loss": loss, "epochs": epochs or DEMO_EPOCHS, "device": device}
    return build_config("dcgan", preset="assignment", overrides=overrides)


@dataclass(frozen=True)
class DemoEntry:
    title: str
    run: RunDir
    pictures: tuple[tuple[str, Path], ...]  # (caption, image path)
    seconds: float  # wall time of the training
    real: str  # the real images its scores are compared with (a scoring dataset name)
    expect: str = ""  # what a first look should expect of its pictures (said under its training line)

    def trained(self) -> str:
        """What was trained, in one line: steps, image size, preset, wall time."""
        cfg = self.run.config()
        steps = int(max(History.load(self.run.history_path, up_to_step=10**12).column("step")[1], default=0))
        preset = f"preset {cfg.run.preset}" + (f", {cfg.loss} loss" if isinstance(cfg, DCGANConfig) else "")
        return (
            f"{steps:,} steps of batch {cfg.batch_size} ({cfg.run.epochs} epochs), {cfg.image_size}x{cfg.image_size}, "
            f"{preset}, {self.seconds:.0f} s"
        )


def _prepare(out: Path) -> None:
    if out.exists():
        if not (out / MARKER).exists():
            if any(out.iterdir()):
                raise GenlabError(f"{out} exists and is not a genlab demo folder; choose another --out")
        else:
            shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by genlab demo; replaced on the next run\n")


@dataclass(frozen=True)
class DemoJob:
    """One run of the demo, as plain data (a worker process trains it): what to train and which pictures show it."""

    title: str
    cfg: Config
    folder: Path
    what: str  # said when it starts
    pictures: str  # dcgan | cyclegan | vae
    real: str = "builtin-test"  # the real images its scores are compared with
    walk: bool = False  # also draw latent walks
    domains: tuple[str, str] = ("A", "B")  # a CycleGAN's domain names
    seconds: float = 30.0  # its rough cost on two cores, measured: the longest runs start first
    expect: str = ""  # what a first look should expect of its pictures


def _pictures(job: DemoJob, run: RunDir) -> tuple[tuple[str, Path], ...]:
    last = job.cfg.run.epochs
    walk = _walk(run) if job.walk else ()
    if job.pictures == "dcgan":
        return (
            ("samples after epoch 1", run.grid("fake_image", 1)), (f"samples after epoch {last}", run.grid("fake_image", last)),
            *walk, ("learning curves", run.plot("losses")),
        )
    if job.pictures == "cyclegan":
        a, b = job.domains
        return (
            (f"{a} to {b} after epoch 1: real, translated, reconstructed", run.grid("fakeA2B", 1)),
            (f"{a} to {b} after epoch {last}", run.grid("fakeA2B", last)),
            (f"{b} to {a} after epoch {last}: real, translated, reconstructed", run.grid("fakeB2A", last)),
            ("learning curves", run.plot("losses")),
        )
    return (
        ("reconstructions of held-out faces (ground truth left, reconstruction right)", run.grid("recon", last)),
        ("samples from the prior p(z) after epoch 1", run.grid("prior", 1)),
        (f"samples from the prior p(z) after epoch {last}", run.grid("prior", last)),
        *walk, ("negative ELBO, train and held-out", run.plot("elbo")),
    )


def train_job(job: DemoJob) -> DemoEntry:
    """Train one demo run (saying what first), timed, and the entry that shows it."""
    print(f"genlab demo: {job.what}", flush=True)
    started = time.perf_counter()
    run = train(job.cfg, job.folder, quiet=True)
    return DemoEntry(job.title, run, _pictures(job, run), time.perf_counter() - started, job.real, job.expect)


WALK_LOSS = "wgan-gp"  # the DCGAN whose latent walks the page shows
WALK = dict(steps=10, rows=3)


def _walk(run: RunDir) -> tuple[tuple[str, Path], ...]:
    """Three latent walks of a trained run, saved where genlab interpolate saves them (the report shows them too)."""
    path = interpolate(run.root, run.analysis("interpolation.png"), **WALK, device=run.config().run.device)
    return ((f"latent walks: {WALK['rows']} spherical interpolations between random latents, {WALK['steps']} steps each", path),)


def _dcgan_jobs(out: Path, epochs: int | None, device: str) -> list[DemoJob]:
    jobs = []
    for loss in DEMO_LOSSES:
        cfg = demo_dcgan_config(loss, epochs=epochs, device=device)
        jobs.append(DemoJob(
            f"DCGAN, {loss} loss", cfg, out / f"dcgan-{loss}", f"DCGAN with the {loss} loss, {cfg.run.epochs} epochs on the built-in digits",
            "dcgan", walk=loss == WALK_LOSS, seconds=50.0 if loss == WALK_LOSS else 40.0,
        ))
    return jobs


# The VAE of the faces assignment in miniature: a small VAE at 32x32 on drawn cartoon faces (5% held out).
DEMO_VAE = dict(data="toonfaces", limit=2000, batch_size=64, checkpoint_every=1000, smooth_window=20, grid_size=32)
DEMO_VAE_EPOCHS = 20  # built-in IS 4.33 against 3.94 after 10 epochs (one thread), for 8 s more
# --full: all 10,000 faces at 64x64 with the default VAE's latent size, for 20 epochs
DEMO_VAE_FULL = dict(limit=0, image_size=64, latent_dim=128, width=32)
DEMO_VAE_FULL_EPOCHS = 20


def _vae_jobs(out: Path, epochs: int | None, device: str, full: bool) -> list[DemoJob]:
    epochs = epochs or (DEMO_VAE_FULL_EPOCHS if full else DEMO_VAE_EPOCHS)
    overrides = {**DEMO_VAE, **(DEMO_VAE_FULL if full else {}), "epochs": epochs, "device": device}
    cfg = build_config("vae", preset="smoke", overrides=overrides)
    return [DemoJob(
        "Convolutional VAE on cartoon faces", cfg, out / "vae-toonfaces", f"VAE, {epochs} epochs on drawn cartoon faces (toonfaces)",
        "vae", real="toonfaces-test", walk=True, seconds=900.0 if full else 12.0,
    )]


# The two CycleGAN tasks in miniature, at 32x32 on drawn images: summer <-> winter landscapes (seasons) and
# cartoon <-> anime faces (toonfaces2anime). The scores translate each test set of B into A (winter -> summer,
# anime -> cartoon), compared with the real test images of A.
# Generators and discriminators of width 16 with two residual blocks, Adam 4e-4: in about a minute of CPU each, the
# colours and light of the other domain (summer green under a blue sky from winter white, and back) but little of
# each scene's layout; --full trains 2,500 steps per task, which keeps more of it.
DEMO_CYCLEGAN = dict(limit=300, width=16, n_blocks=2, lr=4e-4, checkpoint_every=1000, smooth_window=20, grid_size=8)
DEMO_CYCLEGAN_EPOCHS = 4
DEMO_CYCLEGAN_FULL = dict(limit=1000, n_blocks=4)
DEMO_CYCLEGAN_FULL_EPOCHS = 10
DEMO_CYCLEGAN_TASKS = (
    ("seasons", "summer <-> winter landscapes", "summer", "winter", "seasons-summer-test"),
    ("toonfaces2anime", "cartoon <-> anime faces", "cartoon", "anime", "toonfaces-test"),
)
# Each task's own settings: the faces' discriminators judge 34x34 patches (two stride-2 layers; built-in IS 4.29,
# 4.50, 4.49 over seeds 0-2 against 4.03, 3.92, 3.28 with three, in the same time; --full 4.51 against 3.95); the
# landscapes keep three (two gave 2.25 and 1.70 against 2.21 and 2.15).
DEMO_CYCLEGAN_TASK = {"seasons": {}, "toonfaces2anime": dict(disc_layers=2)}
# Said on the demo page under each CycleGAN run of the default demo: what a run this short gives, and where to see more.
_FULL_STEPS = DEMO_CYCLEGAN_FULL["limit"] * DEMO_CYCLEGAN_FULL_EPOCHS // CYCLEGAN_PRESETS["smoke"]({})["batch_size"]  # 2,500
DEMO_CYCLEGAN_EXPECT = {
    "seasons": (
        "What to expect from a run this short: the translations take on the other season's colours and light (green "
        "under a blue sky from snow, and back) but not yet each scene's layout, so its report page warns that their "
        f"recall is low; genlab demo --full trains {_FULL_STEPS:,} steps per task, and keeps more of the trees, peaks and lakes."
    ),
    "toonfaces2anime": (
        "What to expect from a run this short: rough, noisy faces in the other style's colours and head shapes, so its "
        f"report page warns that their recall is low; genlab demo --full trains {_FULL_STEPS:,} steps per task."
    ),
}


def _cyclegan_jobs(out: Path, epochs: int | None, device: str, full: bool) -> list[DemoJob]:
    epochs = epochs or (DEMO_CYCLEGAN_FULL_EPOCHS if full else DEMO_CYCLEGAN_EPOCHS)
    overrides = {**DEMO_CYCLEGAN, **(DEMO_CYCLEGAN_FULL if full else {}), "epochs": epochs, "decay_epochs": max(1, epochs // 2), "device": device}
    return [
        DemoJob(
            f"CycleGAN, {task} (A: {a}, B: {b})", build_config("cyclegan", preset="smoke", overrides={**overrides, "data": data, **DEMO_CYCLEGAN_TASK[data]}),
            out / f"cyclegan-{data}", f"CycleGAN, {epochs} epochs, {task} ({data})", "cyclegan", real=real, domains=(a, b),
            seconds=500.0 if full else 30.0, expect="" if full else DEMO_CYCLEGAN_EXPECT[data],
        )
        for data, task, a, b, real in DEMO_CYCLEGAN_TASKS
    ]


def _one_thread() -> None:
    """A demo worker: one torch thread (two workers share two cores better than one process's two threads share
    these small networks), and no per-epoch progress bars (the parent shows one over the runs)."""
    loop.SHOW_PROGRESS = False
    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    warnings.formatwarning = lambda message, *args, **kwargs: f"genlab: warning: {message}\n"  # as the command line says them


def demo_workers(device: str) -> int:
    """Runs trained at once: two on a CPU with at least two cores (one thread each), else one."""
    return 2 if device == "cpu" and (os.cpu_count() or 1) >= 2 else 1


def _numbered(item: tuple[int, DemoJob]) -> tuple[int, DemoEntry]:
    return item[0], train_job(item[1])


def train_jobs(jobs: list[DemoJob], workers: int) -> list[DemoEntry]:
    """Every job's entry, in the jobs' order; with ``workers`` > 1 in that many processes of one thread each (the
    longest runs first), which gives the same numbers as training them one after another with one thread."""
    if workers <= 1:
        return [train_job(job) for job in jobs]
    longest_first = sorted(range(len(jobs)), key=lambda i: -jobs[i].seconds)
    entries: dict[int, DemoEntry] = {}
    context = multiprocessing.get_context("spawn")  # a forked OpenMP runtime can hang
    # leaving the block on Ctrl-C or a failed run terminates the workers: no run is trained on the way out; when all
    # are done the workers exit on their own first (a terminated worker can leave a semaphore of a library it
    # imported behind, which Python's resource tracker then reports at exit)
    with context.Pool(workers, initializer=_one_thread) as pool, tqdm(
        total=len(jobs), desc=f"demo runs ({workers} at a time)", unit="run"
    ) as bar:
        for i, entry in pool.imap_unordered(_numbered, [(i, jobs[i]) for i in longest_first]):
            entries[i] = entry
            bar.update(1)
        pool.close()
        pool.join()
    return [entries[i] for i in range(len(jobs))]


def _scores(report_json: Path) -> dict[str, tuple[dict, dict | None]]:
    """run folder -> (its report row, the row of the real images it is compared with)."""
    by_run, real = {}, None
    for row in reversed(json.loads(report_json.read_text())):  # each group's real row follows its runs
        if row["model"].startswith("real images"):
            real = row
        else:
            by_run[row["run"]] = (row, real)
    return by_run


def _score_line(row: dict | None, real: dict | None) -> str:
    if row is None:
        return ""
    m = row["metrics"]
    text = f"Inception Score {m['is_mean']:.2f} ± {m['is_std']:.2f} (built-in network)"
    if real is not None:
        text += f"; real images ({real['run']}) {real['metrics']['is_mean']:.2f}"
    variety = [k for k in VARIETY if k in m]
    if variety:
        text += "; " + ", ".join(f"{k} {m[k]:.2f}" for k in variety)
        ceiling = row.get("ceiling", {}).get("metrics", {})
        if ceiling:
            text += f" (real against real: {', '.join(f'{ceiling[k]:.2f}' for k in variety if k in ceiling)})"
    if "diversity" in m:
        text += f"; sample diversity {m['diversity']:.2f} of real (collapse below 0.5)"
    return text + "".join(f". Warning: {w}" for w in collapse_warnings(row["warnings"]))


INTRO = (
    "Every run below trained on built-in data (see the README for where it comes from): the DCGANs on real handwritten "
    "digits, the CycleGANs on drawn summer/winter landscapes and on drawn cartoon/anime faces, the VAE on drawn cartoon faces."
)


def write_index(out: Path, entries: list[DemoEntry], scores: str = "", report_json: Path | None = None) -> Path:
    """The demo's page: a comparison page of its runs (``genlab runs --html``) with what each trained and its scores."""
    by_run = _scores(report_json) if report_json is not None and report_json.is_file() else {}
    extras = {
        entry.run.root: Extra(
            title=entry.title, lines=(f"Trained: {entry.trained()}.", *((entry.expect,) if entry.expect else ())),
            score=_score_line(*by_run.get(str(entry.run.root), (None, None))), pictures=entry.pictures,
        )
        for entry in entries
    }
    return write_comparison(
        out, [summarize(entry.run) for entry in entries], name="index", title="genlab demo", intro=INTRO,
        preamble=[("Scores (inception_score.txt)", scores)] if scores else (), extras=extras,
    )


def run_demo(
    out: str | Path = "genlab-demo", *, epochs: int | None = None, device: str = "cpu", full: bool = False, workers: int | None = None,
) -> Path:
    """Train the demo's runs into ``out`` and write its page; ``full`` trains the CycleGANs and the VAE longer;
    ``workers``: runs trained at once (default: two on a CPU with two cores or more, one thread each)."""
    if epochs is not None and epochs < 1:
        raise GenlabError(f"epochs must be at least 1 (got {epochs}); leave out --epochs for the demo's own")
    out = Path(out)
    _prepare(out)
    jobs = [*_dcgan_jobs(out, epochs, device), *_cyclegan_jobs(out, epochs, device, full), *_vae_jobs(out, epochs, device, full)]
    entries = train_jobs(jobs, demo_workers(device) if workers is None else workers)
    print("genlab demo: scoring every run with the built-in network", flush=True)
    texts, rows = [], []
    for real in dict.fromkeys(entry.real for entry in entries):  # one report per group of runs and their real images
        group = [entry.run.root for entry in entries if entry.real == real]
        text, twin = write_report(group, out / "scores" / f"{real}.txt", SCORING, real=real, device=device, variety=VARIETY, ceiling=True)
        texts.append(text.read_text())
        rows += json.loads(twin.read_text())
    scores = "\n".join(texts)
    (out / "inception_score.txt").write_text(scores)
    for row in rows:  # each run's own scores in its folder, as `genlab evaluate RUN --network builtin --reference REAL` saves them
        if row.get("run") and (Path(row["run"]) / "config.json").is_file():
            result = {key: row[key] for key in ("source", "metrics", "protocol", "warnings", "ceiling") if row.get(key) is not None}
            (Path(row["run"]) / "evaluation-builtin.json").write_text(json.dumps(result, indent=2) + "\n")
            write_run_report(Path(row["run"]))
    (out / "inception_score.json").write_text(json.dumps(rows, indent=2) + "\n")
    return write_index(out, entries, scores, out / "inception_score.json")
