"""The ``genlab`` command: parse, build a config, call one library function.

    genlab train dcgan --loss wgan-gp --preset paper --data cifar10 --out runs/wgan-gp
    genlab train --resume runs/wgan-gp [--epochs 300]
    genlab train vae --data faces/ --out runs/vae
    genlab train cyclegan --data summer2winter_yosemite --out runs/s2w
    genlab translate runs/s2w --direction b2a --input winter/ --output summer/
    genlab sample runs/wgan-gp -n 64 --out grid.png
    genlab reconstruct runs/vae --input faces/ --output pairs.png
    genlab describe vae
    genlab runs runs/ --html
    genlab report runs/wgan-gp --html
    genlab demo
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genlab import __version__
from genlab.config import choices, field_help, flat_fields, flatten, is_auto_switch
from genlab.family import FAMILIES
from genlab.errors import GenlabError, os_error_message

def _add_config_flags(parser: argparse.ArgumentParser, config_cls: type) -> None:
    """One flag per setting (flat names, as in config.json), with its help, default and choices; only flags
    actually given become overrides."""
    group = parser.add_argument_group("settings (each overrides the preset and the config file)")
    defaults, helps = flatten(config_cls()), field_help(config_cls)
    for name, (_, kind) in flat_fields(config_cls).items():
        flag = "--" + name.replace("_", "-")
        allowed = ("auto", "on", "off") if is_auto_switch(kind) else choices(kind)
        default = {None: "auto", True: "on", False: "off"}[defaults[name]] if is_auto_switch(kind) else defaults[name]
        help_text = f"{helps[name]} (" + (f"one of {', '.join(allowed)}; " if allowed else "") + f"default: {default})"
        if kind is bool:
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=help_text)
        else:
            kind = kind if kind in (int, float) else str
            metavar = "NAME" if allowed else {int: "N", float: "X", str: "TEXT"}[kind]
            group.add_argument(flag, dest=name, type=kind, default=argparse.SUPPRESS, metavar=metavar, help=help_text)



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genlab", description="Train, sample and evaluate classic image generative models.")
    parser.add_argument("--version", action="version", version=f"genlab {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model (or --resume a run)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its latest checkpoint")
    train.add_argument("--epochs", dest="resume_epochs", type=int, metavar="N", help="train up to this many epochs (with --resume default: the run's)")
    train.add_argument("--device", dest="resume_device", metavar="DEVICE", help="the device to train on (with --resume default: auto)")
    train.add_argument("--lr", dest="resume_lr", type=float, metavar="X", help="the learning rate (with --resume default: the run's)")
    families = train.add_subparsers(dest="family", metavar="FAMILY")
    for name, record in FAMILIES.items():
        presets = "\n".join(
            textwrap.fill(text, width=100, initial_indent=f"  {preset:<11} ", subsequent_indent=" " * 14)
            for preset, text in record.preset_help.items()
        )
        family = families.add_parser(
            name, help=f"train a {record.help}", usage=f"genlab train {name} --out RUN_DIR [--preset NAME] [--config FILE.toml] [settings]",
            description=f"Train a {record.help}. Precedence: defaults < preset < config file < flags;\nthe defaults shown are the family's own, before a preset changes them.\n\npresets:\n{presets}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        family.add_argument("--out", metavar="RUN_DIR", help="the new run folder (required)")
        family.add_argument("--config", metavar="FILE.toml", help="settings from a TOML file (flags win)")
        family.add_argument("--verbose", action="store_true", help="also print the full config and the architecture tables")
        if record.sweeps:
            family.add_argument(
                "--seeds", metavar="S,S,...", help="a sweep: every --loss (a,b,...) x every seed in one process, into OUT/LOSS-sSEED",
            )
        _add_config_flags(family, record.config)

    sample = commands.add_parser("sample", help="draw samples from a trained generator")
    sample.add_argument("run_dir", metavar="RUN_DIR", help="a DCGAN or VAE run folder")
    sample.add_argument("-n", type=int, default=64, help="number of images (default 64)")
    sample.add_argument("--out", required=True, help="a .png path for one grid, or a folder for N PNG files")
    sample.add_argument("--checkpoint", default="latest", help="latest, best, an epoch number, or a .pt path (default latest)")
    sample.add_argument("--seed", type=int, default=0, help="seed of the sampled latents (default 0)")
    sample.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")

    walk = commands.add_parser("interpolate", help="latent walks of a DCGAN or VAE: rows of spherical interpolations")
    walk.add_argument("run_dir", metavar="RUN_DIR", help="a DCGAN or VAE run folder")
    walk.add_argument("--out", help="a .png grid (one row per walk), or a .gif with --gif (default: RUN_DIR/interpolation.png, traversal.png or between.png)")
    walk.add_argument("--steps", type=int, default=10, help="images per walk, both ends included (default 10)")
    walk.add_argument("--rows", type=int, default=8, help="walks, each between two latents of its own (default 8)")
    walk.add_argument("--seed", type=int, default=0, help="seed of the walks' end latents (default 0)")
    walk.add_argument("--gif", action="store_true", help="an animated GIF of the walks, there and back")
    walk.add_argument("--between", nargs=2, metavar=("A.png", "B.png"), help="VAE: one walk between two encoded images")
    walk.add_argument("--traverse", action="store_true", help="VAE: one row per most-used latent dimension (by KL), set from -3 to +3")
    walk.add_argument("--checkpoint", default="latest", help="latest, best, an epoch number, or a .pt path (default latest)")
    walk.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")

    near = commands.add_parser("neighbours", help="is a DCGAN or VAE copying its data? samples beside their nearest training images")
    near.add_argument("run_dir", metavar="RUN_DIR", help="a DCGAN or VAE run folder")
    near.add_argument("--out", metavar="FILE.png", help="the grid (one row per sample: it, then its neighbours), FILE.json beside it (default: RUN_DIR/neighbours.png)")
    near.add_argument("-n", type=int, default=16, help="samples drawn with their neighbours (default 16)")
    near.add_argument("--k", type=int, default=5, help="nearest training images per sample (default 5)")
    near.add_argument("--network", help="feature space: builtin, torchvision, tf-inception, dinov2 or clip (default: the run's --eval-network)")
    near.add_argument("--pixels", action="store_true", help="measure distances between pixels instead of features")
    near.add_argument("--score-n", type=int, default=1000, help="samples whose nearest-training distances are compared (default 1000)")
    near.add_argument("--held-out", metavar="SOURCE", help="unseen real images (default: the run's held-out split or its dataset's test split)")
    near.add_argument("--seed", type=int, default=0, help="seed of the sampled latents (default 0)")
    near.add_argument("--checkpoint", default="latest", help="latest, best, an epoch number, or a .pt path (default latest)")
    near.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")

    reconstruct = commands.add_parser("reconstruct", help="VAE: (ground truth | reconstruction) pairs for a folder of images")
    reconstruct.add_argument("run_dir", metavar="RUN_DIR", help="a VAE run folder")
    reconstruct.add_argument("--input", required=True, metavar="DIR", help="a folder of images")
    reconstruct.add_argument("--output", required=True, metavar="FILE.png", help="the grid of pairs to write")
    reconstruct.add_argument("-n", type=int, default=64, help="at most this many images (default 64)")
    reconstruct.add_argument("--checkpoint", default="latest", help="latest, best, an epoch number, or a .pt path (default latest)")
    reconstruct.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")

    evaluate = commands.add_parser("evaluate", help="score a run, an image folder or a dataset (IS, FID, KID)")
    evaluate.add_argument("source", metavar="SOURCE", help="a run folder, an image folder, or builtin, builtin-test, cifar10-train, cifar10-test")
    evaluate.add_argument("--metrics", default="is", help="comma-separated: is, fid, kid, precision, recall, density, coverage (default is)")
    evaluate.add_argument("--protocol", default="paper", help="paper (tf-inception, 50,000 images, 10 splits) or assignment (torchvision, 1,000, 1 split); default paper")
    evaluate.add_argument("--no-ceiling", action="store_true", help="a run: leave out the real-against-real scores of images it never saw")
    evaluate.add_argument("--network", help="tf-inception (papers), torchvision (the assignment's), builtin (offline), dinov2 (FD_DINOv2), clip; default: the protocol's")
    evaluate.add_argument("--weights", help="a local weights file for the network")
    evaluate.add_argument("--n", type=int, help="images to score (generated for a run); default: the protocol's")
    evaluate.add_argument("--splits", type=int, help="default: the protocol's")
    evaluate.add_argument("--reference", help="real images for FID/KID: a dataset name or an image folder")
    evaluate.add_argument("--reference-n", type=int, default=50_000, help="at most this many reference images (default 50,000)")
    evaluate.add_argument("--kid-subsets", type=int, default=100, help="KID: random subsets averaged (default 100)")
    evaluate.add_argument("--kid-subset-size", type=int, default=1000, help="KID: images per subset (default 1,000)")
    evaluate.add_argument("--batch-size", type=int, default=100, help="images per forward pass of the network (default 100)")
    evaluate.add_argument("--checkpoint", default="latest", help="for a run: latest, best, or an epoch (default latest)")
    evaluate.add_argument("--seed", type=int, default=0, help="for a run: the seed of the sampled latents")
    evaluate.add_argument("--direction", default="b2a", help="for a CycleGAN run: translate its test set a2b or b2a (default)")
    evaluate.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    evaluate.add_argument("--out", help="the JSON result (default: RUN_DIR/evaluation-NETWORK.json or ./evaluation-NETWORK.json)")

    report = commands.add_parser(
        "report", help="write inception_score.txt (and .json) for trained runs, or with --html each run's report page"
    )
    report.add_argument("runs", nargs="+", metavar="RUN_DIR", help="trained run folders, one line each")
    report.add_argument("--html", action="store_true", help="write RUN_DIR/report.html and report.md of each run (no scoring)")
    report.add_argument("--out", default=None, help="the text file (default inception_score.txt); with --assignment the hand-in folder")
    report.add_argument("--assignment", action="store_true", help="the assignment's hand-in layout and scoring protocol")
    report.add_argument("--protocol", default=None, help="paper or assignment (default: assignment with --assignment, else paper)")
    report.add_argument("--network", help="tf-inception, torchvision, builtin, dinov2 or clip (default: the protocol's)")
    report.add_argument("--weights", help="a local weights file for the network (default: the published weights)")
    report.add_argument("--n", type=int, help="images generated per run (default: the protocol's)")
    report.add_argument("--splits", type=int, help="IS splits (default: the protocol's)")
    report.add_argument("--real", help="a real-data row: a dataset name or image folder scored the same way")
    report.add_argument("--metrics", default="is", help="is, and with --real any of precision, recall, density, coverage on each line (default is)")
    report.add_argument("--ceiling", action="store_true", help="with those metrics: also real images each run never saw, in its JSON row")
    report.add_argument("--checkpoint", default="latest", help="the checkpoint of every run (default latest)")
    report.add_argument("--batch-size", type=int, default=100, help="images per forward pass of the network (default 100)")
    report.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")

    runs = commands.add_parser("runs", help="a table of the run folders under DIR; --html: a page comparing them")
    runs.add_argument("folder", nargs="?", default=".", metavar="DIR", help="a folder of runs (searched 4 levels down; default .)")
    runs.add_argument("--html", action="store_true", help="also write DIR/runs.html (curves overlaid, last grids side by side), .md and .json")
    runs.add_argument("--json", action="store_true", help="print the table as JSON")
    runs.add_argument("--only", metavar="GLOB[,GLOB]", help="only the runs whose folder (relative to DIR) matches, e.g. 'dcgan-*'")

    translate = commands.add_parser("translate", help="CycleGAN: translate every image of a folder")
    translate.add_argument("run_dir", metavar="RUN_DIR", help="a CycleGAN run folder")
    translate.add_argument("--direction", required=True, help="a2b or b2a")
    translate.add_argument("--input", required=True, metavar="DIR", help="a folder of images (searched recursively)")
    translate.add_argument("--output", required=True, metavar="DIR", help="where the translations go, with the same names")
    translate.add_argument("--full-resolution", action="store_true", help="translate at each image's own size (sides multiple of 4)")
    translate.add_argument("--checkpoint", default="latest", help="latest, best, an epoch number, or a .pt path (default latest)")
    translate.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")

    download = commands.add_parser("download", help="fetch a dataset or evaluation weights ahead of time")
    download.add_argument(
        "what", nargs="+", metavar="WHAT",
        help="cifar10, a CycleGAN dataset (e.g. summer2winter_yosemite), a drawn pair written as PNG folders (seasons, "
        "toonfaces2anime), or: weights NAME (torchvision, tf-inception)",
    )
    download.add_argument("--size", type=int, default=256, help="a drawn pair's image size in pixels (default 256)")
    download.add_argument("--data-root", default="auto", help="dataset cache folder (default: $GENLAB_DATA or ~/.cache/genlab/data)")

    describe = commands.add_parser("describe", help="print a model's architecture as a table")
    describe.add_argument("target", metavar="RUN_DIR|MODEL", help=f"a run folder or a family ({', '.join(FAMILIES)})")

    demo = commands.add_parser("demo", help="train every family briefly on the built-in data and write one page")
    demo.add_argument("--out", default="genlab-demo", help="output folder (default genlab-demo)")
    demo.add_argument("--epochs", type=int, default=None, help="epochs per run (default: the demo's own)")
    demo.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    demo.add_argument("--full", action="store_true", help="the longer tour: CycleGANs of 2,500 steps per task and the VAE on all 10,000 faces at 64x64")
    return parser


def _overrides(args: argparse.Namespace, config_cls: type) -> dict[str, Any]:
    names = set(flat_fields(config_cls))
    return {k: v for k, v in vars(args).items() if k in names}


def _train(args: argparse.Namespace) -> None:
    from genlab.config import build_config, replace, resolve, resolve_device, sweep_configs

    if args.resume and args.family:
        _check_resume_family(args)
    if args.family and not args.resume and not args.out:
        raise GenlabError(f"give the new run's folder: genlab train {args.family} --out RUN_DIR ...")
    if args.family and not args.resume:
        _merge_leading_flags(args)
    losses, seeds = _sweep(args)
    if args.family and not args.resume:  # every setting checked before torch is imported: usage errors answer at once
        overrides = _overrides(args, FAMILIES[args.family].config)
        overrides.update({"loss": losses[0]} if losses else {})
        cfg = build_config(args.family, config_file=args.config, overrides=overrides, resolved=False)
        if losses:  # each run of a sweep is built exactly as a lone run with its loss and seed
            members = sweep_configs(
                lambda extra: build_config(args.family, config_file=args.config, overrides={**overrides, **extra}, resolved=False),
                losses, seeds or [cfg.run.seed],
            )
    from genlab.training.run import resume, train
    from genlab.training.runtime import init_from_environment, shutdown
    from genlab.training.sweep import is_sweep, resume_sweep, train_sweep

    if args.resume:
        given = _overrides(args, FAMILIES[args.family].config) if args.family else {}
        given.update({k: v for k, v in {"epochs": args.resume_epochs, "lr": args.resume_lr}.items() if v is not None})
        asked_device = args.resume_device or given.get("device")
        _, device = init_from_environment(resolve_device(asked_device or "auto"))
        if asked_device or device.startswith("cuda:"):
            given["device"] = device
        (resume_sweep if is_sweep(args.resume) else resume)(args.resume, given)
    elif args.family:
        cfg = resolve(cfg)
        _, device = init_from_environment(cfg.run.device)
        cfg = replace(cfg, device=device)
        if losses:
            train_sweep([replace(resolve(member), device=device) for member in members], args.out)
        else:
            train(cfg, args.out, verbose=args.verbose)
    else:
        raise GenlabError(f"name a model family to train ({', '.join(FAMILIES)}) or give --resume RUN_DIR")
    shutdown()


# The settings ``genlab train`` takes before a family name (for --resume) and their names after it.
LEADING_FLAGS = {"resume_epochs": "epochs", "resume_device": "device", "resume_lr": "lr"}


def _merge_leading_flags(args: argparse.Namespace) -> None:
    """``genlab train --epochs 300 dcgan ...`` means what ``genlab train dcgan --epochs 300 ...`` does; the same
    setting given on both sides with different values is an error, never a silent choice."""
    for leading, name in LEADING_FLAGS.items():
        value = getattr(args, leading, None)
        if value is None:
            continue
        if name in vars(args) and getattr(args, name) != value:
            raise GenlabError(
                f"--{name} is given twice ({value} before {args.family}, {getattr(args, name)} after it); give it once"
            )
        setattr(args, name, value)


def _sweep(args: argparse.Namespace) -> tuple[list[str], list[int]]:
    """``--loss a,b`` and ``--seeds 0,1,2`` of a DCGAN sweep: ([], []) for an ordinary run."""
    loss, seeds = getattr(args, "loss", None), getattr(args, "seeds", None)
    if args.resume or not args.family or not FAMILIES[args.family].sweeps or (seeds is None and (loss is None or "," not in loss)):
        return [], []
    losses = [part.strip() for part in (loss or "gan").split(",") if part.strip()]
    try:
        seed_list = [int(part) for part in (seeds or "").split(",") if part.strip()]
    except ValueError:
        raise GenlabError(f"--seeds takes whole numbers separated by commas, e.g. --seeds 0,1,2 (got {seeds!r})") from None
    if seeds is not None and not seed_list:
        raise GenlabError("--seeds names no seed; give e.g. --seeds 0,1,2")
    if "seed" in vars(args) and seed_list:
        raise GenlabError("give either --seed (one run) or --seeds (a sweep), not both")
    return losses, seed_list


def _check_resume_family(args: argparse.Namespace) -> None:
    """``train --resume RUN FAMILY [settings]``: the family (and --out, if given) must be the run's own."""
    config_path = Path(args.resume).expanduser() / "config.json"
    if config_path.is_file():
        family = json.loads(config_path.read_text()).get("family")
        if family and family != args.family:
            raise GenlabError(f"{args.resume} is a {family} run, not {args.family}; resume it with: genlab train --resume {args.resume}")
    if args.out and Path(args.out).expanduser().resolve() != Path(args.resume).expanduser().resolve():
        raise GenlabError(f"--resume continues {args.resume} in its own folder; leave out --out {args.out}")


def _sample(args: argparse.Namespace) -> None:
    from genlab.config import resolve_device
    from genlab.sampling import sample

    path = sample(args.run_dir, args.n, args.out, checkpoint=args.checkpoint, seed=args.seed, device=resolve_device(args.device))
    print(f"genlab: wrote {path}")


def _interpolate(args: argparse.Namespace) -> None:
    from genlab.config import resolve_device
    from genlab.sampling import interpolate

    path = interpolate(
        args.run_dir, args.out, steps=args.steps, rows=args.rows, seed=args.seed, gif=args.gif, between=args.between,
        traverse=args.traverse, checkpoint=args.checkpoint,
        device=resolve_device(args.device),
    )
    print(f"genlab: wrote {path}")


def _neighbours(args: argparse.Namespace) -> None:
    from genlab.config import resolve_device
    from genlab.nearest import neighbours

    found = neighbours(
        args.run_dir, args.out, network=args.network, pixels=args.pixels, n=args.n, k=args.k, score_n=args.score_n,
        seed=args.seed, held_out=args.held_out, checkpoint=args.checkpoint, device=resolve_device(args.device),
    )
    print(f"genlab: wrote {found.path} and {found.json_path} (distances in {found.space})")
    for line in found.check.describe():
        print(("genlab: " if line.startswith("warning") else "  ") + line)


def _reconstruct(args: argparse.Namespace) -> None:
    from genlab.config import resolve_device
    from genlab.sampling import reconstruct

    path = reconstruct(args.run_dir, args.input, args.output, checkpoint=args.checkpoint, device=resolve_device(args.device), limit=args.n)
    print(f"genlab: wrote {path}")


def _evaluate(args: argparse.Namespace) -> None:
    source = Path(args.source).expanduser()
    if source.is_symlink() and not source.exists():
        raise GenlabError(f"{args.source} is a symbolic link that leads nowhere (a loop or a missing target); give the real folder")
    if "/" in args.source and not source.exists():  # said before torch is imported
        raise GenlabError(f"{args.source} does not exist; give a run folder, an image folder or a dataset name")
    from genlab.config import metric_list, resolve_device
    from genlab.scoring import evaluate, protocol

    metrics = tuple(metric_list(args.metrics))
    chosen = protocol(
        args.protocol, network=args.network, weights=args.weights, n=args.n, splits=args.splits, seed=args.seed,
        checkpoint=args.checkpoint, reference=args.reference, reference_n=args.reference_n, kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size, direction=args.direction,
    )
    result = evaluate(args.source, chosen, metrics=metrics, batch_size=args.batch_size, device=resolve_device(args.device), ceiling=not args.no_ceiling)
    default = (source if (source / "config.json").is_file() else Path(".")) / f"evaluation-{chosen.network}.json"
    path = result.save(args.out or default)
    print(result.table())
    print(f"genlab: wrote {path}")


def _report(args: argparse.Namespace) -> None:
    if args.html:
        from genlab.reporting.run_report import write_run_report
        from genlab.run_dir import RunDir

        for run_dir in args.runs:
            print(f"genlab: wrote {write_run_report(RunDir.open(run_dir))}")
        return
    from genlab.config import metric_list, resolve_device
    from genlab.handin import write_assignment_handin, write_report
    from genlab.scoring import protocol

    chosen = protocol(
        args.protocol or ("assignment" if args.assignment else "paper"),
        network=args.network, weights=args.weights, n=args.n, splits=args.splits, checkpoint=args.checkpoint,
    )
    options = dict(batch_size=args.batch_size, device=resolve_device(args.device))
    if args.assignment:
        text = write_assignment_handin(args.runs, args.out or "hand-in", chosen, **options)
        print(text.read_text(), end="")
        print(f"genlab: wrote the hand-in folder {text.parent}")
    else:
        variety = tuple(m for m in metric_list(args.metrics) if m != "is")
        text, twin = write_report(args.runs, args.out or "inception_score.txt", chosen, real=args.real, variety=variety, ceiling=args.ceiling, **options)
        print(text.read_text(), end="")
        print(f"genlab: wrote {text} and {twin}")


def _runs(args: argparse.Namespace) -> None:
    from genlab.reporting.compare import format_table, summaries, table_rows, write_comparison

    folder = Path(args.folder).expanduser()
    found = summaries(folder, only=[p.strip() for p in args.only.split(",") if p.strip()] if args.only else None)
    rows = table_rows(found, folder)
    print(json.dumps(rows, indent=2) if args.json else format_table(rows))
    if args.html:
        if not found:
            raise GenlabError(
                f"no genlab run folders under {folder}" + (f" match --only {args.only}" if args.only else "")
                + "; give the folder that holds your runs' --out folders"
            )
        out = folder if folder.is_dir() and not (folder / "config.json").is_file() else folder.parent
        print(f"genlab: wrote {write_comparison(out, found, title=f'genlab runs in {folder}')}")


def _download(args: argparse.Namespace) -> None:
    from genlab.config import resolve_data_root
    from genlab.data.builtin import DRAWN_PAIRS, write_pair_folders
    from genlab.data.cifar10 import fetch_cifar10
    from genlab.data.cyclegan_datasets import CYCLEGAN_DATASETS, fetch_cyclegan_dataset
    from genlab.metrics.weights import WEIGHTS, resolve_weights, weights_sha256

    if args.what[0] == "weights" and len(args.what) == 2:
        path = resolve_weights(args.what[1]) if args.what[1] in WEIGHTS else resolve_weights(args.what[1], allow_download=False)
        print(f"genlab: {args.what[1]} weights at {path} (sha256 {weights_sha256(path)})")
    elif args.what == ["cifar10"]:
        print(f"genlab: CIFAR-10 at {fetch_cifar10(resolve_data_root(args.data_root))}")
    elif len(args.what) == 1 and args.what[0] in DRAWN_PAIRS:  # drawn here, nothing fetched
        print(f"genlab: {args.what[0]} drawn into {write_pair_folders(args.what[0], resolve_data_root(args.data_root), args.size)}")
    elif len(args.what) == 1 and args.what[0] in CYCLEGAN_DATASETS:
        print(f"genlab: {args.what[0]} at {fetch_cyclegan_dataset(args.what[0], resolve_data_root(args.data_root))}")
    else:
        raise GenlabError(
            f"unknown download {' '.join(args.what)!r}; use cifar10, a CycleGAN dataset ({', '.join(CYCLEGAN_DATASETS)}), "
            f"a drawn pair written as image folders ({', '.join(DRAWN_PAIRS)}), "
            f"or 'weights NAME' with NAME one of {sorted(WEIGHTS)}"
        )


def _translate(args: argparse.Namespace) -> None:
    from genlab.config import resolve_device
    from genlab.translation import translate_folder

    count = translate_folder(
        args.run_dir, args.direction, args.input, args.output, checkpoint=args.checkpoint,
        device=resolve_device(args.device), full_resolution=args.full_resolution,
    )
    print(f"genlab: translated {count} images into {args.output}")


def _describe(args: argparse.Namespace) -> None:
    from genlab.trained import describe

    print(describe(args.target))


def _demo(args: argparse.Namespace) -> None:
    from genlab.config import resolve_device
    from genlab.demo import run_demo

    page = run_demo(args.out, epochs=args.epochs, device=resolve_device(args.device), full=args.full)
    print(f"genlab: demo written; open {page}")


# subcommand -> the function that runs it (each parses nothing more and calls one library function)
COMMANDS = {
    "train": _train, "sample": _sample, "interpolate": _interpolate, "neighbours": _neighbours, "reconstruct": _reconstruct, "evaluate": _evaluate, "report": _report, "runs": _runs,
    "download": _download, "translate": _translate, "describe": _describe, "demo": _demo,
}


def run_command(args: argparse.Namespace) -> None:
    COMMANDS[args.command](args)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> str:
    return f"genlab: warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    warnings.formatwarning = _one_line_warning
    args = build_parser().parse_args(argv)
    try:
        run_command(args)
    except GenlabError as e:
        print(f"genlab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genlab: interrupted; checkpoints written so far are intact", file=sys.stderr)
        return 130
    except OSError as e:
        message = os_error_message(e)
        if message is None:
            return _internal_error()
        print(f"genlab: error: {message}", file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 - anything else is a bug: its traceback, and where to send it
        return _internal_error()
    return 0


def _internal_error() -> int:
    traceback.print_exc()
    print(
        f"genlab: internal error (genlab {__version__}); this is a bug: please report it with the traceback above "
        "and the command you ran",
        file=sys.stderr,
    )
    return 1
