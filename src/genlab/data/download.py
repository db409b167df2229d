"""Downloading files with progress, resume and hash checks, and unpacking archives.

A download goes to ``NAME.part`` first; an interrupted one resumes from there
(HTTP Range) and the file gets its final name only after its hash matches.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from tqdm.auto import tqdm

from genlab.errors import GenlabError

CHUNK = 1 << 20


def file_hash(path: str | Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def check_hash(path: Path, *, md5: str | None = None, sha256: str | None = None) -> bool:
    """md5 must match exactly; sha256 may be given in full or as a prefix (as in torch hub file names)."""
    if md5 is not None and file_hash(path, "md5") != md5:
        return False
    if sha256 is not None and not file_hash(path, "sha256").startswith(sha256):
        return False
    return True


def download(
    url: str,
    dest: str | Path,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    manual_hint: str = "",
    timeout: float = 30.0,
) -> Path:
    """Fetch ``url`` into ``dest`` (resuming a partial ``.part`` file) and verify its hash.

    Raises GenlabError naming the URL and the place to put the file by hand when the
    network is unreachable, and deletes a download whose hash does not match.
    """
    dest = Path(dest)
    if dest.exists() and check_hash(dest, md5=md5, sha256=sha256):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    total = None
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    hint = manual_hint or f"download it by hand and save it as {dest}"
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if start and response.status != 206:  # server ignored the range: start over
                start = 0
            length = response.headers.get("Content-Length")
            total = int(length) + start if length is not None else None
            with open(part, "ab" if start else "wb") as out, tqdm(
                total=total, initial=start, unit="B", unit_scale=True, desc=f"downloading {dest.name}", leave=False
            ) as bar:
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:  # range past the end: the .part file is complete
            total = start
        else:
            raise GenlabError(f"could not download {url} (HTTP {e.code}); {hint}") from None
    except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as e:  # refused, reset, cut short
        reason = getattr(e, "reason", e)
        raise GenlabError(f"could not download {url} ({reason}); {hint}") from None
    if total is not None and part.stat().st_size != total:
        raise GenlabError(
            f"the download of {url} stopped at {part.stat().st_size:,} of {total:,} bytes; run the command again to resume"
        )
    if not check_hash(part, md5=md5, sha256=sha256):
        part.unlink()
        raise GenlabError(f"{url} downloaded but its checksum does not match; try again, or {hint}")
    os.replace(part, dest)
    return dest


def extract(archive: str | Path, into: str | Path) -> Path:
    """Unpack a .tar(.gz) or .zip archive into a folder, refusing paths that leave it."""
    archive, into = Path(archive), Path(into)
    into.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                if not (into / name).resolve().is_relative_to(into.resolve()):
                    raise GenlabError(f"{archive} holds an unsafe path {name!r}; refusing to unpack it")
            z.extractall(into)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            t.extractall(into, filter="data")
    else:
        raise GenlabError(f"{archive} is neither a zip nor a tar archive; delete it and download again")
    return into
