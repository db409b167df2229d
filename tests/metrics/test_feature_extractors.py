from unittest import mock

import pytest
import torch

from genlab.data.builtin import builtin_digits, drawn_images
from genlab.errors import GenlabError
from genlab.metrics import weights as weights_module
from genlab.metrics.builtin_classifier import CLASSES, LABEL_OFFSETS
from genlab.metrics.feature_extractors import make_extractor, resize_bilinear
from genlab.metrics.weights import WeightsSpec, builtin_weights_path


def test_builtin_classifier_ships_and_classifies_the_held_out_digits():
    assert builtin_weights_path().is_file()
    extractor = make_extractor("builtin")
    test = builtin_digits("test")
    logits, features = extractor(test.images)
    assert logits.shape == (297, 28) and features.shape == (297, 64) and len(CLASSES) == 28
    accuracy = (logits.argmax(1) == test.labels).float().mean().item()
    assert accuracy >= 0.97
    assert not extractor.model.training


@pytest.mark.parametrize("name", ["seasons-summer", "seasons-winter", "toonfaces", "animefaces"])
def test_builtin_classifier_knows_the_season_the_style_and_the_kind_of_held_out_drawn_images(name, tmp_path):
    test = drawn_images(name, "test", 32, data_root=tmp_path, count=100)
    logits = make_extractor("builtin")(test.images).logits
    accuracy = (logits.argmax(1) == test.labels + LABEL_OFFSETS[name]).float().mean().item()
    assert accuracy >= 0.9, CLASSES[LABEL_OFFSETS[name]]


@pytest.fixture(scope="module")
def torchvision_weights(tmp_path_factory):
    from torchvision.models import inception_v3

    path = tmp_path_factory.mktemp("w") / "inception_random.pth"
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(), path)
    return path


def test_torchvision_inception_from_a_local_file(torchvision_weights):
    extractor = make_extractor("torchvision", torchvision_weights)
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    logits, pool = extractor(images)
    assert logits.shape == (2, 1000) and pool.shape == (2, 2048)
    assert not extractor.model.training and not extractor.model.transform_input
    # uint8 and the same images in [-1, 1] give the same features
    again = extractor(images.float() / 127.5 - 1)
    torch.testing.assert_close(again.pool, pool)
    assert len(extractor.weights_sha256) == 64


def test_resize_is_bilinear_without_align_corners():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    torch.testing.assert_close(resize_bilinear(x, 8), torch.nn.functional.interpolate(x, size=(8, 8), mode="bilinear", align_corners=False))


def test_tf_inception_from_a_local_file(tmp_path):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with mock.patch("torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url", return_value={}), mock.patch.object(
        FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None
    ):
        random_net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    path = tmp_path / "tf_random.pth"
    torch.save(random_net.state_dict(), path)
    extractor = make_extractor("tf-inception", path)
    logits, pool = extractor(torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8))
    assert logits.shape == (2, 1008) and pool.shape == (2, 2048)


def test_offline_and_not_cached_names_file_url_and_flag(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    spec = WeightsSpec("inception_v3_google-0cc3c7bd.pth", "http://127.0.0.1:9/inception_v3_google-0cc3c7bd.pth", "0cc3c7bd")
    monkeypatch.setitem(weights_module.WEIGHTS, "torchvision", spec)
    with pytest.raises(GenlabError) as info:
        make_extractor("torchvision")
    message = str(info.value)
    assert "inception_v3_google-0cc3c7bd.pth" in message and spec.url in message and "--weights PATH" in message
    assert "\n" not in message


def test_bad_weights_files(tmp_path):
    with pytest.raises(GenlabError, match="does not exist"):
        make_extractor("torchvision", tmp_path / "missing.pth")
    with pytest.raises(GenlabError, match="is not a torchvision weights file"):
        make_extractor("torchvision", builtin_weights_path())
    with pytest.raises(GenlabError, match="unknown network 'clop'"):
        make_extractor("clop")


def test_a_file_that_is_not_weights_is_one_line(tmp_path):
    from genlab.errors import GenlabError
    from genlab.metrics.feature_extractors import make_extractor

    for name, content in (("text.pt", b"not weights\n"), ("empty.pt", b"")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(GenlabError, match=rf"{name} is not a builtin weights file \(.*\); check --weights"):
            make_extractor("builtin", tmp_path / name)
