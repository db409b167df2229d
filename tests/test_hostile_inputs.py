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
    assert Image.open(tmp_path / "r.png").size[0] > 0


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
    assert latest["epoch"] == 1  # the epoch-2 write never replaced it
    assert list((run / "checkpoints").glob(".*.tmp"))  # what the kill left behind
    assert (run / ".lock").is_file()  # and its lock, owned by a dead process
    resumed = subprocess.run([sys.executable, "-m", "genlab", "train", "--resume", str(run)], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout and "at epoch 2/3" in resumed.stdout
    assert torch.load(run / "checkpoints" / "latest.pt", weights_only=True)["epoch"] == 3
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
