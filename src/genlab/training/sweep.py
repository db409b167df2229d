"""Many DCGAN runs trained as one: ``genlab train dcgan --loss gan,lsgan --seeds 0,1,2 --out runs/sweep``.

Every (loss, seed) is an ordinary run folder (``runs/sweep/gan-s0/``, ...), resumable and scorable on its own
exactly as if trained alone. The runs that share a loss are one stacked model: their parameters and BatchNorm
buffers are stacked along a new first dimension (``torch.func.stack_module_state``) and every network is called
once for all of them (``torch.func.vmap`` over ``functional_call``), so K seeds cost one launch sequence. One
optimiser over the stacked parameters is K optimisers (Adam, RMSprop and the WGAN clipping act element by
element); each member's modules hold views of the stacked tensors, so its pictures, scores and checkpoints
read its own weights with no copy. Runs of different losses interleave step by step.

What each member draws is its own: its batches (ordered by its seed), its z and its gradient-penalty
interpolation weights (from its own generator, in the order a single run draws them). So a member's
weights after N steps equal a run trained alone, to float tolerance (the stacked convolutions add in
another order). ``RUN/sweep.json`` lists the members; ``genlab train --resume RUN`` continues them all.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from genlab.checkpoint import load_checkpoint, set_rng_state
from genlab.config import DCGANConfig, config_to_dict, replace, sweep_configs  # noqa: F401 (sweep_configs: re-exported)
from genlab.data.images import InMemoryImages
from genlab.data.loader import EpochBatches
from genlab.data.transforms import to_model_range
from genlab.data.run_data import image_data
from genlab.errors import GenlabError
from genlab.files import read_json, write_json
from genlab.losses.adversarial import clip_weights_, gradient_penalty
from genlab.reporting.architecture import save_architecture
from genlab.reporting.tensorboard import require_tensorboard
from genlab.run_dir import History, RunDir
from genlab.training.collapse import fixed_real_batch
from genlab.training.dcgan import DCGANTrainer, dcgan_update, make_optimizers, set_lr
from genlab.training.evaluation import TrainingEvaluator
from genlab.training.loop import RunState, fit, running
from genlab.training.run import check_epochs_left, resumed_config
from genlab.training.runtime import current

SWEEP_FILE = "sweep.json"


def member_name(loss: str, seed: int) -> str:
    return f"{loss}-s{seed}"



class _Stacked:
    """K copies of one network as stacked tensors, called once for all K; members' modules hold views."""

    def __init__(self, modules: list[nn.Module]) -> None:
        self.params, self.buffers = stack_module_state(modules)
        self.params = {name: nn.Parameter(p.detach()) for name, p in self.params.items()}
        self.base = copy.deepcopy(modules[0]).to("meta")
        for k, module in enumerate(modules):  # every member reads (and the loop writes) the stacked storage
            for name, stacked in self.params.items():
                _set(module, name, nn.Parameter(stacked.data[k], requires_grad=stacked.requires_grad))
            for name, stacked in self.buffers.items():
                _set(module, name, stacked[k])
        self._call = vmap(self._one, in_dims=(0, 0, 0), randomness="error")

    def _one(self, params: dict[str, Tensor], buffers: dict[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(self.base, (params, buffers), (x,))

    def __call__(self, x: Tensor) -> Tensor:
        """x: (K, batch, ...) -> (K, batch, ...), member k's network on x[k]."""
        return self._call(self.params, self.buffers, x)

    def train(self) -> None:
        self.base.train()


def _set(module: nn.Module, name: str, value: Tensor) -> None:
    """Replace a parameter or buffer of ``module`` by ``value`` (a view of the stacked storage)."""
    owner_name, _, attribute = name.rpartition(".")
    owner = module.get_submodule(owner_name) if owner_name else module
    if isinstance(value, nn.Parameter):
        owner.register_parameter(attribute, value)
    else:
        owner.register_buffer(attribute, value)


def _slice_optimizer(state: dict[str, Any], k: int) -> dict[str, Any]:
    """Member k's optimiser state in the form its own optimiser writes (stacked tensors cut at k)."""
    per_param = {
        index: {key: (value[k].clone() if torch.is_tensor(value) and value.dim() > 0 else value) for key, value in entries.items()}
        for index, entries in state["state"].items()
    }
    return {"state": per_param, "param_groups": copy.deepcopy(state["param_groups"])}


def _stack_optimizer(states: list[dict[str, Any]]) -> dict[str, Any]:
    first = states[0]
    stacked = {
        index: {
            key: (torch.stack([s["state"][index][key] for s in states]) if torch.is_tensor(value) and value.dim() > 0 else value)
            for key, value in entries.items()
        }
        for index, entries in first["state"].items()
    }
    return {"state": stacked, "param_groups": copy.deepcopy(first["param_groups"])}


class LossGroup:
    """The members of one loss, trained as one stacked model."""

    def __init__(self, members: list[DCGANTrainer]) -> None:
        self.members = members
        self.cfg = cfg = members[0].cfg
        self.loss = members[0].loss
        self.device = members[0].device
        self.gen = _Stacked([m.gen for m in members])
        self.disc = _Stacked([m.disc for m in members])
        self.opt_g, self.opt_d = make_optimizers(self.gen.params.values(), self.disc.params.values(), cfg)
        self._d_loss = vmap(self.loss.discriminator_loss)
        self._g_loss = vmap(self.loss.generator_loss)

    def load_optimizers(self) -> None:
        """The stacked optimisers from the members' own (after the members were loaded from checkpoints)."""
        self.opt_g.load_state_dict(_stack_optimizer([m.opt_g.state_dict() for m in self.members]))
        self.opt_d.load_state_dict(_stack_optimizer([m.opt_d.state_dict() for m in self.members]))
        set_lr(self.opt_g, self.opt_d, self.cfg)

    def member_state(self, k: int) -> dict[str, Any]:
        """Member k's checkpoint, as its own trainer would write it."""
        state = self.members[k].state_dict()
        state["models"] = {name: {key: value.clone() for key, value in sd.items()} for name, sd in state["models"].items()}
        state["optimizers"] = {
            "generator": _slice_optimizer(self.opt_g.state_dict(), k),
            "discriminator": _slice_optimizer(self.opt_d.state_dict(), k),
        }
        return state

    def train_step(self, batches: list[Tensor], step: int) -> list[dict[str, Tensor]]:
        """One step of every member (each on its own batch): the single run's step, for all K at once."""
        cfg, loss = self.cfg, self.loss
        self.gen.train()
        self.disc.train()
        real = torch.stack([to_model_range(b, self.device) for b in batches])
        draws = [m.draw(b.shape[0]) for b, m in zip(batches, self.members)]  # each member's own, in a single run's order
        z = torch.stack([z for z, _ in draws])
        eps = torch.stack([e for _, e in draws]) if loss.uses_gradient_penalty else None
        out = dcgan_update(
            self.gen, self.disc, self.opt_g, self.opt_d, self._d_loss, self._g_loss, real, z,
            update_g=step % cfg.n_critic == 0, cfg=cfg,
            penalty=(lambda real, fake: gradient_penalty(self.disc, real, fake, eps=eps, run_dims=2)) if loss.uses_gradient_penalty else None,
            clip=(lambda: clip_weights_(self.disc.params.values(), cfg.clip_value)) if loss.clips_weights else None,
            per_run=lambda logits: logits.flatten(1).mean(1),
            disc_params=list(self.disc.params.values()),
        )
        return [{name: value[k] for name, value in out.items()} for k in range(len(self.members))]


class Member:
    """Member k of a loss group, as its run's state sees a trainer: its pictures, its model and its checkpoint."""

    def __init__(self, group: LossGroup, index: int) -> None:
        self.group, self.index = group, index

    def state_dict(self) -> dict[str, Any]:
        return self.group.member_state(self.index)

    def report(self, epoch: int, run: RunDir, history: History) -> None:
        self.group.members[self.index].report(epoch, run, history)

    @property
    def model(self) -> Any:
        return self.group.members[self.index].model


class StackedRuns:
    """The stepper of a sweep: each epoch, every loss's stacked model takes its own steps (the losses may differ in
    batch size and so in steps per epoch), each member on its own batches."""

    def __init__(
        self, states: list[RunState], groups: dict[str, LossGroup], members: dict[str, list[int]], batches: list[EpochBatches],
    ) -> None:
        """``members``: loss -> the indices of its runs in ``states`` (and ``batches``), in its group's order."""
        self.states, self.groups, self.members, self.batches = states, groups, members, batches

    def units(self, epoch: int) -> Iterator[tuple[str, list[Tensor]]]:
        for loss, indices in self.members.items():
            streams = [iter(self.batches[i].epoch(epoch)) for i in indices]
            for _ in range(len(self.batches[indices[0]])):
                yield loss, [next(stream) for stream in streams]

    def __len__(self) -> int:
        return sum(len(self.batches[indices[0]]) for indices in self.members.values())

    def advance(self, unit: tuple[str, list[Tensor]], epoch: int) -> tuple[list[RunState], int]:
        loss, batches = unit
        states = [self.states[i] for i in self.members[loss]]
        step = states[0].step + 1  # the members of a loss step together
        for state, numbers in zip(states, self.groups[loss].train_step(batches, step)):
            state.step = step
            state.readback.add(step, epoch, numbers)
        return states, sum(b.shape[0] for b in batches)

    def end_epoch(self, epoch: int) -> None:
        """DCGAN's learning rates are constant: nothing changes between epochs."""


# What every run of a sweep shares (one copy of the data, one length); within a loss the runs differ only in seed.
SHARED = ("data", "data_root", "limit", "image_size", "epochs", "device")


def _check_same_shape(configs: list[DCGANConfig]) -> None:
    first = config_to_dict(configs[0])
    by_loss: dict[str, dict[str, Any]] = {}
    for cfg in configs:
        values = config_to_dict(cfg)
        differing = sorted(k for k in SHARED if values[k] != first[k])
        if differing:
            raise GenlabError(f"the runs of a sweep share {', '.join(SHARED)}; they differ in {', '.join(differing)}")
        same = by_loss.setdefault(cfg.loss, values)
        differing = sorted(k for k, v in values.items() if v != same[k] and k != "seed")
        if differing:
            raise GenlabError(f"the {cfg.loss} runs of a sweep differ only in seed; they differ in {', '.join(differing)}")


def train_sweep(configs: list[DCGANConfig], out: str | Path, *, quiet: bool = False) -> list[RunDir]:
    """Train every config (one per loss and seed, see ``sweep_configs``) into ``out/LOSS-sSEED`` as one process;
    returns the run folders."""
    if current().distributed:
        raise GenlabError("a sweep trains in one process; run it without torchrun")
    if any(cfg.speed.compile or cfg.speed.cuda_graphs for cfg in configs):
        raise GenlabError("a sweep calls its stacked networks through torch.func; leave out --compile and --cuda-graphs")
    configs = [replace(cfg, channels_last=False) for cfg in configs]  # the stacked networks see 5-d inputs: no NHWC
    _check_same_shape(configs)
    base = configs[0]
    losses = list(dict.fromkeys(cfg.loss for cfg in configs))
    seeds = list(dict.fromkeys(cfg.run.seed for cfg in configs))
    out = Path(out).expanduser()
    sweep_file = out / SWEEP_FILE
    if sweep_file.exists():
        raise GenlabError(f"{out} already holds a sweep; continue it with --resume {out} or choose another --out")
    if base.run.tensorboard:
        require_tensorboard()
    images, _ = image_data(base)  # fails on bad data before anything is written
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for cfg in configs:
        run = RunDir.create(out / member_name(cfg.loss, cfg.run.seed), cfg)
        runs.append(run)
    write_json(sweep_file, {"losses": losses, "seeds": seeds, "members": [r.root.name for r in runs]})
    trainers = [DCGANTrainer(cfg, fixed_real_batch(images, seed=cfg.run.seed)) for cfg in configs]
    for trainer, run in zip(trainers, runs):
        save_architecture(run.root, trainer.model.architecture())
    if not quiet:
        print(
            f"genlab: training a sweep of {len(configs)} DCGANs ({', '.join(losses)} x seeds {', '.join(map(str, seeds))}; "
            f"one stacked model per loss) on {base.input.data} ({len(images):,} images, {base.image_size}x{base.image_size}) "
            f"for {base.run.epochs} epochs on {base.run.device} into {out}",
            flush=True,
        )
    _fit(configs, trainers, runs, images, start_epoch=0, start_steps=[0] * len(runs), bests=[None] * len(runs))
    _say_finished(out, runs, quiet)
    return runs


def _say_finished(out: Path, runs: list[RunDir], quiet: bool) -> None:
    if not quiet:
        print(
            f"genlab: finished the sweep {out}: {len(runs)} runs ({', '.join(r.root.name for r in runs)}), each an ordinary run folder\n"
            f"  next: genlab runs {out} --html | genlab report {out}/*/ --real builtin-test | genlab train --resume {out} --epochs N",
            flush=True,
        )


def resume_sweep(out: str | Path, overrides: dict[str, Any] | None = None, *, quiet: bool = False) -> list[RunDir]:
    """Continue every member of the sweep in ``out`` from its latest checkpoint."""
    out = Path(out).expanduser()
    listing = read_json(out / SWEEP_FILE, "sweep file")
    if not isinstance(listing, dict) or not isinstance(listing.get("members"), list) or not all(isinstance(m, str) for m in listing["members"]):
        raise GenlabError(f"sweep file {out / SWEEP_FILE} does not list its members; restore it or resume each run alone")
    runs = [RunDir.open(out / name) for name in listing["members"]]
    missing = [r.root.name for r in runs if not r.latest.is_file()]
    if missing:
        raise GenlabError(f"{out}: {', '.join(missing)} finished no epoch yet; start the sweep again into a new --out")
    checkpoints = [load_checkpoint(r.latest) for r in runs]
    epochs = {r.root.name: c["epoch"] for r, c in zip(runs, checkpoints)}
    if len(set(epochs.values())) > 1:
        behind = min(epochs.values())
        raise GenlabError(
            f"{out}: the members stopped at different epochs ({', '.join(f'{k} {v}' for k, v in epochs.items())}); bring them level "
            + "; ".join(f"genlab train --resume {out / k} --epochs {max(epochs.values())}" for k, v in epochs.items() if v == behind)
        )
    configs = [resumed_config(run, overrides, write=False) for run in runs]
    _check_same_shape(configs)
    epoch = checkpoints[0]["epoch"]
    check_epochs_left(out, epoch, configs[0])
    images, _ = image_data(configs[0])
    trainers = []
    for cfg, checkpoint in zip(configs, checkpoints):
        trainer = DCGANTrainer(cfg, fixed_real_batch(images, seed=cfg.run.seed))
        trainer.load_state_dict(checkpoint["trainer"])
        trainers.append(trainer)
    set_rng_state(checkpoints[0]["rng"])
    if not quiet:
        print(f"genlab: resuming the sweep {out} ({len(runs)} runs) at epoch {epoch + 1}/{configs[0].run.epochs}", flush=True)
    _fit(
        configs, trainers, runs, images, start_epoch=epoch, start_steps=[c["step"] for c in checkpoints],
        bests=[c.get("best") for c in checkpoints], resumed=True,
    )
    _say_finished(out, runs, quiet)
    return runs


def _fit(
    configs: list[DCGANConfig], trainers: list[DCGANTrainer], runs: list[RunDir], images: InMemoryImages, *,
    start_epoch: int, start_steps: list[int], bests: list[float | None], resumed: bool = False,
) -> None:
    """Train the members from ``start_epoch`` in the one loop; a resumed sweep's config files are written only once
    every member's lock is held (a refused resume changes no file)."""
    base = configs[0]
    indices: dict[str, list[int]] = {}
    for i, cfg in enumerate(configs):
        indices.setdefault(cfg.loss, []).append(i)
    groups = {loss: LossGroup([trainers[i] for i in members]) for loss, members in indices.items()}
    if resumed:
        for group in groups.values():
            group.load_optimizers()
    device = base.run.device if base.speed.data_on_device else None
    if device is not None:  # one copy on the device, shared by every member's batches
        images = InMemoryImages(images.images.to(device), images.labels, name=images.name)
    states: list[RunState] = [None] * len(configs)  # type: ignore[list-item]
    for loss, members in indices.items():
        for k, i in enumerate(members):
            cfg, run = configs[i], runs[i]
            states[i] = RunState(
                cfg, run, Member(groups[loss], k),
                History.load(run.history_path, up_to_step=start_steps[i]) if resumed else History(run.history_path),
                step=start_steps[i], best=bests[i], evaluator=TrainingEvaluator(cfg) if cfg.scores.eval_every else None,
            )
    batches = [EpochBatches(images, cfg.batch_size, seed=cfg.run.seed, workers=cfg.input.workers, device=device) for cfg in configs]
    with running(states, write_configs=resumed):
        fit(StackedRuns(states, groups, indices, batches), start_epoch=start_epoch, epochs=base.run.epochs,
            async_writes=bool(base.speed.async_writes), desc="sweep epoch")


def is_sweep(folder: str | Path) -> bool:
    return (Path(folder).expanduser() / SWEEP_FILE).is_file()
