"""One VAE training step per batch, and the held-out negative ELBO after each epoch (spec section 3).

Per batch: encode x to q(z|x) = N(mu, diag(exp(logvar))), draw z by the
reparameterisation trick, decode, and take one Adam step on
recon + beta * KL (the negative ELBO when beta = 1). Training and held-out
numbers are the same objective, in nats per image (and bits per dimension).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor, nn

from genlab.config import VAEConfig
from genlab.data.images import InMemoryImages
from genlab.errors import GenlabWarning
from genlab.data.transforms import to_model_range
from genlab.losses.elbo import bits_per_dim, negative_elbo
from genlab.families import load_weights
from genlab.families.vae import VAE
from genlab.reporting.grids import interleave, save_grid
from genlab.training.collapse import SAMPLES as COLLAPSE_SAMPLES, CollapseMonitor
from genlab.run_dir import History, RunDir
from genlab.training.runtime import autocast, memory_format, optimizer_options, prepare_models, rank_seed


class VAETrainer:
    def __init__(self, cfg: VAEConfig, holdout: InMemoryImages | None = None, *, model: VAE | None = None) -> None:
        """Trains ``model`` (by default a new one built from ``cfg``); ``holdout``: the held-out images."""
        self.cfg = cfg
        self.device = torch.device(cfg.run.device)
        self.model = model or VAE(cfg)
        self.vae = self.model.vae
        prepare_models(self.models, cfg)
        self.opt = torch.optim.Adam(self.vae.parameters(), lr=cfg.lr, **optimizer_options(cfg))
        self.noise = torch.Generator(self.device).manual_seed(rank_seed(cfg.run.seed + 1))
        # one fixed z batch: its first grid_size images make the prior grids, all of them the collapse check
        n = max(cfg.run.grid_size, COLLAPSE_SAMPLES)
        self.fixed_z = torch.randn(n, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.run.seed + 7919)).to(self.device)
        self.holdout = holdout
        self.collapse = CollapseMonitor(holdout.images) if holdout is not None and len(holdout) >= 2 else None
        if cfg.beta != 1.0:
            warnings.warn(
                f"beta = {cfg.beta}: the trained 'loss' is recon + {cfg.beta} * KL, not the negative ELBO; "
                "'nelbo' in history.csv still is",
                GenlabWarning,
                stacklevel=2,
            )

    @property
    def models(self) -> dict[str, nn.Module]:
        return self.model.networks

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"vae": self.opt}

    def _terms(self, batch: Tensor, generator: torch.Generator):
        cfg = self.cfg
        x = to_model_range(batch, self.device, memory_format(cfg))
        with autocast(cfg):
            logits, mu, logvar = self.vae(x, generator=generator)
        # the objective in fp32: sums over thousands of pixels
        return negative_elbo(
            logits.float(), (x + 1) / 2, mu.float(), logvar.float(), likelihood=cfg.likelihood, sigma=cfg.sigma, beta=cfg.beta
        )

    def train_step(self, batch: Tensor, step: int) -> dict[str, Tensor]:
        self.vae.train()
        terms = self._terms(batch, self.noise)
        self.opt.zero_grad(set_to_none=True)
        terms.loss.backward()
        self.opt.step()
        return {name: value.detach() for name, value in terms._asdict().items()}

    @torch.no_grad()
    def evaluate(self, images: InMemoryImages, *, seed: int = 0, batch_size: int = 256) -> dict[str, float]:
        """Mean negative ELBO and its terms over ``images`` (one posterior sample each, seeded)."""
        self.vae.eval()
        generator = torch.Generator(self.device).manual_seed(seed)
        sums = {"nelbo": 0.0, "recon": 0.0, "kl": 0.0}
        for start in range(0, len(images), batch_size):
            batch = images.images[start : start + batch_size]
            terms = self._terms(batch, generator)
            for name in sums:
                sums[name] += getattr(terms, name).item() * batch.shape[0]
        means = {name: total / len(images) for name, total in sums.items()}
        means["bpd"] = bits_per_dim(means["nelbo"], images.images[0].numel())
        return means

    def end_epoch(self, epoch: int) -> None:
        """The VAE's learning rate is constant: nothing changes between epochs."""

    def report(self, epoch: int, run: RunDir, history: History) -> None:
        cfg = self.cfg
        if self.holdout is not None:
            scores = self.evaluate(self.holdout, seed=cfg.run.seed + epoch)
            history.append({"step": history.rows[-1]["step"], "epoch": epoch, **{f"val_{k}": v for k, v in scores.items()}})
        prior = self.model.sample(self.fixed_z)
        if cfg.run.grid_due(epoch):
            if self.holdout is not None:
                real = self.holdout.images[: cfg.run.grid_size]
                pairs = interleave(to_model_range(real).cpu(), self.model.reconstruct(real).cpu())
                save_grid(pairs, run.grid("recon", epoch), nrow=8)
            save_grid(prior[: cfg.run.grid_size], run.grid("prior", epoch))
        if self.collapse is not None:
            self.collapse(prior, epoch=epoch, run=run, history=history, last=epoch == cfg.run.epochs)

    def state_dict(self) -> dict[str, Any]:
        return {
            "models": {name: network.state_dict() for name, network in self.models.items()},
            "optimizers": {"vae": self.opt.state_dict()},
            "schedulers": {},
            "noise_rng": self.noise.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        load_weights(self.model, state["models"])
        self.opt.load_state_dict(state["optimizers"]["vae"])
        for group in self.opt.param_groups:
            group["lr"] = self.cfg.lr
        self.noise.set_state(state["noise_rng"])
