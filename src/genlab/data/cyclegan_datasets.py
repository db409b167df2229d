"""The official CycleGAN datasets, downloadable by name (Zhu et al. 2017).

``genlab download NAME`` (or training with ``--data NAME``) fetches
``NAME.zip`` into ``DATA_ROOT/cyclegan/``, resuming a broken download, checks
that it is complete (its size matches the server's and every member's CRC is
right), records its sha256 beside it, and unpacks it to
``DATA_ROOT/cyclegan/NAME/{trainA,trainB,testA,testB}``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from genlab.data.download import download, extract, file_hash
from genlab.errors import GenlabError

BASE_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets"
CYCLEGAN_DATASETS = (
    "apple2orange", "summer2winter_yosemite", "horse2zebra", "monet2photo", "cezanne2photo", "ukiyoe2photo",
    "vangogh2photo", "maps", "cityscapes", "facades", "iphone2dslr_flower", "ae_photos", "mini", "grumpifycat",
)


def dataset_folder(name: str, data_root: str | Path) -> Path:
    return Path(data_root) / "cyclegan" / name


def fetch_cyclegan_dataset(name: str, data_root: str | Path, *, base_url: str = BASE_URL) -> Path:
    """The unpacked dataset folder, downloaded and unpacked on first use."""
    if name not in CYCLEGAN_DATASETS:
        raise GenlabError(f"unknown CycleGAN dataset {name!r}; choose one of {sorted(CYCLEGAN_DATASETS)}")
    folder = dataset_folder(name, data_root)
    if (folder / "trainA").is_dir():
        return folder
    url = f"{base_url}/{name}.zip"
    hint = f"download {url} by hand and unpack it into {folder.parent} (it holds {name}/trainA, trainB, testA, testB)"
    archive = download(url, folder.parent / f"{name}.zip", manual_hint=hint)
    try:
        with zipfile.ZipFile(archive) as z:
            broken = z.testzip()
    except zipfile.BadZipFile:
        broken = archive.name
    if broken is not None:
        archive.unlink()
        raise GenlabError(f"{archive} is damaged ({broken} fails its check); it was deleted, so run the command again")
    (folder.parent / f"{name}.zip.sha256").write_text(f"{file_hash(archive)}  {name}.zip\n")
    extract(archive, folder.parent)
    if not (folder / "trainA").is_dir():
        raise GenlabError(f"{archive} did not unpack to {folder}/trainA; {hint}")
    return folder
