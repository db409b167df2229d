"""Seconds per CycleGAN iteration (batch 1): genlab's step against a minimal hand-written eager step.

Both sides train the same networks (Table 2: ResNet-6 generators, 70x70 PatchGANs)
with the same optimisers and losses (least squares, cycle 10, identity 5) on the
same images, in the same process, alternating repeats. The reference has no image
pool. Prints s/iteration at each size and the ratio of speeds genlab / reference
(goal: >= 0.95).

    python benchmarks/bench_cyclegan.py [--device cpu|cuda] [--sizes 64,128,256] [--iters 3] [--repeats 2]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from _timing import alternate

from genlab.config import build_config
from genlab.training.cyclegan import CycleGANTrainer


def reference_step(t: CycleGANTrainer, real_a: torch.Tensor, real_b: torch.Tensor) -> None:
    mse = lambda x, target: ((x - target) ** 2).mean()  # noqa: E731
    fake_b, fake_a = t.gen_a2b(real_a), t.gen_b2a(real_b)
    rec_a, rec_b = t.gen_b2a(fake_b), t.gen_a2b(fake_a)
    t.disc_a.requires_grad_(False)
    t.disc_b.requires_grad_(False)
    g_loss = (
        mse(t.disc_b(fake_b), 1) + mse(t.disc_a(fake_a), 1)
        + 10 * (F.l1_loss(rec_a, real_a) + F.l1_loss(rec_b, real_b))
        + 5 * (F.l1_loss(t.gen_a2b(real_b), real_b) + F.l1_loss(t.gen_b2a(real_a), real_a))
    )
    t.opt_g.zero_grad()
    g_loss.backward()
    t.opt_g.step()
    t.disc_a.requires_grad_(True)
    t.disc_b.requires_grad_(True)
    d_loss = 0.5 * (mse(t.disc_a(real_a), 1) + mse(t.disc_a(fake_a.detach()), 0)) + 0.5 * (
        mse(t.disc_b(real_b), 1) + mse(t.disc_b(fake_b.detach()), 0)
    )
    t.opt_d.zero_grad()
    d_loss.backward()
    t.opt_d.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sizes", default="64,128,256")
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"{'size':>5} {'device':6} {'genlab s/it':>11} {'ref s/it':>9} {'ratio':>6}")
    for size in map(int, args.sizes.split(",")):
        cfg = build_config("cyclegan", overrides={"device": args.device, "image_size": size, "load_size": size})
        ours, ref = CycleGANTrainer(cfg), CycleGANTrainer(cfg)
        images = torch.randint(0, 256, (2, 1, 3, size, size), dtype=torch.uint8)
        real = images.to(args.device).float() / 127.5 - 1

        def genlab_step(i: int) -> None:
            float(ours.train_step((images[0], images[1]), i + 1)["g_loss"])

        def reference(i: int) -> None:
            reference_step(ref, real[0], real[1])

        ours_rate, ref_rate = alternate(genlab_step, reference, iters=args.iters, repeats=args.repeats, device=args.device)
        print(f"{size:5d} {args.device:6} {1 / ours_rate:11.3f} {1 / ref_rate:9.3f} {ours_rate / ref_rate:6.3f}", flush=True)


if __name__ == "__main__":
    main()
