"""One CycleGAN training step per batch of unpaired (A, B) images (spec section 2).

    1. fake_b = G_AB(a), rec_a = G_BA(fake_b); fake_a = G_BA(b), rec_b = G_AB(fake_a)
    2. generators (one Adam over both): adversarial terms for both directions
       + lambda * (|rec_a - a|_1 + |rec_b - b|_1)
       + lambda_identity * lambda * (|G_AB(b) - b|_1 + |G_BA(a) - a|_1)
    3. discriminators (one Adam over both; D_A judges domain A, D_B domain B), on images
       from the history pools: [L(D(real), real) + L(D(pool(fake)), fake)], halved by default
The learning rate is constant, then decays linearly (stepped once per epoch).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset

from genlab.config import CycleGANConfig, CycleLoss, learning_rates
from genlab.data.transforms import to_model_range
from genlab.data.unpaired import Domains
from genlab.losses.adversarial import bce_target_loss, least_squares_target_loss
from genlab.families import load_weights
from genlab.families.cyclegan import CycleGAN
from genlab.reporting.grids import save_grid
from genlab.training.image_pool import ImagePool
from genlab.run_dir import History, RunDir
from genlab.training.runtime import autocast, memory_format, optimizer_options, prepare_models, rank_seed
from genlab.training.schedules import linear_decay_factor

TARGET_LOSSES: dict[CycleLoss, Callable[[Tensor, bool], Tensor]] = {"lsgan": least_squares_target_loss, "gan": bce_target_loss}


class CycleGANTrainer:
    @classmethod
    def from_data(cls, cfg: CycleGANConfig, domains: Domains | None = None) -> CycleGANTrainer:
        """The trainer of a run whose data builder gave ``domains`` (its grids show their test images)."""
        return cls(cfg, *((domains.test_a, domains.test_b) if domains else ()))

    def __init__(
        self, cfg: CycleGANConfig, test_a: Dataset | None = None, test_b: Dataset | None = None, *, model: CycleGAN | None = None
    ) -> None:
        """Trains ``model`` (by default a new one built from ``cfg``); ``test_a``/``test_b``: the grids' test images."""
        self.cfg = cfg
        self.device = torch.device(cfg.run.device)
        self.model = model or CycleGAN(cfg)
        self.gen_a2b, self.gen_b2a, self.disc_a, self.disc_b = self.model.networks.values()
        prepare_models(self.models, cfg)
        adam = dict(betas=(cfg.beta1, cfg.beta2), **optimizer_options(cfg))
        lr_g, lr_d = learning_rates(cfg)
        self.opt_g = torch.optim.Adam(itertools.chain(self.gen_a2b.parameters(), self.gen_b2a.parameters()), lr=lr_g, **adam)
        self.opt_d = torch.optim.Adam(itertools.chain(self.disc_a.parameters(), self.disc_b.parameters()), lr=lr_d, **adam)
        decay = lambda e: linear_decay_factor(e, epochs=cfg.run.epochs, decay_epochs=cfg.decay_epochs)  # noqa: E731
        self.schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, decay) for opt in (self.opt_g, self.opt_d)]
        self.pool_a = ImagePool(cfg.pool_size, seed=rank_seed(cfg.run.seed + 11))
        self.pool_b = ImagePool(cfg.pool_size, seed=rank_seed(cfg.run.seed + 13))
        self.target_loss = TARGET_LOSSES[cfg.gan_loss]
        n = cfg.run.grid_size
        self.fixed_a = torch.stack([test_a[i] for i in range(min(n, len(test_a)))]) if test_a is not None else None
        self.fixed_b = torch.stack([test_b[i] for i in range(min(n, len(test_b)))]) if test_b is not None else None

    @property
    def models(self) -> dict[str, nn.Module]:
        return self.model.networks

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generators": self.opt_g, "discriminators": self.opt_d}

    def train_step(self, batch: tuple[Tensor, Tensor], step: int) -> dict[str, Tensor]:
        cfg, adv = self.cfg, self.target_loss
        for model in self.models.values():
            model.train()
        real_a, real_b = (to_model_range(x, self.device, memory_format(cfg)) for x in batch)

        with autocast(cfg):
            fake_b = self.gen_a2b(real_a)
            rec_a = self.gen_b2a(fake_b)
            fake_a = self.gen_b2a(real_b)
            rec_b = self.gen_a2b(fake_a)

            self.disc_a.requires_grad_(False)
            self.disc_b.requires_grad_(False)
            adv_a2b = adv(self.disc_b(fake_b).float(), True)
            adv_b2a = adv(self.disc_a(fake_a).float(), True)
            cycle = cfg.lambda_cycle * (F.l1_loss(rec_a.float(), real_a) + F.l1_loss(rec_b.float(), real_b))
            g_loss = adv_a2b + adv_b2a + cycle
            out = {"adv_a2b": adv_a2b.detach(), "adv_b2a": adv_b2a.detach(), "cycle": cycle.detach()}
            if cfg.lambda_identity > 0:
                identity = cfg.lambda_identity * cfg.lambda_cycle * (
                    F.l1_loss(self.gen_a2b(real_b).float(), real_b) + F.l1_loss(self.gen_b2a(real_a).float(), real_a)
                )
                g_loss = g_loss + identity
                out["identity"] = identity.detach()
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()

        self.disc_a.requires_grad_(True)
        self.disc_b.requires_grad_(True)
        scale = 0.5 if cfg.halve_d_loss else 1.0
        with autocast(cfg):
            d_a = scale * (adv(self.disc_a(real_a).float(), True) + adv(self.disc_a(self.pool_a.query(fake_a)).float(), False))
            d_b = scale * (adv(self.disc_b(real_b).float(), True) + adv(self.disc_b(self.pool_b.query(fake_b)).float(), False))
        self.opt_d.zero_grad(set_to_none=True)
        (d_a + d_b).backward()
        self.opt_d.step()
        out.update(g_loss=g_loss.detach(), d_a_loss=d_a.detach(), d_b_loss=d_b.detach(), d_loss=(d_a + d_b).detach())
        return out

    def _save_translations(self, epoch: int, run: RunDir) -> None:
        for name, direction, back, real in (("fakeA2B", "a2b", "b2a", self.fixed_a), ("fakeB2A", "b2a", "a2b", self.fixed_b)):
            if real is None:
                continue
            translated = self.model.translate(real, direction)
            reconstructed = self.model.translate(translated, back)
            rows = torch.cat([to_model_range(real).cpu(), translated.cpu(), reconstructed.cpu()])  # real | translated | rec
            save_grid(rows, run.grid(name, epoch), nrow=real.shape[0])

    def end_epoch(self, epoch: int) -> None:
        for scheduler in self.schedulers:
            scheduler.step()

    def report(self, epoch: int, run: RunDir, history: History) -> None:
        if self.cfg.run.grid_due(epoch):
            self._save_translations(epoch, run)

    def state_dict(self) -> dict[str, Any]:
        return {
            "models": {name: model.state_dict() for name, model in self.models.items()},
            "optimizers": {"generators": self.opt_g.state_dict(), "discriminators": self.opt_d.state_dict()},
            "schedulers": {"generators": self.schedulers[0].state_dict(), "discriminators": self.schedulers[1].state_dict()},
            "pools": {"a": self.pool_a.state_dict(), "b": self.pool_b.state_dict()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        load_weights(self.model, state["models"])
        self.opt_g.load_state_dict(state["optimizers"]["generators"])
        self.opt_d.load_state_dict(state["optimizers"]["discriminators"])
        self.schedulers[0].load_state_dict(state["schedulers"]["generators"])
        self.schedulers[1].load_state_dict(state["schedulers"]["discriminators"])
        # the config's rates win (resume --lr, --lr-g, --lr-d), at the schedule's current factor
        for scheduler, lr in zip(self.schedulers, learning_rates(self.cfg)):
            scheduler.base_lrs = [lr] * len(scheduler.base_lrs)
            factor = scheduler.lr_lambdas[0](scheduler.last_epoch)
            for group in scheduler.optimizer.param_groups:
                group["lr"] = lr * factor
        self.pool_a.load_state_dict(state["pools"]["a"], self.device)
        self.pool_b.load_state_dict(state["pools"]["b"], self.device)
