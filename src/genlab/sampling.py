"""Draw samples from a trained model with a prior (DCGAN, VAE): one PNG grid, or a folder of PNGs; VAE reconstructions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor
from tqdm.auto import tqdm

from genlab.data.sources import load_images
from genlab.data.images import open_rgb
from genlab.data.run_data import image_data
from genlab.data.transforms import center_crop_resize, pil_to_uint8_tensor, to_model_range
from genlab.config import check_seed
from genlab.errors import GenlabError
from genlab.files import check_output, write_json
from genlab.reporting.grids import grid_image, interleave, save_grid, save_images
from genlab.families import Reconstructor, Sampler
from genlab.run_dir import RunDir
from genlab.trained import load_model


def generate(model: Sampler, n: int, *, seed: int, batch_size: int = 256) -> Iterator[Tensor]:
    """Batches of generated images in [-1, 1], ``n`` in all, from latents drawn with ``seed``."""
    if batch_size < 1:
        raise GenlabError(f"--batch-size must be at least 1 (got {batch_size})")
    check_seed(seed)
    noise = torch.Generator().manual_seed(seed)
    done = 0
    while done < n:
        size = min(batch_size, n - done)
        yield model.sample(model.latent(size, noise)).cpu()
        done += size


def sample(run_dir: str | Path, n: int, out: str | Path, *, checkpoint: str = "latest", seed: int = 0, device: str = "cpu") -> Path:
    """``out`` ending in .png: one grid; otherwise a folder of n PNGs (000000.png, ...)."""
    if n < 1:
        raise GenlabError(f"-n must be at least 1 (got {n})")
    out = check_output(out)
    model = load_model(run_dir, checkpoint, device).model
    if not isinstance(model, Sampler):
        raise GenlabError(f"{run_dir} holds a translation model, which has no prior to sample; use 'genlab translate'")
    out = Path(out)
    batches = generate(model, n, seed=seed)
    if out.suffix.lower() == ".png":
        return save_grid(torch.cat(list(batches)), out)
    written = 0
    with tqdm(total=n, desc="sampling", unit="img") as bar:
        for images in batches:
            save_images(images, out, start=written)
            written += images.shape[0]
            bar.update(images.shape[0])
    return out


def reconstruct(run_dir: str | Path, input_dir: str | Path, output: str | Path, *, checkpoint: str = "latest", device: str = "cpu", limit: int = 64) -> Path:
    """A grid of (ground truth | reconstruction) pairs for the images of a folder, preprocessed as in training."""
    output = check_output(output, "--output")
    trained = load_model(run_dir, checkpoint, device)
    cfg, model = trained.cfg, trained.model
    if not isinstance(model, Reconstructor):
        raise GenlabError(f"{run_dir} is not a VAE run; reconstruction needs a model trained with 'genlab train vae'")
    crop = dict(crop_size=cfg.crop_size, crop_fraction=cfg.crop_fraction)
    images = load_images(str(input_dir), image_size=cfg.image_size, data_root=cfg.input.data_root, limit=limit, **crop).images
    recon = torch.cat([model.reconstruct(images[i : i + 256]).cpu() for i in range(0, len(images), 256)])
    return save_grid(interleave(to_model_range(images), recon), output, nrow=8)


def slerp(z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between latents (any shape; batch first) at fractions ``t`` (steps,): (steps, ...).

    It follows the great circle between the two directions, so every point keeps a norm typical of the prior
    (a straight line between two Gaussian latents passes through improbably short ones); nearly parallel latents
    fall back to the straight line."""
    a, b = z0.flatten().double(), z1.flatten().double()
    cos = torch.dot(a, b) / (a.norm() * b.norm())
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    t = t.double()[:, None]
    if omega.abs() < 1e-6:
        mixed = (1 - t) * a + t * b
    else:
        mixed = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
    return mixed.to(z0.dtype).view(t.shape[0], *z0.shape)


TRAVERSE_RANGE = 3.0  # a traversal sets one latent from -3 to +3 prior standard deviations


def _save_walk(images: Tensor, out: Path, *, steps: int, gif: bool) -> Path:
    """Rows of ``steps`` images as one grid, or with ``gif`` an animated GIF (frame i: step i of every row), there and back."""
    if not gif:
        return save_grid(images, out, nrow=steps)
    rows = len(images) // steps
    frames = [grid_image(images[i::steps], nrow=rows) for i in range(steps)]
    out.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(out, save_all=True, append_images=[*frames[1:], *frames[-2:0:-1]], duration=120, loop=0)
    return out


def _decoded(model: Sampler, latents: Tensor) -> Tensor:
    return torch.cat([model.sample(latents[i : i + 256]).cpu() for i in range(0, len(latents), 256)])


def _run_images(cfg, paths: Sequence[str | Path]) -> Tensor:
    """Image files preprocessed as the run's training images were (crop, resize), uint8."""
    crop = {k: getattr(cfg, k) for k in ("crop_size", "crop_fraction") if hasattr(cfg, k)}
    images = []
    for path in map(Path, paths):
        if not path.is_file():
            raise GenlabError(f"--between: {path} is not an image file; give two image files")
        try:
            images.append(pil_to_uint8_tensor(center_crop_resize(open_rgb(path), cfg.image_size, **crop)))
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            raise GenlabError(f"--between: {path} is not a readable image ({str(e)[:120]})") from None
    return torch.stack(images)


def latent_usage(model, images: Tensor) -> Tensor:
    """Each latent dimension's KL(q(z_j|x) || N(0, 1)) in nats, averaged over ``images``: a VAE's used dimensions
    carry information (high KL); unused ones match the prior (KL near 0)."""
    kls = []
    for i in range(0, len(images), 256):
        mu, logvar = model.posterior(images[i : i + 256])
        kls.append(0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar))
    return torch.cat(kls).mean(0)


def interpolate(
    run_dir: str | Path, out: str | Path | None = None, *, steps: int = 10, rows: int = 8, seed: int = 0, gif: bool = False,
    between: Sequence[str | Path] | None = None, traverse: bool = False, checkpoint: str = "latest", device: str = "cpu",
) -> Path:
    """Latent walks of a DCGAN or VAE: ``rows`` rows of ``steps`` images, each row a spherical interpolation between
    two latents drawn with ``seed``; with ``gif`` an animated GIF of the walk (every row at once, frame by frame),
    written to ``out`` (default: ``RUN_DIR/interpolation.png``, ``traversal.png`` or ``between.png``).

    A VAE also walks ``between`` two image files (their posterior means; the grid shows the two images at the
    ends), or with ``traverse`` sets one latent dimension at a time from -3 to +3, one row for each of the ``rows``
    dimensions with the highest KL over the training images, the others at the posterior mean of a training image
    chosen with ``seed``."""
    if steps < 2 or rows < 1:
        raise GenlabError(f"--steps must be at least 2 and --rows at least 1 (got {steps} and {rows})")
    if between is not None and traverse:
        raise GenlabError("give either --between or --traverse, not both")
    if between is not None and len(between) != 2:
        raise GenlabError(f"--between takes two image files (got {len(between)})")
    check_seed(seed)
    if out is None:  # where the report page looks: RUN_DIR/interpolation.png, traversal.png or between.png (.gif)
        name = "traversal" if traverse else "between" if between is not None else "interpolation"
        out = RunDir(Path(run_dir).expanduser()).analysis(f"{name}.{'gif' if gif else 'png'}")
    out = check_output(out)
    trained = load_model(run_dir, checkpoint, device)
    model = trained.model
    if not isinstance(model, Sampler):
        raise GenlabError(f"{run_dir} holds a translation model, which has no latent space to walk; interpolate a DCGAN or VAE run")
    t = torch.linspace(0, 1, steps)
    if (between is not None or traverse) and not hasattr(model, "posterior"):
        raise GenlabError(f"{run_dir} has no encoder; --between and --traverse need a VAE run (a DCGAN walks between drawn latents)")
    if between is not None:
        ends = _run_images(trained.cfg, between)
        mu, _ = model.posterior(ends)
        walk = _decoded(model, slerp(mu[0], mu[1], t))
        return save_grid(torch.cat([to_model_range(ends[:1], torch.device("cpu")), walk, to_model_range(ends[1:], torch.device("cpu"))]), out, nrow=steps + 2)
    if traverse:
        training = image_data(trained.cfg)[0].images
        usage = latent_usage(model, training)
        dims = usage.argsort(descending=True)[: min(rows, len(usage))]
        pick = torch.randint(len(training), (1,), generator=torch.Generator().manual_seed(seed))
        base, _ = model.posterior(training[pick])
        values = torch.linspace(-TRAVERSE_RANGE, TRAVERSE_RANGE, steps)
        latents = base.repeat(len(dims) * steps, 1)
        for row, dim in enumerate(dims.tolist()):
            latents[row * steps : (row + 1) * steps, dim] = values
        path = _save_walk(_decoded(model, latents), out, steps=steps, gif=gif)
        write_json(path.with_suffix(".json"), {"image": int(pick), "range": [-TRAVERSE_RANGE, TRAVERSE_RANGE],
                                               "rows": [{"dimension": int(d), "kl_nats": float(usage[d])} for d in dims]})
        return path
    ends = model.latent(2 * rows, torch.Generator().manual_seed(seed))
    walks = torch.cat([slerp(ends[2 * r], ends[2 * r + 1], t) for r in range(rows)])  # row by row
    return _save_walk(_decoded(model, walks), out, steps=steps, gif=gif)
