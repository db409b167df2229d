"""The drawn built-in sets: deterministic, unpaired, cached, every size, and usable by every command."""

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.cli import main
from genlab.data.builtin import DRAWN_PAIRS, DRAWN_SETS, TEST_START, animefaces, drawn_images, seasons, toonfaces
from genlab.data.sources import load_images
from genlab.data.unpaired import open_domains
from genlab.errors import GenlabError


def _sha(image) -> str:
    return hashlib.sha256(np.asarray(image).tobytes()).hexdigest()[:16]


# Pixel checksums pinned once: a change to a drawing must raise CACHE_VERSION and update these.
PINNED = {
    ("summer", 0, 64): "26f0eccc8afb63d0",
    ("winter", 0, 64): "2f686b1a4e53ebad",
    ("toon", 0, 64): "98e5db81ca51ca40",
    ("anime", 0, 64): "4e49c9d64f134149",
}


def _draw(kind: str, index: int, size: int):
    if kind in seasons.SEASONS:
        return seasons.draw_scene(kind, index, size)
    return (toonfaces if kind == "toon" else animefaces).draw_face(index, size)


@pytest.mark.parametrize("key", list(PINNED))
def test_the_same_name_size_and_index_give_the_same_pixels(key):
    first, again = _draw(*key), _draw(*key)
    assert first.size == (key[2], key[2]) and first.mode == "RGB"
    assert _sha(first) == _sha(again) == PINNED[key]


@pytest.mark.parametrize("size", [32, 64, 128, 256])
def test_seasons_draw_at_every_size_from_32_to_256(size):
    for season in seasons.SEASONS:
        image = np.asarray(seasons.draw_scene(season, 3, size))
        assert image.shape == (size, size, 3) and image.dtype == np.uint8 and image.std() > 10


def test_faces_draw_up_to_the_seed_size_of_500():
    for module in (toonfaces, animefaces):
        assert np.asarray(module.draw_face(7, 500)).shape == (500, 500, 3)


def test_the_seasons_look_like_their_season():
    summer, _ = seasons.render("summer", range(40), 32)
    winter, _ = seasons.render("winter", range(40), 32)
    green = lambda x: (x[..., 1].astype(int) - x[..., 0]).mean()  # noqa: E731 - grass is greener than red
    bright = lambda x: x.mean()  # noqa: E731 - snow is bright
    assert green(summer) > green(winter) + 20
    assert bright(winter) > bright(summer) + 30


def test_the_two_domains_are_independent_draws_never_pairs():
    """Summer scene i and winter scene i come from different parameters (the CycleGAN premise)."""
    kinds_summer = [seasons.scene_kind("summer", i) for i in range(400)]
    kinds_winter = [seasons.scene_kind("winter", i) for i in range(400)]
    assert 0.15 < np.mean(np.array(kinds_summer) == np.array(kinds_winter)) < 0.35  # chance is 1/4: independent
    assert sorted(set(kinds_summer)) == [0, 1, 2, 3]  # every kind drawn
    hair_toon = [toonfaces.hair_group(i) for i in range(400)]
    hair_anime = [animefaces.hair_group(i) for i in range(400)]
    assert 0.1 < np.mean(np.array(hair_toon) == np.array(hair_anime)) < 0.3  # chance is 1/5


def test_ten_thousand_distinct_toon_faces_and_disjoint_test_indices():
    assert DRAWN_SETS["toonfaces"].train == 10_000 and DRAWN_SETS["animefaces"].train == 10_000
    assert DRAWN_SETS["seasons-summer"].train >= 1_000 and DRAWN_PAIRS["seasons"][2] >= 1_000
    small = [_sha(toonfaces.draw_face(i, 24)) for i in range(300)]
    assert len(set(small)) == 300  # every face differs
    assert _sha(toonfaces.draw_face(TEST_START, 24)) not in small


def test_a_split_is_drawn_once_then_read_from_the_cache(tmp_path, monkeypatch):
    first = drawn_images("seasons-winter", "test", 32, data_root=tmp_path)
    cached = list((tmp_path / "builtin").glob("seasons-winter-test-100-32px-v*.npz"))
    assert len(cached) == 1 and first.images.shape == (100, 3, 32, 32) and first.labels.shape == (100,)
    monkeypatch.setattr(seasons, "draw_scene", lambda *a: pytest.fail("drawn again instead of read from the cache"))
    again = drawn_images("seasons-winter", "test", 32, data_root=tmp_path)
    torch.testing.assert_close(again.images, first.images)
    torch.testing.assert_close(again.labels, first.labels)
    assert first.labels.tolist() == [seasons.scene_kind("winter", TEST_START + i) for i in range(100)]


def test_sizes_outside_the_drawn_range_are_one_line(tmp_path):
    with pytest.raises(GenlabError, match="seasons-summer is drawn at 8 to 256 px, not 512; choose an image size in that range"):
        drawn_images("seasons-summer", "train", 512, data_root=tmp_path)


def test_named_everywhere_a_dataset_name_works(tmp_path):
    faces = load_images("toonfaces", image_size=16, data_root=str(tmp_path), limit=50)
    assert faces.images.shape == (50, 3, 16, 16)
    domains = open_domains("seasons", data_root=str(tmp_path), size=32)
    assert [len(d) for d in (domains.train_a, domains.train_b, domains.test_a, domains.test_b)] == [1000, 1000, 100, 100]
    assert domains.train_a[0].shape == (3, 32, 32)
    pair = open_domains("toonfaces2anime", data_root=str(tmp_path), size=32)
    assert len(pair.train_a) == 1000 and pair.test_b[0].dtype == torch.uint8


def test_a_cyclegan_step_at_256_on_seasons(tmp_path):
    """The CycleGAN table's own size, on images with structure: one epoch of two steps at 256x256."""
    run = tmp_path / "run"
    argv = ["train", "cyclegan", "--data", "seasons", "--out", str(run), "--device", "cpu", "--limit", "2", "--epochs", "1",
            "--decay-epochs", "0", "--width", "8", "--n-blocks", "1", "--grid-size", "1", "--data-root", str(tmp_path / "data")]
    assert main(argv) == 0
    state = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)
    assert state["step"] == 2 and state["config"]["image_size"] == 256 and state["config"]["load_size"] == 286
    assert (run / "images").is_dir() and any((run / "images").iterdir())


def test_a_drawn_pair_is_written_as_a_cyclegan_dataset_folder(tmp_path, capsys):
    assert main(["download", "seasons", "--size", "32", "--data-root", str(tmp_path)]) == 0
    root = tmp_path / "seasons"
    assert capsys.readouterr().out.strip() == f"genlab: seasons drawn into {root}"
    counts = {folder: len(list((root / folder).glob("*.png"))) for folder in ("trainA", "trainB", "testA", "testB")}
    assert counts == {"trainA": 1000, "trainB": 1000, "testA": 100, "testB": 100}
    first = np.asarray(Image.open(root / "testB" / "00000.png"))
    assert np.array_equal(first, np.asarray(seasons.draw_scene("winter", TEST_START, 32)))  # the same pixels as drawn
    domains = open_domains(str(root), decode=False)  # and an ordinary CycleGAN folder layout
    assert len(domains.train_a) == 1000 and len(domains.test_b) == 100
