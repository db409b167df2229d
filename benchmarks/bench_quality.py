"""Does every model learn? genlab's training against an independent minimal loop, scored on the built-in digits.

For each case (every DCGAN loss under the ``assignment`` and ``paper`` presets, the
demo's four DCGAN runs, the demo's CycleGAN settings on translated digits and on its two
drawn tasks (demo-seasons, demo-toonfaces2anime), and its VAE) it trains genlab (``train``, the
real command path) and, beside it, a reference: a plain loop written in this file from
the papers' algorithm boxes (Goodfellow et al. 2014 Alg. 1, Mao et al. 2017, Arjovsky et
al. 2017 Alg. 1, Gulrajani et al. 2017 Alg. 1, Zhu et al. 2017, Kingma & Welling 2014).
The reference shares with genlab only what must be equal for the comparison: the network
classes (initialised here, from the same seed), the hyper-parameters, and the data order
(genlab's seeded batches). It calls none of genlab's training steps or losses, and it
draws fresh noise for each generator update, as the algorithm boxes do.

Each side is scored with the built-in network on the same 1,000 samples' latents: IS (10
splits), KID and FID against the 297 held-out digits (digit cases only), and the collapse statistics
(diversity: mean pairwise feature distance relative to real digits', or for a drawn translation task to
its real test images of domain A). The ceiling rows
score real training digits the same way. A table goes to stdout and, dated, to
benchmarks/RESULTS.md.

    python benchmarks/bench_quality.py                         # every case, CPU budgets (about 30 min on 2 cores)
    python benchmarks/bench_quality.py --cases demo-wgan,vae-demo --no-append
    python benchmarks/bench_quality.py --device cuda --steps 10000 --image-size 32   # the spec's table, GPU budgets
"""

from __future__ import annotations

import argparse
import datetime
import math
import platform
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.config import build_config, replace
from genlab.data.builtin import builtin_digits
from genlab.data.loader import EpochBatches, split_holdout
from genlab.data.sources import load_images
from genlab.data.unpaired import UnpairedImages, open_domains
from genlab.demo import DEMO_CYCLEGAN, DEMO_CYCLEGAN_EPOCHS, DEMO_VAE, DEMO_VAE_EPOCHS, _cyclegan_jobs, demo_dcgan_config
from genlab.metrics.diversity import collapse_check
from genlab.reporting.diagnostics import MIN_DIVERSITY
from genlab.metrics.feature_extractors import extract, make_extractor
from genlab.metrics.fid import feature_statistics, fid_from_stats
from genlab.metrics.inception_score import inception_score_from_logits
from genlab.metrics.kid import kernel_inception_distance
from genlab.models.cyclegan import PatchDiscriminator, ResnetGenerator
from genlab.models.dcgan import DCGANDiscriminator, DCGANGenerator
from genlab.models.vae import ConvVAE
from genlab.trained import load_model
from genlab.training.run import train
from genlab.run_dir import History

RESULTS = Path(__file__).with_name("RESULTS.md")
SAMPLE_SEED = 12345  # the latents both sides are scored on
N_SAMPLES = 1000
TIE = 0.10  # IS ratios within 10% of 1 are ties


# ---------------------------------------------------------------- reference loops (no genlab step or loss code)


def reference_init_(module: nn.Module, scheme: str) -> nn.Module:
    """DCGAN's init (Radford et al. 2016): conv weights N(0, 0.02), norm weights N(1, 0.02), biases 0."""
    if scheme == "normal":
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)) and m.weight is not None:
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
    return module


def as_model_range(batch: Tensor, device: str) -> Tensor:
    return batch.to(device).float() / 127.5 - 1


def reference_dcgan(cfg, epochs: int) -> Callable[[Tensor], Tensor]:
    """The algorithm boxes: n_critic critic updates (clip after each for WGAN; penalty for WGAN-GP), then one
    generator update on fresh noise. The critic steps on every batch, the generator on every n_critic-th."""
    device = cfg.run.device
    torch.manual_seed(cfg.run.seed)
    gen = reference_init_(
        DCGANGenerator(z_dim=cfg.z_dim, image_size=cfg.image_size, width=cfg.width, last_norm=cfg.gen_last_norm,
                       last_bias=cfg.gen_last_bias, grey=cfg.grey), cfg.init,
    ).to(device)
    disc = reference_init_(
        DCGANDiscriminator(image_size=cfg.image_size, width=cfg.width, norm=cfg.critic_norm, last_bias=cfg.disc_last_bias),
        cfg.init,
    ).to(device)
    if cfg.optimizer == "adam":
        opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    else:
        opt_g, opt_d = torch.optim.RMSprop(gen.parameters(), lr=cfg.lr), torch.optim.RMSprop(disc.parameters(), lr=cfg.lr)
    noise = torch.Generator(device).manual_seed(cfg.run.seed + 1)
    images = load_images("builtin", image_size=cfg.image_size, data_root=cfg.input.data_root, limit=cfg.input.limit)
    batches = EpochBatches(images, cfg.batch_size, seed=cfg.run.seed)
    step = 0
    for epoch in range(1, epochs + 1):
        for batch in batches.epoch(epoch):
            step += 1
            x = as_model_range(batch, device)
            z = torch.randn(x.shape[0], cfg.z_dim, 1, 1, device=device, generator=noise)
            with torch.no_grad():
                fake = gen(z)
            real_score, fake_score = disc(x), disc(fake)
            if cfg.loss == "gan":  # ascend log D(x) + log(1 - D(G(z))), D = sigmoid(logit)
                d_loss = F.softplus(-real_score).mean() + F.softplus(fake_score).mean()
            elif cfg.loss == "lsgan":  # 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]
                d_loss = 0.5 * (real_score - 1).pow(2).mean() + 0.5 * fake_score.pow(2).mean()
            else:  # the critic ascends E[D(x)] - E[D(G(z))]
                d_loss = fake_score.mean() - real_score.mean()
            if cfg.loss == "wgan-gp":
                eps = torch.rand(x.shape[0], 1, 1, 1, device=device, generator=noise)
                x_hat = (eps * x + (1 - eps) * fake).requires_grad_(True)
                (grad,) = torch.autograd.grad(disc(x_hat).sum(), x_hat, create_graph=True)
                d_loss = d_loss + cfg.gp_weight * (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            if cfg.loss == "wgan":
                with torch.no_grad():
                    for p in disc.parameters():
                        p.clamp_(-cfg.clip_value, cfg.clip_value)
            if step % cfg.n_critic:
                continue
            z = torch.randn(x.shape[0], cfg.z_dim, 1, 1, device=device, generator=noise)
            score = disc(gen(z))
            if cfg.loss == "gan":  # non-saturating: ascend log D(G(z))
                g_loss = F.softplus(-score).mean()
            elif cfg.loss == "lsgan":
                g_loss = 0.5 * (score - 1).pow(2).mean()
            else:
                g_loss = -score.mean()
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
    gen.eval()
    return lambda z: gen(z.to(device))


def reference_vae(cfg, epochs: int) -> Callable[[Tensor], Tensor]:
    """Kingma & Welling 2014: one reparameterised sample, Bernoulli likelihood on [0, 1] pixels, analytic KL."""
    device = cfg.run.device
    torch.manual_seed(cfg.run.seed)
    vae = ConvVAE(image_size=cfg.image_size, latent_dim=cfg.latent_dim, width=cfg.width).to(device)
    opt = torch.optim.Adam(vae.parameters(), lr=cfg.lr)
    images = load_images(cfg.input.data, image_size=cfg.image_size, data_root=cfg.input.data_root, limit=cfg.input.limit)
    train_images, _ = split_holdout(images, cfg.holdout, seed=cfg.run.seed)  # the run's own data (the demo: cartoon faces)
    noise = torch.Generator(device).manual_seed(cfg.run.seed + 1)
    batches = EpochBatches(train_images, cfg.batch_size, seed=cfg.run.seed)
    for epoch in range(1, epochs + 1):
        for batch in batches.epoch(epoch):
            x01 = batch.to(device).float() / 255
            mu, logvar = vae.encode(x01 * 2 - 1)
            z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, device=device, generator=noise)
            logits = vae.decode(z)
            nll = F.binary_cross_entropy_with_logits(logits, x01, reduction="sum") / x01.shape[0]
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum() / x01.shape[0]
            opt.zero_grad()
            (nll + kl).backward()
            opt.step()
    vae.eval()
    return lambda z: torch.sigmoid(vae.decode(z.view(z.shape[0], -1).to(device))) * 2 - 1


def reference_cyclegan(cfg, epochs: int) -> Callable[[Tensor], Tensor]:
    """Zhu et al. 2017 as their code trains it: both generators on adversarial + cycle + identity terms, then each
    discriminator on real images and a 50%-swapped history of generated ones; constant rate, then linear decay."""
    device = cfg.run.device
    torch.manual_seed(cfg.run.seed)
    gen_a2b, gen_b2a = (reference_init_(ResnetGenerator(width=cfg.width, n_blocks=cfg.n_blocks), cfg.init).to(device) for _ in "ab")
    disc_a, disc_b = (reference_init_(PatchDiscriminator(width=cfg.width, n_layers=cfg.disc_layers), cfg.init).to(device) for _ in "ab")
    opt_g = torch.optim.Adam([*gen_a2b.parameters(), *gen_b2a.parameters()], lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam([*disc_a.parameters(), *disc_b.parameters()], lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    domains = case_domains(cfg)
    first = lambda d: torch.utils.data.Subset(d, range(min(cfg.input.limit, len(d)))) if cfg.input.limit else d  # noqa: E731
    pairs = UnpairedImages(first(domains.train_a), first(domains.train_b), seed=cfg.run.seed, preprocess=cfg.preprocess,
                           load_size=cfg.load_size, crop_size=cfg.image_size, flip=cfg.flip)
    batches = EpochBatches(pairs, cfg.batch_size, seed=cfg.run.seed)
    pool_rng = torch.Generator().manual_seed(cfg.run.seed + 99)
    history = {"a": [], "b": []}

    def from_history(name: str, images: Tensor) -> Tensor:
        kept, out = history[name], []
        for image in images.detach():
            if len(kept) < cfg.pool_size:
                kept.append(image)
                out.append(image)
            elif cfg.pool_size and torch.rand((), generator=pool_rng) < 0.5:
                i = int(torch.randint(cfg.pool_size, (), generator=pool_rng))
                out.append(kept[i])
                kept[i] = image
            else:
                out.append(image)
        return torch.stack(out)

    def adversarial(score: Tensor, real: bool) -> Tensor:
        target = 1.0 if real else 0.0
        if cfg.gan_loss == "lsgan":
            return (score - target).pow(2).mean()
        return F.binary_cross_entropy_with_logits(score, torch.full_like(score, target))

    constant = epochs - cfg.decay_epochs
    for epoch in range(1, epochs + 1):
        factor = 1.0 - max(0, epoch - constant) / (cfg.decay_epochs + 1) if cfg.decay_epochs else 1.0
        for opt in (opt_g, opt_d):
            for group in opt.param_groups:
                group["lr"] = cfg.lr * factor
        for batch_a, batch_b in batches.epoch(epoch):
            a, b = as_model_range(batch_a, device), as_model_range(batch_b, device)
            fake_b, fake_a = gen_a2b(a), gen_b2a(b)
            lam = cfg.lambda_cycle
            g_loss = (
                adversarial(disc_b(fake_b), True) + adversarial(disc_a(fake_a), True)
                + lam * ((gen_b2a(fake_b) - a).abs().mean() + (gen_a2b(fake_a) - b).abs().mean())
                + cfg.lambda_identity * lam * ((gen_a2b(b) - b).abs().mean() + (gen_b2a(a) - a).abs().mean())
            )
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            opt_d.zero_grad()  # the generator update left gradients in the discriminators
            half = 0.5 if cfg.halve_d_loss else 1.0
            d_loss = half * (adversarial(disc_a(a), True) + adversarial(disc_a(from_history("a", fake_a)), False))
            d_loss = d_loss + half * (adversarial(disc_b(b), True) + adversarial(disc_b(from_history("b", fake_b)), False))
            d_loss.backward()
            opt_d.step()
    gen_b2a.eval()
    return lambda x: gen_b2a(x.to(device))


# ---------------------------------------------------------------- cases, scoring, table


@dataclass
class Case:
    name: str
    family: str
    cfg: object
    epochs: int


BUILTIN_TRAIN = 1500


def make_cases(args) -> list[Case]:
    cases = []
    common = dict(data="builtin", device=args.device, checkpoint_every=10_000, image_size=args.image_size, seed=args.seed)
    for preset in ("assignment", "paper"):
        for loss in ("gan", "lsgan", "wgan", "wgan-gp"):
            cfg = build_config("dcgan", preset=preset, overrides={**common, "loss": loss})
            epochs = max(1, math.ceil(args.steps / (BUILTIN_TRAIN // cfg.batch_size)))
            cfg = replace(cfg, epochs=epochs)
            cases.append(Case(f"dcgan-{loss}-{preset}", "dcgan", cfg, epochs))
    for loss in ("gan", "lsgan", "wgan", "wgan-gp"):
        cfg = replace(demo_dcgan_config(loss, device=args.device), seed=args.seed)
        cases.append(Case(f"demo-{loss}", "dcgan", cfg, cfg.run.epochs))
    epochs = DEMO_CYCLEGAN_EPOCHS
    cfg = build_config("cyclegan", preset="smoke", overrides={
        **DEMO_CYCLEGAN, "epochs": epochs, "decay_epochs": max(1, epochs // 2), "device": args.device, "seed": args.seed,
    })
    cases.append(Case("cyclegan-demo", "cyclegan", cfg, epochs))
    for job in _cyclegan_jobs(Path("unused"), None, args.device, full=False):  # the demo's own tasks and settings
        cases.append(Case(f"demo-{job.cfg.input.data}", "cyclegan", replace(job.cfg, seed=args.seed), job.cfg.run.epochs))
    cfg = build_config("vae", preset="smoke", overrides={**DEMO_VAE, "epochs": DEMO_VAE_EPOCHS, "device": args.device, "seed": args.seed})
    cases.append(Case("vae-demo", "vae", cfg, DEMO_VAE_EPOCHS))
    if args.cases:
        wanted = set(args.cases.split(","))
        unknown = wanted - {c.name for c in cases}
        if unknown:
            raise SystemExit(f"unknown case(s) {sorted(unknown)}; choose from {[c.name for c in cases]}")
        cases = [c for c in cases if c.name in wanted]
    return cases


REFERENCES = {"dcgan": reference_dcgan, "vae": reference_vae, "cyclegan": reference_cyclegan}


class Scorer:
    """The built-in network's scores of images against the held-out digits."""

    def __init__(self, device: str) -> None:
        self.extractor = make_extractor("builtin", device=device)
        self.held_out = self.features(builtin_digits("test").images)

    def features(self, uint8: Tensor):
        return extract(self.extractor, (uint8[i : i + 250] for i in range(0, len(uint8), 250)), total=len(uint8), desc="scoring")

    def __call__(self, images: Tensor, real=None) -> dict[str, float]:
        """images: float in [-1, 1] or uint8; ``real``: the features the diversity is relative to (default: the
        held-out digits')."""
        if images.dtype != torch.uint8:
            images = images.detach().float().cpu().add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)
        ours = self.features(images)
        is_mean, _ = inception_score_from_logits(ours.logits, splits=10)
        size = min(len(images), len(self.held_out.pool))
        kid, _ = kernel_inception_distance(ours.pool, self.held_out.pool, subsets=100, subset_size=size)
        fid = fid_from_stats(feature_statistics(ours.pool), feature_statistics(self.held_out.pool))
        return {"is": is_mean, "kid": kid, "fid": fid, "diversity": collapse_check(ours.pool, (real or self.held_out).pool).diversity}


def latents(case: Case) -> Tensor:
    noise = torch.Generator().manual_seed(SAMPLE_SEED)
    if case.family == "dcgan":
        return torch.randn(N_SAMPLES, case.cfg.z_dim, 1, 1, generator=noise)
    return torch.randn(N_SAMPLES, case.cfg.latent_dim, generator=noise)


def case_domains(cfg):
    """The case's own unpaired data (the built-in digit renderings, or a drawn pair at the case's size)."""
    return open_domains(cfg.input.data, domain_a="", domain_b="", test_fraction=cfg.test_fraction, seed=cfg.run.seed,
                        data_root=cfg.input.data_root, size=cfg.image_size, limit=cfg.input.limit)


def real_targets(case: Case) -> Tensor | None:
    """A translation case on other images than the digits: the real test images of domain A (uint8)."""
    cfg = case.cfg
    if case.family != "cyclegan" or cfg.input.data == "builtin":
        return None
    test_a = case_domains(cfg).test_a
    return torch.stack([test_a[i] for i in range(len(test_a))])


def cyclegan_inputs(case: Case) -> Tensor:
    """The test set of domain B, to be translated to A (the assignment's IS protocol)."""
    cfg = case.cfg
    domains = case_domains(cfg)
    test_b = torch.stack([domains.test_b[i] for i in range(len(domains.test_b))])
    return as_model_range(F.interpolate(test_b.float(), size=cfg.image_size, mode="bilinear", antialias=True).round().clamp(0, 255), "cpu")


@torch.no_grad()
def generate(case: Case, model: Callable[[Tensor], Tensor]) -> Tensor:
    inputs = cyclegan_inputs(case) if case.family == "cyclegan" else latents(case)
    return torch.cat([model(inputs[i : i + 250]).cpu() for i in range(0, len(inputs), 250)])


def run_genlab(case: Case, folder: Path) -> tuple[Callable[[Tensor], Tensor], int]:
    """(the trained generator, the number of training steps)."""
    run = train(case.cfg, folder / case.name, quiet=True)
    steps = int(History.load(run.history_path, up_to_step=10**12).rows[-1]["step"])
    model = load_model(run.root, device=case.cfg.run.device).model
    if case.family == "cyclegan":
        return (lambda x: model.translate(x, "b2a")), steps
    return model.sample, steps


def verdict(ours: dict[str, float], theirs: dict[str, float]) -> str:
    """On the IS ratio; two collapsed runs (diversity < 0.5) are not ranked by their IS."""
    if ours["diversity"] < MIN_DIVERSITY and theirs["diversity"] < MIN_DIVERSITY:
        return "both collapsed"
    ratio = ours["is"] / theirs["is"]
    return "tie" if abs(ratio - 1) <= TIE else ("win" if ratio > 1 else "loses")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=1000, help="training steps (batches) of each preset case (default 1000)")
    parser.add_argument("--image-size", type=int, default=16, help="the preset cases' image size (default 16; 32: the spec's table)")
    parser.add_argument("--cases", help="comma-separated case names (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="the run seed of every case (default 0): repeat with others to see the spread")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="genlab")

    scorer = Scorer(args.device)
    held_out = builtin_digits("test").images
    header = ("case", "steps", "IS genlab", "IS ref", "ratio", "KID genlab", "KID ref", "FID genlab", "FID ref",
              "diversity g/r", "min g/r", "verdict")
    s = scorer(held_out)
    rows = [("real held-out digits (IS ceiling)", "-", f"{s['is']:.2f}", "", "", f"{s['kid']:.0f}", "", f"{s['fid']:.1f}", "",
             f"{s['diversity']:.2f}", "", "")]
    for size in sorted({16, 32, args.image_size}):  # the KID/FID floor at each model size: real training digits
        s = scorer(builtin_digits("train", size=size).images[:N_SAMPLES])
        rows.append((f"real training digits at {size}x{size}", "-", f"{s['is']:.2f}", "", "", f"{s['kid']:.0f}", "",
                     f"{s['fid']:.1f}", "", f"{s['diversity']:.2f}", "", ""))
    print(" | ".join(header), flush=True)
    for row in rows:
        print(" | ".join(row), flush=True)
    folder = Path(tempfile.mkdtemp(prefix="genlab-quality-"))
    try:
        for case in make_cases(args):
            started = time.perf_counter()
            targets = real_targets(case)
            real = scorer.features(targets) if targets is not None else None
            model, steps = run_genlab(case, folder)
            ours = scorer(generate(case, model), real)
            genlab_min = (time.perf_counter() - started) / 60
            started = time.perf_counter()
            theirs = scorer(generate(case, REFERENCES[case.family](case.cfg, case.epochs)), real)
            ref_min = (time.perf_counter() - started) / 60
            ratio = ours["is"] / theirs["is"]
            digits = case.cfg.input.data == "builtin"  # KID and FID are against the held-out digits
            row = (
                case.name, str(steps), f"{ours['is']:.2f}", f"{theirs['is']:.2f}", f"{ratio:.2f}",
                *((f"{ours['kid']:.0f}", f"{theirs['kid']:.0f}", f"{ours['fid']:.1f}", f"{theirs['fid']:.1f}") if digits else ("-",) * 4),
                f"{ours['diversity']:.2f}/{theirs['diversity']:.2f}", f"{genlab_min:.1f}/{ref_min:.1f}", verdict(ours, theirs),
            )
            rows.append(row)
            print(" | ".join(row), flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not args.no_append:
        append_results(args, header, rows)


def append_results(args, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    cpu = f"{torch.get_num_threads()} threads" if args.device == "cpu" else torch.cuda.get_device_name()
    lines = [
        "",
        f"## {datetime.date.today().isoformat()}, quality on the built-in digits ({args.device}: {cpu}, {platform.machine()}, torch {torch.__version__})",
        "",
        f"`python benchmarks/bench_quality.py --steps {args.steps} --image-size {args.image_size} --seed {args.seed}"
        + (f" --cases {args.cases}" if args.cases else "") + "`: built-in network, 1,000 samples, IS over 10 splits, "
        "KID and FID against the 297 held-out digits for the digit cases (KID in the built-in network's unscaled feature "
        "units; - for a drawn translation task, whose diversity is relative to its real test images of A); ratio = "
        "genlab IS / reference IS, a tie within 10%; minutes include sampling and scoring.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]
    with RESULTS.open("a") as f:
        f.write("\n".join(lines))
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
