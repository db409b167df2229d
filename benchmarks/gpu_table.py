"""The GPU table of benchmarks/RESULTS.md from the logs of gpu_suite.sh (one NAME.out/.err/.rc/.seconds per row).

    python benchmarks/gpu_table.py --logs DIR --data cifar10|builtin [--device-name NAME]
"""

from __future__ import annotations

import argparse
import datetime
import re
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--logs", required=True)
parser.add_argument("--data", required=True)
parser.add_argument("--epochs", type=int, default=200, help="the epochs the training rows ran")
parser.add_argument("--device-name", help="default: the first CUDA device's name")
parser.add_argument("--results", default=str(Path(__file__).with_name("RESULTS.md")))
args = parser.parse_args()
logs, data = Path(args.logs), args.data


def result(name: str, *, lines: int = 1) -> str:
    rc = int((logs / f"{name}.rc").read_text())
    out = [l for l in (logs / f"{name}.out").read_text().splitlines() if l.strip()]
    seconds = float((logs / f"{name}.seconds").read_text())
    if rc:
        err = [l for l in (logs / f"{name}.err").read_text().splitlines() if l.strip()]
        return f"failed (exit {rc}): {(err or out or ['no output'])[-1][:200]}"
    return " / ".join(out[-lines:]).replace("|", "\\|") + f" ({seconds / 60:.1f} min)"


def minutes(name: str) -> str:
    rc = int((logs / f"{name}.rc").read_text())
    if rc:
        return result(name)
    return f"{float((logs / f'{name}.seconds').read_text()) / 60:.1f} min" + ("" if data == "cifar10" else f" (built-in digits at 32x32, {args.epochs:,} epochs = the steps of 200 CIFAR-10 epochs: CIFAR-10 not in the cache)")


if args.device_name:
    device, version = args.device_name, "as installed"
else:
    import torch

    device, version = torch.cuda.get_device_name(0), torch.__version__
rows = [
    ("`gpu` tests", "`pytest -m gpu`", "pass", result("gpu_tests")),
    ("DCGAN step, genlab vs eager reference", "`python benchmarks/bench_dcgan.py --device cuda`", ">= 0.95", result("dcgan_step", lines=4)),
    ("DCGAN `assignment` preset, 200 epochs", f"`genlab train dcgan --preset assignment --data {data} --epochs {args.epochs} --device cuda`", "<= 5 min", minutes("dcgan_200")),
    ("4 losses x 3 seeds, 200 epochs, one sweep", f"`genlab train dcgan --preset assignment --data {data} --epochs {args.epochs} --loss gan,lsgan,wgan,wgan-gp --seeds 0,1,2`", "<= 15 min", minutes("homework")),
    ("DCGAN step as a CUDA graph vs eager (decides the `cuda_graphs` default)", "`python benchmarks/bench_graphs.py`", "ratio > 1", result("graphs", lines=6)),
    ("sweep throughput, K stacked vs K sequential", "`python benchmarks/bench_sweep.py --device cuda --homework`", "ratio > 1", result("sweep", lines=4)),
    ("CycleGAN 256x256, batch 1", "`python benchmarks/bench_cyclegan.py --device cuda --sizes 256`", "<= 20 ms/iteration", result("cyclegan")),
    ("IS + FID on 50,000 images", "`python benchmarks/bench_metrics.py --device cuda --n 50000 --batch-size 500`", "<= 20 s", result("metrics")),
    ("precision/recall, 50,000 x 50,000 features, vs torch-fidelity's blocked prc", "`python benchmarks/bench_prdc.py --device cuda --n 50000 --part`", "ratio >= 1", result("prdc", lines=3)),
]
table = [
    f"Measured {datetime.date.today().isoformat()} on {device} (torch {version}) by `bash benchmarks/gpu_suite.sh`.",
    "",
    "| target | command | goal | result |",
    "|---|---|---|---|",
    *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
]
results = Path(args.results)
text = results.read_text()
block = "<!-- gpu-suite:start -->\n" + "\n".join(table) + "\n<!-- gpu-suite:end -->"
text = re.sub(r"<!-- gpu-suite:start -->.*?<!-- gpu-suite:end -->", lambda m: block, text, flags=re.S)
results.write_text(text)
print("\n".join(table))
