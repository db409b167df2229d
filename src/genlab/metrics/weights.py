"""Where the evaluation networks' weights come from.

Inception weights are downloaded on first use into torch hub's cache
(``$TORCH_HOME/hub/checkpoints``, the same place torchvision and torch-fidelity
use, so a file either already fetched is reused), checked against the sha256
prefix in their published file name, or taken from a local file (``--weights``).
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
    hint = f"download {spec.filename} from {spec.url} and pass --weights PATH (or put it in {hub_cache()})"
    if cached.is_file():
        return verified(cached, spec)
    if not allow_download:
        raise GenlabError(f"the {network} weights {spec.filename} are not in {hub_cache()}; {hint}")
    return download(spec.url, cached, sha256=spec.sha256_prefix, manual_hint=hint)


# Files whose hash was checked in this process, by (path, size, modification time): a file changed since is
# checked again.
_VERIFIED: set[tuple[str, int, int]] = set()


def _stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def verified(path: Path, spec: WeightsSpec) -> Path:
    """``path`` once its sha256 starts with the published prefix (checked once per process and file version); a
    cached file that does not match is refused, never loaded."""
    if _stamp(path) in _VERIFIED:
        return path
    if not check_hash(path, sha256=spec.sha256_prefix):
        raise GenlabError(
            f"{path} does not match the published checksum of {spec.filename} (sha256 {spec.sha256_prefix}...); delete it "
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
