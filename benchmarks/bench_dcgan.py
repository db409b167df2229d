"""Training speed of genlab's DCGAN step against a minimal hand-written eager loop.

Both sides train the same networks (genlab's DCGANGenerator / DCGANDiscriminator
at the spec's size) with the same optimiser on the same batches, one critic step
per generator step, in the same process; repeats alternate between the two so
machine noise hits both alike. Prints iterations/s, images/s and the ratio
genlab / reference (goal: >= 0.95).

    python benchmarks/bench_dcgan.py [--device cpu|cuda] [--iters 10] [--repeats 3]
    python benchmarks/bench_dcgan.py --frozen-critic   # the generator step with the critic frozen, against the
                                                       # same step computing the critic's weight gradients too
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from _timing import alternate

from genlab.config import build_config
from genlab.training.dcgan import DCGANTrainer


def reference_step(gen, disc, opt_g, opt_d, real, loss: str) -> None:
    z = torch.randn(real.shape[0], 256, 1, 1, device=real.device)
    fake = gen(z)
    d_real, d_fake = disc(real), disc(fake.detach())
    if loss == "gan":
        d_loss = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real)) + F.binary_cross_entropy_with_logits(
            d_fake, torch.zeros_like(d_fake)
        )
    else:
        eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
        xhat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
        (grad,) = torch.autograd.grad(disc(xhat).sum(), xhat, create_graph=True)
        d_loss = d_fake.mean() - d_real.mean() + 10 * (grad.flatten(1).norm(dim=1) - 1).square().mean()
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    out = disc(fake)
    g_loss = F.binary_cross_entropy_with_logits(out, torch.ones_like(out)) if loss == "gan" else -out.mean()
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()






def bench(loss: str, batch_size: int, device: str, iters: int, repeats: int) -> tuple[float, float]:
    cfg = build_config("dcgan", preset="assignment", overrides={"loss": loss, "batch_size": batch_size, "device": device})
    trainer = DCGANTrainer(cfg)
    reference_cfg = build_config("dcgan", preset="assignment", overrides={"loss": loss, "device": device})
    ref = DCGANTrainer(reference_cfg)  # only for identical networks and optimisers
    batches = torch.randint(0, 256, (4, batch_size, 3, 32, 32), dtype=torch.uint8)
    real = batches.to(device).float() / 127.5 - 1

    def genlab_step(i: int) -> None:
        out = trainer.train_step(batches[i % 4], i + 1)
        float(out["d_loss"])  # the loop reads every number back

    def reference(i: int) -> None:
        reference_step(ref.gen, ref.disc, ref.opt_g, ref.opt_d, real[i % 4], loss)

    return alternate(genlab_step, reference, iters=iters, repeats=repeats, device=device)


def bench_frozen(loss: str, batch_size: int, device: str, iters: int, repeats: int) -> tuple[float, float]:
    """genlab's step (critic frozen during the generator step) against the same step with the critic's weight
    gradients computed and thrown away (the step before the change), two trainers of one config, alternately."""
    cfg = build_config("dcgan", preset="assignment", overrides={"loss": loss, "batch_size": batch_size, "device": device})
    frozen, unfrozen = DCGANTrainer(cfg), DCGANTrainer(cfg)
    unfrozen.disc_params = []  # nothing frozen: D's weight gradients are computed in the generator step
    batches = torch.randint(0, 256, (4, batch_size, 3, 32, 32), dtype=torch.uint8)

    def step(trainer: DCGANTrainer):
        return lambda i: float(trainer.train_step(batches[i % 4], i + 1)["d_loss"])

    return alternate(step(frozen), step(unfrozen), iters=iters, repeats=repeats, device=device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frozen-critic", action="store_true", help="frozen critic in the G step against the step before")
    args = parser.parse_args()
    if args.frozen_critic:
        header = f"{'loss':8} {'batch':>5} {'device':6} {'frozen it/s':>11} {'before it/s':>11} {'ratio':>6}"
        print(header)
        print("-" * len(header))
        for loss in ("gan", "wgan-gp"):
            for batch_size in (64, 128):
                ours, before = bench_frozen(loss, batch_size, args.device, args.iters, args.repeats)
                print(f"{loss:8} {batch_size:5d} {args.device:6} {ours:11.2f} {before:11.2f} {ours / before:6.3f}", flush=True)
        return
    header = f"{'loss':8} {'batch':>5} {'device':6} {'genlab it/s':>11} {'img/s':>8} {'ref it/s':>9} {'img/s':>8} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for loss in ("gan", "wgan-gp"):
        for batch_size in (64, 128):
            ours, theirs = bench(loss, batch_size, args.device, args.iters, args.repeats)
            print(
                f"{loss:8} {batch_size:5d} {args.device:6} {ours:11.2f} {ours * batch_size:8.0f} "
                f"{theirs:9.2f} {theirs * batch_size:8.0f} {ours / theirs:6.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
