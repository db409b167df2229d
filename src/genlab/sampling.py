"""Draw samples from a trained run: one PNG grid, or a folder of individual PNGs."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor
from tqdm.auto import tqdm

from genlab.config import DCGANConfig
from genlab.errors import GenlabError
from genlab.reporting.grids import save_grid, save_images
from genlab.training.checkpoint import load_checkpoint
from genlab.training.dcgan import build_generator
from genlab.training.run_dir import RunDir


def load_generator(run_dir: str | Path, checkpoint: str = "latest", device: str = "cpu") -> tuple[DCGANConfig, torch.nn.Module]:
    run = RunDir.open(run_dir)
    cfg = run.config()
    if not isinstance(cfg, DCGANConfig):
        raise GenlabError(f"{run.root} is not a DCGAN run; sampling needs a generator trained with 'genlab train dcgan'")
    state = load_checkpoint(run.checkpoint(checkpoint), map_location=device)
    generator = build_generator(cfg)
    generator.load_state_dict(state["trainer"]["models"]["generator"])
    return cfg, generator.to(device).eval()


@torch.no_grad()
def generate(generator: torch.nn.Module, z_dim: int, n: int, *, seed: int, batch_size: int = 256, device: str = "cpu"):
    """Yield batches of generated images in [-1, 1], ``n`` in all, from z drawn with ``seed``."""
    noise = torch.Generator().manual_seed(seed)
    done = 0
    while done < n:
        size = min(batch_size, n - done)
        z = torch.randn(size, z_dim, 1, 1, generator=noise).to(device)
        yield generator(z)
        done += size


def sample(run_dir: str | Path, n: int, out: str | Path, *, checkpoint: str = "latest", seed: int = 0, device: str = "cpu") -> Path:
    """``out`` ending in .png: one grid; otherwise a folder of n PNGs (000000.png, ...)."""
    if n < 1:
        raise GenlabError(f"-n must be at least 1 (got {n})")
    cfg, generator = load_generator(run_dir, checkpoint, device)
    out = Path(out)
    batches = generate(generator, cfg.z_dim, n, seed=seed, device=device)
    if out.suffix.lower() == ".png":
        images: Tensor = torch.cat(list(batches))
        return save_grid(images, out)
    written = 0
    with tqdm(total=n, desc="sampling", unit="img") as bar:
        for images in batches:
            save_images(images, out, start=written)
            written += images.shape[0]
            bar.update(images.shape[0])
    return out
