#!/usr/bin/env bash
# Every GPU row of benchmarks/RESULTS.md in one command, on the first CUDA device; rewrites that table
# (between the gpu-suite markers) with the date and the device, and prints it.
#
#     bash benchmarks/gpu_suite.sh            # from the repository root, with the project's .venv installed
#
# The 200-epoch DCGAN and the homework sweep train on CIFAR-10 when it is in the data cache
# ($GENLAB_DATA or ~/.cache/genlab/data; `genlab download cifar10` fetches it); without it they train
# as many steps on the built-in digits at 32x32 (6,667 epochs of 1,500 images) and say so. IS + FID needs the TF-Inception weights
# in the cache (`genlab download weights tf-inception`). A row whose command fails says so in the table.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
GENLAB=${GENLAB:-.venv/bin/genlab}
LOGS=$(mktemp -d)
export GENLAB_BENCH_LOGS=$LOGS

$PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: the GPU suite needs one')" || exit 1
DATA=$($PY -c "from genlab.config import resolve_data_root; print(resolve_data_root('auto'))")
if [ -d "$DATA/cifar10/cifar-10-batches-py" ] || [ -d "$DATA/cifar-10-batches-py" ]; then
    CIFAR=cifar10; EPOCHS=200
else  # as many steps as 200 epochs of CIFAR-10's 50,000 images, on the 1,500 built-in digits
    CIFAR=builtin; EPOCHS=$($PY -c "from genlab.data.sources import load_images; print(-(-200 * 50000 // len(load_images('builtin', image_size=32, data_root='.'))))")
fi

row() {  # row NAME COMMAND...: run, keep its output and wall time
    local name=$1; shift
    echo "== $name: $*" >&2
    local start=$(date +%s.%N)
    "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err"
    echo $? >"$LOGS/$name.rc"
    $PY -c "print($(date +%s.%N) - $start)" >"$LOGS/$name.seconds"
    echo "$*" >"$LOGS/$name.cmd"
    tail -n 3 "$LOGS/$name.out" >&2
}

row gpu_tests $PY -m pytest -m gpu -n 0 -q -p no:warnings tests/training/test_gpu.py
row dcgan_step bash -c "cd benchmarks && ../$PY bench_dcgan.py --device cuda --iters 50 --repeats 3"
row dcgan_200 $GENLAB train dcgan --preset assignment --data $CIFAR --epochs $EPOCHS --device cuda --out "$LOGS/runs/dcgan-200"
row homework $GENLAB train dcgan --preset assignment --data $CIFAR --epochs $EPOCHS --device cuda \
    --loss gan,lsgan,wgan,wgan-gp --seeds 0,1,2 --out "$LOGS/runs/homework"
row sweep bash -c "cd benchmarks && ../$PY bench_sweep.py --device cuda --ks 1,4,12 --homework --iters 20 --repeats 3"
row graphs bash -c "cd benchmarks && ../$PY bench_graphs.py --iters 100 --repeats 3"
row cyclegan bash -c "cd benchmarks && ../$PY bench_cyclegan.py --device cuda --sizes 256 --iters 20 --repeats 3"
row metrics bash -c "cd benchmarks && ../$PY bench_metrics.py --device cuda --n 50000 --batch-size 500"
row prdc bash -c "cd benchmarks && ../$PY bench_prdc.py --device cuda --n 50000 --part"

$PY benchmarks/gpu_table.py --logs "$LOGS" --data "$CIFAR" --epochs "$EPOCHS"
