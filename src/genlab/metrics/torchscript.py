"""The tensors of a TorchScript archive, read as data.

OpenAI publishes CLIP's weights as TorchScript archives. ``torch.jit.load`` would compile and run the
code stored in the archive; this reader never looks at that code. It unpickles the module tree in
``data.pkl`` with an unpickler that knows only tensors, their storages, ordered dicts and TorchScript's
list helpers: every module class of the archive becomes an inert attribute holder, and any other
global (a function, ``os.system``, ``eval``) is refused. The result is the state dict that
``torch.jit.load(path).state_dict()`` would give, by dotted name.
"""

from __future__ import annotations

import collections
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from genlab.errors import GenlabError

STORAGE_DTYPES = {
    "FloatStorage": torch.float32, "HalfStorage": torch.float16, "BFloat16Storage": torch.bfloat16,
    "DoubleStorage": torch.float64, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8, "BoolStorage": torch.bool,
}


class ScriptedModule:
    """A module of the archive: its attributes, nothing to call."""

    def __setstate__(self, state: Any) -> None:
        self.__dict__["attributes"] = state if isinstance(state, dict) else {}


def _rebuild_tensor(storage: Tensor, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *rest: Any) -> Tensor:
    return storage.as_strided(size, stride, offset)


def _same(value: Any, *rest: Any) -> Any:
    return value


_TORCHSCRIPT_LISTS = {"build_intlist", "build_tensorlist", "build_doublelist", "build_boollist", "build_genericlist"}


class _ArchiveUnpickler(pickle.Unpickler):
    def __init__(self, archive: zipfile.ZipFile, prefix: str, data: bytes) -> None:
        import io

        super().__init__(io.BytesIO(data))
        self.archive, self.prefix = archive, prefix

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("__torch__"):
            return ScriptedModule
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) in {("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor")}:
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return STORAGE_DTYPES[name]
        if module == "torch.jit._pickle" and (name in _TORCHSCRIPT_LISTS or name == "restore_type_tag"):
            return _same
        raise pickle.UnpicklingError(f"{module}.{name} is not data")

    def persistent_load(self, pid: Any) -> Tensor:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], torch.dtype)):
            raise pickle.UnpicklingError("an unknown storage reference")
        _, dtype, key, _, numel = pid
        raw = bytearray(self.archive.read(f"{self.prefix}data/{key}"))
        flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        if flat.numel() < numel:
            raise pickle.UnpicklingError(f"storage {key} holds {flat.numel()} of {numel} values")
        return flat


def _tensors(node: Any, prefix: str, out: dict[str, Tensor]) -> None:
    for name, value in node.__dict__.get("attributes", {}).items():
        if isinstance(value, Tensor):
            out[prefix + name] = value.clone()
        elif isinstance(value, ScriptedModule):
            _tensors(value, f"{prefix}{name}.", out)


def read_torchscript_tensors(path: str | Path, what: str) -> dict[str, Tensor]:
    """Every tensor attribute of the archive's module tree by dotted name, or one line naming the file."""
    path = Path(path)
    hint = f"check --weights (the {what} TorchScript archive as published)"
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [name for name in archive.namelist() if name.endswith("/data.pkl") and name.count("/") == 1]
            if len(pickles) != 1:
                raise GenlabError(f"{path} is not a {what} weights file (no TorchScript module in it); {hint}")
            prefix = pickles[0][: -len("data.pkl")]
            root = _ArchiveUnpickler(archive, prefix, archive.read(pickles[0])).load()
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
        raise GenlabError(f"{path} is not a {what} weights file ({str(e)[:200]}); {hint}") from None
    except pickle.UnpicklingError as e:
        raise GenlabError(f"{path} is not a {what} weights file ({e}); {hint}") from None
    if not isinstance(root, ScriptedModule):
        raise GenlabError(f"{path} is not a {what} weights file (it holds no module); {hint}")
    state: dict[str, Tensor] = {}
    _tensors(root, "", state)
    return state
