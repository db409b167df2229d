"""Checkpoints as plain data, written atomically.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts (loadable
with ``torch.load(path, weights_only=True)``): config, epoch, step, the state of
the family's models, optimisers and schedulers, and RNG states. It is written to
a temporary file in the same folder, flushed to disk, then renamed over the old
one, so a crash leaves the previous checkpoint intact.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import torch

from genlab.errors import GenlabError
from genlab.files import write_with


def save_atomic(obj: Any, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_with(path, lambda f: torch.save(obj, f), binary=True, sync=True)
    except BaseException as e:
        if _disk_full(e):
            raise GenlabError(
                f"no space left on the disk while writing {path}; the earlier checkpoints are intact: free some space "
                "and continue with --resume"
            ) from None
        raise


def _disk_full(error: BaseException) -> bool:
    """ENOSPC, as the OS says it or as torch.save's zip writer reports it."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    return isinstance(error, RuntimeError) and ("No space left" in str(error) or "file write failed" in str(error))


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"checkpoint {path} does not exist; train first or name an existing checkpoint")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # a truncated or foreign file
        raise GenlabError(f"checkpoint {path} could not be read ({type(e).__name__}); pick another checkpoint") from None


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
