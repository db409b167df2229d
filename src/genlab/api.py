"""genlab from Python: the functions the command line calls, returning objects instead of printing.

    import genlab

    run = genlab.train("dcgan", out="runs/gan", preset="smoke", data="builtin", epochs=2)
    run.history.to_pandas()                     # one row per step (pandas when installed)
    images = run.model.sample(64, seed=0)       # uint8 (64, 3, H, W)
    genlab.grid(images)                         # a PIL image
    genlab.evaluate(run, metrics=("is", "kid"), network="builtin").metrics

Every function raises ``genlab.GenlabError`` with the command line's one-line message for a problem the user can
fix; none calls ``sys.exit``, prints to stdout unless asked (``verbose=True``), or changes the global random
generator (training, sampling and scoring draw from generators of their own, and the global state is put back).
Runs, evaluations and lists of runs show themselves in Jupyter.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor

from genlab.config import Config, build_config, replace, resolve, sweep_configs
from genlab.data.transforms import to_model_range, to_uint8
from genlab.errors import GenlabError
from genlab.families import Reconstructor, Sampler, Translator
from genlab.reporting import html as h
from genlab.reporting.compare import find_runs, table_rows
from genlab.reporting.grids import grid_image
from genlab.reporting.run_report import RunSummary, summarize
from genlab.run_dir import History, RunDir
from genlab.trained import load_model
from genlab.nearest import Neighbours
from genlab.nearest import neighbours as _neighbours
from genlab.sampling import generate
from genlab.sampling import interpolate as _interpolate
from genlab.scoring import Evaluation, protocol
from genlab.scoring import evaluate as _evaluate
from genlab.training import run as _training
from genlab.training import sweep as _sweeping

PathLike = str | os.PathLike[str]


@contextmanager
def _own_randomness() -> Iterator[None]:
    """The global random generators as they were, whatever the block draws or loads (a resumed run sets them)."""
    cuda = [torch.cuda.current_device()] if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=cuda):
        yield


class Rows(list[dict[str, float]]):
    """A run's history: one dict per row (step, epoch, and every number the step logged)."""

    def column(self, name: str) -> list[float]:
        """The values of one column (``d_loss``, ``is_mean``, ...) in the rows that have it."""
        return [row[name] for row in self if name in row]

    def to_pandas(self) -> Any:
        """A pandas DataFrame (pandas is not a dependency of genlab: install it to use this)."""
        try:
            import pandas
        except ImportError:
            raise GenlabError("Rows.to_pandas needs pandas; pip install pandas, or read the rows as dicts") from None
        return pandas.DataFrame(list(self))


class Model:
    """A trained model for inference (no optimisers): what it can do, returning uint8 images (N, 3, H, W)."""

    def __init__(self, model: Any, cfg: Config, checkpoint: str) -> None:
        self._model, self.config, self.checkpoint = model, cfg, checkpoint

    @property
    def networks(self) -> dict[str, torch.nn.Module]:
        """The model's networks by name (e.g. generator, discriminator)."""
        return dict(self._model.networks)

    def sample(self, n: int, *, seed: int = 0, batch_size: int = 256) -> Tensor:
        """``n`` images from the prior (DCGAN, VAE), from latents drawn with ``seed``."""
        if not isinstance(self._model, Sampler):
            raise GenlabError("this model has no prior to sample; a translation model translates (Model.translate)")
        return torch.cat([to_uint8(x) for x in generate(self._model, n, seed=seed, batch_size=batch_size)])

    def translate(self, images: Tensor, *, direction: str = "a2b") -> Tensor:
        """uint8 images of one domain (N, 3, H, W) in the other (CycleGAN; ``direction`` a2b or b2a)."""
        if not isinstance(self._model, Translator):
            raise GenlabError("this model does not translate; it samples (Model.sample)")
        with torch.no_grad():
            return to_uint8(self._model.translate(_as_uint8(images), direction)).cpu()

    def reconstruct(self, images: Tensor) -> Tensor:
        """uint8 images (N, 3, H, W) through the encoder and decoder (VAE), at the posterior mean."""
        if not isinstance(self._model, Reconstructor):
            raise GenlabError("this model does not reconstruct images; a VAE does")
        return to_uint8(self._model.reconstruct(_as_uint8(images))).cpu()

    def __repr__(self) -> str:
        return f"genlab.Model({type(self._model).__name__}, {self.checkpoint} checkpoint, on {self.config.run.device})"


def _as_uint8(images: Tensor) -> Tensor:
    if images.dim() == 3:
        images = images.unsqueeze(0)
    if images.dim() != 4 or images.shape[1] != 3:
        raise GenlabError(f"images must be (N, 3, H, W) uint8 tensors (got shape {tuple(images.shape)})")
    return images if images.dtype == torch.uint8 else to_uint8(images)


class Run:
    """A run folder: its config, history, trained model, state and scores."""

    def __init__(self, path: PathLike, *, checkpoint: str = "latest") -> None:
        self._dir = RunDir.open(path)
        self.path = self._dir.root
        self._checkpoint = checkpoint
        self._model: Model | None = None

    @property
    def config(self) -> Config:
        """The run's frozen config (as config.json holds it)."""
        return self._dir.config()

    @property
    def history(self) -> Rows:
        """One row per step (and per evaluation), as history.csv holds them."""
        return Rows(History.load(self._dir.history_path, up_to_step=2**62).rows)

    def _summary(self) -> RunSummary:
        return summarize(self._dir)

    @property
    def state(self) -> str:
        """running, finished, stopped early, diverged or not started."""
        return self._summary().state

    @property
    def scores(self) -> dict[str, Any]:
        """The best training-time score and every ``evaluate`` result saved in the folder (file name -> metrics)."""
        summary = self._summary()
        return {"best": summary.best or None, **{name: result["metrics"] for name, result in summary.evaluations}}

    @property
    def model(self) -> Model:
        """The trained model at the run's checkpoint (latest by default), on the CPU; see ``model_at``."""
        if self._model is None:
            self._model = self.model_at(self._checkpoint)
        return self._model

    def model_at(self, checkpoint: str = "latest", *, device: str = "cpu") -> Model:
        """The model of ``checkpoint`` (latest, best, an epoch number, or a .pt path) on ``device``."""
        trained = load_model(self.path, checkpoint, device)
        return Model(trained.model, trained.cfg, checkpoint)

    def last_grid(self) -> Path | None:
        """The newest grid of the run's first grid kind (its samples, translations or reconstructions), if any."""
        return _last_grid(self._summary())

    def __repr__(self) -> str:
        return f"genlab.Run({str(self.path)!r})"

    def _repr_html_(self) -> str:
        summary = self._summary()
        head = (
            f"<b>{h.escape(summary.title)}</b> <code>{h.escape(str(self.path))}</code>: {summary.state}, "
            f"{summary.epochs_done} of {summary.cfg.run.epochs} epochs, {summary.steps:,} steps"
        )
        losses = ", ".join(f"{k} {v:.4g}" for k, v in summary.last_losses.items())
        parts = [f"<p>{head}</p>"]
        if losses:
            parts.append(f"<p>last: {h.escape(losses)}</p>")
        if summary.best:
            parts.append(f"<p>best: {h.escape(summary.best)}</p>")
        grid = _last_grid(summary)
        if grid is not None:
            parts.append(_inline_png(grid))
        return "<div>" + "".join(parts) + "</div>"


def _last_grid(summary: RunSummary) -> Path | None:
    grids = summary.last_grids()
    return grids[0][1] if grids else None


def _inline_png(path: Path, height: int = 200) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f"<img src='data:image/png;base64,{data}' style='height:{height}px;image-rendering:pixelated'>"


class RunList(list[Run]):
    """Runs found under a folder; a table in Jupyter."""

    def _repr_html_(self) -> str:
        summaries = [r._summary() for r in self]
        rows = table_rows(summaries, Path(os.path.commonpath([str(r.path) for r in self])) if self else Path("."))
        if not rows:
            return "<p>no genlab runs</p>"
        return h.table(list(rows[0]), [list(row.values()) for row in rows])


def _evaluation_html(self: Evaluation) -> str:
    network = h.escape(str(self.protocol.get("network", "")))
    warnings = "".join(f"<p>warning: {h.escape(w)}</p>" for w in self.warnings)
    return (
        f"<div><p><b>{h.escape(self.source)}</b> ({network} network, {self.protocol.get('n', '?')} images)</p>"
        + h.table(["metric", "value"], [[k, f"{v:.6g}"] for k, v in self.metrics.items()], numeric=(1,))
        + f"{warnings}</div>"
    )


Evaluation._repr_html_ = _evaluation_html  # type: ignore[attr-defined]


def _config(family: str, preset: str | None, config: PathLike | Config | None, settings: dict[str, Any]) -> Config:
    if config is None or isinstance(config, (str, os.PathLike)):
        return build_config(family, preset=preset, config_file=config, overrides=settings)
    if preset is not None:
        raise GenlabError("give either preset= or a config object (its preset is already applied)")
    return resolve(replace(config, **settings)) if settings else config


def train(
    family: str | None = None,
    *,
    out: PathLike | None = None,
    preset: str | None = None,
    config: PathLike | Config | None = None,
    resume: PathLike | None = None,
    verbose: bool = False,
    **settings: Any,
) -> Run:
    """Train a new run of ``family`` into ``out``, or continue the run ``resume`` (settings: what may change, e.g.
    ``epochs=300``). ``settings`` by their flat names (``lr=1e-4, epochs=20, data="builtin"``) override ``config``
    (a TOML path or a config object) and ``preset``. An interrupt (Ctrl-C, a notebook's stop button) leaves the
    run resumable from its last finished epoch."""
    with _own_randomness():
        if resume is not None:
            if family is not None or out is not None or preset is not None or config is not None:
                raise GenlabError("resume= continues a run as it was set up: give only what may change (e.g. epochs=)")
            return Run(_training.resume(resume, settings, quiet=not verbose).root)
        if family is None or out is None:
            raise GenlabError("give the family and the new run's folder: genlab.train('dcgan', out='runs/name', ...)")
        cfg = _config(family, preset, config, settings)
        return Run(_training.train(cfg, out, quiet=not verbose, verbose=verbose).root)


def sweep(
    losses: Sequence[str],
    seeds: Sequence[int] = (0,),
    *,
    out: PathLike,
    preset: str | None = None,
    config: PathLike | None = None,
    verbose: bool = False,
    **settings: Any,
) -> RunList:
    """Every DCGAN ``loss`` x ``seed`` in one process (the runs of a loss as one stacked model), each an ordinary run
    folder ``out/LOSS-sSEED`` configured exactly as a lone run of its loss and seed."""
    with _own_randomness():
        configs = sweep_configs(
            lambda extra: build_config("dcgan", preset=preset, config_file=config, overrides={**settings, **extra}),
            list(losses), list(seeds),
        )
        return RunList(Run(r.root) for r in _sweeping.train_sweep(configs, out, quiet=not verbose))


def load(path: PathLike) -> Run:
    """A run folder (or a sweep member's), or a checkpoint file inside one (its model is then that checkpoint's)."""
    path = Path(path).expanduser()
    if path.suffix == ".pt" and path.is_file():
        folder = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        return Run(folder, checkpoint=str(path))
    return Run(path)


def runs(folder: PathLike = ".") -> RunList:
    """Every run folder at or under ``folder`` (four levels down), in path order."""
    return RunList(Run(r.root) for r in find_runs(folder))


def evaluate(
    source: Run | PathLike,
    *,
    metrics: Iterable[str] = ("is",),
    network: str | None = None,
    reference: str | None = None,
    n: int | None = None,
    protocol_name: str = "paper",
    batch_size: int = 100,
    device: str = "cpu",
    ceiling: bool = True,
    **options: Any,
) -> Evaluation:
    """Score a run (its samples; a CycleGAN's translated test set), a dataset name or an image folder under a named
    protocol (``paper``: TF-Inception, 50,000 images, 10 splits), with ``network``, ``reference`` (for FID/KID; a
    run's own training data by default), ``n`` and any other protocol field changed; for a run, ``ceiling`` also
    scores real images it never saw against the same reference (``Evaluation.ceiling``). Returns the same object
    and JSON (``Evaluation.save``) as ``genlab evaluate``."""
    chosen = protocol(protocol_name, network=network, reference=reference, n=n, **options)
    target = str(source.path) if isinstance(source, Run) else os.fspath(source)
    with _own_randomness():
        return _evaluate(target, chosen, metrics=tuple(metrics), batch_size=batch_size, device=device, ceiling=ceiling)


def neighbours(
    source: Run | PathLike, *, out: PathLike | None = None, network: str | None = None, pixels: bool = False, n: int = 16,
    k: int = 5, score_n: int = 1000, seed: int = 0, held_out: str | None = None, checkpoint: str = "latest", device: str = "cpu",
) -> Neighbours:
    """Is a DCGAN or VAE copying its data? ``n`` samples beside their ``k`` nearest training images (a PNG, by default
    ``RUN/neighbours.png``, with its JSON), and ``score_n`` samples' nearest-training distances against unseen real
    images' (``.check``: the quantiles, the Mann-Whitney z and ``copying``), as ``genlab neighbours`` computes them."""
    with _own_randomness():
        return _neighbours(
            _path_of(source), out, network=network, pixels=pixels, n=n, k=k, score_n=score_n,
            seed=seed, held_out=held_out, checkpoint=checkpoint, device=device,
        )


def interpolate(
    source: Run | PathLike, *, out: PathLike | None = None, steps: int = 10, rows: int = 8, seed: int = 0, gif: bool = False,
    between: Sequence[PathLike] | None = None, traverse: bool = False, checkpoint: str = "latest", device: str = "cpu",
) -> Path:
    """Latent walks of a DCGAN or VAE as ``genlab interpolate`` draws them (rows of spherical interpolations; a VAE
    also ``between`` two image files or ``traverse``-ing its most used dimensions); returns the PNG (or GIF) written,
    by default ``RUN/interpolation.png`` (``traversal.png``, ``between.png``)."""
    with _own_randomness():
        return _interpolate(
            _path_of(source), out, steps=steps, rows=rows, seed=seed, gif=gif, between=between, traverse=traverse,
            checkpoint=checkpoint, device=device,
        )


def _path_of(source: Run | PathLike) -> Path:
    return source.path if isinstance(source, Run) else Path(os.fspath(source))


def grid(images: Tensor, *, nrow: int | None = None) -> Image.Image:
    """Images (uint8, or float in [-1, 1]; (N, 3, H, W)) as one PIL image, tiles under 32 px drawn enlarged."""
    return grid_image(images if images.dtype != torch.uint8 else to_model_range(images), nrow=nrow)

