"""Files written whole: a reader (another process, a page open in a browser, a crash) never sees half a file.

Every write goes to a temporary file of its own in the same folder (a unique name per writer, so two writers of
the same file never share a temporary), is flushed, and is renamed over the target in one step.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from genlab.errors import GenlabError

TEMP_SUFFIX = ".tmp"


@contextmanager
def replacing(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """A fresh temporary path beside ``path`` (ending in ``suffix``, e.g. ``.npz`` for numpy); renamed over ``path``
    when the block ends without an error, removed when it fails."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX + suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_with(path: str | Path, write: Callable[[IO[Any]], None], *, binary: bool = False, sync: bool = False) -> None:
    """Write ``path`` whole through ``write(file)``; ``sync`` also forces it to disk before the rename."""
    with replacing(path) as tmp, open(tmp, "wb" if binary else "w", newline="" if not binary else None) as f:
        write(f)
        if sync:
            f.flush()
            os.fsync(f.fileno())


def write_text(path: str | Path, text: str) -> None:
    write_with(path, lambda f: f.write(text))


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")


def read_json(path: str | Path, what: str = "file") -> Any:
    """A JSON file a user may have edited or truncated: its data, or one line naming the file."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GenlabError(f"{what} {path} is damaged ({e}); restore it or remove the folder") from None


# What a run folder holds that a command's output must never replace (evaluation-*.json beside them is the default
# output of evaluate and is allowed).
RUN_FILES = ("config.json", "history.csv", "sweep.json", "report.html", "report.md", "architecture.md", "diverged.json", ".lock")
RUN_FOLDERS = ("checkpoints", "images", "plots", "tensorboard")


def check_output(path: str | Path, flag: str = "--out") -> Path:
    """``path`` as an output, refused when it would replace one of a run's own files (its config, history,
    checkpoints, grids, pages) or a whole run folder."""
    path = Path(path).expanduser()
    resolved = path.resolve()
    if (resolved / "config.json").is_file():
        raise GenlabError(f"{flag} {path} is a run folder; write the output elsewhere")
    for depth, folder in enumerate(resolved.parents):
        if not (folder / "config.json").is_file():
            continue
        inside = resolved.relative_to(folder).parts
        if (depth == 0 and inside[0] in RUN_FILES) or inside[0] in RUN_FOLDERS:
            raise GenlabError(f"{flag} {path} would replace a file of the run {folder}; write the output elsewhere")
        break
    return path
