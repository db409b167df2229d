"""Throughput of a DCGAN sweep: K runs trained as one stacked model against the same K runs one after another.

Both sides run genlab's own steps on the same batches in one process: the stacked side is one
``LossGroup`` per loss (the sweep's ``genlab train dcgan --loss ... --seeds ...``), the sequential side
is K ``DCGANTrainer`` steps in a row (what K separate runs do). Repeats alternate between the two.
Prints images/s of both and the ratio stacked / sequential for each K, and for the homework's
4 losses x 3 seeds (four stacked groups of 3, interleaved).

    python benchmarks/bench_sweep.py [--device cpu|cuda] [--ks 1,4,12] [--homework] [--iters 3] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform

import torch

from _timing import alternate

from genlab.config import build_config, replace
from genlab.training.dcgan import DCGANTrainer
from genlab.training.sweep import LossGroup


def configs(losses: list[str], seeds: int, args: argparse.Namespace) -> list:
    base = build_config(
        "dcgan", preset=args.preset,
        overrides=dict(device=args.device, image_size=args.image_size, batch_size=args.batch_size, n_critic=1, data="builtin"),
    )
    return [replace(base, loss=loss, seed=seed) for loss in losses for seed in range(seeds)]


def measure(losses: list[str], seeds: int, args: argparse.Namespace) -> tuple[float, float]:
    """(stacked, sequential) images/s of len(losses) x seeds runs."""
    cfgs = configs(losses, seeds, args)
    generator = torch.Generator().manual_seed(0)
    batch = torch.randint(0, 256, (args.batch_size, 3, args.image_size, args.image_size), dtype=torch.uint8, generator=generator)
    batch = batch.to(args.device)
    alone = [DCGANTrainer(cfg) for cfg in cfgs]
    groups = [LossGroup([DCGANTrainer(cfg) for cfg in cfgs if cfg.loss == loss]) for loss in losses]

    def stacked(i: int) -> None:
        for group in groups:
            group.train_step([batch] * len(group.members), i + 1)

    def sequential(i: int) -> None:
        for trainer in alone:
            trainer.train_step(batch, i + 1)

    ours, theirs = alternate(stacked, sequential, iters=args.iters, repeats=args.repeats, device=args.device)
    images = args.batch_size * len(cfgs)
    return ours * images, theirs * images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--ks", default="1,4,12", help="run counts of one loss to stack (default 1,4,12)")
    parser.add_argument("--loss", default="gan")
    parser.add_argument("--homework", action="store_true", help="also the four losses x 3 seeds")
    parser.add_argument("--preset", default="assignment")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    where = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else f"cpu: {torch.get_num_threads()} threads, {platform.machine()}"
    print(f"# DCGAN sweep throughput, preset {args.preset}, {args.image_size}x{args.image_size}, batch {args.batch_size} ({where}, torch {torch.__version__})")
    print("| runs | stacked img/s | sequential img/s | ratio |")
    print("|---|---:|---:|---:|")
    rows = [(f"{k} x {args.loss}", [args.loss], k) for k in map(int, args.ks.split(","))]
    if args.homework:
        rows.append(("4 losses x 3 seeds", ["gan", "lsgan", "wgan", "wgan-gp"], 3))
    for label, losses, seeds in rows:
        ours, theirs = measure(losses, seeds, args)
        print(f"| {label} | {ours:.0f} | {theirs:.0f} | {ours / theirs:.2f} |", flush=True)


if __name__ == "__main__":
    main()
