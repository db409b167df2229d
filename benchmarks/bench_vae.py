"""Training speed of genlab's VAE step against a minimal hand-written eager loop, at 64x64.

Both sides train the same network (genlab's ConvVAE with the default 64x64 /
latent 128 config) with Adam on the same batches in the same process, and
repeats alternate between them. Prints images/s and the ratio genlab /
reference (goal: >= 0.95).

    python benchmarks/bench_vae.py [--device cpu|cuda] [--batch-size 128] [--iters 5] [--repeats 3]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from _timing import alternate

from genlab.config import build_config
from genlab.training.vae import VAETrainer


def reference_step(model, opt, x) -> None:
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    logits = model.decode(z)
    recon = F.binary_cross_entropy_with_logits(logits, (x + 1) / 2, reduction="sum") / x.shape[0]
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / x.shape[0]
    loss = recon + kl
    opt.zero_grad()
    loss.backward()
    opt.step()




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cfg = build_config("vae", overrides={"device": args.device, "batch_size": args.batch_size})
    ours, ref = VAETrainer(cfg), VAETrainer(cfg)
    batches = torch.randint(0, 256, (4, args.batch_size, 3, 64, 64), dtype=torch.uint8)
    real = batches.to(args.device).float() / 127.5 - 1

    def genlab_step(i: int) -> None:
        float(ours.train_step(batches[i % 4], i + 1)["loss"])

    def reference(i: int) -> None:
        reference_step(ref.model, ref.opt, real[i % 4])

    ours_rate, ref_rate = (
        rate * args.batch_size for rate in alternate(genlab_step, reference, iters=args.iters, repeats=args.repeats, device=args.device)
    )
    print(f"{'device':6} {'batch':>5} {'size':>5} {'genlab img/s':>12} {'ref img/s':>10} {'ratio':>6}")
    print(f"{args.device:6} {args.batch_size:5d} {64:5d} {ours_rate:12.1f} {ref_rate:10.1f} {ours_rate / ref_rate:6.3f}")


if __name__ == "__main__":
    main()
