"""Hostile inputs: broken and odd image files, hostile folders, bad flags, kills, a full disk and a second trainer.

Each case asserts the exact outcome a user sees: the one ``genlab: error:`` line with exit status 2, the one counted
warning for skipped files, or the previous checkpoint left untouched.
"""

import errno
import hashlib
import http.server
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import genlab.checkpoint
from genlab.cli import main
from genlab.data.download import download
from genlab.data.images import ImageFolder
from genlab.data.transforms import to_rgb
from genlab.errors import GenlabError

BROKEN = 6  # files per hostile folder that no command can read
TINY = ["--device", "cpu", "--epochs", "1", "--grid-size", "4"]


def _noise(height: int, width: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _encoded(array: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt)
    return buffer.getvalue()


def write_hostile_folder(folder: Path, good: int = 8, *, huge_aspect: bool = True) -> Path:
    """``good`` plain images, six odd but valid ones (five with ``huge_aspect=False``) and BROKEN unreadable files."""
    folder.mkdir(parents=True)
    for i in range(good):
        Image.fromarray(_noise(20, 24, i)).save(folder / f"good-{i}.png")
    # odd but valid: each must read as the RGB image it shows
    Image.fromarray((np.arange(20 * 24, dtype=np.uint16).reshape(20, 24) * 100)).save(folder / "deep-16bit.png")
    Image.fromarray(_noise(20, 24, 50)).convert("CMYK").save(folder / "print-cmyk.jpg")
    Image.fromarray(_noise(20, 24, 51)).convert("P").save(folder / "palette.png")
    palette = Image.fromarray(_noise(20, 24, 52)).convert("P")
    palette.info["transparency"] = 0
    palette.save(folder / "palette-transparent.png")
    Image.fromarray(_noise(20, 24, 53)).convert("LA").save(folder / "grey-alpha.png")
    if huge_aspect:
        Image.fromarray(_noise(3, 900, 54)).save(folder / "huge-aspect.png")
    # broken: a good header and half a body, nothing at all, text, a symbolic link loop (two names)
    for name, fmt in (("truncated.jpg", "JPEG"), ("truncated.png", "PNG")):
        data = _encoded(_noise(20, 24, 60), fmt)
        (folder / name).write_bytes(data[: len(data) * 6 // 10])
    (folder / "zero-bytes.png").write_bytes(b"")
    (folder / "notes.png").write_text("this is a text file with an image's name\n")
    os.symlink(folder / "loop-b.png", folder / "loop-a.png")
    os.symlink(folder / "loop-a.png", folder / "loop-b.png")
    return folder


def skipped_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "skipped" in str(w.message)]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    return write_hostile_folder(tmp_path_factory.mktemp("hostile") / "images")


@pytest.fixture(scope="module")
def hostile_domains(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("domains")
    write_hostile_folder(root / "trainA")
    write_hostile_folder(root / "trainB")
    return root


def test_odd_images_read_as_the_rgb_they_show(hostile):
    def read(name):
        with Image.open(hostile / name) as image:
            return np.asarray(to_rgb(image))

    deep = read("deep-16bit.png")  # 16 bits scaled to 8, not clipped to white
    expected = np.round(np.arange(20 * 24).reshape(20, 24) * 100 / 65535 * 255)
    assert np.abs(deep[..., 0].astype(float) - expected).max() <= 1 and (deep[..., 0] == deep[..., 2]).all()
    with Image.open(hostile / "print-cmyk.jpg") as image:
        assert np.array_equal(read("print-cmyk.jpg"), np.asarray(image.convert("RGB")))
    with Image.open(hostile / "palette.png") as image:
        assert np.array_equal(read("palette.png"), np.asarray(image.convert("RGB")))
    assert read("palette-transparent.png").shape == (20, 24, 3)
    grey = read("grey-alpha.png")
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    assert read("huge-aspect.png").shape == (3, 900, 3)


def test_the_folder_reader_counts_every_broken_file_once(hostile):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder = ImageFolder(hostile, decode=True)
    assert skipped_warnings(caught) == [f"skipped {BROKEN} unreadable image file(s) in {hostile}"]
    assert len(folder) == 8 + 6
    assert {tuple(folder[i].shape[:1]) for i in range(len(folder))} == {(3,)}


@pytest.mark.parametrize("family, extra", [
    ("dcgan", ["--image-size", "16", "--width", "8", "--z-dim", "8", "--batch-size", "7"]),
    ("vae", ["--image-size", "16", "--latent-dim", "4", "--width", "4", "--batch-size", "6", "--holdout", "0.2"]),
])
def test_training_on_a_hostile_folder_skips_broken_files_with_one_count(family, extra, hostile, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = main(["train", family, "--preset", "smoke", "--data", str(hostile), "--out", str(tmp_path / "run"), *TINY, *extra])
    assert status == 0
    assert skipped_warnings(caught) == [f"skipped {BROKEN} unreadable image file(s) in {hostile}"]
    assert (tmp_path / "run" / "checkpoints" / "latest.pt").is_file()


@pytest.fixture(scope="module")
def cyclegan_run(hostile_domains, tmp_path_factory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("cyclegan") / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = main(["train", "cyclegan", "--preset", "smoke", "--data", str(hostile_domains), "--out", str(out),
                       "--image-size", "32", "--load-size", "32", "--width", "4", "--n-blocks", "1", "--test-fraction", "0.2", *TINY])
    assert status == 0
    return out, skipped_warnings(caught)


def test_cyclegan_training_skips_broken_files_of_each_domain_once(cyclegan_run, hostile_domains):
    _, skipped = cyclegan_run
    assert skipped == [f"skipped {BROKEN} unreadable image file(s) in {hostile_domains / d}" for d in ("trainA", "trainB")]


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vae") / "run"
    assert main(["train", "vae", "--preset", "smoke", "--out", str(out), "--image-size", "16", "--latent-dim", "4", "--width", "4",
                 "--limit", "64", "--batch-size", "16", *TINY]) == 0
    return out


def _reads(command: list[str]) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(command) == 0
    return skipped_warnings(caught)


def test_translate_evaluate_and_reconstruct_skip_broken_files_with_one_count(cyclegan_run, vae_run, hostile, tmp_path):
    once = [f"skipped {BROKEN} unreadable image file(s) in {hostile}"]
    run, _ = cyclegan_run
    assert _reads(["translate", str(run), "--direction", "a2b", "--input", str(hostile), "--output", str(tmp_path / "t"), "--device", "cpu"]) == once
    written = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert len(written) == 14 and "truncated.png" not in written and "deep-16bit.png" in written
    same_size = write_hostile_folder(tmp_path / "same-size", huge_aspect=False)  # scored images share one size
    assert _reads(["evaluate", str(same_size), "--network", "builtin", "--n", "20", "--splits", "2", "--device", "cpu",
                   "--out", str(tmp_path / "e.json")]) == [f"skipped {BROKEN} unreadable image file(s) in {same_size}"]
    assert json.loads((tmp_path / "e.json").read_text())["protocol"]["n"] == 13  # and the shortfall is said
    assert _reads(["reconstruct", str(vae_run), "--input", str(hostile), "--output", str(tmp_path / "r.png"), "--device", "cpu"]) == once
    from genlab.reporting.grids import grid_image

    assert Image.open(tmp_path / "r.png").size == grid_image(torch.zeros(2 * 14, 3, 16, 16), nrow=8).size  # 14 pairs


def _error(capsys, command: list[str]) -> str:
    status = main(command)
    err = capsys.readouterr().err.strip()
    assert status == 2, err
    errors = [line for line in err.splitlines() if line.startswith("genlab: error: ")]  # besides progress bars and warnings
    assert len(errors) == 1 and err.endswith(errors[0]) and "Traceback" not in err, err
    return errors[0][len("genlab: error: "):]


def test_hostile_folders_are_one_line(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    os.symlink(tmp_path / "loop-y", tmp_path / "loop-x")
    os.symlink(tmp_path / "loop-x", tmp_path / "loop-y")
    (tmp_path / "junk").mkdir()
    for name in ("a.png", "b.jpg"):
        (tmp_path / "junk" / name).write_bytes(b"\x00" * 10)
    empty = f"image folder {tmp_path / 'empty'} holds no images"
    assert _error(capsys, ["evaluate", str(tmp_path / "empty"), "--network", "builtin"]).startswith(empty)
    assert _error(capsys, ["train", "dcgan", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "r1"), *TINY]).startswith(empty)
    loop = f"{tmp_path / 'loop-x'} is a symbolic link that leads nowhere (a loop or a missing target); give the real folder"
    assert _error(capsys, ["evaluate", str(tmp_path / "loop-x"), "--network", "builtin"]) == loop
    assert _error(capsys, ["train", "vae", "--data", str(tmp_path / "loop-x"), "--out", str(tmp_path / "r3"), *TINY]) == f"image folder {loop}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _error(capsys, ["train", "vae", "--data", str(tmp_path / "junk"), "--out", str(tmp_path / "r2"), *TINY]) == (
            f"no readable images in {tmp_path / 'junk'}; every image file there failed to open"
        )
    assert not (tmp_path / "r1" / "checkpoints").exists() and not (tmp_path / "r2" / "checkpoints").exists()


def test_unreadable_files_are_skipped_and_unwritable_outputs_are_one_line(capsys, tmp_path, monkeypatch, vae_run):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(_noise(16, 16, i)).save(folder / f"{i}.png")
    locked = folder / "0.png"
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads anything: refuse the file the way the OS refuses other users
        real_open = Image.open
        monkeypatch.setattr(Image, "open", lambda fp, *a, **k: (_ for _ in ()).throw(PermissionError(errno.EACCES, "Permission denied", str(fp)))
                            if Path(fp) == locked else real_open(fp, *a, **k))
    assert _reads(["evaluate", str(folder), "--network", "builtin", "--n", "3", "--splits", "1", "--device", "cpu",
                   "--out", str(tmp_path / "e.json")]) == [f"skipped 1 unreadable image file(s) in {folder}"]
    (tmp_path / "a-file").write_text("x")
    assert _error(capsys, ["sample", str(vae_run), "-n", "4", "--out", str(tmp_path / "a-file" / "grid.png"), "--device", "cpu"]) == (
        f"{tmp_path / 'a-file'} exists as a file where a folder is needed; choose another path"
    )
    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if self == tmp_path / "ro":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert _error(capsys, ["sample", str(vae_run), "-n", "4", "--out", str(tmp_path / "ro" / "grid.png"), "--device", "cpu"]) == (
        f"permission denied: {tmp_path / 'ro'}; change the permissions or choose another path"
    )


BAD_FLAGS = [
    (["train", "dcgan", "--out", "r", "--lr", "nan"], "lr must be a finite number above 0 (got nan)"),
    (["train", "dcgan", "--out", "r", "--lr", "-1"], "lr must be a finite number above 0 (got -1.0)"),
    (["train", "dcgan", "--out", "r", "--epochs", "0"], "epochs must be at least 1 (got 0)"),
    (["train", "dcgan", "--out", "r", "--loss", "wgangp"], "unknown loss 'wgangp' (did you mean 'wgan-gp'?)"),
    (["train", "vae", "--out", "r", "--beta", "-1"], "beta must be 0 or more (got -1.0)"),
    (["train", "dcgan", "--out", "r", "--beta1", "1"], "beta1 must be in [0, 1)"),
    (["train", "cyclegan", "--out", "r", "--pool-size", "-3"], "pool_size must be 0 or more (got -3)"),
    (["train", "dcgan"], "give the new run's folder: genlab train dcgan --out RUN_DIR ..."),
    (["train"], "name a model family to train (dcgan, vae, cyclegan) or give --resume RUN_DIR"),
    (["sample", "no-such-run", "--out", "g.png"], "no-such-run"),
    (["reconstruct", "no-such-run", "--input", "x", "--output", "y.png"], "no-such-run"),
    (["evaluate", "runs/none", "--network", "builtin"], "runs/none does not exist; give a run folder, an image folder or a dataset name"),
    (["evaluate", "builtin", "--network", "builtin", "--splits", "0"], "--splits must be at least 1 (got 0)"),
    (["evaluate", "builtin", "--network", "builtin", "--n", "-5"], "--n must be at least 1 (got -5)"),
    (["evaluate", "builtin", "--network", "builtin", "--kid-subset-size", "1"], "--kid-subset-size must be at least 2 (got 1)"),
    (["evaluate", "builtin", "--protocol", "papers"], "unknown protocol 'papers' (did you mean 'paper'?)"),
    (["report", "no-such-run", "--network", "builtin"], "no-such-run"),
    (["translate", "no-such-run", "--direction", "a2c", "--input", "x", "--output", "y"], "a2c"),
    (["download", "cifar100"], "unknown download 'cifar100'"),
    (["describe", "gan"], "gan"),
    (["demo", "--epochs", "0"], "epochs must be at least 1 (got 0); leave out --epochs for the demo's own"),
]


@pytest.mark.parametrize("argv, expected", BAD_FLAGS, ids=[" ".join(a[:3]) + f" #{i}" for i, (a, _) in enumerate(BAD_FLAGS)])
def test_bad_flags_of_every_subcommand_are_one_line(argv, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = _error(capsys, argv)
    if expected is not None:
        assert expected in message
    assert not (tmp_path / "r").exists()  # nothing written for a refused command


# A training process that is killed with SIGKILL in the middle of writing a checkpoint.
KILLED_WRITER = """
import os, signal, sys
import genlab.checkpoint as checkpoint
from genlab.cli import main
real = checkpoint.torch.save
def save(obj, f, *args, **kwargs):
    real(obj, f, *args, **kwargs)
    if isinstance(obj, dict) and obj.get("epoch") == int(os.environ["KILL_AT"]):
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)  # the bytes are on disk, the rename has not happened
checkpoint.torch.save = save
sys.exit(main(sys.argv[1:]))
"""


def test_kill_during_a_checkpoint_write_keeps_the_last_one_and_resume_continues(tmp_path):
    run = tmp_path / "run"
    argv = ["train", "dcgan", "--preset", "smoke", "--out", str(run), "--device", "cpu", "--epochs", "3", "--limit", "32",
            "--batch-size", "16", "--width", "8", "--z-dim", "8", "--image-size", "16", "--grid-size", "4"]
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, *argv], env={**os.environ, "KILL_AT": "2"}, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    latest = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)
    assert latest["epoch"] == 1  # the epoch-2 writes never replaced it
    assert not (run / "checkpoints" / "epoch-0002.pt").exists()  # the kept checkpoint is written first, and was cut
    assert list((run / "checkpoints").glob(".*.tmp"))  # what the kill left behind
    assert (run / ".lock").is_file()  # and its lock, owned by a dead process
    resumed = subprocess.run([sys.executable, "-m", "genlab", "train", "--resume", str(run)], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout and "at epoch 2/3" in resumed.stdout
    assert torch.load(run / "checkpoints" / "latest.pt", weights_only=True)["epoch"] == 3
    assert torch.load(run / "checkpoints" / "epoch-0002.pt", weights_only=True)["epoch"] == 2  # written again on resume
    assert not list((run / "checkpoints").glob(".*.tmp")) and not (run / ".lock").exists()
    rows = [line.split(",") for line in (run / "history.csv").read_text().splitlines()[1:]]
    assert [int(r[0]) for r in rows if r[4]] == [1, 2, 3, 4, 5, 6]  # 3 epochs x 2 steps of losses, none twice
    assert [int(r[0]) for r in rows if r[6]] == [2, 4, 6]  # and one sample-diversity row per epoch


def test_a_full_disk_at_the_save_is_one_line_and_the_previous_checkpoint_is_untouched(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    argv = ["--preset", "smoke", "--device", "cpu", "--limit", "32", "--batch-size", "16", "--width", "8", "--z-dim", "8",
            "--image-size", "16", "--grid-size", "4"]
    assert main(["train", "dcgan", "--out", str(run), "--epochs", "1", *argv]) == 0
    before = (run / "checkpoints" / "latest.pt").read_bytes()
    capsys.readouterr()

    def full(obj, f, *args, **kwargs):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(genlab.checkpoint.torch, "save", full)
    err = _error(capsys, ["train", "--resume", str(run), "--epochs", "2"])
    assert err == (
        f"no space left on the disk while writing {run / 'checkpoints' / 'epoch-0002.pt'}; the earlier checkpoints are intact: "
        "free some space and continue with --resume"
    )
    assert (run / "checkpoints" / "latest.pt").read_bytes() == before
    assert not list((run / "checkpoints").glob(".*.tmp")) and not (run / ".lock").exists()


def test_a_second_trainer_of_the_same_run_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "dcgan", "--preset", "smoke", "--out", str(run), "--device", "cpu", "--epochs", "200", "--limit", "32",
            "--batch-size", "16", "--width", "8", "--z-dim", "8", "--image-size", "16", "--grid-size", "4"]
    first = subprocess.Popen([sys.executable, "-m", "genlab", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (run / "checkpoints" / "latest.pt").is_file():  # the first trainer is well into its run
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        assert _error(capsys, ["train", "--resume", str(run)]) == (  # this process is the second trainer
            f"{run} is being trained by another genlab process (PID {first.pid}); wait for it to finish, "
            "or stop it and resume once it has"
        )
        assert "already holds a run" in _error(capsys, argv)
        assert first.poll() is None  # the first one trains on, undisturbed
    finally:
        first.kill()
        first.wait()


class _CutShort(http.server.BaseHTTPRequestHandler):
    """Promises the whole file, sends the first half (or, asked for a range, the rest), then hangs up."""

    payload = bytes(range(256)) * 400

    def log_message(self, *args):
        pass

    def do_GET(self):
        start = int(self.headers["Range"].split("=")[1].split("-")[0]) if self.headers.get("Range") else 0
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(self.payload) - 1}/{len(self.payload)}")
        self.send_header("Content-Length", str(len(self.payload) - start))
        self.end_headers()
        self.wfile.write(self.payload[start:] if start else self.payload[: len(self.payload) // 2])


def test_an_interrupted_download_is_one_line_and_the_next_run_resumes_it(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CutShort)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/blob.bin"
    dest = tmp_path / "blob.bin"
    try:
        with pytest.raises(GenlabError) as cut:
            download(url, dest, sha256=hashlib.sha256(_CutShort.payload).hexdigest())
        half, whole = len(_CutShort.payload) // 2, len(_CutShort.payload)
        assert str(cut.value) == f"the download of {url} stopped at {half:,} of {whole:,} bytes; run the command again to resume"
        assert (tmp_path / "blob.bin.part").stat().st_size == len(_CutShort.payload) // 2  # kept for the next try
        download(url, dest, sha256=hashlib.sha256(_CutShort.payload).hexdigest())
        assert dest.read_bytes() == _CutShort.payload
    finally:
        server.shutdown()
        server.server_close()


# ---- trust: nothing runs from a file, no silently wrong number, no hang, one line per damaged file ----


class Payload:
    """Unpickled with code allowed, this opens (so creates) ``marker``: the proof that a file ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _payload_file(path: Path, marker: Path, *, as_pickle: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if as_pickle:
        path.write_bytes(__import__("pickle").dumps({b"data": Payload(marker), b"labels": [0]}, protocol=2))
    else:
        torch.save({"fc.weight": Payload(marker)}, path)
    return path


def test_a_weights_payload_never_runs(capsys, tmp_path, vae_run):
    marker = tmp_path / "ran"
    payload = _payload_file(tmp_path / "payload.pth", marker)
    plain_data = f"{payload} is not a tf-inception weights file (it holds more than plain tensor data); check --weights"
    tf = ["--network", "tf-inception", "--weights", str(payload), "--device", "cpu"]
    assert _error(capsys, ["evaluate", "builtin", "--n", "10", *tf]).startswith(plain_data)
    assert _error(capsys, ["report", str(vae_run), "--n", "10", "--out", str(tmp_path / "s.txt"), *tf]).startswith(plain_data)
    assert not marker.exists()
    torch.save([torch.zeros(2)], tmp_path / "list.pth")
    assert _error(capsys, ["evaluate", "builtin", "--n", "10", "--network", "torchvision", "--weights", str(tmp_path / "list.pth")]) == (
        f"{tmp_path / 'list.pth'} is not a torchvision weights file (it holds a list, not a state dict); check --weights "
        "(a torchvision state dict saved with torch.save)"
    )


@pytest.mark.parametrize("network, name", [("tf-inception", "weights-inception-2015-12-05-6726825d.pth"),
                                           ("torchvision", "inception_v3_google-0cc3c7bd.pth")])
def test_a_payload_planted_in_the_weights_cache_is_refused(network, name, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    marker = tmp_path / "ran"
    planted = _payload_file(tmp_path / "hub" / "checkpoints" / name, marker)
    prefix = name.rsplit("-", 1)[1].split(".")[0]
    assert _error(capsys, ["evaluate", "builtin", "--n", "10", "--network", network, "--device", "cpu"]) == (
        f"{planted} does not match the published checksum of {name} (sha256 {prefix}...); delete it and run again to "
        "download it, or pass --weights PATH"
    )
    assert not marker.exists()


def test_cached_weights_are_hashed_once_per_process_and_again_when_the_file_changes(tmp_path, monkeypatch):
    from genlab.metrics import weights as weights_module

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    cached = tmp_path / "hub" / "checkpoints" / "net-1234.pth"
    cached.parent.mkdir(parents=True)
    torch.save({"w": torch.ones(3)}, cached)
    spec = weights_module.WeightsSpec(cached.name, "http://127.0.0.1:9/net.pth", hashlib.sha256(cached.read_bytes()).hexdigest()[:8])
    monkeypatch.setitem(weights_module.WEIGHTS, "torchvision", spec)
    hashed = []
    real = weights_module.check_hash
    monkeypatch.setattr(weights_module, "check_hash", lambda path, **kw: hashed.append(path) or real(path, **kw))
    assert weights_module.resolve_weights("torchvision") == cached
    assert weights_module.resolve_weights("torchvision") == cached
    assert hashed == [cached]  # once per process
    torch.save({"w": torch.zeros(3)}, cached)  # replaced: checked again, and refused
    os.utime(cached, ns=(time.time_ns(), time.time_ns() + 10**9))
    with pytest.raises(GenlabError, match="does not match the published checksum"):
        weights_module.resolve_weights("torchvision")
    assert len(hashed) == 2


def test_an_unpacked_cifar10_folder_is_checked_and_never_runs_code(capsys, tmp_path):
    from genlab.data.cifar10 import load_cifar10

    marker = tmp_path / "ran"
    folder = tmp_path / "data" / "cifar-10-batches-py"
    for name in ["batches.meta", "test_batch", *(f"data_batch_{i}" for i in range(1, 6))]:
        _payload_file(folder / name, marker, as_pickle=True)
    assert _error(capsys, ["train", "dcgan", "--data", "cifar10", "--data-root", str(tmp_path / "data"), "--out", str(tmp_path / "r"), *TINY]) == (
        f"{folder / 'data_batch_1'} does not match CIFAR-10's published checksum (damaged or replaced); delete {folder} and run "
        "again to download and unpack CIFAR-10 anew"
    )
    with pytest.raises(GenlabError) as unchecked:  # even without the checksums, only arrays are unpickled
        load_cifar10(tmp_path / "data", "test", batch_md5=None)
    assert str(unchecked.value).startswith(f"{folder / 'test_batch'} is not a CIFAR-10 batch (UnpicklingError: io.open is not CIFAR-10 data)")
    assert not marker.exists()
    good = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 4]}
    (folder / "test_batch").write_bytes(__import__("pickle").dumps(good, protocol=2)[:-40])  # truncated
    with pytest.raises(GenlabError, match=r"test_batch is not a CIFAR-10 batch \((EOFError|UnpicklingError)"):
        load_cifar10(tmp_path / "data", "test", batch_md5=None)
    (folder / "test_batch").write_bytes(__import__("pickle").dumps(good, protocol=2))
    assert load_cifar10(tmp_path / "data", "test", batch_md5=None).labels.tolist() == [3, 4]


SMALL = ["--device", "cpu", "--epochs", "1", "--limit", "32", "--batch-size", "16", "--width", "8", "--z-dim", "8", "--image-size", "16",
         "--grid-size", "4"]


def test_every_sweep_member_is_configured_as_the_lone_run_of_its_loss_and_seed(tmp_path):
    assert main(["train", "dcgan", "--preset", "smoke", "--loss", "gan,lsgan,wgan,wgan-gp", "--seeds", "0,1", "--out", str(tmp_path / "sweep"), *SMALL]) == 0
    for loss in ("gan", "lsgan", "wgan", "wgan-gp"):
        alone = tmp_path / f"alone-{loss}"
        assert main(["train", "dcgan", "--preset", "smoke", "--loss", loss, "--seed", "1", "--out", str(alone), *SMALL]) == 0
        member = json.loads((tmp_path / "sweep" / f"{loss}-s1" / "config.json").read_text())
        assert member == json.loads((alone / "config.json").read_text())
    wgan = json.loads((tmp_path / "sweep" / "wgan-s0" / "config.json").read_text())
    assert (wgan["optimizer"], wgan["lr"], wgan["n_critic"]) == ("rmsprop", 5e-5, 5)  # not the first loss's Adam


@pytest.mark.parametrize("preset", ["paper", "assignment", "smoke"])
def test_sweep_configs_resolve_each_loss_as_a_lone_run_under_every_preset(preset):
    from genlab.config import PAPER_DEFAULTS, build_config, config_to_dict, sweep_configs

    losses = ["gan", "lsgan", "wgan", "wgan-gp"]
    build = lambda extra: build_config("dcgan", preset=preset, overrides={"data": "builtin", **extra}, resolved=False)  # noqa: E731
    members = sweep_configs(build, losses, [0, 2])
    assert [(m.loss, m.run.seed) for m in members] == [(loss, seed) for loss in losses for seed in (0, 2)]
    for member in members:
        alone = build_config("dcgan", preset=preset, overrides={"data": "builtin", "loss": member.loss, "seed": member.run.seed}, resolved=False)
        assert config_to_dict(member) == config_to_dict(alone)
        if preset != "assignment":  # the paper's optimiser of each loss
            expected = PAPER_DEFAULTS[member.loss]
            assert (member.optimizer, member.lr, member.n_critic) == (expected["optimizer"], expected["lr"], expected["n_critic"])


def test_the_reference_cache_follows_the_folder_content(tmp_path, monkeypatch):
    from genlab.scoring import Protocol, evaluate

    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    source, reference = tmp_path / "source", tmp_path / "reference"
    for folder, seed in ((source, 0), (reference, 100)):
        folder.mkdir()
        for i in range(12):
            Image.fromarray(_noise(16, 16, seed + i)).save(folder / f"{i}.png")
    protocol = Protocol(network="builtin", n=12, splits=1, reference=str(reference))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = evaluate(str(source), protocol, metrics=("fid",)).metrics["fid"]
        for i in range(12):  # the same names and count, other images
            Image.fromarray(np.full((16, 16, 3), 20 * i, np.uint8)).save(reference / f"{i}.png")
        second = evaluate(str(source), protocol, metrics=("fid",)).metrics["fid"]
        monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "fresh-cache"))
        fresh = evaluate(str(source), protocol, metrics=("fid",)).metrics["fid"]
    assert second == pytest.approx(fresh) and second != pytest.approx(first)


def test_a_refused_sweep_resume_changes_no_file(capsys, tmp_path):
    out = tmp_path / "sweep"
    assert main(["train", "dcgan", "--preset", "smoke", "--loss", "gan,wgan", "--seeds", "0,1", "--out", str(out), *SMALL]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / "wgan-s1" / ".lock").write_text(str(holder.pid))
        message = _error(capsys, ["train", "--resume", str(out), "--epochs", "3", "--lr", "0.001"])
        assert message.startswith(f"{out / 'wgan-s1'} is being trained by another genlab process (PID {holder.pid})")
    finally:
        holder.kill()
        holder.wait()
    (out / "wgan-s1" / ".lock").unlink()
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert main(["train", "--resume", str(out), "--epochs", "2"]) == 0  # the owner gone, it resumes
    assert json.loads((out / "gan-s0" / "config.json").read_text())["epochs"] == 2


def test_a_cyclegan_on_two_folders_is_labelled_with_them(capsys, tmp_path):
    for name, seed in (("horses", 0), ("zebras", 50)):
        (tmp_path / name).mkdir()
        for i in range(6):
            Image.fromarray(_noise(32, 32, seed + i)).save(tmp_path / name / f"{i}.png")
    run = tmp_path / "runs" / "h2z"
    assert main(["train", "cyclegan", "--preset", "smoke", "--domain-a", str(tmp_path / "horses"), "--domain-b", str(tmp_path / "zebras"),
                 "--out", str(run), "--image-size", "32", "--load-size", "32", "--width", "4", "--n-blocks", "1", "--test-fraction", "0.2",
                 *TINY]) == 0
    label = f"{tmp_path / 'horses'} <-> {tmp_path / 'zebras'}"
    assert f"on {label} (" in capsys.readouterr().out
    page = (run / "report.md").read_text().split("## Config")[0]
    assert f"on {label}," in page and "two image folders" in page and "builtin" not in page
    assert main(["runs", str(tmp_path / "runs"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["data"] == f"{tmp_path.name}/horses <-> {tmp_path.name}/zebras"
    (tmp_path / "one").mkdir()
    Image.fromarray(_noise(32, 32, 9)).save(tmp_path / "one" / "0.png")
    assert _error(capsys, ["train", "cyclegan", "--preset", "smoke", "--domain-a", str(tmp_path / "one"), "--domain-b", str(tmp_path / "zebras"),
                           "--out", str(tmp_path / "r"), *TINY]) == (
        f"{tmp_path / 'one'} has 1 readable image: a domain needs at least 2 (one to train on, one to test); add images"
    )


def test_batch_sizes_seeds_and_image_sizes_are_checked_before_anything_runs(capsys, tmp_path, vae_run):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(_noise(16, 16, i)).save(folder / f"{i}.png")
    for source in (str(vae_run), str(folder)):
        for size in ("0", "-1"):
            assert _error(capsys, ["evaluate", source, "--network", "builtin", "--batch-size", size, "--out", str(tmp_path / "e.json")]) == (
                f"--batch-size must be at least 1 (got {size})"
            )
    assert _error(capsys, ["report", str(vae_run), "--network", "builtin", "--batch-size", "0", "--out", str(tmp_path / "s.txt")]) == (
        "--batch-size must be at least 1 (got 0)"
    )
    huge = "99999999999999999999"
    assert _error(capsys, ["train", "dcgan", "--seed", huge, "--out", str(tmp_path / "r")]) == f"seed must be between 0 and 2**63 - 1 (got {huge})"
    assert _error(capsys, ["sample", str(vae_run), "--seed", huge, "--out", str(tmp_path / "g.png")]) == f"seed must be between 0 and 2**63 - 1 (got {huge})"
    for size, need in (("4096", "137 GB"), ("65536", "35.2 TB")):
        assert _error(capsys, ["train", "dcgan", "--image-size", size, "--out", str(tmp_path / "r")]) == (
            f"image_size {size} is above the largest genlab trains (1024): one batch's first-layer activations alone would need "
            f"{need}; choose --image-size 1024 or less"
        )
    assert not (tmp_path / "r").exists()


def test_a_pipe_in_an_image_folder_is_skipped_not_read(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(_noise(16, 16, i)).save(folder / f"{i}.png")
    os.mkfifo(tmp_path / "pipe")
    os.symlink(tmp_path / "pipe", folder / "link-to-pipe.png")
    os.mkfifo(folder / "pipe.png")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images = ImageFolder(folder, decode=True)
    assert [p.name for p in images.files] == ["0.png", "1.png", "2.png"]
    assert skipped_warnings(caught) == [f"skipped 2 file(s) that are not regular files (pipes, sockets, devices) in {folder}"]


def test_a_decompression_bomb_is_skipped(tmp_path):
    import zlib

    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(_noise(16, 16, 0)).save(folder / "fine.png")
    data = bytearray(_encoded(_noise(16, 16, 1), "PNG"))
    data[16:24] = (20000).to_bytes(4, "big") * 2  # the header claims 20000x20000
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    (folder / "bomb.png").write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images = ImageFolder(folder)
    assert [p.name for p in images.files] == ["fine.png"]
    assert skipped_warnings(caught) == [f"skipped 1 unreadable image file(s) in {folder}"]


def test_outputs_that_would_replace_a_runs_own_files_are_refused(capsys, tmp_path, vae_run):
    before = {p: p.read_bytes() for p in vae_run.rglob("*") if p.is_file() and p.suffix != ".json" or p.name == "config.json"}
    for command in (
        ["evaluate", str(vae_run), "--network", "builtin", "--n", "10", "--out", str(vae_run / "checkpoints" / "latest.pt")],
        ["evaluate", str(vae_run), "--network", "builtin", "--n", "10", "--out", str(vae_run / "config.json")],
        ["report", str(vae_run), "--network", "builtin", "--n", "10", "--out", str(vae_run / "history.csv")],
        ["sample", str(vae_run), "-n", "4", "--out", str(vae_run / "images" / "fake_image-001.png")],
        ["reconstruct", str(vae_run), "--input", str(tmp_path), "--output", str(vae_run / "report.html")],
    ):
        flag = "--output" if command[0] == "reconstruct" else "--out"
        assert _error(capsys, [*command, "--device", "cpu"]) == (
            f"{flag} {command[-1]} would replace a file of the run {vae_run}; write the output elsewhere"
        )
    assert _error(capsys, ["sample", str(vae_run), "-n", "4", "--out", str(vae_run)]) == f"--out {vae_run} is a run folder; write the output elsewhere"
    assert {p: p.read_bytes() for p in before} == before


def test_a_run_killed_before_its_first_checkpoint_starts_again_with_the_same_line(tmp_path):
    run = tmp_path / "run"
    argv = ["train", "dcgan", "--preset", "smoke", "--out", str(run), *SMALL]
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, *argv], env={**os.environ, "KILL_AT": "1"}, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (run / ".lock").is_file() and not list((run / "checkpoints").glob("*.pt"))
    again = subprocess.run([sys.executable, "-m", "genlab", *argv], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "never finished an epoch (no checkpoint); starting it again there" in again.stderr
    assert torch.load(run / "checkpoints" / "latest.pt", weights_only=True)["epoch"] == 1 and not (run / ".lock").exists()


def test_two_writers_of_one_page_never_share_a_temporary(tmp_path):
    from genlab.files import write_text

    page, failures = tmp_path / "report.html", []

    def writer(text):
        for _ in range(200):
            try:
                write_text(page, text)
            except OSError as e:  # pragma: no cover - what shared temporaries did
                failures.append(e)

    threads = [threading.Thread(target=writer, args=(str(k) * 1000,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and page.read_text() in ("0" * 1000, "1" * 1000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_damaged_run_files_are_one_line_naming_the_file(capsys, tmp_path, vae_run):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(vae_run, run)
    config = (run / "config.json").read_text()
    (run / "config.json").write_text(config[: len(config) // 2])
    message = _error(capsys, ["sample", str(run), "-n", "4", "--out", str(tmp_path / "g.png")])
    assert message.startswith(f"config file {run / 'config.json'} is damaged (") and message.endswith("); restore it or remove the folder")
    (run / "config.json").write_text(config)
    rows = (run / "history.csv").read_text().splitlines()
    header = rows[0].split(",")
    cells = rows[2].split(",")
    cells[header.index("loss")] = "abc"
    (run / "history.csv").write_text("\n".join([rows[0], rows[1], ",".join(cells), *rows[3:]]) + "\n")
    assert _error(capsys, ["train", "--resume", str(run), "--epochs", "2"]) == (
        f"{run / 'history.csv'} line 3: column 'loss' holds 'abc', not a number; fix or remove that row"
    )
    (run / "history.csv").write_text("\n".join(rows) + "\n")
    (run / "evaluation-mine.json").write_text(json.dumps({"source": "x", "metrics": {"is": "high"}, "protocol": {}}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["train", "--resume", str(run), "--epochs", "2"]) == 0  # a hand-written result does not stop training
    assert f"skipped {run / 'evaluation-mine.json'}: not an evaluate result with numeric metrics" in [str(w.message) for w in caught]
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "sweep.json").write_text('{"losses": ["gan"], "members": ["gan-s')
    assert _error(capsys, ["train", "--resume", str(sweep)]).startswith(f"sweep file {sweep / 'sweep.json'} is damaged (")


TOML_SLIPS = [
    ('lr = "0.001"', "setting lr='0.001' is not a number; write it without quotes, e.g. lr = 0.001"),
    ('epochs = "ten"', "setting epochs='ten' is not a whole number; write e.g. epochs = 200"),
    ("epochs = inf", "setting epochs=inf is not a whole number; write e.g. epochs = 200"),
    ("batch_size = 2.5", "setting batch_size=2.5 is not a whole number; write e.g. batch_size = 64"),
    ("seed = 1e30", "seed must be between 0 and 2**63 - 1 (got 1000000000000000019884624838656)"),
    ("width = true", "setting width=True is not a whole number; write e.g. width = 64"),
    ("gen_last_norm = 1", "setting gen_last_norm=1 is not true or false; write gen_last_norm = true or gen_last_norm = false"),
    ("data = 5", 'setting data=5 is not text; write it in quotes, e.g. data = "5"'),
]


@pytest.mark.parametrize("line, expected", TOML_SLIPS, ids=[line for line, _ in TOML_SLIPS])
def test_toml_type_slips_are_one_line_naming_the_file(line, expected, capsys, tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text(line + "\n")
    message = _error(capsys, ["train", "dcgan", "--config", str(toml), "--out", str(tmp_path / "r")])
    assert message == (expected if expected.startswith("seed") else f"config file {toml}: {expected}")
    assert not (tmp_path / "r").exists()


def test_a_run_folder_named_like_a_script_link_stays_a_relative_link(capsys, tmp_path, vae_run):
    import shutil

    shutil.copytree(vae_run, tmp_path / "runs" / "javascript:alert(1)")
    assert main(["runs", str(tmp_path / "runs"), "--html"]) == 0
    page = (tmp_path / "runs" / "runs.html").read_text()
    assert "href='./javascript:alert(1)/report.html'" in page and "href='javascript:" not in page and "src='javascript:" not in page
