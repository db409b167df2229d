import functools
import hashlib
import http.server
import io
import pickle
import tarfile
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data.builtin import builtin_digits
from genlab.data.cifar10 import load_cifar10
from genlab.data.download import download
from genlab.data.images import GenlabWarning, ImageFolder, InMemoryImages
from genlab.data.loader import EpochBatches
from genlab.data.sources import load_images
from genlab.data.transforms import center_crop_resize, to_model_range, to_uint8
from genlab.errors import GenlabError


def test_builtin_digits_shapes_and_split():
    train, test = builtin_digits("train"), builtin_digits("test")
    assert train.images.shape == (1500, 3, 32, 32) and test.images.shape == (297, 3, 32, 32)
    assert train.images.dtype == torch.uint8
    assert set(train.labels.tolist()) == set(range(10))
    # grey digits: the three channels are equal; white strokes on black
    torch.testing.assert_close(train.images[:, 0], train.images[:, 2])
    assert train.images.max() == 255 and train.images.min() == 0
    # deterministic
    torch.testing.assert_close(builtin_digits("train").images, train.images)


def test_model_range_round_trip():
    u8 = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    x = to_model_range(u8)
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    torch.testing.assert_close(to_uint8(x), u8)


def _write_images(folder: Path, n: int, size=(40, 30)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(folder / f"{i}.png")


def test_folder_source_resizes_and_crops(tmp_path):
    _write_images(tmp_path / "imgs", 5)
    Image.new("L", (20, 50), 128).save(tmp_path / "imgs" / "grey.jpg")
    Image.new("RGBA", (64, 64)).save(tmp_path / "imgs" / "sub.png")
    images = load_images(str(tmp_path / "imgs"), image_size=32, data_root=str(tmp_path))
    assert images.images.shape == (7, 3, 32, 32)
    files = sorted(p.name for p in (tmp_path / "imgs").iterdir())  # the folder's order
    grey = images.images[files.index("grey.jpg")]
    assert grey.min() >= 127 and grey.max() <= 129  # a flat grey square stays flat grey in every channel
    noise = images.images[files.index("0.png")].float()
    assert noise.std() > 30  # a noise image stays noise: the crop and resize did not blank it


def test_center_crop_resize_geometry():
    image = Image.new("RGB", (100, 50))
    image.paste((255, 0, 0), (0, 0, 25, 50))  # red band on the left quarter is cropped away
    out = center_crop_resize(image, 20)
    assert out.size == (20, 20)
    assert np.asarray(out)[:, :, 0].max() < 30


def test_unreadable_files_are_skipped_with_a_count(tmp_path):
    _write_images(tmp_path, 3)
    (tmp_path / "broken.png").write_bytes(b"not an image")
    (tmp_path / "broken2.jpg").write_bytes(b"")
    with pytest.warns(GenlabWarning, match="skipped 2 unreadable image file"):
        dataset = ImageFolder(tmp_path)
    assert len(dataset) == 3


def test_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(GenlabError, match=f"{tmp_path / 'nope'} does not exist"):
        ImageFolder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenlabError, match="holds no images"):
        ImageFolder(tmp_path / "empty")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("x")
    with pytest.raises(GenlabError, match="texts holds no images"):
        ImageFolder(tmp_path / "texts")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.png").write_bytes(b"junk")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(GenlabError, match="no readable images"):
            ImageFolder(tmp_path / "bad")


def test_unknown_named_dataset():
    with pytest.raises(GenlabError, match=r"unknown dataset 'mnist'; choose one of \['animefaces', 'builtin', 'cifar10', 'seasons-summer', 'seasons-winter', 'toonfaces'\]"):
        load_images("mnist", image_size=32, data_root="/tmp")


def test_batches_are_fixed_by_seed_and_epoch():
    images = builtin_digits("train")
    batches = EpochBatches(images, 100, seed=3)
    assert len(batches) == 15
    first = list(batches.epoch(1))
    assert len(first) == 15 and first[0].shape == (100, 3, 32, 32)
    again = list(EpochBatches(images, 100, seed=3).epoch(1))
    for a, b in zip(first, again):
        torch.testing.assert_close(a, b)
    assert not torch.equal(first[0], next(iter(batches.epoch(2))))
    # every image exactly once per epoch: images that carry their index in two pixels (high byte, low byte)
    index = torch.arange(1500)
    numbered = torch.zeros(1500, 3, 1, 2, dtype=torch.uint8)
    numbered[:, 0, 0, 0], numbered[:, 0, 0, 1] = (index // 256).to(torch.uint8), (index % 256).to(torch.uint8)
    batches = list(EpochBatches(InMemoryImages(numbered), 100, seed=3).epoch(1))
    read = torch.cat([b[:, 0, 0, 0].long() * 256 + b[:, 0, 0, 1].long() for b in batches])
    assert sorted(read.tolist()) == list(range(1500))


def test_batches_from_lazy_folder_equal_in_memory(tmp_path):
    _write_images(tmp_path, 6, size=(8, 8))
    folder = ImageFolder(tmp_path)
    lazy = list(EpochBatches(folder, 3, seed=0).epoch(1))
    memory = torch.stack([folder[i] for i in range(6)])
    from genlab.data.images import InMemoryImages

    eager = list(EpochBatches(InMemoryImages(memory), 3, seed=0).epoch(1))
    for a, b in zip(lazy, eager):
        torch.testing.assert_close(a, b)


def test_too_few_images_for_a_batch():
    with pytest.raises(GenlabError, match="fewer than one batch of 64"):
        EpochBatches(load_images("builtin", image_size=32, data_root="/tmp", limit=10), 64, seed=0)


# --- downloads against a local HTTP server ---------------------------------------------------


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    ranges_seen: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        header = self.headers.get("Range")
        RangeHandler.ranges_seen.append(header)
        if header:
            start = int(header.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            data = data[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(RangeHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    RangeHandler.ranges_seen = []
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_resumes_a_partial_file_and_checks_the_hash(served, tmp_path):
    root, url = served
    payload = bytes(range(256)) * 1000
    (root / "blob.bin").write_bytes(payload)
    dest = tmp_path / "out" / "blob.bin"
    dest.parent.mkdir()
    (tmp_path / "out" / "blob.bin.part").write_bytes(payload[:1000])
    sha = hashlib.sha256(payload).hexdigest()
    download(f"{url}/blob.bin", dest, sha256=sha)
    assert dest.read_bytes() == payload
    assert RangeHandler.ranges_seen == ["bytes=1000-"]
    assert not (tmp_path / "out" / "blob.bin.part").exists()


def test_download_with_wrong_hash_is_removed(served, tmp_path):
    root, url = served
    (root / "blob.bin").write_bytes(b"abc")
    with pytest.raises(GenlabError, match="checksum does not match"):
        download(f"{url}/blob.bin", tmp_path / "blob.bin", sha256="0" * 64)
    assert not (tmp_path / "blob.bin").exists() and not (tmp_path / "blob.bin.part").exists()


def _cifar_archive(path: Path, per_batch: int = 2) -> tuple[torch.Tensor, dict[str, str]]:
    """A CIFAR-10 archive of ``per_batch`` random images per batch: the training images and each file's md5."""
    rng = np.random.default_rng(0)
    all_train, md5s = [], {}
    with tarfile.open(path, "w:gz") as tar:
        def add(name, obj):
            data = pickle.dumps(obj)
            md5s[name] = hashlib.md5(data).hexdigest()
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
            if name != "test_batch":
                all_train.append(data)
            add(name, {b"data": data, b"labels": list(range(per_batch))})
        add("batches.meta", {b"label_names": [b"airplane"]})
    return torch.from_numpy(np.concatenate(all_train).reshape(-1, 3, 32, 32)), md5s


def test_cifar10_download_unpack_and_load(served, tmp_path):
    root, url = served
    expected, md5s = _cifar_archive(root / "cifar-10-python.tar.gz")
    md5 = hashlib.md5((root / "cifar-10-python.tar.gz").read_bytes()).hexdigest()
    data_root = tmp_path / "data"
    train = load_cifar10(data_root, "train", url=f"{url}/cifar-10-python.tar.gz", md5=md5, batch_md5=md5s)
    assert train.images.shape == (10, 3, 32, 32)
    torch.testing.assert_close(train.images, expected)
    assert train.labels.tolist() == [0, 1] * 5
    assert (data_root / "cifar10" / "cifar-10-batches-py" / "batches.meta").is_file()
    # second use: no network needed
    test = load_cifar10(data_root, "test", url="http://127.0.0.1:9/unreachable", batch_md5=md5s)
    assert test.images.shape == (2, 3, 32, 32)
    # the published checksums are checked file by file: these random batches are not CIFAR-10's
    with pytest.raises(GenlabError, match=r"test_batch does not match CIFAR-10's published checksum \(damaged or replaced\); delete "):
        load_cifar10(data_root, "test")


def test_cifar10_offline_error_says_where_to_put_the_file(tmp_path):
    with pytest.raises(GenlabError) as info:
        load_cifar10(tmp_path, "train", url="http://127.0.0.1:9/cifar-10-python.tar.gz")
    message = str(info.value)
    assert "could not download http://127.0.0.1:9/cifar-10-python.tar.gz" in message
    assert f"put it in {tmp_path / 'cifar10'}" in message
    assert "\n" not in message


def test_center_crop_by_size_and_fraction():
    image = Image.new("RGB", (100, 60), (0, 0, 0))
    image.paste((255, 255, 255), (40, 20, 60, 40))  # a white 20x20 square in the middle
    by_size = np.asarray(center_crop_resize(image, 20, crop_size=20))
    assert by_size.shape == (20, 20, 3) and by_size.min() == 255
    by_fraction = np.asarray(center_crop_resize(image, 10, crop_fraction=1 / 3))
    assert by_fraction.shape == (10, 10, 3) and by_fraction.min() >= 250


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    grey = np.array([[0, 32896, 65535, 12850]], dtype=np.uint16).repeat(4, axis=0)  # 0, 128, 255, 50 in 8 bits
    Image.fromarray(grey).save(tmp_path / "deep.png")
    image = ImageFolder(tmp_path)[0]
    assert image.shape == (3, 4, 4)
    assert image[0, 0].tolist() == [0, 128, 255, 50] and torch.equal(image[0], image[2])
