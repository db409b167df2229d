"""Precision/recall speed: genlab's blocked implementation against torch-fidelity's ``prc`` on the same features.

Both compute Kynkäänniemi et al.'s precision and recall (k = 3) of N generated against N real D-dimensional
features (default 5,000 x 2,048, random, a shifted cloud against another) in one process, each side timed
alternately; the two results are checked to be the same counts, and seconds per call are printed with the ratio
torch-fidelity / genlab (above 1: genlab is faster). torch-fidelity's variant is its default (``full``: whole
distance matrices) or, with ``--part``, its blocked ``save_cpu_ram`` one; above about 20,000 points the full
matrices no longer fit in memory, so the GPU row of 50,000 runs against the blocked one.

    python benchmarks/bench_prdc.py [--device cpu|cuda] [--n 5000] [--dim 2048] [--part]
"""

from __future__ import annotations

import argparse

import torch

from _timing import alternate
from genlab.metrics.prdc import precision_recall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--part", action="store_true", help="time torch-fidelity's blocked variant (save_cpu_ram)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from torch_fidelity.metric_prc import calculate_precision_recall_full, calculate_precision_recall_part

    g = torch.Generator().manual_seed(0)
    real = torch.randn(args.n, args.dim, generator=g).to(args.device)
    fake = (torch.randn(args.n, args.dim, generator=g) + 0.05).to(args.device)
    theirs_fn = calculate_precision_recall_part if args.part else calculate_precision_recall_full
    ours = precision_recall(real, fake)
    theirs = theirs_fn(fake, real, neighborhood=3)  # torch-fidelity: generated first
    assert abs(ours[0] - theirs[0]) < 1e-6 and abs(ours[1] - theirs[1]) < 1e-6, (ours, theirs)
    ours_rate, theirs_rate = alternate(
        lambda i: precision_recall(real, fake), lambda i: theirs_fn(fake, real, neighborhood=3), iters=1, repeats=args.repeats, device=args.device
    )
    variant = "part (blocked)" if args.part else "full"
    print(f"precision/recall, k = 3, {args.n:,} x {args.n:,} features of {args.dim}; results agree ({ours[0]:.4f}, {ours[1]:.4f})")
    print(f"{'device':6} {'genlab s':>9} {'torch-fidelity ' + variant + ' s':>28} {'ratio':>6}")
    print(f"{args.device:6} {1 / ours_rate:9.2f} {1 / theirs_rate:28.2f} {ours_rate / theirs_rate:6.2f}")


if __name__ == "__main__":
    main()
