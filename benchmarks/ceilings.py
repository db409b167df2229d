"""The real-data ceiling of every built-in set under the built-in network: what a perfect model would score.

For each built-in scoring dataset (the digits and the drawn sets, training and test splits) it prints the
Inception Score (10 splits) of the real images and, for each test split, FID and KID against its own training
split (the floor a model trained on that set can reach). A table goes to stdout and, dated, to benchmarks/RESULTS.md.

    python benchmarks/ceilings.py [--no-append]
"""

from __future__ import annotations

import argparse
import datetime
import platform
import tempfile
from pathlib import Path

import torch

from genlab.data.builtin import DRAWN_SETS
from genlab.scoring import EVAL_DRAWN_SIZE, Protocol, evaluate

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-append", action="store_true", help="print only; do not add the table to RESULTS.md")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as data_root:
        for name in ("builtin", *DRAWN_SETS):
            test = "builtin-test" if name == "builtin" else f"{name}-test"
            for source in (name, test):
                n = 10_000 if source == name else 1_000
                protocol = Protocol(network="builtin", n=n, splits=10, reference=name if source == test else None, kid_subsets=50)
                metrics = ("is", "fid", "kid") if source == test else ("is",)
                result = evaluate(source, protocol, metrics=metrics, data_root=data_root)
                m = result.metrics
                rows.append(
                    f"| `{source}` | {result.protocol['n']:,} | {m['is_mean']:.2f} ± {m['is_std']:.2f} | "
                    + (f"{m['fid']:.2f} | {m['kid_mean']:.4f} |" if "fid" in m else "| |")
                )
                print(rows[-1], flush=True)
    table = [
        f"## {datetime.date.today()}, real-data ceilings of the built-in sets (cpu, torch {torch.__version__}, {platform.machine()})",
        "",
        f"`python benchmarks/ceilings.py`: built-in network (28 classes), IS over 10 splits; FID/KID of each test split "
        f"against its training split (KID in the network's unscaled feature units). Drawn sets at {EVAL_DRAWN_SIZE} px.",
        "",
        "| images | N | IS | FID vs train | KID vs train |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]
    print("\n".join(table))
    if not args.no_append:
        with RESULTS.open("a") as f:
            f.write("\n" + "\n".join(table))


if __name__ == "__main__":
    main()
