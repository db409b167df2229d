"""The DCGAN step replayed as a CUDA graph (``--cuda-graphs``) against the same step run eagerly.

Both sides are genlab's DCGANTrainer on the same batches at the assignment preset, in one process,
alternating; numbers stay on the device as the training loop keeps them. Prints steps/s of both and
the ratio graphed / eager: the measurement that decides whether ``cuda_graphs`` may default to on.
CUDA only.

    python benchmarks/bench_graphs.py [--iters 100] [--repeats 3] [--amp on|off]
"""

from __future__ import annotations

import argparse

import torch

from _timing import alternate

from genlab.config import build_config
from genlab.training.dcgan import DCGANTrainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--amp", default="on", choices=("on", "off"))
    args = parser.parse_args()
    print(f"{'loss':8} {'batch':>5} {'eager it/s':>10} {'graphed it/s':>12} {'ratio':>6}  ({torch.cuda.get_device_name(args.device)}, amp {args.amp})")
    for loss in ("gan", "wgan", "wgan-gp"):
        for batch_size in (64, 128):
            sides = [
                DCGANTrainer(build_config("dcgan", preset="assignment", overrides={
                    "loss": loss, "batch_size": batch_size, "device": args.device, "amp": args.amp == "on", "cuda_graphs": graphs,
                }))
                for graphs in (False, True)
            ]
            batches = torch.randint(0, 256, (4, batch_size, 3, 32, 32), dtype=torch.uint8).to(args.device)
            eager, graphed = (lambda i, t=t: t.train_step(batches[i % 4], i + 1) for t in sides)
            eager_rate, graphed_rate = alternate(eager, graphed, iters=args.iters, repeats=args.repeats, device=args.device)
            print(f"{loss:8} {batch_size:5d} {eager_rate:10.1f} {graphed_rate:12.1f} {graphed_rate / eager_rate:6.2f}", flush=True)


if __name__ == "__main__":
    main()
