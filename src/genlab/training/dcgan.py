"""One DCGAN training step per batch, for the four losses (spec section 1).

Per batch (n_critic = k):
    1. z ~ N(0, I); fake = G(z)
    2. critic step: minimise L_D(D(x), D(fake.detach())) [+ lambda * GP for wgan-gp];
       for wgan, clip every critic parameter to [-c, c] afterwards
    3. every k-th batch, generator step: minimise L_G(D(fake)) with the updated D
The generator's forward pass is shared by both updates (as in pytorch/examples' DCGAN).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import warnings

import torch
from torch import Tensor, nn

from genlab.config import DCGANConfig, OptimizerName, learning_rates
from genlab.errors import GenlabWarning
from genlab.data.transforms import to_model_range
from genlab.losses.adversarial import clip_weights_, get_loss, gradient_penalty
from genlab.reporting.diagnostics import discriminator_wins
from genlab.families import load_weights
from genlab.families.dcgan import DCGAN, fixed_noise
from genlab.reporting.grids import save_grid
from genlab.training.graphs import GraphedSteps
from genlab.training.collapse import SAMPLES as COLLAPSE_SAMPLES, CollapseMonitor
from genlab.registry import choose
from genlab.run_dir import History, RunDir
from genlab.training.runtime import autocast, memory_format, optimizer_options, prepare_models, rank_seed


OPTIMIZERS: dict[OptimizerName, Callable[[Any, DCGANConfig, float], torch.optim.Optimizer]] = {
    "adam": lambda params, cfg, lr: torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), **optimizer_options(cfg)),
    "rmsprop": lambda params, cfg, lr: torch.optim.RMSprop(params, lr=lr),  # WGAN's (Arjovsky et al. 2017)
}


def make_optimizers(gen_params, disc_params, cfg: DCGANConfig) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """The generator's and the critic's optimisers, each at its own rate (``lr``, or ``lr_g`` / ``lr_d``)."""
    make = choose(OPTIMIZERS, cfg.optimizer, "optimizer")
    lr_g, lr_d = learning_rates(cfg)
    return make(gen_params, cfg, lr_g), make(disc_params, cfg, lr_d)


def set_lr(opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer, cfg: DCGANConfig) -> None:
    """The config's rates win over a checkpoint's (resume --lr, --lr-g, --lr-d); DCGAN's rates are constant."""
    for optimizer, lr in zip((opt_g, opt_d), learning_rates(cfg)):
        for group in optimizer.param_groups:
            group["lr"] = lr


def dcgan_update(
    gen: Callable[[Tensor], Tensor],
    disc: Callable[[Tensor], Tensor],
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    discriminator_loss: Callable[[Tensor, Tensor], Tensor],
    generator_loss: Callable[[Tensor], Tensor],
    real: Tensor,
    z: Tensor,
    *,
    update_g: bool,
    cfg: DCGANConfig,
    penalty: Callable[[Tensor, Tensor], Tensor] | None = None,
    clip: Callable[[], None] | None = None,
    per_run: Callable[[Tensor], Tensor] = Tensor.mean,
    disc_params: Sequence[Tensor] = (),
) -> dict[str, Tensor]:
    """Steps 1-3 of the module docstring for one run, or for K stacked runs (a sweep).

    ``gen`` and ``disc`` are the networks (or K stacked copies called as one); the losses give one number per run
    (a scalar, or K of them), and their sum is what is differentiated: stacked runs are independent, so each gets
    its own gradient. ``penalty(real, fake)``: the WGAN-GP term per run; ``clip()``: WGAN's weight clipping;
    ``per_run``: a run's mean of its logits; ``disc_params``: the critic's parameters, frozen during the generator
    step (the generator's gradient flows through D's inputs; D's own weight gradients would be thrown away). The
    critic step sees ``fake.detach()``, so it computes no generator gradients either.
    """
    with torch.set_grad_enabled(update_g), autocast(cfg):
        fake = gen(z)
    with autocast(cfg):
        real_logits = disc(real)
        fake_logits = disc(fake.detach())
        d_loss = discriminator_loss(real_logits.float(), fake_logits.float())
    out = {"d_real": per_run(real_logits.detach()), "d_fake": per_run(fake_logits.detach())}
    if penalty is not None:
        gp = penalty(real, fake)
        out["gp"] = gp.detach()
        d_loss = d_loss + cfg.gp_weight * gp
    opt_d.zero_grad(set_to_none=True)
    d_loss.sum().backward()
    opt_d.step()
    if clip is not None:
        clip()
    out["d_loss"] = d_loss.detach()

    if update_g:
        for p in disc_params:
            p.requires_grad_(False)
        try:
            with autocast(cfg):
                g_loss = generator_loss(disc(fake).float())
            opt_g.zero_grad(set_to_none=True)
            g_loss.sum().backward()
        finally:
            for p in disc_params:
                p.requires_grad_(True)
        opt_g.step()
        out["g_loss"] = g_loss.detach()
    return out


class DCGANTrainer:
    def __init__(self, cfg: DCGANConfig, real: Tensor | None = None, *, model: DCGAN | None = None) -> None:
        """Trains ``model`` (by default a new one built from ``cfg``); ``real``: a fixed batch of training
        images (uint8) for the collapse check after every epoch."""
        self.cfg = cfg
        self.device = torch.device(cfg.run.device)
        self.model = model or DCGAN(cfg)
        self.gen, self.disc = self.model.gen, self.model.disc
        prepare_models(self.models, cfg)
        self.loss = get_loss(cfg.loss)
        self.opt_g, self.opt_d = make_optimizers(self.gen.parameters(), self.disc.parameters(), cfg)
        self.disc_params = list(self.disc.parameters())
        self.noise = torch.Generator(self.device).manual_seed(rank_seed(cfg.run.seed + 1))
        # one fixed z batch: its first grid_size images make the grids, all of them the collapse check
        self.fixed_z = fixed_noise(cfg, max(cfg.run.grid_size, COLLAPSE_SAMPLES), self.device)
        self.collapse = CollapseMonitor(real) if real is not None else None
        # CUDA graphs of the whole step, captured on first use (after a resume's weights are loaded)
        self.graphs = GraphedSteps(self._update, [self.gen, self.disc], [self.opt_g, self.opt_d]) if cfg.speed.cuda_graphs else None

    @property
    def models(self) -> dict[str, nn.Module]:
        return self.model.networks

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.opt_g, "discriminator": self.opt_d}

    def draw(self, n: int) -> tuple[Tensor, Tensor | None]:
        """A step's random draws from the run's own generator: z, then (WGAN-GP) the penalty's interpolation
        weights, one per image. A sweep draws each member's through this too, in the same order."""
        z = torch.randn(n, self.cfg.z_dim, 1, 1, device=self.device, generator=self.noise)
        eps = torch.rand((n, 1, 1, 1), generator=self.noise, device=self.device) if self.loss.uses_gradient_penalty else None
        return z, eps

    def train_step(self, batch: Tensor, step: int) -> dict[str, Tensor]:
        cfg = self.cfg
        real = to_model_range(batch, self.device, memory_format(cfg))
        z, eps = self.draw(real.shape[0])
        update_g = step % cfg.n_critic == 0
        if self.graphs is not None:
            return self.graphs(update_g, real, z, eps)
        return self._update(update_g, real, z, eps)

    def _update(self, update_g: bool, real: Tensor, z: Tensor, eps: Tensor | None) -> dict[str, Tensor]:
        """The critic step, then (when ``update_g``) the generator step; no host sync, fixed shapes (CUDA-graph safe)."""
        self.gen.train()
        self.disc.train()
        loss = self.loss
        return dcgan_update(
            self.gen, self.disc, self.opt_g, self.opt_d, loss.discriminator_loss, loss.generator_loss, real, z,
            update_g=update_g, cfg=self.cfg,
            penalty=(lambda real, fake: gradient_penalty(self.disc, real, fake, eps=eps)) if loss.uses_gradient_penalty else None,
            clip=(lambda: clip_weights_(self.disc, self.cfg.clip_value)) if loss.clips_weights else None,
            disc_params=self.disc_params,
        )

    def end_epoch(self, epoch: int) -> None:
        """DCGAN's learning rates are constant: nothing changes between epochs."""

    def report(self, epoch: int, run: RunDir, history: History) -> None:
        samples = self.model.sample(self.fixed_z)
        if self.cfg.run.grid_due(epoch):
            save_grid(samples[: self.cfg.run.grid_size], run.grid("fake_image", epoch))
        if self.collapse is not None:
            self.collapse(samples, epoch=epoch, run=run, history=history, last=epoch == self.cfg.run.epochs)
        self._warn_if_discriminator_wins(epoch, history)

    def _warn_if_discriminator_wins(self, epoch: int, history: History) -> None:
        """GAN/LSGAN: a discriminator loss near 0 over a whole epoch leaves the generator no gradient."""
        if self.loss.wasserstein:
            return
        losses = []
        for row in reversed(history.rows):  # the epoch's rows are the last ones: read back only as far as they go
            if row.get("epoch") != epoch:
                break
            if "d_loss" in row:
                losses.append(row["d_loss"])
        if losses and discriminator_wins(sum(losses) / len(losses)):
            warnings.warn(
                f"the discriminator loss sat near 0 in epoch {epoch} (mean {sum(losses) / len(losses):.2e}): the "
                "discriminator wins and the generator learns nothing; a collapse signal",
                GenlabWarning,
                stacklevel=2,
            )

    def state_dict(self) -> dict[str, Any]:
        return {
            "models": {name: model.state_dict() for name, model in self.models.items()},
            "optimizers": {"generator": self.opt_g.state_dict(), "discriminator": self.opt_d.state_dict()},
            "schedulers": {},
            "noise_rng": self.noise.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        load_weights(self.model, state["models"])
        self.opt_g.load_state_dict(state["optimizers"]["generator"])
        self.opt_d.load_state_dict(state["optimizers"]["discriminator"])
        set_lr(self.opt_g, self.opt_d, self.cfg)
        self.noise.set_state(state["noise_rng"])
