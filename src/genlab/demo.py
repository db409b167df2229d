"""``genlab demo``: every family trained briefly on the built-in data, on one page.

It runs the real training code (the ``smoke`` preset plus a few more epochs) and
writes ``OUT/index.html`` and ``OUT/index.md`` with each run's last sample grid
and learning curves side by side. Re-running it replaces its own earlier output.
"""

from __future__ import annotations

import html
import shutil
from dataclasses import dataclass
from pathlib import Path

from genlab.config import build_config
from genlab.errors import GenlabError
from genlab.reporting.scores import write_report
from genlab.training.run import train
from genlab.training.run_dir import RunDir

MARKER = ".genlab-demo"
DEMO_EPOCHS = 15
DEMO_LOSSES = ("gan", "lsgan", "wgan", "wgan-gp")
# The assignment's optimiser for every loss (one critic step per generator step) on a
# narrower network without normalisation in the critic: digits appear within a few
# hundred steps on a CPU, where the full table needs many epochs.
DEMO_DCGAN = dict(
    data="builtin", width=16, critic_norm="none", gen_last_norm=False, init="normal",
    batch_size=64, checkpoint_every=1000, smooth_window=20, grid_size=36,
)


@dataclass(frozen=True)
class DemoEntry:
    title: str
    run: RunDir
    pictures: tuple[tuple[str, Path], ...]  # (caption, image path)


def _prepare(out: Path) -> None:
    if out.exists():
        if not (out / MARKER).exists():
            if any(out.iterdir()):
                raise GenlabError(f"{out} exists and is not a genlab demo folder; choose another --out")
        else:
            shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by genlab demo; replaced on the next run\n")


def _dcgan_entries(out: Path, epochs: int, device: str) -> list[DemoEntry]:
    entries = []
    for loss in DEMO_LOSSES:
        cfg = build_config("dcgan", preset="assignment", overrides={**DEMO_DCGAN, "loss": loss, "epochs": epochs, "device": device})
        print(f"genlab demo: DCGAN with the {loss} loss, {epochs} epochs on the built-in digits", flush=True)
        run = train(cfg, out / f"dcgan-{loss}", quiet=True)
        entries.append(
            DemoEntry(
                f"DCGAN, {loss} loss",
                run,
                (
                    (f"samples after epoch {epochs}", run.images / f"fake_image-{epochs:03d}.png"),
                    ("learning curves", run.plots / "losses.png"),
                ),
            )
        )
    return entries


# A small VAE at 32x32 on all 1,500 built-in digits (75 held out).
DEMO_VAE = dict(data="builtin", limit=0, batch_size=64, checkpoint_every=1000, smooth_window=20, grid_size=32)
DEMO_VAE_EPOCHS = 10


def _vae_entries(out: Path, epochs: int, device: str) -> list[DemoEntry]:
    cfg = build_config("vae", preset="smoke", overrides={**DEMO_VAE, "epochs": epochs, "device": device})
    print(f"genlab demo: VAE, {epochs} epochs on the built-in digits", flush=True)
    run = train(cfg, out / "vae", quiet=True)
    return [
        DemoEntry(
            "Convolutional VAE",
            run,
            (
                ("reconstructions (ground truth left, reconstruction right)", run.images / f"recon-{epochs:03d}.png"),
                ("samples from the prior p(z)", run.images / f"prior-{epochs:03d}.png"),
                ("negative ELBO, train and held-out", run.plots / "elbo.png"),
            ),
        )
    ]


# A small CycleGAN at 32x32 between the two built-in renderings (white on black <-> blue on cream).
DEMO_CYCLEGAN = dict(data="builtin", limit=400, checkpoint_every=1000, smooth_window=20, grid_size=8)
DEMO_CYCLEGAN_EPOCHS = 3


def _cyclegan_entries(out: Path, epochs: int, device: str) -> list[DemoEntry]:
    overrides = {**DEMO_CYCLEGAN, "epochs": epochs, "decay_epochs": max(1, epochs // 2), "device": device}
    cfg = build_config("cyclegan", preset="smoke", overrides=overrides)
    print(f"genlab demo: CycleGAN, {epochs} epochs between two renderings of the built-in digits", flush=True)
    run = train(cfg, out / "cyclegan", quiet=True)
    return [
        DemoEntry(
            "CycleGAN (A: white on black, B: blue on cream)",
            run,
            (
                ("A to B: real, translated, reconstructed", run.images / f"fakeA2B-{epochs:03d}.png"),
                ("B to A: real, translated, reconstructed", run.images / f"fakeB2A-{epochs:03d}.png"),
                ("learning curves", run.plots / "losses.png"),
            ),
        )
    ]


def write_index(out: Path, entries: list[DemoEntry], scores: str = "") -> Path:
    rel = lambda p: p.relative_to(out).as_posix()  # noqa: E731
    md = ["# genlab demo", "", "Every run below trained on the built-in digits (see the README for their provenance).", ""]
    if scores:
        md += ["## Scores (`inception_score.txt`)", "", "```", scores.rstrip(), "```", ""]
    rows = []
    for entry in entries:
        md += [f"## {entry.title}", "", f"Run folder: `{rel(entry.run.root)}`", ""]
        md += [f"![{caption}]({rel(path)})" for caption, path in entry.pictures] + [""]
        cells = "".join(
            f'<figure><img src="{html.escape(rel(path))}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            for caption, path in entry.pictures
        )
        rows.append(
            f'<section><h2>{html.escape(entry.title)}</h2><p>run folder: <code>{html.escape(rel(entry.run.root))}</code></p>'
            f'<div class="row">{cells}</div></section>'
        )
    (out / "index.md").write_text("\n".join(md))
    page = out / "index.html"
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>genlab demo</title><style>"
        "body{font-family:sans-serif;margin:2em}.row{display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap}"
        "figure{margin:0}img{max-height:320px;image-rendering:pixelated}figcaption{font-size:.9em;color:#555}"
        "</style></head><body><h1>genlab demo</h1>"
        "<p>Every run below trained on the built-in digits (see the README for their provenance).</p>"
        + (f"<h2>Scores (inception_score.txt)</h2><pre>{html.escape(scores)}</pre>" if scores else "")
        + "".join(rows)
        + "</body></html>\n"
    )
    return page


def run_demo(out: str | Path = "genlab-demo", *, epochs: int | None = None, device: str = "cpu") -> Path:
    out = Path(out)
    _prepare(out)
    entries = _dcgan_entries(out, epochs or DEMO_EPOCHS, device)
    entries += _cyclegan_entries(out, epochs or DEMO_CYCLEGAN_EPOCHS, device)
    entries += _vae_entries(out, epochs or DEMO_VAE_EPOCHS, device)
    print("genlab demo: scoring every run with the built-in network", flush=True)
    report, _ = write_report(
        [entry.run.root for entry in entries], out / "inception_score.txt",
        network="builtin", n=1000, splits=10, real="builtin-test", device=device,
    )
    return write_index(out, entries, report.read_text())
