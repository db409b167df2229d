"""Where the evaluation networks' weights come from.

Inception weights are downloaded on first use into torch hub's cache
(``$TORCH_HOME/hub/checkpoints``, the same place torchvision and torch-fidelity
use, so a file either already fetched is reused), checked against the sha256
prefix in their published file name, or taken from a local file (``--weights``).
The built-in network's weights ship inside the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from genlab.data.download import download, file_hash
from genlab.errors import GenlabError
from genlab.registry import choose


@dataclass(frozen=True)
class WeightsSpec:
    filename: str
    url: str
    sha256_prefix: str


WEIGHTS: dict[str, WeightsSpec] = {
    "torchvision": WeightsSpec(
        "inception_v3_google-0cc3c7bd.pth", "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth", "0cc3c7bd"
    ),
    "tf-inception": WeightsSpec(
        "weights-inception-2015-12-05-6726825d.pth",
        "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
        "6726825d",
    ),
}

BUILTIN_WEIGHTS = "builtin-classifier.pt"


def hub_cache() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def builtin_weights_path() -> Path:
    return Path(str(resources.files("genlab.metrics") / "weights" / BUILTIN_WEIGHTS))


def resolve_weights(network: str, path: str | Path | None = None, *, allow_download: bool = True) -> Path:
    """The weights file of ``network``: the given path, the cached file, or a fresh (verified) download."""
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise GenlabError(f"weights file {path} does not exist; give the path of the {network} weights file")
        return path
    if network == "builtin":
        return builtin_weights_path()
    spec = choose(WEIGHTS, network, "network")
    cached = hub_cache() / spec.filename
    if cached.is_file():
        return cached
    hint = f"download {spec.filename} from {spec.url} and pass --weights PATH (or put it in {hub_cache()})"
    if not allow_download:
        raise GenlabError(f"the {network} weights {spec.filename} are not in {hub_cache()}; {hint}")
    return download(spec.url, cached, sha256=spec.sha256_prefix, manual_hint=hint)


def weights_sha256(path: str | Path) -> str:
    return file_hash(path, "sha256")
