"""Draw samples from a trained model with a prior (DCGAN, VAE): one PNG grid, or a folder of PNGs; VAE reconstructions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor
from tqdm.auto import tqdm

from genlab.data.sources import load_images
from genlab.data.transforms import to_model_range
from genlab.config import check_seed
from genlab.errors import GenlabError
from genlab.files import check_output
from genlab.reporting.grids import grid_image, interleave, save_grid, save_images
from genlab.families import Reconstructor, Sampler
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


def interpolate(
    run_dir: str | Path, out: str | Path, *, steps: int = 10, rows: int = 8, seed: int = 0, gif: bool = False,
    checkpoint: str = "latest", device: str = "cpu",
) -> Path:
    """Latent walks of a DCGAN or VAE: ``rows`` rows of ``steps`` images, each row a spherical interpolation between
    two latents drawn with ``seed``; with ``gif`` an animated GIF of the walk (every row at once, frame by frame)."""
    if steps < 2 or rows < 1:
        raise GenlabError(f"--steps must be at least 2 and --rows at least 1 (got {steps} and {rows})")
    check_seed(seed)
    out = check_output(out)
    model = load_model(run_dir, checkpoint, device).model
    if not isinstance(model, Sampler):
        raise GenlabError(f"{run_dir} holds a translation model, which has no latent space to walk; interpolate a DCGAN or VAE run")
    ends = model.latent(2 * rows, torch.Generator().manual_seed(seed))
    t = torch.linspace(0, 1, steps)
    walks = torch.cat([slerp(ends[2 * r], ends[2 * r + 1], t) for r in range(rows)])  # row by row
    images = torch.cat([model.sample(walks[i : i + 256]).cpu() for i in range(0, len(walks), 256)])
    if not gif:
        return save_grid(images, out, nrow=steps)
    frames = [grid_image(images[i::steps], nrow=rows) for i in range(steps)]  # frame i: step i of every row
    out.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(out, save_all=True, append_images=[*frames[1:], *frames[-2:0:-1]], duration=120, loop=0)
    return out
