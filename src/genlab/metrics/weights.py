"""Where the evaluation networks' weights come from.

Published weights are downloaded on first use into torch hub's cache
(``$TORCH_HOME/hub/checkpoints``, the same place torchvision and torch-fidelity
use, so a file either already fetched is reused), checked against the sha256
their publishers give (DINOv2 publishes none: its size is checked and its sha256
stamped in every result), or taken from a local file (``--weights``).
The built-in network's weights ship inside the package.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from genlab.data.download import check_hash, download, file_hash
from genlab.errors import GenlabError
from genlab.metrics.torchscript import read_torchscript_tensors
from genlab.registry import choose


@dataclass(frozen=True)
class WeightsSpec:
    filename: str
    url: str
    sha256_prefix: str | None  # None: the publisher gives no checksum, and ``size`` is checked
    size: int | None = None
    torchscript: bool = False  # a TorchScript archive (read as data by genlab.metrics.torchscript)

    def matches(self, path: Path) -> bool:
        if self.size is not None and path.stat().st_size != self.size:
            return False
        return check_hash(path, sha256=self.sha256_prefix)

    @property
    def checksum(self) -> str:
        return f"sha256 {self.sha256_prefix[:8]}..." if self.sha256_prefix else f"{self.size:,} bytes"


WEIGHTS: dict[str, WeightsSpec] = {
    "torchvision": WeightsSpec(
        "inception_v3_google-0cc3c7bd.pth", "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth", "0cc3c7bd"
    ),
    "tf-inception": WeightsSpec(
        "weights-inception-2015-12-05-6726825d.pth",
        "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
        "6726825d",
    ),
    # Stein et al. 2023's recommended network for the Frechet distance: DINOv2 ViT-L/14 (a plain state dict)
    "dinov2": WeightsSpec(
        "dinov2_vitl14_pretrain.pth", "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth", None,
        size=1_217_586_395,
    ),
    # CLIP ViT-L/14 as OpenAI publishes it (a TorchScript archive, named as torch-fidelity caches it)
    "clip": WeightsSpec(
        "clip-vit-l-14-b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836.pt",
        "https://openaipublic.azureedge.net/clip/models/b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt",
        "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836",
        torchscript=True,
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
    hint = (
        f"run `genlab download weights {network}` where there is a network, or download {spec.filename} from {spec.url} "
        f"and pass --weights PATH (or put it in {hub_cache()})"
    )
    if cached.is_file():
        return verified(cached, spec)
    if not allow_download:
        raise GenlabError(f"the {network} weights {spec.filename} are not in {hub_cache()}; {hint}")
    return verified(download(spec.url, cached, sha256=spec.sha256_prefix, manual_hint=hint), spec)


# Files whose hash was checked in this process, by (path, size, modification time): a file changed since is
# checked again.
_VERIFIED: set[tuple[str, int, int]] = set()


def _stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def verified(path: Path, spec: WeightsSpec) -> Path:
    """``path`` once it matches the published checksum (checked once per process and file version); a cached file
    that does not match is refused, never loaded."""
    if _stamp(path) in _VERIFIED:
        return path
    if not spec.matches(path):
        raise GenlabError(
            f"{path} does not match the published checksum of {spec.filename} ({spec.checksum}); delete it "
            "and run again to download it, or pass --weights PATH"
        )
    _VERIFIED.add(_stamp(path))
    return path


def weights_sha256(path: str | Path) -> str:
    return file_hash(path, "sha256")


def load_state_dict(path: str | Path, network: str) -> dict[str, torch.Tensor]:
    """The tensors of a weights file, read as plain data (``weights_only=True``: nothing in the file runs), or one
    line naming the file."""
    path = Path(path)
    if network in WEIGHTS and WEIGHTS[network].torchscript:
        return read_torchscript_tensors(path, network)
    hint = f"check --weights (a {network} state dict saved with torch.save)"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise GenlabError(f"{path} is not a {network} weights file (it holds more than plain tensor data); {hint}") from None
    except (RuntimeError, OSError, EOFError, ValueError, KeyError) as e:
        reason = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise GenlabError(f"{path} is not a {network} weights file ({reason}); {hint}") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise GenlabError(f"{path} is not a {network} weights file (it holds a {type(state).__name__}, not a state dict); {hint}")
    return state
