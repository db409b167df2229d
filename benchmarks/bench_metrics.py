"""IS + FID feature extraction speed: genlab against torch-fidelity on the same images, same network.

Both extract the TF-Inception logits and 2048-d pool features of the same N uint8
images (default 1,000 at 32x32) with the same weights, in the same process; the
features are checked to agree (same numerics) and images/s are printed with the
ratio genlab / torch-fidelity (goal: >= 1.3 on the CPU). Without cached weights
and no network, a randomly initialised network of the same architecture is timed
(the speed does not depend on the weight values).

    python benchmarks/bench_metrics.py [--device cpu|cuda] [--n 1000] [--batch-size 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from unittest import mock

import torch
from torch.utils.data import Dataset

from genlab.errors import GenlabError
from genlab.metrics.feature_extractors import extract, make_extractor
from genlab.metrics.weights import resolve_weights


class Images(Dataset):
    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i]


def tf_inception_weights() -> tuple[Path, str]:
    try:
        return resolve_weights("tf-inception"), "published weights"
    except GenlabError:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        with mock.patch("torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url", return_value={}), mock.patch.object(
            FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None
        ):
            net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
        path = Path(tempfile.mkdtemp()) / "tf-inception-random.pth"
        torch.save(net.state_dict(), path)
        return path, "random weights (timing only: no network to fetch the published ones)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--size", type=int, default=32)
    args = parser.parse_args()
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    from torch_fidelity.utils import get_featuresdict_from_dataset

    weights, note = tf_inception_weights()
    images = torch.randint(0, 256, (args.n, 3, args.size, args.size), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    cuda = args.device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    ours = make_extractor("tf-inception", weights, device=args.device)
    theirs = FeatureExtractorInceptionV3("inception-v3-compat", ["logits_unbiased", "2048"], feature_extractor_weights_path=str(weights))
    if cuda:
        theirs = theirs.cuda()
    ours(images[:2]), theirs(images[:2].to(args.device))  # warm-up

    sync()
    start = time.perf_counter()
    features = extract(ours, (images[i : i + args.batch_size] for i in range(0, args.n, args.batch_size)), total=args.n)
    sync()
    ours_rate = args.n / (time.perf_counter() - start)

    start = time.perf_counter()
    reference = get_featuresdict_from_dataset(Images(images), theirs, args.batch_size, cuda, False, False)
    sync()
    theirs_rate = args.n / (time.perf_counter() - start)

    torch.testing.assert_close(features.pool, reference["2048"].float(), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(features.logits, reference["logits_unbiased"].float(), rtol=1e-4, atol=1e-4)
    print(f"TF-Inception, {args.n} images {args.size}x{args.size}, batch {args.batch_size}, {note}; features agree")
    print(f"{'device':6} {'genlab img/s':>12} {'torch-fidelity img/s':>20} {'ratio':>6}")
    print(f"{args.device:6} {ours_rate:12.1f} {theirs_rate:20.1f} {ours_rate / theirs_rate:6.2f}")


if __name__ == "__main__":
    main()
