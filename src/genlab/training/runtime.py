"""Where a run executes: one process, or several launched by ``torchrun`` (data parallel).

Under ``torchrun --nproc-per-node K -m genlab train ...`` every process trains a
replica: the same initial weights (broadcast from rank 0), its own share of every
epoch's batches (``batch_size`` is per process: the global batch is K x
batch_size, and the learning rate is not scaled), and its own noise (seeds
derived from the run seed and the rank). Before every optimiser step the
gradients are averaged over the processes, as DistributedDataParallel does, and
after every training step rank 0's normalisation buffers (BatchNorm running
statistics) are broadcast, as DDP's ``broadcast_buffers`` does; replicas stay
identical. Rank 0 alone writes the run folder. Backend: NCCL on GPUs, gloo on CPUs.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from genlab.config import Config
from genlab.errors import GenlabError

RANK_STRIDE = 1_000_003


@dataclass(frozen=True)
class Runtime:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def current() -> Runtime:
    if dist.is_available() and dist.is_initialized():
        return Runtime(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    return Runtime()


def init_from_environment(device: str) -> tuple[Runtime, str]:
    """Join the process group torchrun describes (if any); returns the runtime and this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    runtime = current()
    if runtime.distributed and device.startswith("cuda"):
        device = f"cuda:{runtime.local_rank}"
        torch.cuda.set_device(device)
    return runtime, device


def rank_seed(seed: int) -> int:
    """A seed for this process's own randomness (noise, pools), derived from the run seed."""
    return seed + RANK_STRIDE * current().rank


def replicate(models: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer], *, sync_batchnorm: bool = False) -> None:
    """Make this process a data-parallel replica: same weights, averaged gradients, optional SyncBatchNorm."""
    runtime = current()
    if not runtime.distributed:
        return
    if sync_batchnorm:
        for model in models.values():
            if next(model.parameters()).device.type != "cuda":
                raise GenlabError("sync_bn needs CUDA GPUs (SyncBatchNorm does not run on the CPU); leave out --sync-bn")
            nn.SyncBatchNorm.convert_sync_batchnorm(model)  # in place below the top module; parameters are kept
    for model in models.values():
        for tensor in [*model.parameters(), *model.buffers()]:
            dist.broadcast(tensor.data, src=0)
    for optimizer in optimizers.values():
        optimizer.register_step_pre_hook(_average_gradients)


def _average_gradients(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_buffers(models: dict[str, nn.Module]) -> None:
    if current().distributed:
        for model in models.values():
            for buffer in model.buffers():
                dist.broadcast(buffer.data, src=0)


def barrier() -> None:
    if current().distributed:
        dist.barrier()


def shutdown() -> None:
    """Leave the process group together, so no process exits while another still talks to it."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


# --- one device at full speed (config fields amp, channels_last, fused_optimizer, compile) ---------------


def autocast(cfg: Config) -> contextlib.AbstractContextManager:
    """bf16 autocast of forward passes when ``amp`` is on (a no-op otherwise)."""
    device_type = torch.device(cfg.run.device).type
    # a CUDA graph must not keep autocast's cast cache (the cached casts would be stale at replay)
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=cfg.speed.amp, cache_enabled=not cfg.speed.cuda_graphs)


def optimizer_options(cfg: Config) -> dict[str, Any]:
    options: dict[str, Any] = {"fused": True} if cfg.speed.fused_optimizer else {}
    if cfg.speed.cuda_graphs:  # the step counter and learning rate stay on the device, so the step can be replayed
        options["capturable"] = True
    return options


def memory_format(cfg: Config) -> torch.memory_format:
    return torch.channels_last if cfg.speed.channels_last else torch.contiguous_format


def prepare_models(models: dict[str, nn.Module], cfg: Config) -> None:
    """channels_last and torch.compile, in place: the modules (and their checkpoint names) stay the same."""
    for model in models.values():
        model.to(memory_format=memory_format(cfg))
        if cfg.speed.compile:
            model.compile()
